/**
 * A small feedback history whose report numbers are worked out by hand in report.test.ts.
 *
 * a2b v1 (registered 2026-01-01, generations on 2026-01-10): 10 ok + 1 failed
 *   ratings on g1 👍👍, g2 👎, g3 👍, g4 👎👎           → rated 4, 👍 3 of 6 = 50%
 *   reports glasses ×4 (g1,g2,g3,g5), gender ×2, hands ×1, other ×1
 * a2b v2 (registered 2026-02-01, generations on 2026-02-10): 20 ok
 *   ratings on g1 👍👍, g2 👍, g3 👍👍, g4 👍, g5 👎👎   → rated 5, 👍 6 of 8 = 75%
 *   reports gender ×6 over 5 generations, glasses ×3, hands ×2
 * b2a r1 (registered 2026-01-15, generations on 2026-01-20): 4 ok, no ratings
 *   reports identity ×3, skin_tone ×1
 */
import type { AttributeId } from '../../src/shared/attributes.ts';
import type { FeedbackService, NewGeneration } from '../../src/db/feedback.service.ts';
import { newGeneration, sha256, user } from './fixtures.ts';

async function generationsOf(sut: FeedbackService, n: number, g: Partial<NewGeneration>): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await sut.recordGeneration(newGeneration({ ...g, userId: user(100 + i) }))).id);
  return ids;
}

async function votes(sut: FeedbackService, ids: number[], spec: [index: number, value: 'up' | 'down', voter: number][]): Promise<void> {
  for (const [i, value, voter] of spec) await sut.vote(ids[i], user(voter), value);
}

async function reports(sut: FeedbackService, ids: number[], spec: [index: number, attribute: AttributeId, reporter: number][]): Promise<void> {
  for (const [i, attribute, reporter] of spec) await sut.report(ids[i], user(reporter), [attribute]);
}

export const SEED_DATES = {
  a2bV1: new Date('2026-01-10T12:00:00Z'),
  b2aR1: new Date('2026-01-20T12:00:00Z'),
  a2bV2: new Date('2026-02-10T12:00:00Z'),
};

export async function seedReportHistory(sut: FeedbackService): Promise<void> {
  await sut.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: sha256('v1'), createdAt: new Date('2026-01-01T00:00:00Z') });
  await sut.registerModelVersion({ version: 'v2', direction: 'a2b', fileSha256: sha256('v2'), createdAt: new Date('2026-02-01T00:00:00Z') });
  await sut.registerModelVersion({ version: 'r1', direction: 'b2a', fileSha256: sha256('r1'), createdAt: new Date('2026-01-15T00:00:00Z') });

  // a2b v1
  const v1 = await generationsOf(sut, 10, { direction: 'a2b', modelVersion: 'v1', createdAt: SEED_DATES.a2bV1 });
  const failed = await generationsOf(sut, 1, { direction: 'a2b', modelVersion: 'v1', createdAt: SEED_DATES.a2bV1, status: 'failed', errorCode: 'NO_FACE', facesFound: 0 });
  await votes(sut, v1, [[0, 'up', 1], [0, 'up', 2], [1, 'down', 1], [2, 'up', 3], [3, 'down', 1], [3, 'down', 2]]);
  await reports(sut, v1, [[0, 'glasses', 1], [1, 'glasses', 1], [2, 'glasses', 2], [4, 'glasses', 1], [0, 'gender', 2], [1, 'gender', 2], [5, 'hands', 1], [6, 'other', 3]]);
  // Feedback on a failed generation never counts.
  await sut.vote(failed[0], user(1), 'down');
  await sut.report(failed[0], user(1), ['glasses']);

  // a2b v2
  const v2 = await generationsOf(sut, 20, { direction: 'a2b', modelVersion: 'v2', createdAt: SEED_DATES.a2bV2 });
  await votes(sut, v2, [[0, 'up', 1], [0, 'up', 2], [1, 'up', 1], [2, 'up', 1], [2, 'up', 2], [3, 'up', 1], [4, 'down', 1], [4, 'down', 2]]);
  await reports(sut, v2, [
    [0, 'gender', 1], [0, 'gender', 2], [1, 'gender', 2], [2, 'gender', 2], [3, 'gender', 2], [4, 'gender', 2],
    [0, 'glasses', 1], [1, 'glasses', 1], [2, 'glasses', 1],
    [7, 'hands', 1], [8, 'hands', 1],
  ]);

  // b2a r1
  const r1 = await generationsOf(sut, 4, { direction: 'b2a', modelVersion: 'r1', createdAt: SEED_DATES.b2aR1 });
  await reports(sut, r1, [[0, 'identity', 1], [1, 'identity', 1], [2, 'identity', 1], [0, 'skin_tone', 2]]);
}
