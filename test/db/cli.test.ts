/**
 * `webtoon db migrate`, `webtoon report` and `webtoon db forget-user` as a user runs them: the real
 * bin/webtoon.mjs in a child process, against a PGlite directory and against Postgres.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDatabase } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import type { RebalancingReport } from '../../src/db/report.ts';
import { childProcessEnv, dbTargets } from '../helpers/databases.ts';
import { seedReportHistory } from './report-seed.ts';
import { user } from './fixtures.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/webtoon.mjs');
const committedMigrations = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function webtoon(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: repoRoot, env: childProcessEnv(env), timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('webtoon db migrate and report on PGlite (DATABASE_URL unset)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'webtoon-cli-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = () => ({ DATA_DIR: dataDir });

  it('migrates a new database under DATA_DIR', async () => {
    const run = await webtoon(['db', 'migrate'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`pglite ${path.join(dataDir, 'pglite')}: ${committedMigrations} migration(s) applied, ${committedMigrations} in total, up to date\n`);
  });

  it('prints a valid empty JSON report for an empty database', async () => {
    const run = await webtoon(['report', '--format', 'json'], env());
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as RebalancingReport;
    expect(report).toMatchObject({ versions: [], rows: [], ranking: [], filters: { since: null, direction: null, modelVersion: null } });
  });

  it('reports a seeded history as csv with filters and writes the chart PNG', async () => {
    const handle = await openDatabase({ pgliteDir: path.join(dataDir, 'pglite') });
    try {
      await seedReportHistory(new FeedbackService(handle));
    } finally {
      await handle.close();
    }
    const chart = path.join(dataDir, 'chart.png');
    const run = await webtoon(['report', '--format', 'csv', '--direction', 'a2b', '--since', '2026-02-01', '--chart', chart], env());
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 13);
    expect(lines.find((l) => l.startsWith('a2b,v2,gender,'))).toBe('a2b,v2,gender,Gender,20,5,0.75,6,5,0.3,,,,,1,4');
    const meta = await sharp(readFileSync(chart)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(600);
  });

  it('forgets a member on request and prints the counts', async () => {
    const run = await webtoon(['db', 'forget-user', user(1)], env());
    expect(run.code, run.stderr).toBe(0);
    // user(1) in the seed: ratings 3 on v1 + 1 on the failed generation + 5 on v2 = 9;
    // reports 4 on v1 + 1 on the failed generation + 6 on v2 + 3 on r1 = 14; no generations of their own.
    expect(JSON.parse(run.stdout)).toEqual({ ratingsDeleted: 9, reportsDeleted: 14, generationsAnonymised: 0, resultsAnonymised: 0 });
  });

  it('refuses a malformed --since with a one-line usage error (exit 2)', async () => {
    const run = await webtoon(['report', '--since', 'yesterday'], env());
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^webtoon: UsageError\[USAGE\]: --since: expected an ISO date/);
    expect(run.stdout).toBe('');
  });
});

describe.each(dbTargets.filter((t) => t.kind === 'postgres'))('webtoon db migrate and report on $label (DATABASE_URL set)', (target) => {
  it.skipIf(target.skip)('migrates a fresh database, then prints a valid empty JSON report', async () => {
    const fresh = await target.open({ migrate: false });
    try {
      const migrate = await webtoon(['db', 'migrate'], { DATABASE_URL: fresh.url as string });
      expect(migrate.code, migrate.stderr).toBe(0);
      expect(migrate.stdout).toMatch(new RegExp(`^postgres [\\w.-]+:\\d+/webtoon_test_\\w+: ${committedMigrations} migration\\(s\\) applied`));
      const report = await webtoon(['report', '--format', 'json'], { DATABASE_URL: fresh.url as string });
      expect(report.code, report.stderr).toBe(0);
      expect(JSON.parse(report.stdout)).toMatchObject({ versions: [], rows: [], ranking: [] });
    } finally {
      await fresh.dispose();
    }
  });
});

describe('webtoon db migrate with an unreachable database', () => {
  it('exits 1 with a one-line error naming where it tried', async () => {
    const run = await webtoon(['db', 'migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^webtoon: DatabaseError\[DB_OPEN_FAILED\]: cannot connect to Postgres at 127\.0\.0\.1:1\/nowhere/);
  });
});
