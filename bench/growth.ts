/**
 * Growth: the worker's write rate with PROMFLEET_BENCH_GROWTH_ROWS rows already stored (default
 * 10M; the figure is for 100M) beside the same with 1M stored, same machine, same run.
 * The stored rows are loaded server-side (INSERT … generate_series) into the partition the
 * measured batches go to, spread over the same 10,000 series: the (series_id, time) index the
 * writes land in grows with them, which is what slows writes down as a table grows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { GROWTH_ROWS, scaled } from './env.js';
import { syntheticBodies } from './payloads.js';
import { measureEnqueue, measureWorkerWrite } from './pipeline.js';
import type { Figure } from './report.js';
import { BENCH_REDIS_URL, createScratchDatabase, deleteRedisPrefix } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

const SERIES = 10_000;
const DAY_MS = 86_400_000;

/** Adds rows until bench.samples holds `target`, at times of today (UTC) before the measured batches. */
async function fillTo(c: pg.Client, target: number, say: (line: string) => void): Promise<number> {
  const have = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM bench.samples')).rows[0]?.n ?? 0);
  const now = Date.now();
  const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
  // Before the measured batches (they start 20 minutes back), inside today's partition.
  const span = Math.max(1000, now - 30 * 60_000 - dayStart);
  const chunk = 2_000_000;
  for (let from = have; from < target; from += chunk) {
    const n = Math.min(chunk, target - from);
    say(`    stored rows ${from} → ${from + n} …`);
    await c.query(`INSERT INTO bench.samples (time, series_id, value)
      SELECT to_timestamp(($1::float8 + ((i * 7919) % $2::bigint)) / 1000), 1 + i % ${SERIES}, i
      FROM generate_series($3::bigint, $4::bigint) AS i`, [dayStart, span, from, from + n - 1]);
  }
  return Math.max(have, target);
}

async function writeRate(db: string, prefix: string, requests: number, startMs: number): Promise<number> {
  const load = syntheticBodies({ series: SERIES, seriesPerRequest: 500, requests, startMs });
  const enq = await measureEnqueue({ ...load, redisUrl: BENCH_REDIS_URL, prefix, pgUrl: db, schema: 'bench', concurrency: 8 });
  if ((enq.statuses['204'] ?? 0) !== requests) throw new Error(`enqueue: ${JSON.stringify(enq.statuses)}`);
  const w = await measureWorkerWrite({ pgUrl: db, schema: 'bench', redisUrl: BENCH_REDIS_URL, prefix, batches: requests, samples: load.samples, expectTotal: false });
  return w.steadySamplesPerSec;
}

export async function growthBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const errors: string[] = [];
  const requests = scaled(400, 20);
  const details: Record<string, unknown> = { rows: GROWTH_ROWS, batches: requests };
  const db = await createScratchDatabase();
  const tag = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const prefixes = [`pfbench_growth_a_${tag}`, `pfbench_growth_b_${tag}`, `pfbench_growth_c_${tag}`];
  const c = new pg.Client({ connectionString: db.url, application_name: 'promfleet bench growth' });
  try {
    const now = Date.now();
    const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
    // The measured batches' samples: the last 20 minutes, still today (UTC).
    const base = Math.max(dayStart + 1000, now - 20 * 60_000);
    say('  series and partitions (first write, not counted) …');
    await writeRate(db.url, prefixes[0], requests, base);
    await c.connect();
    await fillTo(c, 1_000_000, say);
    say('  write with 1M rows stored …');
    const small = await writeRate(db.url, prefixes[1], requests, base + 60_000);
    const stored = await fillTo(c, GROWTH_ROWS, say);
    await c.query('VACUUM ANALYZE bench.samples');
    say(`  write with ${stored} rows stored …`);
    const large = await writeRate(db.url, prefixes[2], requests, base + 120_000);
    details.result = { small, large, stored };
    figures.push({
      name: `write@${(stored / 1e6).toFixed(0)}M rows`, value: large, unit: 'samples/s', ceiling: { name: 'write@1M rows', value: small },
      note: `worker write rate with ${stored} rows in the partition written to, beside 1M (target: within 20 %, i.e. >= 0.80; the issue's figure is for 100M: PROMFLEET_BENCH_GROWTH_ROWS=100000000)`,
    });
  } finally {
    await c.end().catch(() => undefined);
    for (const p of prefixes) await deleteRedisPrefix(BENCH_REDIS_URL, p).catch((err: unknown) => errors.push(`redis clean-up: ${(err as Error).message}`));
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}
