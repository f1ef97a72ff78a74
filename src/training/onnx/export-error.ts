import { AppError } from '../../errors.ts';

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
  | 'CONTRACT_VIOLATION';

/** An ONNX export problem; the name renders as `ExportError[VERIFY_FAILED]`. No file is left behind when thrown. */
export class ExportError extends AppError<ExportErrorCode> {}
