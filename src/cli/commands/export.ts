/**
 * `webtoon export <checkpoint> --direction a2b|b2a -o model.onnx [--fp16] [--version v] [--no-verify]`:
 * writes one generator of our checkpoint as a verified ONNX file and prints a JSON summary on stdout.
 */
import type { Command } from 'commander';
import type { Direction } from '../../shared/direction.ts';

interface ExportFlags {
  direction?: string;
  out?: string;
  fp16?: boolean;
  version?: string;
  verify: boolean;
  verifySize?: string;
}

export default function register(program: Command): void {
  program
    .command('export')
    .description('export a generator of a checkpoint to ONNX (verified against the tfjs generator)')
    .argument('<checkpoint>', 'checkpoint directory (config.json + weights.safetensors)')
    .requiredOption('-d, --direction <dir>', 'a2b (genA2B, photo → webtoon) or b2a (genB2A, webtoon → photo)')
    .requiredOption('-o, --out <file>', 'output ONNX file')
    .option('--fp16', 'store weights as float16 (for GPU serving); graph I/O stays float32')
    .option('--version <v>', 'model version string for the metadata (default: step + checkpoint hash)')
    .option('--no-verify', 'skip the onnxruntime vs tfjs self-check')
    .option('--verify-size <px>', 'side of the verification batch (light models: default min(img_size, 64); full: img_size)')
    .action(async (checkpoint: string, flags: ExportFlags) => {
      // exportGenerator checks the direction itself (ExportError[BAD_DIRECTION]), before touching any file
      const { exportGenerator } = await import('../../training/export/exporter.ts');
      const res = await exportGenerator({
        checkpointDir: checkpoint,
        direction: flags.direction as Direction,
        outPath: flags.out as string,
        fp16: !!flags.fp16,
        version: flags.version,
        verify: flags.verify,
        verifySize: flags.verifySize === undefined ? undefined : Number(flags.verifySize),
      });
      const summary = {
        path: res.path,
        bytes: res.bytes,
        megabytes: Math.round((res.bytes / 1024 / 1024) * 100) / 100,
        maxAbsDiff: res.maxAbsDiff,
        perOutput: res.verification?.perOutput ?? null,
        metadata: res.metadata,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
