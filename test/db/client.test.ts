import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError, MIGRATIONS_DIR, migrateDatabase, openDatabase, openDatabaseFromConfig } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { loadConfig } from '../../src/config.ts';
import { countRows, dbTargets } from '../helpers/databases.ts';
import { newGeneration } from './fixtures.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function rejection(p: Promise<unknown>): Promise<DatabaseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatabaseError);
  return err as DatabaseError;
}

describe('openDatabase', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'webtoon-db-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to guess when given neither a url nor a PGlite directory', async () => {
    expect((await rejection(openDatabase({}))).code).toBe('DB_OPTIONS');
    expect((await rejection(openDatabase({ url: 'mysql://x' }))).code).toBe('DB_OPTIONS');
  });

  it('reports an unreachable Postgres as DB_OPEN_FAILED without the password', async () => {
    const err = await rejection(openDatabase({ url: 'postgres://postgres:s3cret@127.0.0.1:1/nowhere' }));
    expect(err.code).toBe('DB_OPEN_FAILED');
    expect(err.message).toContain('127.0.0.1:1/nowhere');
    expect(err.message).not.toContain('s3cret');
  });

  it('persists a PGlite database under DATA_DIR across reopen, and a second migrate applies nothing', async () => {
    const cfg = loadConfig({ DATA_DIR: dir });
    const first = await openDatabaseFromConfig(cfg);
    expect(first.kind).toBe('pglite');
    expect(first.location).toBe(path.join(dir, 'pglite'));
    const migrations = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length;
    expect(await migrateDatabase(first)).toEqual({ available: migrations, applied: migrations });
    await new FeedbackService(first).recordGeneration(newGeneration());
    await first.close();
    await first.close(); // closing twice is harmless

    const again = await openDatabaseFromConfig(cfg);
    try {
      expect((await migrateDatabase(again)).applied).toBe(0);
      expect(await countRows(again, 'generations')).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('fails a migration with DB_MIGRATE_FAILED and leaves nothing half-applied', async () => {
    const broken = path.join(dir, 'broken-migrations');
    cpSync(MIGRATIONS_DIR, broken, { recursive: true });
    const journalPath = path.join(broken, 'meta/_journal.json');
    const journal = JSON.parse((await import('node:fs')).readFileSync(journalPath, 'utf8')) as { entries: { idx: number; when: number; tag: string; version: string; breakpoints: boolean }[] };
    const last = journal.entries.at(-1)!;
    journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1000, tag: '9999_broken' });
    writeFileSync(journalPath, JSON.stringify(journal));
    writeFileSync(path.join(broken, '9999_broken.sql'), 'CREATE TABLE half_applied (id int);--> statement-breakpoint\nTHIS IS NOT SQL;');

    const handle = await openDatabase({ pgliteDir: 'memory' });
    try {
      const err = await rejection(migrateDatabase(handle, broken));
      expect(err.code).toBe('DB_MIGRATE_FAILED');
      // The migrations run in one transaction: not even the valid first ones stay.
      const res = await handle.db.execute((await import('drizzle-orm')).sql`select to_regclass('generations') as g, to_regclass('half_applied') as h`);
      expect((res as unknown as { rows: { g: unknown; h: unknown }[] }).rows[0]).toEqual({ g: null, h: null });
    } finally {
      await handle.close();
    }
  });
});

describe.each(dbTargets)('the committed migrations on $label', (target) => {
  it.skipIf(target.skip)('create every table of the schema', async () => {
    const db = await target.open();
    try {
      for (const table of ['generations', 'ratings', 'attribute_reports', 'model_versions'] as const) {
        expect(await countRows(db.handle, table)).toBe(0);
      }
    } finally {
      await db.dispose();
    }
  });
});

describe('migrations/', () => {
  it('agree with src/db/schema.ts: drizzle-kit generate finds nothing to add', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'webtoon-kit-'));
    try {
      const out = path.join(dir, 'migrations');
      mkdirSync(out);
      cpSync(MIGRATIONS_DIR, out, { recursive: true });
      // drizzle-kit resolves `out` against the working directory, so it runs inside the temp dir.
      const config = { dialect: 'postgresql', schema: path.join(repoRoot, 'src/db/schema.ts'), out: './migrations' };
      writeFileSync(path.join(dir, 'drizzle.config.mjs'), `export default ${JSON.stringify(config)};\n`);
      const before = readdirSync(out).sort();
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [path.join(repoRoot, 'node_modules/drizzle-kit/bin.cjs'), 'generate', '--config=drizzle.config.mjs'], { cwd: dir, timeout: 60_000 }, (err, so, se) =>
          err ? reject(new Error(`${err.message}\n${so}\n${se}`)) : resolve(so),
        );
      });
      expect(stdout).toContain('5 tables');
      expect(stdout).toContain('No schema changes');
      expect(readdirSync(out).sort()).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
