/**
 * What an operator meets on the command line: `.env` is read when present (the environment wins),
 * register-commands without credentials says what it cannot do, and logs are readable lines on a
 * terminal (or with LOG_FORMAT=pretty) and JSON lines otherwise. Real child processes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDotEnv } from '../../src/config.ts';
import { wantsPretty } from '../../src/logger.ts';
import { DiscordStandIn } from '../discord-stand-in/discord-stand-in.ts';
import { execFileSync } from 'node:child_process';
import { exportedTestModels, repoRoot } from '../helpers/models.ts';

/** util-linux `script` runs a command on a pseudo-terminal: what an operator's terminal is. */
const haveScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const BIN = path.join(repoRoot, 'bin/webtoon.mjs');
const work = mkdtempSync(path.join(os.tmpdir(), 'webtoon-operator-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: work, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('.env', () => {
  let standIn: DiscordStandIn;
  beforeAll(async () => {
    standIn = new DiscordStandIn();
    await standIn.start();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  it('is loaded from the working directory, and a variable set in the environment wins over it', async () => {
    const dir = mkdtempSync(path.join(work, 'dotenv-'));
    writeFileSync(
      path.join(dir, '.env'),
      `# copied from .env.example\nDISCORD_TOKEN=${standIn.token}\nDISCORD_APPLICATION_ID=${standIn.applicationId}\nDISCORD_API_URL=http://127.0.0.1:9/api\nLOG_LEVEL=warn\n`,
    );
    const sut = await run([BIN, 'register-commands', '--guild', standIn.guildId], { cwd: dir, env: { DISCORD_API_URL: standIn.apiUrl } });
    expect(sut.stderr).not.toContain('is not set');
    expect(sut.code).toBe(0);
    expect(JSON.parse(sut.stdout)).toMatchObject({ scope: 'guild', guildId: standIn.guildId });
    expect(standIn.registeredCommands.get(standIn.guildId)).toHaveLength(6);
  }, 120_000);

  it('.env.example names every setting src/config.ts reads, and nothing else', () => {
    const declared = [...new Set([...readFileSync(path.join(repoRoot, 'src/config.ts'), 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]))].sort();
    const documented = [...readFileSync(path.join(repoRoot, '.env.example'), 'utf8').matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(declared.length).toBeGreaterThan(30);
    expect(documented).toEqual(declared);
  });

  it('is optional: loadDotEnv returns null when there is none', () => {
    expect(loadDotEnv(path.join(work, 'no-such.env'))).toBeNull();
  });
});

describe('register-commands without credentials', () => {
  it('says it cannot register the commands (not that the bot cannot start) and how to set them', async () => {
    const sut = await run([BIN, 'register-commands'], { cwd: work, env: { NODE_ENV: 'test' } });
    expect(sut.code).toBe(1);
    expect(sut.stderr).toContain('webtoon: ConfigError[CONFIG_MISSING]: cannot register the commands.');
    expect(sut.stderr).toContain('DISCORD_TOKEN is not set');
    expect(sut.stderr).toContain('npx webtoon register-commands --guild <server id>');
    expect(sut.stderr).not.toContain('the bot cannot start');
    expect(sut.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});

describe('log format', () => {
  it('pretty on a terminal or with LOG_FORMAT=pretty, JSON otherwise', () => {
    expect(wantsPretty('auto', true)).toBe(true);
    expect(wantsPretty('auto', false)).toBe(false);
    expect(wantsPretty('auto', undefined)).toBe(false);
    expect(wantsPretty('json', true)).toBe(false);
    expect(wantsPretty('pretty', false)).toBe(true);
  });

  const script = "const { moduleLogger } = await import('./src/logger.ts'); moduleLogger('demo').info({ faces: 1 }, 'translated one face');";
  it('writes one JSON object per line when stderr is not a terminal', async () => {
    const sut = await run(['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { LOG_LEVEL: 'info' } });
    expect(sut.code).toBe(0);
    const line = JSON.parse(sut.stderr.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, module: 'demo', faces: 1, msg: 'translated one face' });
  }, 60_000);

  it('writes readable lines with LOG_FORMAT=pretty', async () => {
    const sut = await run(['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' } });
    expect(sut.code).toBe(0);
    expect(sut.stderr).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: translated one face \{"module":"demo","faces":1\}\n$/);
  }, 60_000);

  it.skipIf(!haveScript)('on a terminal, the inference worker thread logs readable lines too, and the provider in use is one info line without a warning', async () => {
    const models = await exportedTestModels();
    const out = path.join(work, 'tty.png');
    const cmd = `node ${BIN} translate ${path.join(repoRoot, 'assets/demo/astronaut.jpg')} --model ${models.a2b} -o ${out}`;
    const sut = await run(['-e', `require('node:child_process').execFileSync('script', ['-qec', ${JSON.stringify(cmd)}, '/dev/null'], { stdio: 'inherit' })`], {
      cwd: work,
      env: { LOG_LEVEL: 'info' },
    });
    expect(sut.code).toBe(0);
    const text = sut.stdout.replace(/\r/g, '');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: onnxruntime runs on cpu/m);
    expect(text).not.toContain('{"level"');
    expect(text).not.toMatch(/WARN/);
    expect(text).toContain(`${out}: a2b model`);
  }, 120_000);
});
