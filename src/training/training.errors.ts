/**
 * Every error class of the training wing, in one module: data/, trainer/, networks/, export/,
 * torch-import/ and checkpoints import their error from here instead of from each other. Each is an
 * {@link AppError}: a stable `code`, a one-line message, and the facts in `details`.
 */
import { AppError } from '../errors.ts';

/** Why a training run was refused or stopped. */
export type TrainingErrorCode =
  | 'DATA_DIR_INVALID' // the dataset dir or its trainA/trainB is missing
  | 'DOMAIN_EMPTY' // a domain has no usable image
  | 'IMG_SIZE_INVALID' // image size too small for the chosen network depth, or not a multiple of 4
  | 'SAMPLING_WEIGHTS_INVALID' // the --sampling-weights file is malformed or holds a negative weight
  | 'OPTION_INVALID' // a numeric or enum option is out of range
  | 'RESUME_FAILED' // --resume without a checkpoint, or with one that does not fit
  | 'INIT_FAILED' // --init checkpoint unreadable or incompatible
  | 'RUN_DIR_IN_USE' // --out already holds a run and --resume was not given
  | 'DIVERGED' // a loss became NaN/Infinity; the run stopped without saving the broken weights
  | 'WORKERS_FAILED'; // a data-parallel training worker failed to start or crashed

/** A training run refused to start or could not go on; `details` carries the facts. */
export class TrainingError extends AppError<TrainingErrorCode> {}

/** Why a network could not be built, loaded or run. */
export type NetworkErrorCode =
  | 'INVALID_CONFIG'
  | 'UNSUPPORTED_VARIANT'
  | 'MISSING_TENSOR'
  | 'UNEXPECTED_TENSOR'
  | 'SHAPE_MISMATCH'
  | 'INPUT_SHAPE'
  | 'DISPOSED';

/** A network's configuration, weights or input are inconsistent; `details` names the culprit. */
export class NetworkError extends AppError<NetworkErrorCode> {}

/** Why an ONNX export was refused or failed. */
export type ExportErrorCode =
  | 'BAD_DIRECTION'
  | 'BAD_OPTION'
  | 'CHECKPOINT_NOT_FOUND'
  | 'BAD_CHECKPOINT'
  | 'MISSING_NETWORK'
  | 'MISSING_WEIGHT'
  | 'SHAPE_MISMATCH'
  | 'UNSUPPORTED_VARIANT'
  | 'TOO_LARGE'
  | 'VERIFY_FAILED'
  | 'CONTRACT_VIOLATION'
  | 'CALIBRATION_NOT_FOUND'
  | 'CALIBRATION_EMPTY'
  | 'QUALITY_TOO_LOW';

/** An ONNX export problem; the name renders as `ExportError[VERIFY_FAILED]`. No file is left behind when thrown. */
export class ExportError extends AppError<ExportErrorCode> {}

/** Why a checkpoint (ours or an imported PyTorch one) or a tensor file could not be read or written. */
export type CheckpointErrorCode =
  | 'NOT_A_ZIP'
  | 'NOT_A_CHECKPOINT'
  | 'CORRUPT'
  | 'UNSUPPORTED_PICKLE_OPCODE'
  | 'FORBIDDEN_GLOBAL'
  | 'UNSUPPORTED_DTYPE'
  | 'MISSING_NETWORK'
  | 'MISSING_TENSOR'
  | 'UNEXPECTED_TENSOR'
  | 'SHAPE_MISMATCH'
  | 'UNSUPPORTED_FORMAT'
  | 'OUTPUT_EXISTS';

/** A checkpoint or tensor file is unreadable, unsafe, incomplete or inconsistent; `details` names the culprit. */
export class CheckpointError extends AppError<CheckpointErrorCode> {}

export type RebalanceErrorCode = 'LABELS_INVALID' | 'UNKNOWN_ATTRIBUTE' | 'FACTORS_INVALID' | 'NO_LABELLED_IMAGE';

/** A labels, manifest or factors input could not be used; nothing was written. */
export class RebalanceError extends AppError<RebalanceErrorCode> {}

/** A requested backend could not be activated. */
export class BackendError extends AppError<'BACKEND_UNAVAILABLE' | 'UNKNOWN_BACKEND'> {}

/** Errors of the dataset tools (`webtoon dataset build|tag|stats`), raised before anything is written. */
export type DatasetErrorCode =
  | 'INPUT_MISSING' // a folder or file named on the command line does not exist
  | 'INPUT_EMPTY' // a folder or manifest holds no image / no entry
  | 'OPTION_INVALID' // an option value is out of range
  | 'MANIFEST_INVALID' // a manifest line is not a valid entry
  | 'TAGS_INVALID' // a tags CSV / attribute file is malformed
  | 'UNKNOWN_ATTRIBUTE' // a tag names an attribute outside the shared vocabulary
  | 'NO_MATCH'; // no row of a tags source matched any manifest entry

/** A dataset command refused its input; nothing was written. */
export class DatasetError extends AppError<DatasetErrorCode> {}
