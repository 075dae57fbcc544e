/**
 * PostgreSQL's share of a sample, side by side in one run: the same Prometheus-shaped rows
 * (10,000 series, one sample each a scrape) COPYed in 100,000-row statements into tables laid
 * out in different ways, each write rate against one raw COPY into a table with no index (what
 * the heap alone costs here), and each read rate (one hour of 200 series by series id, the
 * query promfleet's remote_read runs) against today's layout's.
 *
 * - `today`: promfleet's samples layout, a btree on (series_id, time), rows in arrival order
 *   (scrape after scrape, every series once a scrape).
 * - `sorted`: the same index, each statement's rows sorted by (series_id, time) first, so that
 *   successive index inserts land next to each other.
 * - `brin`: no btree; a BRIN index on (series_id, time) over rows sorted as in `sorted`: each
 *   statement's rows lie in series order, so a page range holds few series.
 */
import pg from 'pg';
import { encodeRows, type RowColumns } from './copy-binary.js';
import { copyChunk, shapedRows } from './copy-ceiling.js';
import { scaled } from './env.js';
import { elapsedMs, perSecond, type Figure } from './report.js';
import { createScratchDatabase } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

const SERIES = 10_000;
const PER_COPY = 100_000;
const READ_SERIES = 200;

interface Variant {
  readonly name: string;
  readonly indexes: readonly string[];
  readonly sorted: boolean;
}

const VARIANTS: readonly Variant[] = [
  { name: 'today', indexes: ['CREATE INDEX ON t (series_id, time)'], sorted: false },
  { name: 'sorted', indexes: ['CREATE INDEX ON t (series_id, time)'], sorted: true },
  { name: 'brin', indexes: ['CREATE INDEX ON t USING brin (series_id, time) WITH (pages_per_range = 16)'], sorted: true },
];

/** Rows [from, to) reordered by (series_id, time). */
function sortedSlice(rows: RowColumns, from: number, to: number): RowColumns {
  const order = Array.from({ length: to - from }, (_, i) => from + i);
  order.sort((a, b) => rows.seriesId[a] - rows.seriesId[b] || rows.timeMs[a] - rows.timeMs[b]);
  const pick = (col: Float64Array) => Float64Array.from(order, (i) => col[i]);
  return { timeMs: pick(rows.timeMs), seriesId: pick(rows.seriesId), value: pick(rows.value) };
}

function chunksOf(rows: RowColumns, n: number, sorted: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let from = 0; from < n; from += PER_COPY) {
    const to = Math.min(n, from + PER_COPY);
    out.push(sorted ? encodeRows(sortedSlice(rows, from, to), 0, to - from) : encodeRows(rows, from, to));
  }
  return out;
}

async function copyAll(c: pg.Client, chunks: readonly Buffer[]): Promise<number> {
  const start = process.hrtime.bigint();
  for (const chunk of chunks) await copyChunk(c, 't', chunk);
  return elapsedMs(start);
}

/** Rows/s of reading one hour of READ_SERIES series by id, three times, after ANALYZE. */
async function readRate(c: pg.Client, startMs: number): Promise<number> {
  await c.query('ANALYZE t');
  const ids = Array.from({ length: READ_SERIES }, (_, i) => 1 + Math.floor((i * SERIES) / READ_SERIES));
  let rows = 0;
  const start = process.hrtime.bigint();
  for (let pass = 0; pass < 3; pass++) {
    const r = await c.query(`SELECT series_id, time, value FROM t WHERE series_id = ANY($1::bigint[])
      AND time >= to_timestamp($2 / 1000.0) AND time < to_timestamp($3 / 1000.0) ORDER BY series_id, time`,
    [ids, startMs, startMs + 3_600_000]);
    rows += r.rowCount ?? 0;
  }
  return perSecond(rows, elapsedMs(start));
}

async function measure(c: pg.Client, indexes: readonly string[], chunks: readonly Buffer[], n: number, startMs: number) {
  await c.query('DROP TABLE IF EXISTS t');
  await c.query('CREATE TABLE t (time timestamptz NOT NULL, series_id bigint NOT NULL, value float8 NOT NULL)');
  for (const sql of indexes) await c.query(sql);
  const write = perSecond(n, await copyAll(c, chunks));
  const size = Number((await c.query<{ b: string }>("SELECT pg_total_relation_size('t') AS b")).rows[0]?.b);
  const read = await readRate(c, startMs);
  await c.query('DROP TABLE t');
  return { write, read, bytesPerRow: size / n };
}

export async function storageVariantsBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const errors: string[] = [];
  const n = scaled(2_000_000, 100_000);
  const startMs = Date.now() - 3 * 3_600_000;
  const rows = shapedRows(SERIES, n, startMs);
  const details: Record<string, unknown> = { rows: n, series: SERIES };
  const db = await createScratchDatabase();
  const c = new pg.Client({ connectionString: db.url, application_name: 'promfleet bench storage variants' });
  try {
    await c.connect();
    say(`  ${n} rows, raw COPY into a table with no index (ceiling) …`);
    const raw = await measure(c, [], chunksOf(rows, n, false), n, startMs);
    details.raw = raw;
    const results: Record<string, { write: number; read: number; bytesPerRow: number }> = {};
    for (const v of VARIANTS) {
      say(`  ${v.name} …`);
      results[v.name] = await measure(c, v.indexes, chunksOf(rows, n, v.sorted), n, startMs);
    }
    details.variants = results;
    const today = results.today;
    for (const v of VARIANTS) {
      const r = results[v.name];
      figures.push({
        name: `storage ${v.name} write`, value: r.write, unit: 'rows/s', ceiling: { name: 'raw COPY, no index', value: raw.write },
        note: `${v.indexes.join('; ')}${v.sorted ? ', each COPY sorted by (series_id, time)' : ', rows in arrival order'}; ${r.bytesPerRow.toFixed(1)} B a row on disk`,
      });
      figures.push({
        name: `storage ${v.name} read`, value: r.read, unit: 'rows/s', ceiling: { name: 'today read', value: today.read },
        note: `one hour of ${READ_SERIES} series by id, three times`,
      });
    }
  } catch (err) {
    errors.push(`storage variants: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await c.end().catch(() => undefined);
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}
