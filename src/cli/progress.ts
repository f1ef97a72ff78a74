/**
 * A phase progress bar for commands that take seconds to minutes but have no natural counter (export,
 * import-torch): `label |████░░░░| 2/4 verifying against TensorFlow.js | 0:00:12`. Drawn with cli-progress
 * on a terminal only; piped or in a container the command's own log lines tell the story, so nothing
 * extra is written there.
 */
import cliProgress from 'cli-progress';

export interface PhaseProgress {
  /** Enter a phase (advances the bar to that phase's position). */
  phase(name: string): void;
  /** Fill the bar and release the terminal line. */
  stop(): void;
}

export interface PhaseProgressOptions {
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw even when the stream is not a terminal (tests). */
  force?: boolean;
}

/**
 * @param label - the command, shown before the bar
 * @param phases - phase name → what it says while running, in order
 */
export function phaseProgress(label: string, phases: Record<string, string>, opts: PhaseProgressOptions = {}): PhaseProgress {
  const stream = opts.stream ?? process.stderr;
  const names = Object.keys(phases);
  if (!opts.force && !stream.isTTY) return { phase: () => undefined, stop: () => undefined };
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} |{bar}| {value}/{total} {what} | {elapsed}`,
      hideCursor: true,
      noTTYOutput: opts.force === true,
      notTTYSchedule: 0,
      fps: 4,
    },
    cliProgress.Presets.shades_classic,
  );
  const elapsed = () => {
    const s = Math.round((Date.now() - started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  bar.start(names.length, 0, { what: 'starting', elapsed: elapsed() });
  const timer = setInterval(() => bar.update({ elapsed: elapsed() }), 1000);
  timer.unref();
  return {
    phase(name) {
      const i = names.indexOf(name);
      bar.update(Math.max(0, i), { what: phases[name] ?? name, elapsed: elapsed() });
      // draw the new phase now: cli-progress throttles updates to its fps, and phases can be short
      (bar as unknown as { render(): void }).render();
    },
    stop() {
      clearInterval(timer);
      bar.update(names.length, { what: 'done', elapsed: elapsed() });
      bar.stop();
    },
  };
}
