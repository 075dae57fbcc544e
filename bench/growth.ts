/**
 * Growth: the worker's write rate with PROMFLEET_BENCH_GROWTH_ROWS rows already stored (default
 * 100M) beside the same with 1M stored, same machine, same run.
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

/**
 * Adds rows until bench.samples holds `target`, at times of today (UTC) before the measured
 * batches. Rows go in as a Prometheus would have written them over time: rounds of one sample per
 * series, times rising round after round. They are inserted series by series (each chunk is a
 * range of rounds, every series' rows of it together), so the index grows at one place per
 * series rather than at random: loading 100M rows takes minutes, not an hour, and the index ends
 * up as large as a series-by-series history makes it.
 */
async function fillTo(c: pg.Client, target: number, say: (line: string) => void): Promise<number> {
  const have = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM bench.samples')).rows[0]?.n ?? 0);
  const now = Date.now();
  const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
  // Before the measured batches (they start 20 minutes back), inside today's partition.
  const span = Math.max(1000, now - 30 * 60_000 - dayStart);
  const totalRounds = Math.ceil(Math.max(target, GROWTH_ROWS) / SERIES);
  const roundsPerChunk = Math.ceil(2_000_000 / SERIES);
  let round = Math.ceil(have / SERIES);
  const lastRound = Math.ceil(target / SERIES);
  while (round < lastRound) {
    const upTo = Math.min(lastRound, round + roundsPerChunk);
    say(`    stored rows ${round * SERIES} → ${upTo * SERIES} …`);
    await c.query(`INSERT INTO bench.samples (time, series_id, value)
      SELECT to_timestamp(($1::float8 + floor(r * $2::float8 / $3::float8)) / 1000), s, r
      FROM generate_series(1, ${SERIES}) AS s CROSS JOIN LATERAL generate_series($4::bigint, $5::bigint) AS r`,
    [dayStart, span, totalRounds, round, upTo - 1]);
    round = upTo;
  }
  return Math.max(have, round * SERIES);
}

/**
 * The same starting point for both measurements: statistics current, and no checkpoint of the
 * load still writing in the background. Each measurement then follows a short write of every
 * series (not counted): the first change of each page after a checkpoint puts a full-page image
 * in the WAL, once per page per checkpoint; timing those first touches alone would measure the
 * checkpoint (and more so the more pages the index has), not the steady write rate.
 */
async function settle(c: pg.Client): Promise<void> {
  await c.query('VACUUM ANALYZE bench.samples');
  await c.query('CHECKPOINT');
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
  const requests = scaled(2000, 20);
  const details: Record<string, unknown> = { rows: GROWTH_ROWS, batches: requests };
  const db = await createScratchDatabase();
  const tag = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const prefixes = ['a', 'b', 'c', 'd', 'e'].map((p) => `pfbench_growth_${p}_${tag}`);
  // Two rounds of every series: after a checkpoint, what the first touch of each page costs in full-page WAL images.
  const warmUp = Math.ceil((2 * SERIES) / 500);
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
    await settle(c);
    say('  write with 1M rows stored …');
    await writeRate(db.url, prefixes[1], warmUp, base + 60_000);
    const small = await writeRate(db.url, prefixes[2], requests, base + 120_000);
    const stored = await fillTo(c, GROWTH_ROWS, say);
    await settle(c);
    say(`  write with ${stored} rows stored …`);
    await writeRate(db.url, prefixes[3], warmUp, base + 180_000);
    const large = await writeRate(db.url, prefixes[4], requests, base + 240_000);
    details.result = { small, large, stored };
    figures.push({
      name: `write@${(stored / 1e6).toFixed(0)}M rows`, value: large, unit: 'samples/s', ceiling: { name: 'write@1M rows', value: small },
      note: `worker write rate with ${stored} rows in the partition written to, beside 1M (target: within 20 %, i.e. >= 0.80)`,
    });
  } finally {
    await c.end().catch(() => undefined);
    for (const p of prefixes) await deleteRedisPrefix(BENCH_REDIS_URL, p).catch((err: unknown) => errors.push(`redis clean-up: ${(err as Error).message}`));
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}
