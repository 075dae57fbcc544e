import { defineConfig } from 'vitest/config';

/**
 * The chaos soak (test/soak), run by `npm test` after the main run, one file at a time with
 * nothing else beside it. PROMFLEET_CHAOS_SECONDS sets how long faults go on (default 300),
 * PROMFLEET_CHAOS_SEED replays a run's faults.
 */
export default defineConfig({
  test: {
    include: ['test/soak/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
    pool: 'forks',
  },
});
