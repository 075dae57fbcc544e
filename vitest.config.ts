import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The suites that exercise the queue run a second time with the queue on PostgreSQL
 * (PROMFLEET_TEST_QUEUE_BACKEND=postgres; see test/helpers/queue-store.ts). The first run has
 * every suite on the Redis queue.
 */
export const QUEUE_SUITES = [
  'test/integration/backpressure.test.ts',
  'test/integration/crash-injection.test.ts',
  'test/integration/dead-letters.test.ts',
  'test/integration/fixtures-write.test.ts',
  'test/integration/ha-*.test.ts',
  'test/integration/ingress-coalesce.test.ts',
  'test/integration/ingress-mixed-groups.test.ts',
  'test/integration/liveness.test.ts',
  'test/integration/pg-outage-replay.test.ts',
  'test/integration/ready-jobs.test.ts',
  'test/integration/rw2-compliance.test.ts',
  'test/integration/worker-group-commit.test.ts',
];

/** Suites whose premise is a queue that outlives the database (see docs/architecture.md, "Queue backends"): Redis only. */
export const REDIS_ONLY = [
  'test/integration/ha-db-outage.test.ts',
  'test/integration/ha-quiet-during-outage.test.ts',
  'test/integration/ha-quiet-leader-backlog.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Integration files fail when they leave sockets, servers, child processes or timers open.
    setupFiles: ['test/leak-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration files each own a database and a queue prefix; two cores, so two at once.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'redis-queue',
          include: ['test/**/*.test.ts'],
          // The chaos soak runs on its own afterwards (vitest.soak.config.ts): it must have the
          // machine to itself, and the timing-sensitive files must not share it with the soak.
          exclude: [...configDefaults.exclude, 'test/soak/**'],
          env: { PROMFLEET_TEST_QUEUE_BACKEND: 'redis' },
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres-queue',
          include: QUEUE_SUITES,
          exclude: [...configDefaults.exclude, ...REDIS_ONLY],
          env: { PROMFLEET_TEST_QUEUE_BACKEND: 'postgres' },
        },
      },
    ],
  },
});
