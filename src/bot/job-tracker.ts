/**
 * Tracks in-flight translations so that shutdown can stop taking new work, wait for what is running
 * and abort what does not finish in time.
 */
import { setMaxListeners } from 'node:events';

export class JobTracker {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly controller = new AbortController();
  /** Per-member cancellation of running translations (for /forget-me); entries live only while a job runs. */
  private readonly owners = new Map<string, Set<AbortController>>();
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

  /**
   * A signal for one job of `owner`: it fires on the shutdown abort and on {@link abortOwner}.
   * Call `release()` when the job is over.
   */
  ownerSignal(owner: string): { signal: AbortSignal; release: () => void } {
    const own = new AbortController();
    let set = this.owners.get(owner);
    if (!set) {
      set = new Set();
      this.owners.set(owner, set);
    }
    set.add(own);
    return {
      signal: AbortSignal.any([this.controller.signal, own.signal]),
      release: () => {
        const s = this.owners.get(owner);
        s?.delete(own);
        if (s?.size === 0) this.owners.delete(owner);
      },
    };
  }

  /** Abort every running job of `owner` (their work ends with ABORTED); returns how many. */
  abortOwner(owner: string): number {
    const set = this.owners.get(owner);
    if (!set) return 0;
    for (const c of set) c.abort(new Error('cancelled: the member asked to be forgotten'));
    return set.size;
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
