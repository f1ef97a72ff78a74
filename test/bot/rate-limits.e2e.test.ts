/**
 * Rate limits through the bot's real entry and the Discord stand-in: the request over a limit is
 * refused privately with how long to wait, and nothing is downloaded or written to the database for
 * it; votes over the limit are not recorded and get no reply. With a reachable Redis the bot runs with
 * REDIS_URL (its counts in Redis under a prefix of this test's own); without one, in memory.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, dbTargets, useTestDatabase } from '../helpers/databases.ts';
import { redisReachable, testRedisUrl } from '../helpers/redis.ts';
import type { InteractionRecord, StandInUser, StoredMessage } from '../discord-stand-in/discord-stand-in.ts';
import { ASTRONAUT, startHarness, type Harness } from './bot-harness.ts';

const EPHEMERAL = 64;
const astronaut = readFileSync(ASTRONAUT);
const redisUp = (await redisReachable()) || process.env.CI === 'true';
const prefix = `test-bot-ratelimit-${process.pid}-${randomBytes(4).toString('hex')}`;
/** Long enough for the bot to have written a row it should not have (it used to, right after the reply). */
const settle = () => new Promise((r) => setTimeout(r, 500));

describe(`rate limits through the bot (${redisUp ? 'Redis' : 'memory'})`, () => {
  const db = useTestDatabase(dbTargets.find((t) => t.kind === 'pglite')!);
  let h: Harness;
  let alice: StandInUser;
  let bob: StandInUser;
  let result: { reply: StoredMessage; generationId: number };

  const sendImage = (user: StandInUser): InteractionRecord =>
    h.standIn.sendSlashCommand(user, 'webtoonify', { image: h.standIn.addAttachment(astronaut, 's.png', 'image/png', { width: 512, height: 512 }) });
  const finalReply = (rec: InteractionRecord): Promise<StoredMessage> =>
    h.standIn.waitFor(
      () => {
        const m = h.standIn.original(rec.id);
        return m && !m.deleted && (m.flags & 128) === 0 && !m.content.startsWith('⏳') ? m : undefined;
      },
      'the result',
      60_000,
    );

  beforeAll(async () => {
    h = await startHarness({
      database: db(),
      env: {
        RATE_LIMIT_USER_PER_MIN: '2',
        RATE_LIMIT_GUILD_PER_MIN: '0',
        RATE_LIMIT_STATS_PER_MIN: '1',
        RATE_LIMIT_REPORTS_PER_MIN: '1',
        RATE_LIMIT_VOTES_PER_MIN: '2',
        RATE_LIMIT_KEY_PREFIX: prefix,
        ...(redisUp ? { REDIS_URL: testRedisUrl } : {}),
      },
    });
    alice = h.standIn.makeUser('alice');
    bob = h.standIn.makeUser('bob');
  });
  afterAll(async () => {
    await h?.dispose();
    if (redisUp) {
      const redis = new Redis(testRedisUrl);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('answers the first two translations of a member, refuses the third privately with the wait, and records nothing for it', async () => {
    const reply = await finalReply(sendImage(alice));
    expect(reply.files).toHaveLength(1);
    await finalReply(sendImage(alice));
    const rows = await countRows(h.database, 'generations');
    result = { reply, generationId: Number(/^report:(\d+)$/.exec(reply.components[0].components.find((c: { custom_id: string }) => c.custom_id.startsWith('report:')).custom_id)![1]) };
    const downloads = h.standIn.downloads.length;

    const rec = sendImage(alice);
    const cb = await h.standIn.waitForCallback(rec);
    expect(cb.type).toBe(4);
    expect(cb.data.flags).toBe(EPHEMERAL);
    expect(cb.data.content).toMatch(/^You've reached the limit of 2 translations per minute\. Try again in \d+ s\.$/);
    await settle();
    expect(await countRows(h.database, 'generations')).toBe(rows);
    expect(h.standIn.downloads.length).toBe(downloads);
    if (redisUp) {
      const redis = new Redis(testRedisUrl);
      expect(await redis.get(`${prefix}:translate:user:${alice.id}`)).toBe('3'); // counted in Redis, where every shard sees it
      redis.disconnect();
    }
  });

  it('counts the message-menu translation against the same limit', async () => {
    const message = h.standIn.addMemberMessage(bob, [h.standIn.addAttachment(astronaut, 'b.png', 'image/png', { width: 512, height: 512 })]);
    const rows = await countRows(h.database, 'generations');
    const cb = await h.standIn.waitForCallback(h.standIn.sendMessageCommand(alice, 'Webtoonify', message));
    expect(cb.data.flags).toBe(EPHEMERAL);
    expect(cb.data.content).toMatch(/limit of 2 translations per minute/);
    await settle();
    expect(await countRows(h.database, 'generations')).toBe(rows);
  });

  it('limits /webtoon-stats per member, privately', async () => {
    const first = h.standIn.sendSlashCommand(bob, 'webtoon-stats');
    expect((await h.standIn.waitForCallback(first)).type).toBe(5); // deferred, then the report
    const cb = await h.standIn.waitForCallback(h.standIn.sendSlashCommand(bob, 'webtoon-stats'));
    expect(cb.type).toBe(4);
    expect(cb.data.flags).toBe(EPHEMERAL);
    expect(cb.data.content).toMatch(/^You've reached the limit of 1 `\/webtoon-stats` requests per minute\. Try again in \d+ s\.$/);
  });

  it('limits reports per member: the second is refused privately and not stored', async () => {
    const report = async (attribute: string) => {
      const click = h.standIn.clickButton(bob, result.reply, `report:${result.generationId}`);
      await h.standIn.waitForCallback(click);
      const pick = h.standIn.selectMenu(bob, h.standIn.original(click.id)!, `report-select:${result.generationId}`, [attribute]);
      return h.standIn.waitForCallback(pick);
    };
    expect((await report('glasses')).type).toBe(9); // stored, note dialog opened
    const rows = await countRows(h.database, 'attribute_reports');
    const cb = await report('gender');
    expect(cb.type).toBe(4);
    expect(cb.data.flags).toBe(EPHEMERAL);
    expect(cb.data.content).toMatch(/limit of 1 problem reports per minute\. Try again in \d+ s\./);
    expect(await countRows(h.database, 'attribute_reports')).toBe(rows);
    expect((await h.feedback.reportsOf(result.generationId, bob.id)).map((r) => r.attribute)).toEqual(['glasses']);
  });

  it('does not record votes over the limit, and sends nothing about them', async () => {
    const voteOf = (user: StandInUser) => h.feedback.voteOf(result.generationId, user.id);
    h.standIn.react(bob, result.reply.id, '👍');
    await expect.poll(() => voteOf(bob)).toBe('up');
    h.standIn.react(bob, result.reply.id, '👎');
    await expect.poll(() => voteOf(bob)).toBe('down');
    const messages = h.standIn.messages.size;
    const requests = h.standIn.requests.length;
    h.standIn.react(bob, result.reply.id, '👍'); // the third vote this minute
    h.standIn.react(alice, result.reply.id, '👍'); // a later event, to know the previous one was handled
    await expect.poll(() => voteOf(alice)).toBe('up');
    expect(await voteOf(bob)).toBe('down');
    expect(h.standIn.messages.size).toBe(messages);
    expect(h.standIn.requests.slice(requests).filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
