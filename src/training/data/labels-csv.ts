/**
 * The tags CSV that operators write by hand (and spreadsheets export): a header row, then one row per
 * image — the image path, then its tags. Parsed with csv-parse (RFC 4180: quoted fields, embedded
 * commas and quotes, CRLF, a byte-order mark), never by splitting on commas.
 *
 *   path,attributes
 *   trainB/0001.png,glasses;gender=male
 *   "trainB/img3.png","glasses"
 *   "trainB/with, comma.png","gender=female;glasses"
 *
 * Tags in a field are separated by `;` (or `,` inside a quoted field); further columns are more tags.
 */
import { parse } from 'csv-parse/sync';
import { describeTagProblem, formatTag, isTagProblem, parseTag } from './tags.ts';

/** One data row: its 1-based line in the file, the image path as written, the parsed tags. */
export interface LabelRow {
  line: number;
  path: string;
  tags: string[];
}

/** A labels CSV could not be used; `line` is 1-based when known. */
export class LabelsCsvError extends Error {
  constructor(
    readonly kind: 'invalid' | 'unknown-attribute',
    message: string,
    readonly line?: number,
    readonly attribute?: string,
  ) {
    super(message);
  }
}

const PATH_HEADERS = new Set(['path', 'file', 'image', 'filename']);
const TAG_HEADERS = new Set(['attributes', 'tags', 'attribute', 'labels']);

/**
 * Parse a tags CSV. The header must name the path column first (`path`/`file`) and the tags column
 * second (`attributes`/`tags`).
 * @throws {LabelsCsvError} naming the file and line: malformed CSV, a missing header, an empty path,
 *   an unknown attribute or a bad value.
 */
export function parseLabelsCsv(text: string, fileName: string): LabelRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw new LabelsCsvError('invalid', `${fileName}: not valid CSV (${(err as Error).message})`);
  }
  const header = records[0]?.record.map((h) => h.toLowerCase());
  if (!header || !PATH_HEADERS.has(header[0] ?? '') || !TAG_HEADERS.has(header[1] ?? '')) {
    throw new LabelsCsvError('invalid', `${fileName}: a CSV labels file starts with the header "path,attributes" (or "file,tags"); found ${JSON.stringify(records[0]?.record.join(',') ?? '')}`, 1);
  }
  const rows: LabelRow[] = [];
  for (const { record, info } of records.slice(1)) {
    const line = info.lines;
    const [file, ...fields] = record;
    if (!file) throw new LabelsCsvError('invalid', `${fileName} line ${line}: the path column is empty`, line);
    const tags: string[] = [];
    for (const raw of fields.flatMap((f) => f.split(/[;,]/)).map((s) => s.trim()).filter(Boolean)) {
      const t = parseTag(raw);
      if (isTagProblem(t)) {
        throw new LabelsCsvError(t.kind === 'unknown-attribute' ? 'unknown-attribute' : 'invalid', `${fileName} line ${line}: ${describeTagProblem(t)}`, line, t.kind === 'unknown-attribute' ? t.attribute : undefined);
      }
      const text = formatTag(t);
      if (!tags.includes(text)) tags.push(text);
    }
    rows.push({ line, path: file, tags });
  }
  return rows;
}
