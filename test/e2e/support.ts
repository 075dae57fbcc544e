/** Small pieces the end-to-end tests share: bounded sleeps, Redis prefix clean-up, value keys. */
import { Redis } from 'ioredis';
import { redisUrl } from '../helpers/services.js';

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
