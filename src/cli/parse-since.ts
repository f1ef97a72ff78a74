/** `--since` of `webtoon report` and `webtoon dataset weights`: an ISO date or a duration before now. */
import { ReportError } from '../db/report.errors.ts';

const RELATIVE_SINCE = /^(\d+)\s*([hdw])$/i;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * Parse a `--since` value: an ISO date or date-time (`2026-02-01`, `2026-02-01T12:00:00Z`) or a
 * duration before `now` (`12h`, `30d`, `2w`).
 * @throws {ReportError} INVALID_FILTER naming what was expected and what was received.
 */
export function parseSince(text: string, now: Date = new Date()): Date {
  const trimmed = text.trim();
  const rel = RELATIVE_SINCE.exec(trimmed);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2].toLowerCase()]);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const d = new Date(trimmed.length === 10 ? `${trimmed}T00:00:00Z` : trimmed);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new ReportError('INVALID_FILTER', `since: expected an ISO date (2026-02-01), date-time, or a duration like 12h, 30d, 2w; received ${JSON.stringify(text)}`, {
    parameter: 'since',
    received: text,
  });
}

