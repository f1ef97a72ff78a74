/**
 * `webtoon export <checkpoint> --direction a2b|b2a -o model.onnx [--fp16] [--version v] [--no-verify]`:
 * writes one generator of our checkpoint as a verified ONNX file and prints a JSON summary on stdout.
 */
import type { Command } from 'commander';
import { refuseOverwrite } from '../output-guard.ts';
import type { Direction } from '../../shared/direction.ts';

interface ExportFlags {
  direction?: string;
  out?: string;
  fp16?: boolean;
  version?: string;
  verify: boolean;
  verifySize?: string;
  quantize?: string;
  calibration?: string;
  psnrFloor?: string;
  calibrationMethod?: string;
  evalFraction?: string;
  force?: boolean;
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
    .option('-f, --force', 'overwrite the output file if it exists')
    .option('--no-verify', 'skip the onnxruntime vs tfjs self-check')
    .option('--verify-size <px>', 'side of the verification batch (light models: default min(img_size, 64); full: img_size)')
    .option('--quantize <mode>', 'int8: static QDQ quantisation for fast CPU serving (needs --calibration)')
    .option('--calibration <folder>', 'images whose face crops calibrate the int8 ranges (a quarter is held out to measure quality)')
    .option('--psnr-floor <dB>', 'refuse the int8 model below this PSNR against fp32 on held-out crops (default 30)')
    .option('--calibration-method <m>', 'percentile (default, 99.99) | percentile:<p> | minmax')
    .option('--eval-fraction <f>', 'share of crops held out for the quality measurement (default 0.25)')
    .action(async (checkpoint: string, flags: ExportFlags) => {
      if (flags.out) refuseOverwrite(flags.out, !!flags.force);
      // exportGenerator checks the direction itself (ExportError[BAD_DIRECTION]), before touching any file
      const { exportGenerator } = await import('../../training/export/exporter.ts');
      const { phaseProgress } = await import('../progress.ts');
      const progress = phaseProgress('export', {
        load: 'loading the checkpoint',
        graph: 'building the ONNX graph',
        verify: 'verifying against the TensorFlow.js generator',
        write: 'writing the file',
      });
      const { ExportError } = await import('../../training/training.errors.ts');
      if (flags.quantize !== undefined && flags.quantize !== 'int8') {
        throw new ExportError('BAD_OPTION', `--quantize supports only int8, got "${flags.quantize}"`, { quantize: flags.quantize });
      }
      if (flags.quantize === undefined && (flags.calibration ?? flags.psnrFloor ?? flags.calibrationMethod ?? flags.evalFraction) !== undefined) {
        throw new ExportError('BAD_OPTION', '--calibration, --psnr-floor, --calibration-method and --eval-fraction need --quantize int8', {});
      }
      const method = flags.calibrationMethod ?? 'percentile';
      const m = /^(minmax|percentile)(?::([0-9.]+))?$/.exec(method);
      if (!m || (m[1] === 'minmax' && m[2] !== undefined)) {
        throw new ExportError('BAD_OPTION', `--calibration-method must be percentile, percentile:<p> or minmax, got "${method}"`, { method });
      }
      const int8 =
        flags.quantize === 'int8'
          ? {
              calibrationDir: flags.calibration,
              psnrFloor: flags.psnrFloor === undefined ? undefined : Number(flags.psnrFloor),
              evalFraction: flags.evalFraction === undefined ? undefined : Number(flags.evalFraction),
              range: m[1] === 'minmax' ? { method: 'minmax' as const } : { method: 'percentile' as const, percentile: m[2] === undefined ? undefined : Number(m[2]) },
            }
          : undefined;
      const res = await exportGenerator({
        onPhase: (p) => progress.phase(p),
        checkpointDir: checkpoint,
        direction: flags.direction as Direction,
        outPath: flags.out as string,
        fp16: !!flags.fp16,
        version: flags.version,
        verify: flags.verify,
        verifySize: flags.verifySize === undefined ? undefined : Number(flags.verifySize),
        int8,
      }).finally(() => progress.stop());
      const summary = {
        path: res.path,
        bytes: res.bytes,
        megabytes: Math.round((res.bytes / 1024 / 1024) * 100) / 100,
        maxAbsDiff: res.maxAbsDiff,
        perOutput: res.verification?.perOutput ?? null,
        ...(int8
          ? {
              int8Quality: {
                psnrDb: Number(res.metadata.quant_psnr_db),
                meanAbsDiff: Number(res.metadata.quant_mean_abs_diff),
                maxAbsDiff: Number(res.metadata.quant_max_abs_diff),
                heldOutCrops: Number(res.metadata.quant_eval_crops),
                calibrationCrops: Number(res.metadata.quant_calibration_crops),
                floorDb: Number(res.metadata.quant_psnr_floor),
              },
            }
          : {}),
        metadata: res.metadata,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
