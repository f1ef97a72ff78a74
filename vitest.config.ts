import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time even on a 2-core machine (vitest's default there is one): most of the suite waits
    // on child processes, Redis, Postgres and the Discord stand-in, not on the CPU. Every db test file has
    // its own database and every Redis test its own key prefix, so files never see each other's data.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
});
