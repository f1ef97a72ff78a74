/**
 * `npm run bench:bot`: the bot's real entry (`bin/webtoon.mjs bot`, what `npm start` runs) as its own
 * process, with the real worker (tiny generators from our exporter) and PGlite, against the local
 * Discord stand-in in this process. Fires N slash commands (default 200) at once and checks that every
 * one is acknowledged within 3 s and ends with a result or a clear busy message, and that nothing
 * went unhandled (no error logs, no unknown Discord requests, clean exit on SIGTERM). Prints one JSON
 * object: acknowledgement latency, outcomes, the bot's peak memory (VmHWM) and wall time.
 *
 *   npm run bench:bot -- [--count 200] [--queue-max 64]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DiscordStandIn, type StoredMessage } from '../test/discord-stand-in/discord-stand-in.ts';
import { ASTRONAUT, REPO_ROOT, makeModelsDir } from '../test/bot/bot-harness.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, 'queue-max': { type: 'string', default: '64' } } });
const count = Number(values.count);
const queueMax = Number(values['queue-max']);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(queueMax) || queueMax < 1) {
  process.stderr.write('bench:bot: --count and --queue-max must be positive integers\n');
  process.exit(2);
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};
/** Peak and current resident memory of a process, in MB (Linux /proc). */
const memoryOf = (pid: number) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakRssMB: Math.round(kb('VmHWM') / 1024), rssMB: Math.round(kb('VmRSS') / 1024) };
  } catch {
    return { peakRssMB: null, rssMB: null };
  }
};

const standIn = new DiscordStandIn();
await standIn.start();
const models = await makeModelsDir();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-bench-bot-'));
const bot = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/webtoon.mjs'), 'bot'], {
  cwd: REPO_ROOT,
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DISCORD_TOKEN: standIn.token,
    DISCORD_APPLICATION_ID: standIn.applicationId,
    DISCORD_API_URL: standIn.apiUrl,
    DISCORD_ATTACHMENT_HOSTS: '127.0.0.1',
    DATA_DIR: dataDir,
    MODELS_DIR: models.dir,
    ORT_PROVIDERS: 'cpu',
    QUEUE_MAX: String(queueMax),
    RATE_LIMIT_USER_PER_MIN: '0',
    RATE_LIMIT_GUILD_PER_MIN: '0',
    RATE_LIMIT_STATS_PER_MIN: '0',
    RATE_LIMIT_REPORTS_PER_MIN: '0',
    RATE_LIMIT_VOTES_PER_MIN: '0',
  },
  stdio: ['ignore', 'inherit', 'pipe'],
});
const problems: string[] = [];
let stderrTail = '';
bot.stderr!.on('data', (d: Buffer) => {
  stderrTail = (stderrTail + d.toString()).slice(-4000);
  for (const line of d.toString().split('\n')) {
    if (/"level":(50|60)/.test(line) || /Unhandled|uncaught/i.test(line)) problems.push(line.slice(0, 300));
  }
});
const exited = new Promise<number | null>((r) => bot.on('exit', (code) => r(code)));

try {
  await standIn.waitFor(() => standIn.readySessions === 1, 'the bot to log in', 120_000);
  const photo = readFileSync(ASTRONAUT);
  const idle = memoryOf(bot.pid!);

  const t0 = performance.now();
  const recs = Array.from({ length: count }, (_, i) => {
    const user = standIn.makeUser(`member${i}`);
    return standIn.sendSlashCommand(user, 'webtoonify', { image: standIn.addAttachment(photo, 'selfie.png', 'image/png', { width: 512, height: 512 }) });
  });
  const isFinal = (m: StoredMessage | undefined) => m && (m.flags & 128) === 0 && !m.content.startsWith('⏳');
  const finals = await standIn.waitFor(
    () => {
      const all = recs.map((r) => standIn.original(r.id));
      return all.every(isFinal) ? (all as StoredMessage[]) : undefined;
    },
    'every interaction to end',
    600_000,
  );
  const wallMs = performance.now() - t0;
  // let the last reactions land before reading memory and stopping
  await new Promise((r) => setTimeout(r, 500));
  const loaded = memoryOf(bot.pid!);

  const ackMs = recs.map((r) => (r.callbacks[0] ? r.callbacks[0].at - r.createdAt : Infinity));
  const outcomes = { result: 0, busy: 0, other: 0 };
  const others = new Set<string>();
  for (const m of finals) {
    if (m.files.length === 1 && m.embeds.length === 1) outcomes.result++;
    else if (m.content.includes('queue is full')) outcomes.busy++;
    else {
      outcomes.other++;
      others.add(m.content.slice(0, 120));
    }
  }
  bot.kill('SIGTERM');
  const exitCode = await exited;
  const report = {
    interactions: count,
    queueMax,
    wallSeconds: Math.round(wallMs) / 1000,
    ack: { within3s: ackMs.filter((x) => x <= 3000).length, p50Ms: percentile(ackMs, 50), p95Ms: percentile(ackMs, 95), maxMs: Math.max(...ackMs) },
    outcomes,
    otherMessages: [...others],
    queueUpdates: recs.reduce((n, r) => n + Math.max(0, (standIn.original(r.id)?.edits ?? 1) - 1), 0),
    errorLogs: problems,
    unknownDiscordRequests: standIn.unknownRequests.map((r) => `${r.method} ${r.path}`),
    botMemory: { idleRssMB: idle.rssMB, peakRssMB: loaded.peakRssMB },
    exitCodeAfterSigterm: exitCode,
    ok: false,
  };
  report.ok =
    report.ack.within3s === count && outcomes.other === 0 && problems.length === 0 && report.unknownDiscordRequests.length === 0 && exitCode === 0;
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`bench:bot failed: ${(err as Error).message}\n--- bot stderr (tail) ---\n${stderrTail}\n`);
  process.exitCode = 1;
} finally {
  if (bot.exitCode === null) bot.kill('SIGKILL');
  await standIn.stop();
  models.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
}
