import { sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditStore, type NewAudit } from '../../src/db/audit.store.ts';
import { formatAuditComparison, queryAuditComparison } from '../../src/db/audit-report.ts';
import { rowsOf } from '../../src/db/client.ts';
import { FeedbackError } from '../../src/db/feedback.errors.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { dbTargets, truncateAll, useTestDatabase } from '../helpers/databases.ts';
import { newGeneration, sha256, user } from './fixtures.ts';

function audit(overrides: Partial<NewAudit> = {}): NewAudit {
  return {
    status: 'ok',
    analyser: 'face-api 1.7.15',
    trust: 'meaningful',
    identitySimilarity: 0.95,
    input: { gender: 'female', genderProbability: 0.9, age: 30 },
    output: { gender: 'female', genderProbability: 0.8, age: 32 },
    glasses: 'unknown',
    hands: 'unknown',
    ...overrides,
  };
}

async function rejection(p: Promise<unknown>): Promise<FeedbackError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FeedbackError);
  return err as FeedbackError;
}

describe.each(dbTargets)('generation audits on $label', (target) => {
  describe.skipIf(target.skip)('when the database answers', () => {
    const handle = useTestDatabase(target);
    let feedback: FeedbackService;
    let sut: AuditStore;
    const auditCount = async () => Number(rowsOf(await handle().db.execute(sql`select count(*)::int as n from generation_audits`))[0].n);

    beforeEach(async () => {
      await truncateAll(handle());
      feedback = new FeedbackService(handle());
      sut = new AuditStore(handle());
    });

    describe('AuditStore.record', () => {
      it('stores the audit with its generation and reads it back; glasses and hands are "unknown"', async () => {
        const g = await feedback.recordGeneration(newGeneration({ direction: 'b2a' }));
        await sut.record(g.id, audit(), 812);
        expect(await sut.find(g.id)).toMatchObject({
          generationId: g.id,
          status: 'ok',
          trust: 'meaningful',
          inputGender: 'female',
          outputAge: 32,
          glasses: 'unknown',
          hands: 'unknown',
          durationMs: 812,
        });
        expect((await sut.find(g.id))!.identitySimilarity).toBeCloseTo(0.95, 5);
      });

      it('stores a side without a face as nulls', async () => {
        const g = await feedback.recordGeneration(newGeneration());
        await sut.record(g.id, audit({ status: 'no_output_face', output: null, identitySimilarity: null, trust: 'weak' }), 10);
        expect(await sut.find(g.id)).toMatchObject({ status: 'no_output_face', outputGender: null, outputAge: null, identitySimilarity: null });
      });

      it.each([
        ['a similarity outside [-1, 1]', audit({ identitySimilarity: 1.5 }), 'audit.identitySimilarity'],
        ['an unknown status', audit({ status: 'maybe' as NewAudit['status'] }), 'audit.status'],
        ['a guessed glasses verdict', audit({ glasses: 'lost' as 'unknown' }), 'audit.glasses/hands'],
        ['a gender probability above 1', audit({ input: { gender: 'male', genderProbability: 2, age: 3 } }), 'audit.input.genderProbability'],
      ])('refuses %s, writing nothing', async (_what, bad, parameter) => {
        const g = await feedback.recordGeneration(newGeneration());
        const err = await rejection(sut.record(g.id, bad, 5));
        expect(err.code).toBe('INVALID_INPUT');
        expect(err.details.parameter).toBe(parameter);
        expect(await auditCount()).toBe(0);
      });

      it('refuses an audit of an unknown generation', async () => {
        expect((await rejection(sut.record(999, audit(), 5))).code).toBe('UNKNOWN_GENERATION');
        expect(await auditCount()).toBe(0);
      });

      it('is removed with its generation (cascade)', async () => {
        const g = await feedback.recordGeneration(newGeneration());
        await sut.record(g.id, audit(), 5);
        await handle().db.execute(sql`delete from generations where id = ${g.id}`);
        expect(await auditCount()).toBe(0);
      });
    });

    describe('command-line generations', () => {
      it('are stored with source cli and no Discord ids', async () => {
        const g = await feedback.recordGeneration({
          source: 'cli', userId: null, guildId: null, channelId: null, direction: 'a2b', modelVersion: 'v1',
          inputSha256: sha256('x'), facesFound: 1, latencyMs: 5, status: 'ok',
        });
        expect(g).toMatchObject({ source: 'cli', userId: null, channelId: null });
      });

      it('refuse Discord ids, and Discord generations still need a channel', async () => {
        const err = await rejection(feedback.recordGeneration({ ...newGeneration(), source: 'cli' }));
        expect(err.details.parameter).toBe('userId');
        expect((await rejection(feedback.recordGeneration(newGeneration({ channelId: null })))).code).toBe('INVALID_ID');
      });
    });

    describe('queryAuditComparison', () => {
      it('puts automatic flip rates beside community report rates per attribute and version, with agreement', async () => {
        // b2a v1: 4 generations. g1 gender flipped by machine and reported; g2 flipped, not reported;
        // g3 not flipped, reported; g4 no output face (not judged), reported identity.
        const ids: number[] = [];
        for (let i = 0; i < 4; i++) ids.push((await feedback.recordGeneration(newGeneration({ direction: 'b2a', modelVersion: 'v1' }))).id);
        const flipped = audit({ output: { gender: 'male', genderProbability: 0.9, age: 31 } });
        await sut.record(ids[0], flipped, 5);
        await sut.record(ids[1], { ...flipped, identitySimilarity: 0.5 }, 5);
        await sut.record(ids[2], audit({ output: { gender: 'female', genderProbability: 0.9, age: 55 } }), 5);
        await sut.record(ids[3], audit({ status: 'no_output_face', output: null, identitySimilarity: null }), 5);
        await feedback.report(ids[0], user(1), ['gender', 'glasses']);
        await feedback.report(ids[2], user(1), ['gender']);
        await feedback.report(ids[3], user(2), ['identity']);
        // a2b v1: one generation without an audit
        await feedback.recordGeneration(newGeneration({ direction: 'a2b', modelVersion: 'v1' }));

        const c = await queryAuditComparison(handle());
        const row = (d: string, a: string) => c.rows.find((r) => r.direction === d && r.attribute === a)!;
        expect(row('b2a', 'gender')).toMatchObject({
          trust: 'meaningful', generations: 4, audited: 4, judged: 3, flagged: 2, automaticRate: 0.6667, reported: 2, communityRate: 0.5,
          agreement: 0.3333, both: 1, machineOnly: 1, communityOnly: 1,
        });
        expect(row('b2a', 'age')).toMatchObject({ judged: 3, flagged: 1, reported: 0, agreement: 0.6667 });
        expect(row('b2a', 'identity')).toMatchObject({ judged: 3, flagged: 1, reported: 1, communityRate: 0.25, agreement: 0.6667 });
        expect(row('b2a', 'glasses')).toMatchObject({ judged: null, automaticRate: null, agreement: null, reported: 1, communityRate: 0.25 });
        expect(row('a2b', 'gender')).toMatchObject({ trust: 'weak', generations: 1, audited: 0, judged: 0, automaticRate: null });

        const text = formatAuditComparison(c);
        expect(text).toMatch(/Automatic audit vs community reports/);
        expect(text).toMatch(/b2a\s+v1\s+gender\s+meaningful\s+4\s+4\s+3\s+66\.7%\s+50\.0%\s+33\.3%/);
        expect(text).toMatch(/glasses .*unknown/);

        expect((await queryAuditComparison(handle(), { direction: 'a2b' })).rows.every((r) => r.direction === 'a2b')).toBe(true);
      });

      it('says so when the window holds no generation', async () => {
        const c = await queryAuditComparison(handle());
        expect(c.rows).toEqual([]);
        expect(formatAuditComparison(c)).toMatch(/no successful generations/);
      });
    });
  });
});
