/**
 * Errors of the dataset tools (`webtoon dataset build|tag|stats`). Each is raised before anything is
 * written, so a refused command leaves the dataset as it was.
 */
import { AppError } from '../../errors.ts';

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
