/**
 * The bot's entry as a member's operator runs it: spawned processes of `bin/webtoon.mjs` (what
 * `npm start` runs) against the local Discord stand-in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase, openDatabase } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { DiscordStandIn } from '../discord-stand-in/discord-stand-in.ts';
import { ASTRONAUT, REPO_ROOT, makeModelsDir } from './bot-harness.ts';

const BIN = path.join(REPO_ROOT, 'bin/webtoon.mjs');

interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Spawn the CLI with exactly `env` (plus PATH and HOME): nothing leaks in from the test's environment. */
function spawnCli(args: string[], env: Record<string, string>, cwd = REPO_ROOT): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

const spawned: Spawned[] = [];
afterEach(() => {
  for (const s of spawned.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

describe('npm start without Discord credentials', () => {
  it('is what `npm start` runs', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node bin/webtoon.mjs bot');
  });

  it('exits non-zero with what to set and where to get it, no stack trace, and touches no data', async () => {
    const dataDir = path.join(os.tmpdir(), `webtoon-no-token-${process.pid}`);
    const sut = spawnCli(['bot'], { DATA_DIR: dataDir });
    spawned.push(sut);
    expect(await sut.exited).toBe(1);
    const err = sut.stderr();
    expect(err).toContain('DISCORD_TOKEN is not set');
    expect(err).toContain('Bot → Reset Token');
    expect(err).toContain('DISCORD_APPLICATION_ID is not set');
    expect(err).toContain('https://discord.com/developers/applications');
    expect(err).not.toMatch(/^\s+at /m);
    expect(sut.stdout()).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('names only what is missing', async () => {
    const sut = spawnCli(['bot'], { DISCORD_TOKEN: 'x', DATA_DIR: path.join(os.tmpdir(), 'webtoon-never') });
    spawned.push(sut);
    expect(await sut.exited).toBe(1);
    expect(sut.stderr()).toContain('DISCORD_APPLICATION_ID is not set');
    expect(sut.stderr()).not.toContain('DISCORD_TOKEN is not set');
  });
});

describe('npm start with wrong Discord settings', () => {
  let standIn: DiscordStandIn;
  beforeAll(async () => {
    standIn = new DiscordStandIn();
    await standIn.start();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  const cases = [
    { name: 'a token Discord refuses', env: () => ({ DISCORD_TOKEN: 'wrong', DISCORD_APPLICATION_ID: standIn.applicationId, DISCORD_API_URL: standIn.apiUrl }), says: () => 'Discord refused DISCORD_TOKEN (401)' },
    { name: "another application's id", env: () => ({ DISCORD_TOKEN: standIn.token, DISCORD_APPLICATION_ID: '123456789012345678', DISCORD_API_URL: standIn.apiUrl }), says: () => `but the token belongs to application ${standIn.applicationId}` },
    { name: 'an API that does not answer', env: () => ({ DISCORD_TOKEN: standIn.token, DISCORD_APPLICATION_ID: standIn.applicationId, DISCORD_API_URL: 'http://127.0.0.1:9/api' }), says: () => 'cannot reach the Discord API at http://127.0.0.1:9/api' },
  ];
  it.each(cases)('exits 1 with one clear line for $name, before opening the database', async ({ env, says }) => {
    const dataDir = path.join(os.tmpdir(), `webtoon-preflight-${process.pid}`);
    const sut = spawnCli(['bot'], { ...env(), DATA_DIR: dataDir });
    spawned.push(sut);
    expect(await sut.exited).toBe(1);
    expect(sut.stderr()).toContain(says());
    expect(sut.stderr()).not.toMatch(/^\s+at /m);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('webtoon register-commands', () => {
  let standIn: DiscordStandIn;
  beforeAll(async () => {
    standIn = new DiscordStandIn();
    await standIn.start();
  });
  afterAll(async () => {
    await standIn.stop();
  });
  const env = () => ({ DISCORD_TOKEN: standIn.token, DISCORD_APPLICATION_ID: standIn.applicationId, DISCORD_API_URL: standIn.apiUrl });

  it('registers every command in one guild with --guild', async () => {
    const sut = spawnCli(['register-commands', '--guild', standIn.guildId], env());
    spawned.push(sut);
    expect(await sut.exited).toBe(0);
    const result = JSON.parse(sut.stdout()) as { scope: string; names: string[] };
    expect(result.scope).toBe('guild');
    const registered = standIn.registeredCommands.get(standIn.guildId)!;
    expect(registered.map((c) => c.name).sort()).toEqual(['Webtoonify', 'forget-me', 'reverse', 'webtoon-help', 'webtoon-stats', 'webtoonify']);
    const webtoonify = registered.find((c) => c.name === 'webtoonify');
    expect(webtoonify.options.map((o: { name: string }) => o.name)).toEqual(['image', 'output', 'attention', 'side_by_side', 'faces', 'crop', 'private']);
    expect(webtoonify.options[1].choices.map((c: { value: string }) => c.value)).toEqual(['face', 'photo', 'side_by_side']);
    expect(webtoonify.integration_types).toBeUndefined(); // read by Discord for global commands only
    expect(webtoonify.options[0]).toMatchObject({ type: 11, required: true });
    expect(registered.find((c) => c.name === 'Webtoonify').type).toBe(3);
  });

  it('registers globally without --guild', async () => {
    const sut = spawnCli(['register-commands'], env());
    spawned.push(sut);
    expect(await sut.exited).toBe(0);
    const registered = standIn.registeredCommands.get('global')!;
    expect(registered).toHaveLength(6);
    // user-installable as well as guild-installed, usable in servers, the bot's DM and other DMs
    for (const c of registered) {
      expect(c.integration_types).toEqual([0, 1]);
      expect(c.contexts).toEqual([0, 1, 2]);
    }
  });

  it('refuses a malformed guild id before calling Discord', async () => {
    const before = standIn.requests.length;
    const sut = spawnCli(['register-commands', '--guild', 'my-server'], env());
    spawned.push(sut);
    expect(await sut.exited).toBe(2);
    expect(sut.stderr()).toContain('--guild: expected a Discord guild id');
    expect(standIn.requests.length).toBe(before);
  });
});

describe('webtoon bot --shards', () => {
  it('refuses several shards on one embedded database before starting any, saying to set DATABASE_URL', async () => {
    const dataDir = path.join(os.tmpdir(), `webtoon-shards-${process.pid}`);
    const sut = spawnCli(['bot', '--shards', '2'], { DISCORD_TOKEN: 'x', DISCORD_APPLICATION_ID: '123456789012345678', DATA_DIR: dataDir });
    spawned.push(sut);
    expect(await sut.exited).toBe(1);
    expect(sut.stderr()).toContain('Set DATABASE_URL');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('takes the count from BOT_SHARDS when --shards has no value', async () => {
    const sut = spawnCli(['bot', '--shards'], { DISCORD_TOKEN: 'x', DISCORD_APPLICATION_ID: '123456789012345678', BOT_SHARDS: '3' });
    spawned.push(sut);
    expect(await sut.exited).toBe(1);
    expect(sut.stderr()).toContain('3 shards cannot share the embedded PGlite database');
  });

  it('refuses a shard count that is not auto or a positive integer', async () => {
    const sut = spawnCli(['bot', '--shards', 'many'], { DISCORD_TOKEN: 'x', DISCORD_APPLICATION_ID: '123456789012345678' });
    spawned.push(sut);
    expect(await sut.exited).toBe(1);
    expect(sut.stderr()).toContain('--shards: expected auto or a positive integer, received "many"');
  });
});

describe('webtoon bot (spawned, real worker and PGlite)', () => {
  let standIn: DiscordStandIn;
  let models: { dir: string; cleanup: () => void };
  let dataDir: string;
  beforeAll(async () => {
    standIn = new DiscordStandIn();
    await standIn.start();
    models = await makeModelsDir();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-entry-'));
  });
  afterAll(async () => {
    await standIn.stop();
    models.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = () => ({
    DISCORD_TOKEN: standIn.token,
    DISCORD_APPLICATION_ID: standIn.applicationId,
    DISCORD_API_URL: standIn.apiUrl,
    DISCORD_ATTACHMENT_HOSTS: '127.0.0.1',
    DATA_DIR: dataDir,
    MODELS_DIR: models.dir,
    ORT_PROVIDERS: 'cpu',
    ORT_THREADS: '1',
  });

  it('migrates at start, and on SIGTERM finishes the running translation, closes the database and exits 0', async () => {
    const sut = spawnCli(['bot'], env());
    spawned.push(sut);
    await standIn.waitFor(() => standIn.readySessions === 1, 'the bot to log in', 60_000);
    const member = standIn.makeUser('frank');
    const rec = standIn.sendSlashCommand(member, 'webtoonify', { image: standIn.addAttachment(readFileSync(ASTRONAUT), 'me.png', 'image/png', { width: 512, height: 512 }) });
    await standIn.waitForCallback(rec);
    sut.child.kill('SIGTERM');
    expect(await sut.exited).toBe(0);
    const reply = standIn.original(rec.id)!;
    expect(reply.files).toHaveLength(1);
    expect(sut.stderr()).not.toMatch(/^\s+at /m);
    // the embedded database was closed cleanly: it reopens and holds the generation
    const handle = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite') });
    try {
      expect((await migrateDatabase(handle)).applied).toBe(0);
      const row = await new FeedbackService(handle).findGenerationByMessageId(reply.id);
      expect(row).toMatchObject({ userId: member.id, status: 'ok' });
    } finally {
      await handle.close();
    }
  });

  it('runs under discord.js sharding with --shards auto (the count the API recommends)', async () => {
    const identifies = standIn.identifies.length;
    const sut = spawnCli(['bot', '--shards', 'auto'], env());
    spawned.push(sut);
    await standIn.waitFor(() => standIn.readySessions === 1 && standIn.identifies.length > identifies, 'the shard to log in', 90_000);
    expect(standIn.identifies.at(-1).shard).toEqual([0, 1]);
    sut.child.kill('SIGTERM');
    expect(await sut.exited).toBe(0);
  });

});
