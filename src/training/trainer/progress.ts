/**
 * Progress display: a cli-progress bar (iteration, it/s, ETA, latest D/G loss) when stderr is a
 * terminal, plain log lines otherwise (at most one per `everyMs`, plus first and last step).
 */
import cliProgress from 'cli-progress';
import type { Logger } from 'pino';

/** What the trainer reports after each step. */
export interface ProgressUpdate {
  step: number;
  dLoss: number;
  gLoss: number;
  lr: number;
}

/** A progress sink. */
export interface ProgressReporter {
  update(u: ProgressUpdate): void;
  /** A message that must not be garbled by the bar (e.g. "saved checkpoint"). */
  note(message: string): void;
  stop(): void;
}

/** Iterations per second and ETA over a sliding window of recent steps. */
export class RateMeter {
  private readonly times: number[] = [];
  private readonly steps: number[] = [];

  constructor(private readonly window = 20) {}

  add(step: number, now = performance.now()): void {
    this.times.push(now);
    this.steps.push(step);
    if (this.times.length > this.window) {
      this.times.shift();
      this.steps.shift();
    }
  }

  /** Iterations per second, or 0 before two samples. */
  rate(): number {
    const n = this.times.length;
    if (n < 2) return 0;
    const dt = (this.times[n - 1] - this.times[0]) / 1000;
    return dt > 0 ? (this.steps[n - 1] - this.steps[0]) / dt : 0;
  }

  /** Seconds left to reach `total`, or null when unknown. */
  eta(step: number, total: number): number | null {
    const r = this.rate();
    return r > 0 ? (total - step) / r : null;
  }
}

/** Format seconds as h:mm:ss. */
export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/**
 * Pick the reporter: `bar` on a TTY, `lines` otherwise, `none` to stay silent.
 * @param mode - 'auto' chooses by `process.stderr.isTTY`
 */
export function createProgress(opts: { mode: 'auto' | 'bar' | 'lines' | 'none'; start: number; total: number; log: Logger; everyMs?: number }): ProgressReporter {
  const mode = opts.mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : opts.mode;
  const meter = new RateMeter();
  if (mode === 'none') return { update: (u) => meter.add(u.step), note: () => undefined, stop: () => undefined };
  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'train |{bar}| {value}/{total} | {rate} it/s | ETA {etaText} | D {d} G {g} | lr {lr}',
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, opts.start, { rate: '-', etaText: '?', d: '-', g: '-', lr: '-' });
    return {
      update(u) {
        meter.add(u.step);
        bar.update(u.step, {
          rate: meter.rate().toFixed(2),
          etaText: formatDuration(meter.eta(u.step, opts.total)),
          d: u.dLoss.toFixed(4),
          g: u.gLoss.toFixed(3),
          lr: u.lr.toExponential(2),
        });
      },
      note(message) {
        process.stderr.write(`\n${message}\n`);
      },
      stop() {
        bar.stop();
      },
    };
  }
  const everyMs = opts.everyMs ?? 10_000;
  let last = -Infinity;
  return {
    update(u) {
      meter.add(u.step);
      const now = performance.now();
      if (now - last < everyMs && u.step !== opts.start + 1 && u.step !== opts.total) return;
      last = now;
      opts.log.info(
        { step: u.step, total: opts.total, itPerSec: Number(meter.rate().toFixed(3)), eta: formatDuration(meter.eta(u.step, opts.total)), d_loss: u.dLoss, g_loss: u.gLoss, lr: u.lr },
        `[${u.step}/${opts.total}] ${meter.rate().toFixed(2)} it/s, ETA ${formatDuration(meter.eta(u.step, opts.total))}, d_loss ${u.dLoss.toFixed(6)}, g_loss ${u.gLoss.toFixed(6)}`,
      );
    },
    note(message) {
      opts.log.info(message);
    },
    stop: () => undefined,
  };
}
