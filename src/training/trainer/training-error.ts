import { AppError } from '../../errors.ts';

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
