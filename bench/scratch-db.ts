/** A throw-away database for one benchmark run, on the server named by PROMFLEET_BENCH_PG_URL. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const BENCH_PG_URL = process.env.PROMFLEET_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BENCH_REDIS_URL = process.env.PROMFLEET_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  // Only [a-z0-9_]: the name is interpolated into CREATE/DROP DATABASE.
  const name = `promfleet_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(BENCH_PG_URL);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: u.toString(),
    drop() {
      dropped ??= (async () => {
        const c = new pg.Client({ connectionString: BENCH_PG_URL });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      })();
      return dropped;
    },
  };
}

/** Deletes every Redis key under `prefix:` (a benchmark's fresh queue prefix). */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    let cursor = '0';
    for (let round = 0; round < 100_000; round++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await r.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    r.disconnect();
  }
}

/** Bytes Redis reports (MEMORY USAGE, every field counted) for all keys under `prefix:`, and how many keys. */
export async function redisBytesUnder(redisUrl: string, prefix: string): Promise<{ bytes: number; keys: number }> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    let cursor = '0';
    let bytes = 0;
    let keys = 0;
    for (let round = 0; round < 100_000; round++) {
      const [next, found] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      const p = r.pipeline();
      for (const k of found) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      for (const [err, v] of (await p.exec()) ?? []) {
        if (!err) bytes += Number(v ?? 0);
      }
      keys += found.length;
      cursor = next;
      if (cursor === '0') break;
    }
    return { bytes, keys };
  } finally {
    r.disconnect();
  }
}
