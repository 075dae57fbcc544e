import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The chaos soak runs on its own afterwards (vitest.soak.config.ts): it must have the
    // machine to itself, and the timing-sensitive files must not share it with the soak.
    exclude: [...configDefaults.exclude, 'test/soak/**'],
    globalSetup: ['test/global-setup.ts'],
    // Integration files fail when they leave sockets, servers, child processes or timers open.
    setupFiles: ['test/leak-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration files each own a database and a queue prefix; two cores, so two at once.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
