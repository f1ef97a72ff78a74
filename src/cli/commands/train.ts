/**
 * `webtoon train`: train (or resume, or fine-tune) U-GAT-IT with the in-repo tfjs trainer.
 * SIGINT finishes the current step, writes a checkpoint and exits 0; a second SIGINT exits at once.
 * Prints the run summary as JSON on stdout.
 */
import type { Command } from 'commander';
import { BACKEND_PREFERENCES, type BackendPreference } from '../../training/backend-names.ts';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../training/trainer/options.ts';
import { UsageError } from '../../errors.ts';

const num = (v: string) => Number(v);

/** CLI option name → TrainOptions key, for those that map one to one. */
const FLAGS: [string, keyof TrainOptions][] = [
  ['data', 'dataDir'],
  ['light', 'light'],
  ['imgSize', 'imgSize'],
  ['ngf', 'ngf'],
  ['ndf', 'ndf'],
  ['nRes', 'nRes'],
  ['disLayersGlobal', 'disLayersGlobal'],
  ['disLayersLocal', 'disLayersLocal'],
  ['iterations', 'iterations'],
  ['batch', 'batch'],
  ['lr', 'lr'],
  ['weightDecay', 'weightDecay'],
  ['decay', 'decay'],
  ['seed', 'seed'],
  ['saveEvery', 'saveEvery'],
  ['sampleEvery', 'sampleEvery'],
  ['sampleCount', 'sampleCount'],
  ['keepCheckpoints', 'keepCheckpoints'],
  ['samplingWeights', 'samplingWeights'],
  ['backend', 'backend'],
  ['augment', 'augment'],
  ['prefetch', 'prefetch'],
  ['init', 'init'],
  ['lowMemory', 'lowMemory'],
];

export default function register(program: Command): void {
  const d = DEFAULT_TRAIN_OPTIONS;
  program
    .command('train')
    .description('train U-GAT-IT (trainA = real faces, trainB = webtoon faces) with the tfjs trainer; resumable, SIGINT-safe')
    .option('--data <dir>', 'dataset dir holding trainA/ trainB/ (testA/ testB/ optional)')
    .requiredOption('--out <dir>', 'run dir: checkpoints/, samples/, losses.jsonl, loss-curve.png, run.json')
    .option('--light', 'light generator (global-pooled MLP; any image size, 42 MB at ngf 64)')
    .option('--img-size <n>', `image side in pixels (default ${d.imgSize})`, num)
    .option('--ngf <n>', `generator base width (default ${d.ngf})`, num)
    .option('--ndf <n>', 'discriminator base width (default: = --ngf, as the official --ch)', num)
    .option('--n-res <n>', `residual blocks (default ${d.nRes})`, num)
    .option('--dis-layers-global <n>', `global discriminator layers (default ${d.disLayersGlobal}; needs --img-size ≥ 96)`, num)
    .option('--dis-layers-local <n>', `local discriminator layers (default ${d.disLayersLocal}; needs --img-size ≥ 24)`, num)
    .option('--iterations <n>', `total iterations (default ${d.iterations})`, num)
    .option('--batch <n>', `images per domain per step (default ${d.batch})`, num)
    .option('--lr <x>', `learning rate (default ${d.lr}; linear decay to 0 over the second half)`, num)
    .option('--weight-decay <x>', `Adam coupled L2 weight decay (default ${d.weightDecay})`, num)
    .option('--no-decay', 'keep the learning rate constant (no linear decay)')
    .option('--seed <n>', `seed of initialisation, data order and augmentation (default ${d.seed})`, num)
    .option('--save-every <n>', `checkpoint every n steps (default ${d.saveEvery}; also at exit)`, num)
    .option('--sample-every <n>', `sample grid + loss curve every n steps (default ${d.sampleEvery})`, num)
    .option('--sample-count <n>', `fixed test images per domain in the sample grid (default ${d.sampleCount})`, num)
    .option('--keep-checkpoints <n>', `keep only the newest n checkpoints, 0 = all (default ${d.keepCheckpoints})`, num)
    .option('--sampling-weights <file>', 'per-image sampling weights JSON for one domain (see docs/training.md)')
    .option('--backend <name>', `${BACKEND_PREFERENCES.join('|')} (default: TRAIN_BACKEND, auto)`)
    .option('--no-augment', 'no flip / resize+crop augmentation (resize to --img-size only)')
    .option('--prefetch <n>', `steps of data prepared ahead (default ${d.prefetch})`, num)
    .option('--low-memory <mode>', 'auto|on|off: one gradient tape per D call and per G loss chain, Adam moments in JS memory (auto: on for wasm)')
    .option('--resume', 'continue the run in --out from its newest checkpoint (exactly, Adam state included)')
    .option('--init <checkpoint>', 'fine-tune from a checkpoint (our format dir, or an official UGATIT-pytorch .pt)')
    .option('--stop-after <n>', 'stop (checkpoint and exit) after this step, as if interrupted', num)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const explicit: Partial<TrainOptions> = {};
      for (const [flag, key] of FLAGS) {
        const src = cmd.getOptionValueSource(flag);
        if (src !== undefined && src !== 'default' && opts[flag] !== undefined) (explicit as Record<string, unknown>)[key] = opts[flag];
      }
      if (explicit.backend !== undefined && !BACKEND_PREFERENCES.includes(explicit.backend)) {
        throw new UsageError(`--backend must be one of ${BACKEND_PREFERENCES.join(', ')}; received "${String(explicit.backend)}"`);
      }
      const outDir = String(opts.out);
      // Loaded here, not at the top: `webtoon --help` must not load TensorFlow.js.
      const { config } = await import('../../config.ts');
      const { moduleLogger } = await import('../../logger.ts');
      const { resumeOptions, runTraining } = await import('../../training/trainer/trainer.ts');
      let options: Partial<TrainOptions> & Pick<TrainOptions, 'dataDir' | 'outDir'>;
      if (opts.resume) {
        if (explicit.init) throw new UsageError('--init starts a new run; it cannot be combined with --resume');
        options = await resumeOptions(outDir, explicit);
      } else {
        if (!explicit.dataDir) throw new UsageError('--data <dir> is required (unless --resume)');
        options = {
          ...explicit,
          dataDir: explicit.dataDir,
          outDir,
          ndf: explicit.ndf ?? explicit.ngf ?? DEFAULT_TRAIN_OPTIONS.ndf,
          backend: explicit.backend ?? (config().TRAIN_BACKEND as BackendPreference),
        };
      }
      const controller = new AbortController();
      const log = moduleLogger('train');
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          log.warn('interrupted: finishing the current step, then saving a checkpoint (Ctrl-C again to quit without saving)');
          controller.abort();
        } else {
          process.exit(130);
        }
      };
      process.on('SIGINT', onSigint);
      try {
        const summary = await runTraining(options, {
          resume: Boolean(opts.resume),
          signal: controller.signal,
          stopAfterStep: typeof opts.stopAfter === 'number' ? opts.stopAfter : undefined,
          log,
        });
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
