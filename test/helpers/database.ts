/**
 * A database of the test file's own with a pool on it, as vitest hooks: created (and optionally
 * migrated) before the file's first test, dropped when the file passed and kept for inspection
 * when it failed (a failed test, a failed set-up or a pool client left checked out).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import type pg from 'pg';
import { pino, type Logger } from 'pino';
import { createPool, migrate, type MigrateOptions } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from './services.js';

export interface UseTestDatabaseOptions {
  /** Pool size and application name (createPool's defaults when absent). */
  readonly max?: number;
  readonly applicationName?: string;
  /** Migrated once the pool is made, before the first test. */
  readonly migrate?: Omit<MigrateOptions, 'log'>;
  /** For the pool and the migration (default silent). */
  readonly log?: Logger;
  /** After each test, a client still checked out of the pool fails it (default true). */
  readonly checkReleased?: boolean;
  /** Server the database is made on, resolved in beforeAll; it may check the server first (default the test server). */
  readonly server?: () => Promise<string>;
  /** false: no hooks at all (the file's tests skip themselves). Default true. */
  readonly enabled?: boolean;
  /** A set-up error is rethrown by every test, so each one is reported failed, none skipped. */
  readonly setUpErrorFailsEachTest?: boolean;
}

export interface UsedTestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
}

/** Registers the hooks; the accessors are usable from the file's first test on. */
export function useTestDatabase(prefix: string, opts: UseTestDatabaseOptions = {}): UsedTestDatabase {
  const log = opts.log ?? pino({ level: 'silent' });
  let db: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  let failed = false;
  let setUpError: unknown;

  function ready<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`test database ${prefix}: no ${what} (set-up did not run or failed)`);
    return v;
  }

  if (opts.enabled === false) {
    return { get name() { return ready(db, 'database').name; }, get url() { return ready(db, 'database').url; }, get pool() { return ready(pool, 'pool'); } };
  }

  async function setUp(): Promise<void> {
    db = await createTestDatabase(prefix, opts.server ? await opts.server() : undefined);
    pool = createPool({ connectionString: db.url, max: opts.max, applicationName: opts.applicationName }, log);
    if (opts.migrate) await migrate(pool, { ...opts.migrate, log });
  }

  beforeAll(async () => {
    try {
      await setUp();
    } catch (err) {
      failed = true;
      if (!opts.setUpErrorFailsEachTest) throw err;
      setUpError = err;
    }
  });

  if (opts.setUpErrorFailsEachTest) {
    beforeEach(() => {
      if (setUpError !== undefined) throw setUpError;
    });
  }

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
    if (opts.checkReleased === false) return;
    const checkedOut = pool ? pool.totalCount - pool.idleCount : 0;
    if (checkedOut !== 0) failed = true;
    expect(checkedOut, 'pool clients not released').toBe(0);
  });

  afterAll(async () => {
    await pool?.end();
    if (!failed) await db?.drop(); // kept for inspection when the file failed
  });

  return {
    get name() { return ready(db, 'database').name; },
    get url() { return ready(db, 'database').url; },
    get pool() { return ready(pool, 'pool'); },
  };
}
