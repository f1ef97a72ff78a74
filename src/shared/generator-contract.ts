/**
 * The generator ONNX contract, written once: the graph's input and output names, the metadata keys
 * and their types, and the one validator that the exporter runs before writing a file and the model
 * registry runs when loading one. Any ONNX file that passes can be served, whoever exported it (our
 * exporter, or `torch.onnx.export` of the official PyTorch code, whose missing metadata is filled from
 * CLI flags, the file name and the graph's static shape).
 *
 * - input `input`: float32 [N, 3, H, W], RGB in [-1, 1] (pixel / 127.5 - 1);
 * - output `output`: float32 [N, 3, H, W] in [-1, 1]; optional `cam_logit` [N, 2] and `heatmap`
 *   [N, 1, H/4, W/4] (the unnormalised channel sum of the attention features, as in U-GAT-IT);
 * - `metadata_props`: `direction`, `img_size` and `version` are required; the rest describe the model.
 *
 * Pure: no I/O. Parsing the ONNX bytes into an {@link OnnxHeader} is `src/onnx/proto.ts`'s job.
 */
import { type Direction, normalizeDirection } from './direction.ts';

/** Graph value names of the contract. */
export const GENERATOR_IO = {
  input: 'input',
  output: 'output',
  camLogit: 'cam_logit',
  heatmap: 'heatmap',
} as const;

/** ONNX TensorProto.DataType FLOAT. */
export const ONNX_FLOAT = 1;

/** A declared graph input or output. `shape` holds numbers for fixed dims and names (or '?') for symbolic ones. */
export interface OnnxValueInfo {
  name: string;
  /** ONNX TensorProto.DataType (1 = FLOAT); 0 when not a tensor. */
  elemType: number;
  shape: (number | string)[] | null;
}

