/**
 * The databases the db suites run against: always the embedded PGlite (in memory, one per test file),
 * plus the real Postgres at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) when it
 * answers. Each test file gets its own freshly created Postgres database, dropped afterwards, so test
 * files running in parallel never see each other's rows. When Postgres does not answer, its suites
 * are skipped with a printed reason, except under CI=true, where that is a failure.
 *
 * This is the only place the db tests read the environment.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { migrateDatabase, openDatabase, type DatabaseHandle, type DatabaseKind } from '../../src/db/client.ts';

/** Settings the db tests take from the environment. */
export interface DbTestEnv {
  postgresUrl: string;
  /** CI=true: an unreachable Postgres fails the run instead of skipping. */
  ci: boolean;
}

export function dbTestEnv(env: Record<string, string | undefined> = process.env): DbTestEnv {
  return {
    postgresUrl: env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    ci: env.CI === 'true' || env.CI === '1',
  };
}

/** One database the suites run against. */
export interface DbTarget {
  kind: DatabaseKind;
  /** Shown in test names: `pglite` or `postgres`. */
  label: string;
  /** A reason to skip this target, or false. */
  skip: string | false;
  /**
   * Open a fresh, empty database for one test file, migrated unless `migrate: false`. `poolMax`
   * (Postgres, default 10) bounds how many queries truly run at once.
   */
  open(opts?: OpenTestDatabaseOptions): Promise<TestDatabase>;
}

export interface OpenTestDatabaseOptions {
  migrate?: boolean;
  poolMax?: number;
}

export interface TestDatabase {
  handle: DatabaseHandle;
  /** The connection string (Postgres only). */
  url: string | undefined;
  /** Close the handle and drop what was created for it. */
  dispose(): Promise<void>;
}

async function postgresAnswers(url: string): Promise<string | false> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return false;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const pgliteTarget: DbTarget = {
  kind: 'pglite',
  label: 'pglite',
  skip: false,
  async open(opts) {
    const handle = await openDatabase({ pgliteDir: 'memory' });
    if (opts?.migrate !== false) await migrateDatabase(handle);
    return { handle, url: undefined, dispose: () => handle.close() };
  },
};

function postgresTarget(env: DbTestEnv, unreachable: string | false): DbTarget {
  return {
    kind: 'postgres',
    label: 'postgres',
    skip: unreachable && !env.ci ? `Postgres at ${new URL(env.postgresUrl).host} does not answer (${unreachable})` : false,
    async open(opts) {
      if (unreachable) throw new Error(`CI=true and Postgres at ${new URL(env.postgresUrl).host} does not answer: ${unreachable}`);
      const name = `webtoon_test_${process.pid}_${randomBytes(4).toString('hex')}`;
      await adminQuery(env.postgresUrl, `create database "${name}"`);
      const url = withDatabase(env.postgresUrl, name);
      const handle = await openDatabase({ url, poolMax: opts?.poolMax ?? 10 });
      if (opts?.migrate !== false) await migrateDatabase(handle);
      return {
        handle,
        url,
        async dispose() {
          await handle.close();
          await adminQuery(env.postgresUrl, `drop database if exists "${name}" with (force)`);
        },
      };
    },
  };
}

async function resolveTargets(): Promise<DbTarget[]> {
  const env = dbTestEnv();
  const unreachable = await postgresAnswers(env.postgresUrl);
  const postgres = postgresTarget(env, unreachable);
  if (postgres.skip) console.warn(`[db tests] skipping the Postgres suites: ${postgres.skip}`);
  return [pgliteTarget, postgres];
}

/** PGlite always, Postgres when it answers (or always under CI=true). Use with `describe.each`. */
export const dbTargets: DbTarget[] = await resolveTargets();

/**
 * Open a fresh migrated database for the enclosing `describe` (beforeAll) and dispose of it
 * afterwards (afterAll). Returns a getter, valid inside tests and hooks.
 */
export function useTestDatabase(target: DbTarget, opts?: OpenTestDatabaseOptions): () => DatabaseHandle {
  let opened: TestDatabase | undefined;
  let failure: unknown;
  beforeAll(async () => {
    // An open failure (e.g. Postgres down under CI=true) is rethrown by every test that uses the
    // database, so each counts as failed rather than silently skipped after a failed hook.
    try {
      opened = await target.open(opts);
    } catch (err) {
      failure = err;
    }
  });
  afterAll(async () => {
    await opened?.dispose();
  });
  return () => {
    if (failure !== undefined) throw failure;
    if (!opened) throw new Error(`the ${target.label} test database is not open`);
    return opened.handle;
  };
}

/** Empty every table of the feedback store and restart its id sequences. */
export async function truncateAll(handle: DatabaseHandle): Promise<void> {
  await handle.db.execute(sql`truncate table ratings, attribute_reports, generations, model_versions restart identity cascade`);
}

/** Count the rows of a feedback table. */
export async function countRows(handle: DatabaseHandle, table: 'generations' | 'ratings' | 'attribute_reports' | 'model_versions'): Promise<number> {
  const res = await handle.db.execute(sql.raw(`select count(*)::int as n from ${table}`));
  return Number((res as unknown as { rows: { n: number }[] }).rows[0].n);
}

/**
 * The environment for a child `webtoon` process in tests: the parent's (PATH and friends) with
 * DATABASE_URL cleared and NODE_ENV=test, then `overrides`.
 */
export function childProcessEnv(overrides: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  return { ...base, DATABASE_URL: '', LOG_LEVEL: '', NODE_ENV: 'test', ...overrides };
}
