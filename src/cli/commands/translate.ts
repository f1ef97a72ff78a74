/**
 * `webtoon translate <image> [-o out.png] [--direction a2b|b2a] [--model file.onnx] [--attention]
 * [--output face|photo|side-by-side] [--aligned] [--side-by-side] [--faces 1|all] [--crop auto|center] [--size 256|512] [--json] [--record]`: runs the same
 * pipeline as the bot (worker thread, registry, batching) on one file. Bad input exits non-zero with
 * the typed reason (`webtoon: InferenceError[NO_FACE]: ...`). `--record` also stores the generation
 * (source `cli`) and its automatic audit in the feedback store, like the bot does.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../shared/atomic-write.ts';
import { refuseOverwrite } from '../output-guard.ts';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import type { OutputMode } from '../../inference/inference.types.ts';

interface TranslateFlags {
  out?: string;
  direction: string;
  model?: string;
  version?: string;
  attention?: boolean;
  sideBySide?: boolean;
  output?: string;
  aligned?: boolean;
  faces: string;
  crop: string;
  size?: string;
  json?: boolean;
  record?: boolean;
  force?: boolean;
}

export default function register(program: Command): void {
  program
    .command('translate')
    .description('translate the face in a photo to a webtoon face (a2b) or back (b2a) and write a PNG')
    .argument('<image>', 'JPEG, PNG, WebP or GIF file (identified by its bytes, not its name)')
    .option('-o, --out <file>', 'output PNG (default: <image name>.<direction>.png beside the input)')
    .option('-d, --direction <dir>', 'a2b (photo → webtoon) or b2a (webtoon → photo)', 'a2b')
    .option('-m, --model <file.onnx>', 'use this generator instead of the newest in MODELS_DIR')
    .option('--version <v>', 'version for a --model file whose metadata has none')
    .option('--attention', 'blend the CAM attention heatmap over the output')
    .option('--output <mode>', 'face (the translated face), photo (the whole picture with the faces blended back) or side-by-side (input crop | face)')
    .option('--aligned', 'level the eye line before cropping (BlazeFace key points); photo turns the face back')
    .option('--side-by-side', 'same as --output side-by-side (kept for older scripts)')
    .option('--faces <n>', '1 (the largest face) or all (every face, as a grid)', '1')
    .option('--crop <mode>', 'auto (faces only; NO_FACE when none) or center (centre square when no face)', 'auto')
    .option('--size <px>', 'output side per face: 256 or 512 (Lanczos upscale); default OUTPUT_SIZE')
    .option('--json', 'print the result metadata as JSON on stdout')
    .option('--record', 'store the generation and its automatic audit (face analysis) in the feedback store (DATABASE_URL, else PGlite under DATA_DIR)')
    .option('-f, --force', 'overwrite the output file if it exists')
    .action(async (image: string, flags: TranslateFlags) => {
      if (flags.direction !== 'a2b' && flags.direction !== 'b2a') {
        throw new UsageError(`--direction must be a2b or b2a, got "${flags.direction}"`, { direction: flags.direction });
      }
      if (flags.faces !== '1' && flags.faces !== 'one' && flags.faces !== 'all') {
        throw new UsageError(`--faces must be 1 or all, got "${flags.faces}"`, { faces: flags.faces });
      }
      if (flags.crop !== 'auto' && flags.crop !== 'center') {
        throw new UsageError(`--crop must be auto or center, got "${flags.crop}"`, { crop: flags.crop });
      }
      const outputs: Record<string, OutputMode> = { face: 'face', photo: 'photo', 'side-by-side': 'side_by_side', side_by_side: 'side_by_side' };
      const output = flags.output === undefined ? (flags.sideBySide ? 'side_by_side' : 'face') : Object.hasOwn(outputs, flags.output) ? outputs[flags.output] : undefined;
      if (!output) throw new UsageError(`--output must be face, photo or side-by-side, got "${flags.output}"`, { output: flags.output });
      if (flags.sideBySide && output !== 'side_by_side') {
        throw new UsageError(`--side-by-side contradicts --output ${flags.output}; use one of them`, { output: flags.output });
      }
      if (flags.size !== undefined && flags.size !== '256' && flags.size !== '512') {
        throw new UsageError(`--size must be 256 or 512, got "${flags.size}"`, { size: flags.size });
      }
      let bytes: Buffer;
      try {
        bytes = readFileSync(image);
      } catch (err) {
        throw new UsageError(`cannot read ${image}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { image });
      }
      const direction = flags.direction;
      const out = path.resolve(flags.out ?? `${image.replace(/\.[^./\\]+$/, '')}.${direction}.png`);
      refuseOverwrite(out, !!flags.force); // before any work: never overwrite what we did not make

      const { config } = await import('../../config.ts');
      const cfg = config();
      const { createInferenceClient } = await import('../../inference/inference.client.ts');
      const client = await createInferenceClient(cfg, {
        modelFile: flags.model ? path.resolve(flags.model) : undefined,
        modelOverrides: flags.model ? { direction, version: flags.version } : undefined,
        inFlight: 1,
      });
      try {
        const result = await client.translate(bytes, {
          direction,
          attention: !!flags.attention,
          output,
          aligned: !!flags.aligned,
          faces: flags.faces === 'all' ? 'all' : 'one',
          crop: flags.crop,
          outputSize: flags.size ? (Number(flags.size) as 256 | 512) : undefined,
          auditImages: !!flags.record && cfg.AUDIT_ENABLED,
        });
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileAtomicSync(out, result.png);
        const { png, auditImages, ...meta } = result;
        const recorded = flags.record ? await recordCliGeneration(cfg, meta, auditImages) : undefined;
        if (flags.json) process.stdout.write(`${JSON.stringify({ out, bytes: png.length, ...meta, ...(recorded ?? {}) }, null, 2)}\n`);
        else {
          process.stdout.write(
            `${out}: ${meta.direction} model ${meta.modelVersion}, ${meta.facesFound} face(s), crop ${meta.cropMode}, ${meta.output} ${meta.width}×${meta.height}, ${Math.round(meta.timings.total)} ms\n`,
          );
          if (recorded) process.stdout.write(`recorded as generation ${recorded.generationId}; audit: ${describeAudit(recorded.audit)}\n`);
        }
      } finally {
        await client.close();
      }
    });
}

type Meta = Omit<import('../../inference/inference.types.ts').TranslateResult, 'png' | 'auditImages'>;
type Audit = import('../../analysis/audit.ts').FaceAudit;

/** Store a command-line generation (source `cli`) and, unless AUDIT_ENABLED=false, its audit (run here, in-process). */
async function recordCliGeneration(
  cfg: import('../../config.ts').Config,
  meta: Meta,
  pixels: import('../../inference/inference.types.ts').AuditImages | undefined,
): Promise<{ generationId: number; audit: Audit | null }> {
  const { migrateDatabase, openDatabaseFromConfig } = await import('../../db/client.ts');
  const { FeedbackService } = await import('../../db/feedback.service.ts');
  const { AuditStore } = await import('../../db/audit.store.ts');
  const database = await openDatabaseFromConfig(cfg);
  try {
    await migrateDatabase(database);
    const generation = await new FeedbackService(database).recordGeneration({
      source: 'cli',
      userId: null,
      guildId: null,
      channelId: null,
      direction: meta.direction,
      modelVersion: meta.modelVersion,
      inputSha256: meta.inputSha256,
      facesFound: meta.facesFound,
      latencyMs: Math.round(meta.timings.total ?? 0),
      status: 'ok',
    });
    if (!pixels) return { generationId: generation.id, audit: null };
    const { InProcessAuditRunner } = await import('../../analysis/generation-auditor.ts');
    const runner = new InProcessAuditRunner();
    try {
      const { audit, durationMs } = await runner.run(meta.direction, pixels);
      await new AuditStore(database).record(generation.id, audit, durationMs);
      return { generationId: generation.id, audit };
    } finally {
      await runner.close();
    }
  } finally {
    await database.close();
  }
}

function describeAudit(a: Audit | null): string {
  if (!a) return 'off (AUDIT_ENABLED=false)';
  const side = (s: Audit['input']) => (s ? `${s.gender} ${s.genderProbability.toFixed(2)}, age ${s.age.toFixed(0)}` : 'no face');
  const sim = a.identitySimilarity === null ? 'n/a' : a.identitySimilarity.toFixed(3);
  return `${a.status}; identity ${sim}; input ${side(a.input)}; output ${side(a.output)}; glasses/hands unknown (trust: ${a.trust})`;
}
