/**
 * The database client factory: the embedded PGlite (default, persisted under DATA_DIR, or in memory
 * for tests) or a node-postgres pool when DATABASE_URL is set. Both run the same schema and the same
 * committed drizzle-kit migrations, so every repository and test works on either.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { moduleLogger } from '../logger.ts';
import * as schema from './schema.ts';

/** The drizzle database, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DatabaseKind = 'pglite' | 'postgres';

/** An open database. The owner calls {@link DatabaseHandle.close} exactly once. */
export interface DatabaseHandle {
  readonly db: Db;
  readonly kind: DatabaseKind;
  /** Where it lives, without credentials: `memory`, a PGlite directory, or `host:port/database`. */
  readonly location: string;
  /** Close the pool or the embedded database. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** `postgres://…` → node-postgres pool. Takes precedence over `pgliteDir`. */
  url?: string;
  /** PGlite data directory, or `'memory'` for a throw-away in-memory database (tests). */
  pgliteDir?: string | 'memory';
  /** Largest pool size for Postgres (default 10). */
  poolMax?: number;
}

export type DatabaseErrorCode = 'DB_OPEN_FAILED' | 'DB_MIGRATE_FAILED' | 'DB_OPTIONS';

/** Opening or migrating the database failed. */
export class DatabaseError extends AppError<DatabaseErrorCode> {}

/** The committed drizzle-kit migrations (`<repo>/migrations`). */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Schema and table where drizzle records applied migrations. */
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';
/** Any fixed 64-bit number: serialises concurrent `migrate` calls (bot and worker starting together). */
const MIGRATION_LOCK_KEY = 7_301_455_201;

const log = moduleLogger('db');

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'postgres';
  }
}

/**
 * Open a database.
 * @param opts - `url` for Postgres, else `pgliteDir` (a directory, or `'memory'`).
 * @throws {DatabaseError} `DB_OPTIONS` when neither is given, `DB_OPEN_FAILED` when it cannot be reached.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (opts.url !== undefined && opts.url !== '') {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) {
      throw new DatabaseError('DB_OPTIONS', 'openDatabase: url must start with postgres:// or postgresql://');
    }
    return openPostgres(opts.url, opts.poolMax ?? 10);
  }
  if (opts.pgliteDir === undefined || opts.pgliteDir === '') {
    throw new DatabaseError('DB_OPTIONS', "openDatabase: expected url or pgliteDir (a directory or 'memory')");
  }
  return openPglite(opts.pgliteDir);
}

/** Open the database the configuration names: DATABASE_URL, else PGlite under DATA_DIR. */
export function openDatabaseFromConfig(cfg: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'pgliteDir'>): Promise<DatabaseHandle> {
  return openDatabase({ url: cfg.DATABASE_URL, pgliteDir: cfg.pgliteDir, poolMax: cfg.DATABASE_POOL_MAX });
}

async function openPostgres(url: string, poolMax: number): Promise<DatabaseHandle> {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: poolMax });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', (err) => log.error({ err }, 'idle Postgres client error'));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new DatabaseError('DB_OPEN_FAILED', `cannot connect to Postgres at ${location}: ${(err as Error).message}`, { location }, { cause: err });
  }
  const db = drizzleNodePg({ client: pool, schema }) as unknown as Db;
  let closed = false;
  log.debug({ location }, 'opened Postgres');
  return {
    db,
    kind: 'postgres',
    location,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const location = dir === 'memory' ? 'memory' : path.resolve(dir);
  let client: PGlite;
  try {
    if (location === 'memory') {
      client = await PGlite.create();
    } else {
      mkdirSync(location, { recursive: true });
      client = await PGlite.create(location);
    }
  } catch (err) {
    throw new DatabaseError('DB_OPEN_FAILED', `cannot open PGlite at ${location}: ${(err as Error).message}`, { location }, { cause: err });
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  let closed = false;
  log.debug({ location }, 'opened PGlite');
  return {
    db,
    kind: 'pglite',
    location,
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/** What {@link migrateDatabase} did. */
export interface MigrateResult {
  /** Migrations committed in `migrations/`. */
  available: number;
  /** Migrations applied by this call (0 when the database was up to date). */
  applied: number;
}

async function appliedCount(db: Db): Promise<number> {
  const exists = await db.execute(sql`select to_regclass(${`${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`}) as t`);
  if (rowsOf(exists)[0]?.t == null) return 0;
  const res = await db.execute(sql`select count(*)::int as n from ${sql.identifier(MIGRATIONS_SCHEMA)}.${sql.identifier(MIGRATIONS_TABLE)}`);
  return Number(rowsOf(res)[0]?.n ?? 0);
}

/** Rows of a raw `db.execute` result (both drivers return `{ rows }`). */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  return (result as { rows: Record<string, unknown>[] }).rows;
}

/**
 * Apply the pending committed migrations. On Postgres an advisory lock makes concurrent callers (bot
 * and worker starting together) take turns; the later ones find nothing to do.
 * @throws {DatabaseError} `DB_MIGRATE_FAILED`, with the failing cause attached.
 */
export async function migrateDatabase(handle: DatabaseHandle, migrationsFolder = MIGRATIONS_DIR): Promise<MigrateResult> {
  const config = { migrationsFolder, migrationsSchema: MIGRATIONS_SCHEMA, migrationsTable: MIGRATIONS_TABLE };
  try {
    const available = readMigrationFiles(config).length;
    const run = async (): Promise<MigrateResult> => {
      const before = await appliedCount(handle.db);
      if (handle.kind === 'pglite') await migratePglite(handle.db as never, config);
      else await migrateNodePg(handle.db as never, config);
      const after = await appliedCount(handle.db);
      return { available, applied: after - before };
    };
    let result: MigrateResult;
    if (handle.kind === 'postgres') {
      const pool = (handle.db as unknown as { $client: pg.Pool }).$client;
      const lockClient = await pool.connect();
      try {
        await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        result = await run();
      } finally {
        await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
        lockClient.release();
      }
    } else {
      result = await run();
    }
    log.info({ location: handle.location, ...result }, 'database migrated');
    return result;
  } catch (err) {
    throw new DatabaseError('DB_MIGRATE_FAILED', `migrating ${handle.location} failed: ${(err as Error).message}`, { location: handle.location }, { cause: err });
  }
}

/**
 * "Open, migrate, close", written once: open the configured database, apply the migrations, run
 * `fn`, and always close the handle (also when `fn` or the migration throws).
 */
export async function withMigratedDatabase<T>(
  cfg: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'pgliteDir'>,
  fn: (handle: DatabaseHandle, migrated: MigrateResult) => Promise<T>,
): Promise<T> {
  const handle = await openDatabaseFromConfig(cfg);
  try {
    const migrated = await migrateDatabase(handle);
    return await fn(handle, migrated);
  } finally {
    await handle.close();
  }
}
