/**
 * `npm run bench:bot`: fires N slash-command interactions (default 200) at once through the local
 * Discord stand-in at the bot's real entry, with the real worker (tiny generators) and PGlite in
 * memory. Checks that every interaction is acknowledged within 3 s and ends with a result or a clear
 * busy message, and that nothing went unhandled; prints one JSON object (latencies, outcomes, peak memory).
 *
 *   npm run bench:bot -- [--count 200] [--queue-max 64]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { migrateDatabase, openDatabase } from '../src/db/client.ts';
import { setLogLevel } from '../src/logger.ts';
import type { StoredMessage } from '../test/discord-stand-in/discord-stand-in.ts';
import { ASTRONAUT, startHarness } from '../test/bot/bot-harness.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, 'queue-max': { type: 'string', default: '64' } } });
const count = Number(values.count);
const queueMax = Number(values['queue-max']);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(queueMax) || queueMax < 1) {
  process.stderr.write('bench:bot: --count and --queue-max must be positive integers\n');
  process.exit(2);
}

setLogLevel('error');
const unhandled: string[] = [];
process.on('unhandledRejection', (err) => unhandled.push(`unhandledRejection: ${String(err)}`));
process.on('uncaughtException', (err) => unhandled.push(`uncaughtException: ${String(err)}`));

let peakRss = process.memoryUsage().rss;
let peakHeap = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 25);

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};

const database = await openDatabase({ pgliteDir: 'memory' });
await migrateDatabase(database);
const h = await startHarness({ database, env: { QUEUE_MAX: String(queueMax) } });
const photo = readFileSync(ASTRONAUT);
const baselineRss = process.memoryUsage().rss;

const t0 = performance.now();
const recs = Array.from({ length: count }, (_, i) => {
  const user = h.standIn.makeUser(`member${i}`);
  return h.standIn.sendSlashCommand(user, 'webtoonify', { image: h.standIn.addAttachment(photo, 'selfie.png', 'image/png', { width: 512, height: 512 }) });
});
const isFinal = (m: StoredMessage | undefined) => m && (m.flags & 128) === 0 && !m.content.startsWith('⏳');
const finals = await h.standIn.waitFor(
  () => {
    const all = recs.map((r) => h.standIn.original(r.id));
    return all.every(isFinal) ? (all as StoredMessage[]) : undefined;
  },
  'every interaction to end',
  600_000,
);
const wallMs = performance.now() - t0;
clearInterval(sampler);

const ackMs = recs.map((r) => (r.callbacks[0] ? r.callbacks[0].at - r.createdAt : Infinity));
const outcomes = { result: 0, busy: 0, other: 0 };
const others: string[] = [];
for (const m of finals) {
  if (m.files.length === 1 && m.embeds.length === 1) outcomes.result++;
  else if (m.content.includes('queue is full')) outcomes.busy++;
  else {
    outcomes.other++;
    others.push(m.content.slice(0, 120));
  }
}
const progressEdits = recs.reduce((n, r) => n + (h.standIn.original(r.id)?.edits ?? 0), 0);
await h.dispose();
await database.close();

const report = {
  interactions: count,
  queueMax,
  wallSeconds: Math.round(wallMs) / 1000,
  ack: {
    within3s: ackMs.filter((x) => x <= 3000).length,
    p50Ms: percentile(ackMs, 50),
    p95Ms: percentile(ackMs, 95),
    maxMs: Math.max(...ackMs),
  },
  outcomes,
  otherMessages: [...new Set(others)],
  replyEdits: progressEdits,
  unhandled,
  unknownDiscordRequests: h.standIn.unknownRequests.length,
  memory: { baselineRssMB: Math.round(baselineRss / 2 ** 20), peakRssMB: Math.round(peakRss / 2 ** 20), peakHeapMB: Math.round(peakHeap / 2 ** 20) },
  ok: ackMs.every((x) => x <= 3000) && outcomes.other === 0 && unhandled.length === 0 && h.standIn.unknownRequests.length === 0,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.ok ? 0 : 1);
