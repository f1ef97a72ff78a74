// Lint configuration: typescript-eslint's recommended rules over the whole project, plus two rules of
// docs/architecture.md (static `import` and dynamic `import()` alike): each outside library below is
// imported by its one owner module under src/ only, and the lower layers never import a wing above them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Library → the one module under src/ that may import it. */
const OWNERS = {
  sharp: 'src/media/media.ts',
  vega: 'src/media/chart.ts',
  'vega-lite': 'src/media/chart.ts',
  'onnxruntime-node': 'src/onnx/runtime.ts',
};

/** Folder under src/ → the wings (folders under src/) its modules must never import: imports go downhill only. */
const LOWER_LAYERS = {
  media: ['inference', 'bot'],
  onnx: ['inference', 'bot'],
};

/**
 * The import rules for a file: ownership (it may import only the libraries in `owned`) and, for a
 * module of a lower layer (`folder`), the wings above it.
 */
function importRules({ owned = [], folder } = {}) {
  const banned = Object.entries(OWNERS).filter(([lib]) => !owned.includes(lib));
  const message = (lib, owner) => `${lib} is owned by ${owner}: call its functions instead of importing ${lib} (docs/architecture.md)`;
  const wings = LOWER_LAYERS[folder] ?? [];
  // A relative import that leaves the folder and enters a wing: `../inference/x.ts`, `../../bot/y.ts`.
  const wingSource = wings.length > 0 ? `^(\\.\\./)+(${wings.join('|')})/` : null;
  const layerMessage = `src/${folder} sits below ${wings.map((w) => `src/${w}`).join(' and ')} and must not import them; move what both need to src/shared (docs/architecture.md)`;
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: banned.map(([name, owner]) => ({ name, message: message(name, owner) })),
        patterns: wingSource ? [{ regex: wingSource, message: layerMessage }] : [],
      },
    ],
    'no-restricted-syntax': [
      'error',
      ...banned.map(([name, owner]) => ({ selector: `ImportExpression[source.value='${name}']`, message: message(name, owner) })),
      ...(wingSource ? [{ selector: `ImportExpression[source.value=/${wingSource.replaceAll('/', '\\/')}/]`, message: layerMessage }] : []),
    ],
  };
}

/** The folder under src/ of a path like `src/media/media.ts`. */
const folderOf = (file) => file.split('/')[1];

const layers = Object.keys(LOWER_LAYERS).map((folder) => ({ files: [`src/${folder}/**/*.ts`], rules: importRules({ folder }) }));

const owners = [...new Set(Object.values(OWNERS))].map((file) => ({
  files: [file],
  rules: importRules({ owned: Object.entries(OWNERS).filter(([, o]) => o === file).map(([lib]) => lib), folder: folderOf(file) }),
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'models/', 'runs/', 'migrations/', 'coverage/', 'tmp/', '.scratch*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: ['src/**/*.ts'], rules: importRules() },
  ...layers,
  ...owners,
);
