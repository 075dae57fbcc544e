/**
 * New series: PROMFLEET_BENCH_NEW_SERIES first-seen label sets (default 1M), 500 a
 * request, each once, queued through promfleet's ingress, then written
 * by a `promfleet worker` process timed from its first commit to its last (bulk resolution:
 * hash, insert the misses, read back the ids, then COPY their samples). Ceiling: the same label
 * sets loaded by binary COPY straight into a table shaped like promfleet's series table (same
 * indexes), 10,000 rows a statement on one connection; peer: the same by `INSERT … unnest` of
 * text arrays. The worker's peak RSS with them all cached is reported too.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { seriesKey } from '../src/storage/index.js';
import type { Label } from '../src/protocol/index.js';
import { copyHeader, copyTrailer, encodeSeriesRows } from './copy-binary.js';
import { NEW_SERIES } from './env.js';
import { syntheticBodies } from './payloads.js';
import { measureEnqueue } from './pipeline.js';
import { startPromfleet, type Child } from './processes.js';
import { elapsedMs, perSecond, type Figure } from './report.js';
import { BENCH_REDIS_URL, createScratchDatabase, deleteRedisPrefix } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

const PER_STATEMENT = 10_000;

/**
 * Rows/s of loading these label sets into a table shaped like promfleet's series table (same
 * indexes), 10,000 rows a statement on one connection: by binary COPY (the ceiling: the most
 * direct way, so it measures what PostgreSQL spends on the table), and by `INSERT … unnest` of
 * text arrays (the ceiling of runs before 2026-11-25, kept as a peer: node-pg's quoting of the
 * arrays costs about as much client CPU as the insert costs the server, one after the other).
 */
async function seriesCeilings(url: string, labelSets: readonly Label[][]): Promise<{ copy: number; insert: number }> {
  const c = new pg.Client({ connectionString: url, application_name: 'promfleet bench series ceiling' });
  await c.connect();
  const keys = labelSets.map((l) => seriesKey(l));
  const timed = async (load: (part: typeof keys) => Promise<void>): Promise<number> => {
    await c.query(`CREATE TABLE ceiling_series (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, metric text NOT NULL,
      labels jsonb NOT NULL, labels_hash bytea NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now())`);
    await c.query('CREATE INDEX ON ceiling_series USING gin (labels jsonb_path_ops)');
    await c.query('CREATE INDEX ON ceiling_series (metric)');
    const start = process.hrtime.bigint();
    for (let i = 0; i < keys.length; i += PER_STATEMENT) await load(keys.slice(i, i + PER_STATEMENT));
    const ms = elapsedMs(start);
    await c.query('DROP TABLE ceiling_series');
    return perSecond(keys.length, ms);
  };
  try {
    const copy = await timed(async (part) => {
      const stream = c.query(copyFrom('COPY ceiling_series (metric, labels, labels_hash) FROM STDIN (FORMAT binary)'));
      const done = once(stream, 'finish');
      stream.write(copyHeader());
      if (!stream.write(encodeSeriesRows(part))) await once(stream, 'drain');
      stream.end(copyTrailer());
      await done;
    });
    const insert = await timed(async (part) => {
      await c.query('INSERT INTO ceiling_series (metric, labels, labels_hash) SELECT * FROM unnest($1::text[], $2::jsonb[], $3::bytea[])',
        [part.map((k) => k.metric), part.map((k) => k.labelsJson), part.map((k) => k.hash)]);
    });
    return { copy, insert };
  } finally {
    await c.end();
  }
}

export async function newSeriesBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const errors: string[] = [];
  const n = Math.ceil(NEW_SERIES / 500) * 500;
  const details: Record<string, unknown> = { series: n };
  const db = await createScratchDatabase();
  const prefix = `pfbench_series_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  let worker: Child | undefined;
  const observer = new pg.Client({ connectionString: db.url, application_name: 'promfleet bench observer' });
  try {
    say(`  ${n} first-seen series: generating, then the ceiling …`);
    const load = syntheticBodies({ series: n, seriesPerRequest: 500, requests: n / 500, startMs: Date.now() - 600_000 });
    // The label sets the bodies carry, rebuilt for the ceiling from the same generator.
    const labelSets = syntheticBodies.labelSets(n);
    const ceiling = await seriesCeilings(db.url, labelSets);
    say('  queueing them through promfleet ingress …');
    const enq = await measureEnqueue({ ...load, redisUrl: BENCH_REDIS_URL, prefix, pgUrl: db.url, schema: 'bench', concurrency: 8 });
    if ((enq.statuses['204'] ?? 0) !== n / 500) throw new Error(`enqueue: ${JSON.stringify(enq.statuses)}`);
    say('  promfleet worker process …');
    await observer.connect();
    worker = await startPromfleet('worker', [`--pg.url=${db.url}`, '--pg.schema=bench', `--redis.url=${BENCH_REDIS_URL}`, `--queue.prefix=${prefix}`]);
    let first: { t: number; s: number } | undefined;
    let last = { t: 0, s: 0 };
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      // Committed samples from the batch ledger, one per first-seen series: a few thousand
      // ledger rows to sum, where counting the series table (a scan of up to a million rows
      // every 50 ms) took a core from the worker and PostgreSQL it measures.
      const r = await observer.query<{ n: number }>('SELECT coalesce(sum(samples), 0)::int AS n FROM bench.batches');
      const now = { t: performance.now(), s: r.rows[0]?.n ?? 0 };
      if (now.s > 0 && first === undefined) first = now;
      last = now;
      if (now.s >= n) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    if (last.s < n) throw new Error(`only ${last.s} of ${n} series written after 10 minutes`);
    const stored = await observer.query<{ n: number }>('SELECT count(*)::int AS n FROM bench.series');
    if (stored.rows[0]?.n !== n) throw new Error(`${stored.rows[0]?.n} series rows for ${n} first-seen series`);
    const rate = first && last.t > first.t ? ((last.s - first.s) * 1000) / (last.t - first.t) : NaN;
    const rss = worker.rssBytes();
    details.result = { ceiling, rate, first, last, rss };
    figures.push({
      name: 'new series', value: rate, unit: 'series/s', ceiling: { name: 'raw series COPY', value: ceiling.copy },
      peers: [{ name: 'raw series insert', value: ceiling.insert }, { name: 'target 100k', value: 100_000 }],
      note: `${n} first-seen label sets through the worker, first to last commit`,
    });
    figures.push({
      name: 'worker RSS/series', value: rss.peak / 2 ** 20, unit: 'MiB peak', peers: [{ name: 'target 500 MiB', value: 500 }],
      note: `worker process with ${n} series cached (the target is for 1M: PROMFLEET_BENCH_NEW_SERIES=1000000)`,
    });
  } finally {
    await worker?.stop().catch((err: unknown) => errors.push(`stop worker: ${(err as Error).message}`));
    await observer.end().catch(() => undefined);
    await deleteRedisPrefix(BENCH_REDIS_URL, prefix).catch((err: unknown) => errors.push(`redis clean-up: ${(err as Error).message}`));
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}
