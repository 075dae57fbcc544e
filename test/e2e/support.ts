/** Small pieces the end-to-end tests share: bounded sleeps, Redis prefix clean-up, value keys. */
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { TimedSample } from '../helpers/series-checks.js';
import { redisUrl, type TestDatabase } from '../helpers/services.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deletes every key under `prefix:` (SCAN, bounded by the key count; never KEYS on a shared Redis). */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const r = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    // Each round moves the cursor forward; SCAN returns to 0 after a full pass.
    for (let round = 0; round < 100_000; round++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await r.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    r.disconnect();
  }
  return deleted;
}

/**
 * A float as an exact, comparable key: equal doubles give equal keys (String() is the shortest
 * round-trip form), and NaN, -0 and the infinities are told apart from everything else.
 */
export function valueKey(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** The last `n` characters of a process's output, for failure messages. */
export function tail(text: string, n = 4000): string {
  return text.length > n ? `…${text.slice(text.length - n)}` : text;
}

/**
 * The end of an end-to-end file: when it passed, its database and its queue keys are removed;
 * when it failed, both are kept for inspection and the failure is reported with `detail` and
 * each process's output (title, text), in order.
 */
export async function dropOrKeep(passed: boolean, run: {
  readonly name: string;
  readonly db: TestDatabase | undefined;
  readonly prefix: string;
  readonly detail?: string;
  readonly outputs: readonly (readonly [title: string, text: string])[];
}): Promise<void> {
  if (!passed) {
    console.error(`${run.name} failed; database ${run.db?.name} and queue prefix ${run.prefix} kept${run.detail === undefined ? '' : ` (${run.detail})`}`);
    for (const [title, text] of run.outputs) console.error(`${title}:\n${text}`);
    return;
  }
  await run.db?.drop();
  await deleteRedisPrefix(run.prefix);
}

/**
 * Stored samples (prom.metrics) of the series with this name and exactly these labels whose
 * time is in [fromMs, toMs], in time order; times are rounded to whole milliseconds.
 */
export async function storedInWindow(c: pg.Client, name: string | undefined, labels: Record<string, string>, fromMs: number, toMs: number): Promise<TimedSample[]> {
  const res = await c.query<{ ms: string; value: number }>(
    `SELECT round(extract(epoch FROM time) * 1000)::bigint AS ms, value
       FROM prom.metrics
      WHERE name = $1 AND labels = $2::jsonb
        AND time BETWEEN to_timestamp($3::float8 / 1000) AND to_timestamp($4::float8 / 1000)
      ORDER BY time`,
    [name, JSON.stringify(labels), fromMs - 1_000, toMs + 1_000],
  );
  return res.rows
    .map((r) => ({ timeMs: Number(r.ms), value: r.value }))
    .filter((r) => r.timeMs >= fromMs && r.timeMs <= toMs);
}
