import type pg from 'pg';
import type { StorageConfig } from '../config/index.js';
import type { Logger } from '../observability/log.js';
import { createPool, migrate, type MigrateOptions } from '../storage/index.js';
import { Backoff } from '../lib/backoff.js';
import { sleep } from '../lib/sleep.js';

export function migrateOptions(storage: StorageConfig, log: Logger): MigrateOptions {
  return { ...storage.migration, log: log.child({ component: 'migrate' }) };
}

/** Migrations at start-up, retried with backoff while the database is away. */
async function migrateUntilDone(pool: pg.Pool, storage: StorageConfig, log: Logger, signal: AbortSignal): Promise<void> {
  const backoff = new Backoff(500, 10_000);
  while (!signal.aborted) {
    try {
      await migrate(pool, migrateOptions(storage, log));
      return;
    } catch (err) {
      const wait = backoff.next();
      log.warn({ err, retryInMs: wait }, 'migrations failed; retrying');
      await sleep(wait, signal);
    }
  }
  throw new Error('stopped before migrations completed');
}

/** One migration per process, shared by the elector and the worker. */
export interface SchemaGate {
  /** Runs the migrations once (retrying until `signal` aborts); later calls wait for that run. */
  ensure(): Promise<void>;
  /** Whether the first migration ran (a process that never migrates marks it done itself). */
  readonly done: boolean;
  markDone(): void;
}

export function schemaGate(storage: StorageConfig, applicationName: string, log: Logger, signal: AbortSignal): SchemaGate {
  let running: Promise<void> | undefined;
  let done = false;
  return {
    ensure() {
      running ??= (async () => {
        const p = createPool({ connectionString: storage.connectionString, max: 1, applicationName }, log);
        try {
          await migrateUntilDone(p, storage, log, signal);
          done = true;
        } finally {
          await p.end();
        }
      })();
      return running;
    },
    get done() {
      return done;
    },
    markDone() {
      done = true;
    },
  };
}
