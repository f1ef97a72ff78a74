import { AppError } from '../../errors.ts';

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
