import { defineConfig } from 'vitest/config';

/**
 * The chaos soak (test/soak), run by `npm test` after the main run, one file at a time with
 * nothing else beside it. PROMFLEET_CHAOS_SECONDS sets how long faults go on (default 300),
 * PROMFLEET_CHAOS_SEED replays a run's faults. It needs no shared PostgreSQL or Redis: it starts
 * its own (test/helpers/throwaway-pg.ts, throwaway-redis.ts).
 */
export default defineConfig({
  test: {
    include: ['test/soak/**/*.test.ts'],
    // No global set-up: the soak runs a PostgreSQL and a Redis of its own.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
    pool: 'forks',
  },
});
