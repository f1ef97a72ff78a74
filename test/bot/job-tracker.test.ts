import { describe, expect, it } from 'vitest';
import { JobTracker } from '../../src/bot/job-tracker.ts';

describe('JobTracker', () => {
  describe('ownerSignal / abortOwner', () => {
    it("aborts only the given member's running jobs (what /forget-me does) and forgets them once released", () => {
      const sut = new JobTracker();
      const a1 = sut.ownerSignal('111');
      const a2 = sut.ownerSignal('111');
      const b = sut.ownerSignal('222');
      expect(sut.abortOwner('111')).toBe(2);
      expect([a1.signal.aborted, a2.signal.aborted, b.signal.aborted]).toEqual([true, true, false]);
      a1.release();
      a2.release();
      expect(sut.abortOwner('111')).toBe(0); // no entry kept for the member
      b.release();
    });

    it('fires on the shutdown abort too', async () => {
      const sut = new JobTracker();
      const job = sut.ownerSignal('333');
      const work = sut.run(() => new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve())));
      const drained = await sut.drain(0);
      await work;
      expect(drained).toEqual({ finished: 0, aborted: 1 });
      expect(job.signal.aborted).toBe(true);
    });
  });
});
