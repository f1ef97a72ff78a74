/**
 * Migration 0002_one_refusal_code: rows written before the bot and inference agreed on one code per
 * upload refusal carry the old names; the migration renames them, on PGlite and on Postgres.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrateDatabase, rowsOf } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { currentRefusalCode, LEGACY_REFUSAL_CODES } from '../../src/shared/upload-refusal.ts';
import { dbTargets } from '../helpers/databases.ts';
import { newGeneration } from './fixtures.ts';

const MIGRATION = '0002_one_refusal_code';

/** A copy of migrations/ that stops just before `tag` (as a database deployed before it had them). */
function migrationsBefore(tag: string): { folder: string; remove: () => void } {
  const folder = mkdtempSync(path.join(tmpdir(), 'webtoon-migrations-'));
  cpSync(MIGRATIONS_DIR, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return { folder, remove: () => rmSync(folder, { recursive: true, force: true }) };
}

describe.each(dbTargets)(`migration ${MIGRATION} on $label`, (target) => {
  it.skipIf(target.skip)('renames the legacy refusal codes of older rows to the current ones and leaves every other row as it was', async () => {
    const db = await target.open({ migrate: false });
    const before = migrationsBefore(MIGRATION);
    try {
      const older = await migrateDatabase(db.handle, before.folder);
      expect(older.applied).toBe(older.available);
      const sut = new FeedbackService(db.handle);
      const written = ['UNSUPPORTED_TYPE', 'TOO_LARGE', 'IMAGE_TOO_BIG', 'NO_FACE', 'FILE_TOO_LARGE', 'UNSUPPORTED_FORMAT', 'INTERNAL', null];
      for (const code of written) {
        await sut.recordGeneration(newGeneration(code === null ? {} : { status: 'failed', errorCode: code, facesFound: 0 }));
      }

      expect(await migrateDatabase(db.handle)).toMatchObject({ applied: 1 });

      const rows = rowsOf(await db.handle.db.execute(sql`select error_code, status from generations order by id`));
      expect(rows.map((r) => r.error_code)).toEqual(written.map((c) => (c === null ? null : currentRefusalCode(c))));
      expect(rows.map((r) => r.error_code)).toEqual(['UNSUPPORTED_FORMAT', 'FILE_TOO_LARGE', 'TOO_MANY_PIXELS', 'NO_FACE', 'FILE_TOO_LARGE', 'UNSUPPORTED_FORMAT', 'INTERNAL', null]);
      expect(rows.map((r) => r.status)).toEqual([...Array(7).fill('failed'), 'ok']);
      const legacy = Object.keys(LEGACY_REFUSAL_CODES);
      const left = rowsOf(await db.handle.db.execute(sql`select count(*)::int as n from generations where error_code in (${sql.join(legacy.map((c) => sql`${c}`), sql`, `)})`));
      expect(Number(left[0].n)).toBe(0);
    } finally {
      before.remove();
      await db.dispose();
    }
  });
});
