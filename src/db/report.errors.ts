import { AppError } from '../errors.ts';

/** A report filter was malformed (a bad `--since`, direction or model version). */
export class ReportError extends AppError<'INVALID_FILTER'> {}
