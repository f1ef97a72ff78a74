/**
 * Bounded in-memory history of the per-step losses for the loss-curve PNG: consecutive steps are
 * averaged into buckets, and when there are more than `maxBuckets` the resolution halves (pairs
 * merge). A million-step run therefore costs a few thousand numbers, not a million records.
 */
import type { LossRecord } from './loss-curve.ts';

interface Bucket {
  lastStep: number;
  count: number;
  sums: Record<string, number>;
}

export class LossHistory {
  private buckets: Bucket[] = [];
  private perBucket = 1;

  constructor(private readonly maxBuckets = 2000) {}

  add(step: number, losses: Record<string, number>): void {
    const tail = this.buckets[this.buckets.length - 1];
    if (tail && tail.count < this.perBucket) {
      tail.count++;
      tail.lastStep = step;
      for (const [k, v] of Object.entries(losses)) tail.sums[k] = (tail.sums[k] ?? 0) + v;
    } else {
      this.buckets.push({ lastStep: step, count: 1, sums: { ...losses } });
    }
    if (this.buckets.length > this.maxBuckets) this.halve();
  }

  private halve(): void {
    const merged: Bucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const a = this.buckets[i];
      const b = this.buckets[i + 1];
      if (!b) {
        merged.push(a);
        continue;
      }
      const sums = { ...a.sums };
      for (const [k, v] of Object.entries(b.sums)) sums[k] = (sums[k] ?? 0) + v;
      merged.push({ lastStep: b.lastStep, count: a.count + b.count, sums });
    }
    this.buckets = merged;
    this.perBucket *= 2;
  }

  /** The averaged records, oldest first. */
  records(): LossRecord[] {
    return this.buckets.map((b) => ({
      step: b.lastStep,
      losses: Object.fromEntries(Object.entries(b.sums).map(([k, v]) => [k, v / b.count])),
    }));
  }

  get size(): number {
    return this.buckets.length;
  }
}
