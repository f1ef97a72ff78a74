/**
 * Tracks in-flight translations so that shutdown can stop taking new work, wait for what is running
 * and abort what does not finish in time.
 */
import { setMaxListeners } from 'node:events';

export class JobTracker {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly controller = new AbortController();
  private open = true;

  constructor() {
    // every running job listens on the one shutdown signal
    setMaxListeners(0, this.controller.signal);
  }

  /** False once {@link drain} has started: new translations are refused. */
  get accepting(): boolean {
    return this.open;
  }

  /** Number of translations running now. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Aborted when shutdown gives up waiting; pass it to the work. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Run `work` as a tracked job. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const p = work();
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Stop accepting, wait up to `graceMs` for running jobs, then abort the rest and wait for them to settle. */
  async drain(graceMs: number): Promise<{ finished: number; aborted: number }> {
    this.open = false;
    const pending = [...this.inFlight];
    if (!pending.length) return { finished: 0, aborted: 0 };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled(pending).then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    const left = this.inFlight.size;
    if (timedOut && left) {
      this.controller.abort(new Error('shutting down'));
      await Promise.allSettled([...this.inFlight]);
    }
    return { finished: pending.length - (timedOut ? left : 0), aborted: timedOut ? left : 0 };
  }
}
