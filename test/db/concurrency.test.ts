/**
 * Members double-click and Discord redelivers events: 50 identical votes, reports or registrations
 * arriving at once must end as exactly one row. On Postgres the 50 requests run on up to 50 pooled
 * connections at the same time; PGlite (one connection) serialises them.
 */
import { describe, expect, it, beforeEach } from 'vitest';
import { migrateDatabase, openDatabase } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { countRows, dbTargets, truncateAll, useTestDatabase } from '../helpers/databases.ts';
import { newGeneration, sha256, user } from './fixtures.ts';

const N = 50;
const times = <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

describe.each(dbTargets)('concurrent feedback on $label', (target) => {
  describe.skipIf(target.skip)('with 50 simultaneous requests', () => {
    // One pooled connection per request on Postgres, so all 50 really run at the same time.
    const handle = useTestDatabase(target, { poolMax: N });
    let sut: FeedbackService;

    beforeEach(async () => {
      await truncateAll(handle());
      sut = new FeedbackService(handle());
    });

    it('turns 50 identical votes into exactly one rating', async () => {
      const g = await sut.recordGeneration(newGeneration());
      const results = await times(N, () => sut.vote(g.id, user(1), 'up'));
      expect(results.every((r) => r.value === 'up')).toBe(true);
      expect(results.filter((r) => r.previous === null).length).toBeGreaterThanOrEqual(1);
      expect(await countRows(handle(), 'ratings')).toBe(1);
      expect(await sut.voteCounts(g.id)).toEqual({ up: 1, down: 0 });
      if (target.kind === 'postgres') {
        // The requests really overlapped: the pool had to open many connections for them.
        const pool = (handle().db as unknown as { $client: { totalCount: number } }).$client;
        expect(pool.totalCount).toBeGreaterThanOrEqual(10);
      }
    });

    it('keeps one rating per member when the same member flips between 👍 and 👎 50 times at once', async () => {
      const g = await sut.recordGeneration(newGeneration());
      await times(N, (i) => sut.vote(g.id, user(1), i % 2 === 0 ? 'up' : 'down'));
      expect(await countRows(handle(), 'ratings')).toBe(1);
      expect(['up', 'down']).toContain(await sut.voteOf(g.id, user(1)));
    });

    it('counts 50 different members voting at once as 50 ratings', async () => {
      const g = await sut.recordGeneration(newGeneration());
      await times(N, (i) => sut.vote(g.id, user(i), 'down'));
      expect(await sut.voteCounts(g.id)).toEqual({ up: 0, down: N });
    });

    it('turns 50 identical attribute reports into exactly one row per attribute, created once', async () => {
      const g = await sut.recordGeneration(newGeneration());
      const results = await times(N, () => sut.report(g.id, user(1), ['glasses', 'gender'], 'lost them'));
      expect(await countRows(handle(), 'attribute_reports')).toBe(2);
      expect(results.flatMap((r) => r.created).sort()).toEqual(['gender', 'glasses']);
    });

    it('registers a model version once when 50 workers register it at once', async () => {
      const results = await times(N, () => sut.registerModelVersion({ version: 'v7', direction: 'b2a', fileSha256: sha256('model') }));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await countRows(handle(), 'model_versions')).toBe(1);
    });
  });
});

describe.each(dbTargets.filter((t) => t.kind === 'postgres'))('migrateDatabase run by several processes at once on $label', (target) => {
  it.skipIf(target.skip)('applies each migration exactly once', async () => {
    const fresh = await target.open({ migrate: false });
    const others = await Promise.all(Array.from({ length: 3 }, () => openDatabase({ url: fresh.url, poolMax: 2 })));
    try {
      const results = await Promise.all([fresh.handle, ...others].map((h) => migrateDatabase(h)));
      const applied = results.reduce((sum, r) => sum + r.applied, 0);
      expect(applied).toBe(results[0].available);
      expect(await countRows(fresh.handle, 'generations')).toBe(0);
    } finally {
      await Promise.all(others.map((h) => h.close()));
      await fresh.dispose();
    }
  });
});
