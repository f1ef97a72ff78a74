/**
 * `webtoon import-torch <params.pt> --out <dir> [--img-size N] [--force]`: converts an official
 * UGATIT-pytorch checkpoint into our checkpoint format and prints a JSON summary on stdout.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface ImportFlags {
  out: string;
  imgSize?: string;
  force?: boolean;
}

export default function register(program: Command): void {
  program
    .command('import-torch')
    .description("import an official UGATIT-pytorch checkpoint (the trainer's *_params_*.pt) into our checkpoint format")
    .argument('<params.pt>', 'PyTorch checkpoint: torch.save zip holding genA2B genB2A disGA disGB disLA disLB')
    .requiredOption('-o, --out <dir>', 'checkpoint directory to create (config.json + weights.safetensors)')
    .option('--img-size <n>', 'training image size; light models cannot reveal it (default 256); full models must agree')
    .option('-f, --force', 'replace an existing non-empty output directory')
    .action(async (file: string, flags: ImportFlags) => {
      let imgSize: number | undefined;
      if (flags.imgSize !== undefined) {
        imgSize = Number(flags.imgSize);
        if (!/^\d+$/.test(flags.imgSize)) throw new UsageError(`--img-size must be a positive multiple of 4, got ${flags.imgSize}`, { imgSize: flags.imgSize });
      }
      const { importTorchCheckpoint } = await import('../../training/torch-import/import-torch.ts');
      const { phaseProgress } = await import('../progress.ts');
      const progress = phaseProgress('import-torch', {
        read: 'reading the PyTorch archive',
        check: 'checking the networks and their shapes',
        write: 'writing the checkpoint',
        hash: 'hashing the weights',
      });
      const res = await importTorchCheckpoint({ file, outDir: flags.out, imgSize, force: !!flags.force, onPhase: (p) => progress.phase(p) }).finally(() => progress.stop());
      const summary = {
        out: res.out,
        config: res.config,
        networks: res.networks,
        totalParams: res.totalParams,
        weightsSha256: res.weightsSha256,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