/** What the contract reads from a model: metadata and the declared graph inputs and outputs. */
export interface OnnxHeader {
  metadata: Record<string, string>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** The metadata keys, their meaning and whether a servable model must have them. */
export const METADATA_KEYS = {
  direction: { required: true, type: "'a2b' | 'b2a'", doc: 'translation direction' },
  img_size: { required: true, type: 'positive multiple of 4', doc: 'side the generator was trained at' },
  version: { required: true, type: 'non-empty string', doc: 'model version recorded with every generation' },
  variant: { required: false, type: "'pytorch' | 'tensorflow'", doc: 'which official code the network follows' },
  light: { required: false, type: "'true' | 'false'", doc: 'light (global-pooled MLP) or full U-GAT-IT' },
  ngf: { required: false, type: 'positive integer', doc: 'base channel count' },
  n_blocks: { required: false, type: 'positive integer', doc: 'residual blocks' },
  precision: { required: false, type: "'fp32' | 'fp16'", doc: 'weight precision' },
} as const;

/** The typed metadata a generator carries (what the exporter writes). */
export interface GeneratorMetadata {
  direction: Direction;
  imgSize: number;
  version: string;
  variant?: 'pytorch' | 'tensorflow';
  light?: boolean;
  ngf?: number;
  nBlocks?: number;
  precision?: 'fp32' | 'fp16';
}

/** Encode typed metadata as `metadata_props` strings (extra keys such as provenance are appended as given). */
export function encodeGeneratorMetadata(meta: GeneratorMetadata, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { direction: meta.direction, img_size: String(meta.imgSize), version: meta.version };
  if (meta.variant !== undefined) out.variant = meta.variant;
  if (meta.light !== undefined) out.light = String(meta.light);
  if (meta.ngf !== undefined) out.ngf = String(meta.ngf);
  if (meta.nBlocks !== undefined) out.n_blocks = String(meta.nBlocks);
  if (meta.precision !== undefined) out.precision = meta.precision;
  return { ...out, ...extra };
}

/** Facts from outside the file for a model whose metadata lacks them. Metadata in the file wins. */
export interface ContractFill {
  /** From a `--direction` flag. */
  direction?: Direction;
  /** From a `--version` flag. */
  version?: string;
  /** From an `--img-size` flag. */
  imgSize?: number;
  /** Used when neither metadata nor flag gives a version: `<file stem>-<short content hash>`. */
  fallbackVersion?: string;
  /** Used when neither metadata, flag nor a static input shape gives the size (a light model runs at any). */
  defaultImgSize?: number;
}

/** A model's facts once it passed the contract. */
export interface GeneratorFacts {
  direction: Direction;
  /** Side the generator runs at; crops are resized to it. */
  imgSize: number;
  version: string;
  variant: string | null;
  light: boolean | null;
  /** Largest batch the graph accepts (Infinity when the batch axis is dynamic). */
  maxBatch: number;
  hasCamLogit: boolean;
  hasHeatmap: boolean;
  metadata: Record<string, string>;
}

/** The outcome of {@link checkGeneratorContract}. */
export type ContractResult = { ok: true; facts: GeneratorFacts } | { ok: false; problems: string[] };

function describeShape(v: OnnxValueInfo | undefined): string {
  if (!v) return 'missing';
  return `${v.elemType === ONNX_FLOAT ? 'float32' : `type ${v.elemType}`} [${(v.shape ?? []).join(', ')}]`;
}

function isFloat(v: OnnxValueInfo | undefined, rank: number): boolean {
  return !!v && v.elemType === ONNX_FLOAT && v.shape !== null && v.shape.length === rank;
}

function isImage(v: OnnxValueInfo | undefined): boolean {
  return isFloat(v, 4) && v!.shape![1] === 3;
}

function isSize(n: number): boolean {
  return Number.isInteger(n) && n >= 4 && n % 4 === 0;
}

/** The graph's static square input side, when both spatial dims are fixed and equal. */
export function staticInputSize(header: OnnxHeader): number | null {
  const shape = header.inputs.find((i) => i.name === GENERATOR_IO.input)?.shape;
  if (!shape || shape.length !== 4) return null;
  const [, , h, w] = shape;
  return typeof h === 'number' && h > 0 && h === w ? h : null;
}

/**
 * Check a model's header against the generator contract, filling missing metadata from `fill`.
 * Order for each fact: the file's metadata, then the flag, then (img_size) the static input shape,
 * then the fallback. The exporter calls it without `fill`: what it writes must stand on its own.
 * @returns the model's facts, or every problem found (each a short clause, see {@link contractMessage}).
 */
export function checkGeneratorContract(header: OnnxHeader, fill: ContractFill = {}): ContractResult {
  const problems: string[] = [];
  const md = header.metadata;
  const input = header.inputs.find((i) => i.name === GENERATOR_IO.input);
  const output = header.outputs.find((o) => o.name === GENERATOR_IO.output);
  const camLogit = header.outputs.find((o) => o.name === GENERATOR_IO.camLogit);
  const heatmap = header.outputs.find((o) => o.name === GENERATOR_IO.heatmap);
  if (!isImage(input)) {
    problems.push(
      input
        ? `input "input" must be float32 [N, 3, H, W], is ${describeShape(input)}`
        : `no input named "input" (inputs: ${header.inputs.map((i) => i.name).join(', ') || 'none'})`,
    );
  }
  if (!isImage(output)) {
    problems.push(
      output
        ? `output "output" must be float32 [N, 3, H, W], is ${describeShape(output)}`
        : `no output named "output" (outputs: ${header.outputs.map((o) => o.name).join(', ') || 'none'})`,
    );
  }
  if (camLogit && !isFloat(camLogit, 2)) problems.push(`output "cam_logit" must be float32 [N, 2], is ${describeShape(camLogit)}`);
  if (heatmap && !isFloat(heatmap, 4)) problems.push(`output "heatmap" must be float32 [N, 1, H/4, W/4], is ${describeShape(heatmap)}`);

  const direction = normalizeDirection(md.direction) ?? fill.direction ?? null;
  if (!direction) {
    problems.push(md.direction ? `metadata direction "${md.direction}" is not a2b or b2a` : 'metadata has no direction (a2b or b2a)');
  }

  const sizeText = md.img_size ?? md.image_size ?? md.imgSize;
  const fixed = staticInputSize(header);
  const imgSize = sizeText !== undefined ? Number(sizeText) : (fill.imgSize ?? fixed ?? fill.defaultImgSize ?? NaN);
  if (!isSize(imgSize)) {
    problems.push(sizeText !== undefined ? `metadata img_size "${sizeText}" is not a positive multiple of 4` : 'metadata has no img_size');
  } else if (fixed !== null && imgSize !== fixed) {
    problems.push(`img_size ${imgSize} does not match the graph's static input ${fixed}×${fixed}`);
  }

  const version = (md.version ?? md.model_version ?? '').trim() || fill.version?.trim() || fill.fallbackVersion || '';
  if (!version) problems.push('metadata has no version');

  if (md.light !== undefined && md.light !== 'true' && md.light !== 'false') problems.push(`metadata light "${md.light}" is not true or false`);
  if (problems.length > 0) return { ok: false, problems };
  const batchDim = input!.shape![0];
  return {
    ok: true,
    facts: {
      direction: direction!,
      imgSize,
      version,
      variant: md.variant ?? null,
      light: md.light === undefined ? null : md.light === 'true',
      maxBatch: typeof batchDim === 'number' && batchDim > 0 ? batchDim : Infinity,
      hasCamLogit: !!camLogit,
      hasHeatmap: !!heatmap,
      metadata: md,
    },
  };
}

/** The one sentence both sides refuse a model with: `The model <name> breaks the generator contract: <problems>.` */
export function contractMessage(modelName: string, problems: readonly string[]): string {
  return `The model ${modelName} breaks the generator contract: ${problems.join('; ')}.`;
}
