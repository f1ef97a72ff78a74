// Lint configuration: typescript-eslint's recommended rules over the whole project, plus the
// ownership rule of docs/architecture.md: each outside library below is imported by its one owner
// module under src/ only (static `import` and dynamic `import()` alike).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Library → the one module under src/ that may import it. */
const OWNERS = {
  sharp: 'src/media/media.ts',
  vega: 'src/media/chart.ts',
  'vega-lite': 'src/media/chart.ts',
  'onnxruntime-node': 'src/onnx/runtime.ts',
};

/** The ownership rules for a file that owns `owned` (the libraries it may import). */
function ownershipRules(owned = []) {
  const banned = Object.entries(OWNERS).filter(([lib]) => !owned.includes(lib));
  const message = (lib, owner) => `${lib} is owned by ${owner}: call its functions instead of importing ${lib} (docs/architecture.md)`;
  return {
    'no-restricted-imports': ['error', { paths: banned.map(([name, owner]) => ({ name, message: message(name, owner) })) }],
    'no-restricted-syntax': [
      'error',
      ...banned.map(([name, owner]) => ({ selector: `ImportExpression[source.value='${name}']`, message: message(name, owner) })),
    ],
  };
}

const owners = [...new Set(Object.values(OWNERS))].map((file) => ({
  files: [file],
  rules: ownershipRules(Object.entries(OWNERS).filter(([, o]) => o === file).map(([lib]) => lib)),
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
  { files: ['src/**/*.ts'], rules: ownershipRules() },
  ...owners,
);
