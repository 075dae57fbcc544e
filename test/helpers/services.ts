/**
 * Where tests find PostgreSQL and Redis: PROMFLEET_TEST_PG_URL / PROMFLEET_TEST_REDIS_URL when
 * set (CI sets them); otherwise the vitest global setup found them (see global-setup.ts) and put
 * them in the same variables. A missing service is a failure, never a skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function pgUrl(): string {
  const url = process.env.PROMFLEET_TEST_PG_URL;
  if (!url) throw new Error('PROMFLEET_TEST_PG_URL is not set: no PostgreSQL for integration tests');
  return url;
}

export function redisUrl(): string {
  const url = process.env.PROMFLEET_TEST_REDIS_URL;
  if (!url) throw new Error('PROMFLEET_TEST_REDIS_URL is not set: no Redis for integration tests');
  return url;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database; call when the file passed, keep it for inspection when it failed. */
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server (or on `server`), one per test file. */
export async function createTestDatabase(prefix: string, server: string = pgUrl()): Promise<TestDatabase> {
  const name = uniqueName(`pft_${prefix}`.toLowerCase().replace(/[^a-z0-9_]/g, '_'));
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(server);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
