import { describe, expect, it, beforeEach } from 'vitest';
import { FeedbackError } from '../../src/db/feedback.errors.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { countRows, dbTargets, truncateAll, useTestDatabase } from '../helpers/databases.ts';
import { CHANNEL, newGeneration, sha256, snowflake, user } from './fixtures.ts';

/** Run `fn`, expect a FeedbackError with `code`, and return it. */
async function expectFeedbackError(fn: () => Promise<unknown>, code: string): Promise<FeedbackError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FeedbackError);
  expect((err as FeedbackError).code).toBe(code);
  return err as FeedbackError;
}

describe.each(dbTargets)('FeedbackService on $label', (target) => {
  describe.skipIf(target.skip)('when the database answers', () => {
    const handle = useTestDatabase(target);
    let sut: FeedbackService;

    beforeEach(async () => {
      await truncateAll(handle());
      sut = new FeedbackService(handle());
    });

    describe('recordGeneration', () => {
      it('stores every field and returns a short numeric id', async () => {
        const input = newGeneration({ messageId: snowflake(9), errorCode: null });
        const created = await sut.recordGeneration(input);
        expect(created.id).toBeTypeOf('number');
        expect(created).toMatchObject({
          userId: input.userId,
          guildId: input.guildId,
          channelId: input.channelId,
          interactionId: input.interactionId,
          messageId: snowflake(9),
          direction: 'a2b',
          modelVersion: 'v1',
          inputSha256: input.inputSha256,
          facesFound: 1,
          latencyMs: 420,
          status: 'ok',
          errorCode: null,
          anonymisedAt: null,
        });
        expect(created.createdAt).toBeInstanceOf(Date);
        expect(await sut.findGeneration(created.id)).toEqual(created);
        expect(await sut.findGeneration(String(created.id))).toEqual(created);
      });

      it('records a failed generation with its error code and a direct-message (no guild) origin', async () => {
        const created = await sut.recordGeneration(newGeneration({ guildId: null, status: 'failed', errorCode: 'NO_FACE', facesFound: 0, direction: 'b2a' }));
        expect(created).toMatchObject({ guildId: null, status: 'failed', errorCode: 'NO_FACE', facesFound: 0, direction: 'b2a' });
      });

      it('records a failure before download (refused attachment) without an image hash', async () => {
        const created = await sut.recordGeneration(newGeneration({ status: 'failed', errorCode: 'UNSUPPORTED_FORMAT', facesFound: 0, inputSha256: null }));
        expect(created).toMatchObject({ status: 'failed', errorCode: 'UNSUPPORTED_FORMAT', inputSha256: null });
      });

      it('records the output mode and the generation a variation came from', async () => {
        const first = await sut.recordGeneration(newGeneration());
        expect(first).toMatchObject({ outputMode: 'face', parentGenerationId: null });
        const variation = await sut.recordGeneration(newGeneration({ outputMode: 'photo', parentGenerationId: String(first.id) }));
        expect(variation).toMatchObject({ outputMode: 'photo', parentGenerationId: first.id });
      });

      it('refuses a variation of an unknown generation and writes nothing', async () => {
        const err = await expectFeedbackError(() => sut.recordGeneration(newGeneration({ parentGenerationId: 987654 })), 'UNKNOWN_GENERATION');
        expect(err.details.received).toBe(987654);
        expect(await countRows(handle(), 'generations')).toBe(0);
      });

      it.each([
        ['outputMode', { outputMode: 'poster' as never }, 'INVALID_INPUT'],
        ['parentGenerationId', { parentGenerationId: -3 }, 'INVALID_ID'],
        ['userId', { userId: '12' }, 'INVALID_ID'],
        ['guildId', { guildId: 'guild' }, 'INVALID_ID'],
        ['channelId', { channelId: '' }, 'INVALID_ID'],
        ['messageId', { messageId: '1'.repeat(30) }, 'INVALID_ID'],
        ['direction', { direction: 'a2c' as never }, 'INVALID_INPUT'],
        ['inputSha256', { inputSha256: 'abc' }, 'INVALID_INPUT'],
        ['inputSha256', { inputSha256: null }, 'INVALID_INPUT'], // only a failure may lack the image hash
        ['facesFound', { facesFound: -1 }, 'INVALID_INPUT'],
        ['latencyMs', { latencyMs: Number.NaN }, 'INVALID_INPUT'],
        ['modelVersion', { modelVersion: ' ' }, 'INVALID_INPUT'],
        ['status', { status: 'maybe' as never }, 'INVALID_INPUT'],
      ])('refuses a malformed %s and writes nothing', async (parameter, override, code) => {
        const err = await expectFeedbackError(() => sut.recordGeneration(newGeneration(override)), code);
        expect(err.details.parameter).toBe(parameter);
        expect(err.message).toContain(parameter);
        expect(await countRows(handle(), 'generations')).toBe(0);
      });
    });

    describe('attachMessage and findGenerationByMessageId', () => {
      it('finds a generation by the reply message attached after the fact', async () => {
        const created = await sut.recordGeneration(newGeneration());
        const attached = await sut.attachMessage(String(created.id), snowflake(77));
        expect(attached.messageId).toBe(snowflake(77));
        expect((await sut.findGenerationByMessageId(snowflake(77)))?.id).toBe(created.id);
        expect(await sut.findGenerationByMessageId(snowflake(78))).toBeUndefined();
      });

      it('refuses an unknown generation, a malformed id, and a message that already belongs to another generation', async () => {
        const a = await sut.recordGeneration(newGeneration({ messageId: snowflake(5) }));
        const b = await sut.recordGeneration(newGeneration());
        await expectFeedbackError(() => sut.attachMessage(a.id + b.id + 1, snowflake(6)), 'UNKNOWN_GENERATION');
        await expectFeedbackError(() => sut.attachMessage('x1', snowflake(6)), 'INVALID_ID');
        await expectFeedbackError(() => sut.attachMessage(b.id, snowflake(5)), 'INVALID_INPUT');
        expect((await sut.findGeneration(b.id))?.messageId).toBeNull();
      });
    });

    describe('vote', () => {
      it('keeps one vote per member: a second vote replaces the first', async () => {
        const g = await sut.recordGeneration(newGeneration());
        expect(await sut.vote(g.id, user(1), 'up')).toEqual({ value: 'up', previous: null });
        expect(await sut.vote(g.id, user(1), 'down')).toEqual({ value: 'down', previous: 'up' });
        expect(await sut.vote(g.id, user(2), 'up')).toEqual({ value: 'up', previous: null });
        expect(await sut.voteOf(g.id, user(1))).toBe('down');
        expect(await sut.voteCounts(g.id)).toEqual({ up: 1, down: 1 });
        expect(await countRows(handle(), 'ratings')).toBe(2);
      });

      it.each([
        ['a vote value other than up/down', () => ['1', user(1), 'meh'], 'INVALID_VOTE'],
        ['a malformed generation id', () => ['abc', user(1), 'up'], 'INVALID_ID'],
        ['a negative generation id', () => [-4, user(1), 'up'], 'INVALID_ID'],
        ['a malformed user id', () => ['1', 'someone', 'up'], 'INVALID_ID'],
        ['an unknown generation', () => ['999999', user(1), 'up'], 'UNKNOWN_GENERATION'],
      ])('refuses %s and writes nothing', async (_what, args, code) => {
        await sut.recordGeneration(newGeneration());
        const [id, u, v] = args() as [string, string, 'up'];
        await expectFeedbackError(() => sut.vote(id, u, v), code);
        expect(await countRows(handle(), 'ratings')).toBe(0);
      });
    });

    describe('removeVote', () => {
      it('removes the vote when the member withdraws the reaction they hold', async () => {
        const g = await sut.recordGeneration(newGeneration());
        await sut.vote(g.id, user(1), 'up');
        expect(await sut.removeVote(g.id, user(1), 'up')).toBe(true);
        expect(await sut.voteOf(g.id, user(1))).toBeNull();
      });

      it('does nothing when the withdrawn reaction is no longer the current vote', async () => {
        const g = await sut.recordGeneration(newGeneration());
        await sut.vote(g.id, user(1), 'up');
        await sut.vote(g.id, user(1), 'down');
        expect(await sut.removeVote(g.id, user(1), 'up')).toBe(false);
        expect(await sut.voteOf(g.id, user(1))).toBe('down');
      });

      it('refuses a bad vote value and an unknown generation', async () => {
        const g = await sut.recordGeneration(newGeneration());
        await sut.vote(g.id, user(1), 'up');
        await expectFeedbackError(() => sut.removeVote(g.id, user(1), 'sideways' as never), 'INVALID_VOTE');
        await expectFeedbackError(() => sut.removeVote(g.id + 1, user(1), 'up'), 'UNKNOWN_GENERATION');
        expect(await sut.voteOf(g.id, user(1))).toBe('up');
      });
    });

    describe('report', () => {
      it('stores one row per attribute and tells new from repeated ones', async () => {
        const g = await sut.recordGeneration(newGeneration());
        expect(await sut.report(g.id, user(1), ['glasses', 'gender'], 'my glasses vanished')).toEqual({ created: ['glasses', 'gender'], existing: [] });
        expect(await sut.report(g.id, user(1), ['glasses', 'hands', 'hands'])).toEqual({ created: ['hands'], existing: ['glasses'] });
        expect(await sut.reportsOf(g.id, user(1))).toEqual([
          { userId: user(1), attribute: 'glasses', note: 'my glasses vanished' },
          { userId: user(1), attribute: 'gender', note: 'my glasses vanished' },
          { userId: user(1), attribute: 'hands', note: null },
        ]);
        expect(await countRows(handle(), 'attribute_reports')).toBe(3);
      });

      it('replaces the note when a report is repeated with a new one, and accepts exactly 500 characters', async () => {
        const g = await sut.recordGeneration(newGeneration());
        await sut.report(g.id, user(1), ['hair'], 'first');
        const long = '가'.repeat(500);
        await sut.report(g.id, user(1), ['hair'], long);
        expect(await sut.reportsOf(g.id)).toEqual([{ userId: user(1), attribute: 'hair', note: long }]);
      });

      it.each([
        ['an unknown attribute', () => [['glasses', 'wings']], 'UNKNOWN_ATTRIBUTE'],
        ['no attribute', () => [[]], 'NO_ATTRIBUTE'],
        ['a note over 500 characters', () => [['glasses'], 'x'.repeat(501)], 'NOTE_TOO_LONG'],
        ['a malformed generation id', () => [['glasses'], undefined, '1.5'], 'INVALID_ID'],
        ['a malformed user id', () => [['glasses'], undefined, undefined, '123'], 'INVALID_ID'],
        ['an unknown generation', () => [['glasses'], undefined, '424242'], 'UNKNOWN_GENERATION'],
      ])('refuses %s and writes nothing', async (_what, args, code) => {
        const g = await sut.recordGeneration(newGeneration());
        const [attributes, note, id, u] = args() as [string[], string | undefined, string | undefined, string | undefined];
        await expectFeedbackError(() => sut.report(id ?? g.id, u ?? user(1), attributes, note), code);
        expect(await countRows(handle(), 'attribute_reports')).toBe(0);
      });
    });

    describe('startGeneration and finishGeneration', () => {
      it('keeps one row per request: started pending, finished once, a second outcome ignored', async () => {
        const started = await sut.startGeneration({ userId: user(1), guildId: null, channelId: CHANNEL, interactionId: snowflake(4), direction: 'b2a' });
        expect(started).toMatchObject({ status: 'pending', modelVersion: 'pending', inputSha256: null, messageId: null });
        const ok = await sut.finishGeneration(started.id, { modelVersion: 'v2', inputSha256: sha256('y'), facesFound: 2, latencyMs: 1200, status: 'ok', messageId: snowflake(6) });
        expect(ok).toMatchObject({ status: 'ok', modelVersion: 'v2', inputSha256: sha256('y'), facesFound: 2, messageId: snowflake(6), userId: user(1) });
        expect(await sut.finishGeneration(started.id, { modelVersion: 'v2', inputSha256: null, facesFound: 0, latencyMs: 1300, status: 'failed', errorCode: 'X' })).toBeUndefined();
        expect(await countRows(handle(), 'generations')).toBe(1);
        expect((await sut.findGeneration(started.id))?.status).toBe('ok');
      });

      it('refuses a bad outcome before writing anything', async () => {
        const started = await sut.startGeneration({ userId: user(1), guildId: null, channelId: CHANNEL, direction: 'a2b' });
        await expectFeedbackError(() => sut.finishGeneration(started.id, { modelVersion: 'v1', inputSha256: 'nothex', facesFound: 0, latencyMs: 1, status: 'ok' }), 'INVALID_INPUT');
        await expectFeedbackError(() => sut.finishGeneration(started.id, { modelVersion: 'v1', inputSha256: null, facesFound: 0, latencyMs: 1, status: 'pending' as 'ok' }), 'INVALID_INPUT');
        expect((await sut.findGeneration(started.id))?.status).toBe('pending');
      });
    });

    describe('forgetUser', () => {
      it("deletes the member's ratings and reports and anonymises their generations, leaving others alone", async () => {
        const mine = await sut.recordGeneration(newGeneration({ userId: user(1) }));
        const theirs = await sut.recordGeneration(newGeneration({ userId: user(2) }));
        await sut.vote(mine.id, user(1), 'up');
        await sut.vote(theirs.id, user(1), 'down');
        await sut.vote(theirs.id, user(2), 'up');
        await sut.report(theirs.id, user(1), ['gender', 'age'], 'note');
        await sut.report(mine.id, user(2), ['hair']);

        await sut.recordGeneration(newGeneration({ userId: user(1), status: 'failed', errorCode: 'NO_FACE', facesFound: 0 }));
        const votes = await sut.votesWithMessages(user(1));
        expect(votes.map((v) => [v.generationId, v.value, v.channelId])).toEqual([
          [mine.id, 'up', CHANNEL],
          [theirs.id, 'down', CHANNEL],
        ]);

        // two anonymised generations, one of them a result (the refused attempt is not a result)
        expect(await sut.forgetUser(user(1))).toEqual({ ratingsDeleted: 2, reportsDeleted: 2, generationsAnonymised: 2, resultsAnonymised: 1 });
        expect(await sut.votesWithMessages(user(1))).toEqual([]);

        const anonymised = await sut.findGeneration(mine.id);
        // Before: message, channel and guild ids were kept.
        expect(anonymised).toMatchObject({ userId: null, interactionId: null, messageId: null, channelId: null, guildId: null, inputSha256: null, modelVersion: 'v1' });
        expect(anonymised?.anonymisedAt).toBeInstanceOf(Date);
        expect((await sut.findGeneration(theirs.id))?.userId).toBe(user(2));
        expect(await sut.voteCounts(theirs.id)).toEqual({ up: 1, down: 0 });
        expect(await sut.reportsOf(theirs.id)).toEqual([]);
        expect(await sut.reportsOf(mine.id)).toEqual([{ userId: user(2), attribute: 'hair', note: null }]);
        expect(await sut.forgetUser(user(1))).toEqual({ ratingsDeleted: 0, reportsDeleted: 0, generationsAnonymised: 0, resultsAnonymised: 0 });
      });

      it('reaches a translation in flight: its outcome, written after the erasure, stays anonymous', async () => {
        const started = await sut.startGeneration({ userId: user(1), guildId: snowflake(3), channelId: CHANNEL, interactionId: snowflake(4), direction: 'a2b' });
        expect(started).toMatchObject({ status: 'pending', userId: user(1) });
        expect((await sut.forgetUser(user(1))).generationsAnonymised).toBe(1);
        const finished = await sut.finishGeneration(started.id, { modelVersion: 'v1', inputSha256: sha256('x'), facesFound: 1, latencyMs: 900, status: 'ok', messageId: snowflake(5) });
        expect(finished).toMatchObject({ status: 'ok', userId: null, interactionId: null, messageId: null, channelId: null, guildId: null, inputSha256: null, facesFound: 1 });
        expect(await countRows(handle(), 'generations')).toBe(1);
      });

      it('refuses a malformed user id', async () => {
        await expectFeedbackError(() => sut.forgetUser('%'), 'INVALID_ID');
      });
    });

    describe('registerModelVersion and listModelVersions', () => {
      it('is idempotent for the same version and file, and lists versions oldest first per direction', async () => {
        const first = await sut.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: sha256('a'), notes: 'seed', createdAt: new Date('2026-01-01T00:00:00Z') });
        const again = await sut.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: sha256('a').toUpperCase() });
        await sut.registerModelVersion({ version: 'v2', direction: 'a2b', fileSha256: sha256('b'), createdAt: new Date('2026-02-01T00:00:00Z') });
        await sut.registerModelVersion({ version: 'v1', direction: 'b2a', fileSha256: sha256('c') });
        expect(first.created).toBe(true);
        expect(again).toEqual({ modelVersion: first.modelVersion, created: false });
        expect((await sut.listModelVersions('a2b')).map((m) => m.version)).toEqual(['v1', 'v2']);
        expect((await sut.listModelVersions()).map((m) => `${m.direction}/${m.version}`)).toEqual(['a2b/v1', 'a2b/v2', 'b2a/v1']);
      });

      it('refuses the same version with a different file, and a malformed hash', async () => {
        await sut.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: sha256('a') });
        await expectFeedbackError(() => sut.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: sha256('other') }), 'MODEL_VERSION_CONFLICT');
        await expectFeedbackError(() => sut.registerModelVersion({ version: 'v2', direction: 'a2b', fileSha256: 'nothex' }), 'INVALID_INPUT');
        expect(await countRows(handle(), 'model_versions')).toBe(1);
      });
    });
  });
});
