import type pg from 'pg';
import type { Logger } from '../observability/log.js';
import type { Label, MetricMetadata, TimeSeries } from '../protocol/types.js';
import { copySamples } from './copy-samples.js';
import { assertSchemaName, quoteIdent } from './ident.js';
import type { Partitions } from './partitions.js';
import type { SeriesResolver } from './series.js';
import { insertExemplars, insertHistograms, upsertMetadata, type SeriesExemplar, type SeriesHistogram } from './write-extras.js';

export interface BatchWriterOptions {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly partitions: Partitions;
  readonly series: SeriesResolver;
  readonly log: Logger;
}

export interface WriteBatch {
  /** Unique batch id, recorded in the ledger in the same transaction as the samples. */
  readonly id: string;
  /** Queue the batch came from, kept in the ledger for operators. */
  readonly queue: string;
  readonly timeseries: readonly TimeSeries[];
  readonly metadata: readonly MetricMetadata[];
  /** HA group of the batch; new series are recorded with it. */
  readonly group?: string;
}

export interface WriteBatchResult {
  /** The ledger already had the id: nothing was written. */
  readonly duplicate: boolean;
  readonly samples: number;
  readonly metadata: number;
  readonly exemplars: number;
  readonly histograms: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
}

/** What the batch holds, for the afterWrite hook (e.g. advancing a watermark). */
export interface BatchWriteSummary {
  readonly samples: number;
  /** Oldest and newest sample time, Unix ms; NaN when the batch has no samples. */
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
}

/**
 * Statements the caller runs inside the batch transaction on the same connection: the worker
 * fences (re-checks leadership) in beforeWrite and moves its watermark in afterWrite. A hook
 * that throws rolls the whole batch back.
 */
export interface WriteHooks {
  /**
   * Which samples to write, decided per sample once series ids are known (HA handoff: a new
   * leader does not write the time its predecessor owned). Absent: all of them.
   */
  keep?(seriesId: number, timestampMs: number): boolean;
  beforeWrite?(client: pg.PoolClient): Promise<void>;
  afterWrite?(client: pg.PoolClient, summary: BatchWriteSummary): Promise<void>;
}

/** Sample columns of a batch, in the order COPY sends them. */
interface Flattened {
  readonly labels: Label[][];
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  /** Index into `labels` for every sample row. */
  readonly seriesOfRow: Uint32Array;
  readonly exemplars: { readonly series: number; readonly exemplar: TimeSeries['exemplars'][number] }[];
  readonly histograms: { readonly series: number; readonly histogram: TimeSeries['histograms'][number] }[];
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
}

/** Beyond this many partition widths between a batch's oldest and newest sample, ensure only the partitions its samples touch. */
const RANGE_ENSURE_MAX_PARTITIONS = 64;

function flatten(timeseries: readonly TimeSeries[]): Flattened {
  let total = 0;
  for (const ts of timeseries) total += ts.samples.length;
  // Float64Array, not number[]: a V8 double array would quiet the stale-marker NaN.
  const timestampsMs = new Float64Array(total);
  const values = new Float64Array(total);
  const seriesOfRow = new Uint32Array(total);
  const labels: Label[][] = [];
  const exemplars: Flattened['exemplars'] = [];
  const histograms: Flattened['histograms'] = [];
  let row = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const ts of timeseries) {
    // A series with nothing to write is not resolved (no series row for an empty series).
    if (ts.samples.length === 0 && ts.exemplars.length === 0 && ts.histograms.length === 0) continue;
    const s = labels.length;
    labels.push(ts.labels);
    for (const sample of ts.samples) {
      const t = sample.timestamp;
      timestampsMs[row] = t;
      values[row] = sample.value;
      seriesOfRow[row] = s;
      if (t < min) min = t;
      if (t > max) max = t;
      row++;
    }
    for (const exemplar of ts.exemplars) exemplars.push({ series: s, exemplar });
    for (const histogram of ts.histograms) histograms.push({ series: s, histogram });
  }
  return { labels, timestampsMs, values, seriesOfRow, exemplars, histograms, minTimeMs: total ? min : NaN, maxTimeMs: total ? max : NaN };
}

/** The sample rows that will be copied, with their series ids. */
interface Rows {
  readonly seriesIds: Float64Array;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
}

function allRows(flat: Flattened, ids: readonly number[]): Rows {
  const n = flat.timestampsMs.length;
  const seriesIds = new Float64Array(n);
  for (let i = 0; i < n; i++) seriesIds[i] = ids[flat.seriesOfRow[i]];
  return { seriesIds, timestampsMs: flat.timestampsMs, values: flat.values, minTimeMs: flat.minTimeMs, maxTimeMs: flat.maxTimeMs };
}

function select(flat: Flattened, ids: readonly number[], keep: (seriesId: number, timestampMs: number) => boolean): Rows {
  const n = flat.timestampsMs.length;
  const seriesIds = new Float64Array(n);
  const timestampsMs = new Float64Array(n);
  const values = new Float64Array(n);
  let m = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const id = ids[flat.seriesOfRow[i]];
    const t = flat.timestampsMs[i];
    if (!keep(id, t)) continue;
    seriesIds[m] = id;
    timestampsMs[m] = t;
    values[m] = flat.values[i];
    if (t < min) min = t;
    if (t > max) max = t;
    m++;
  }
  return {
    seriesIds: seriesIds.subarray(0, m), timestampsMs: timestampsMs.subarray(0, m), values: values.subarray(0, m),
    minTimeMs: m ? min : NaN, maxTimeMs: m ? max : NaN,
  };
}

function isMissingPartition(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === '23514' && typeof e.message === 'string' && e.message.includes('no partition of relation');
}

/**
 * Writes one batch exactly once: series ids are resolved and partitions ensured first, each
 * committing on its own, then one transaction records the batch id in the ledger, copies the
 * samples and writes exemplars, histograms and metadata. A batch whose id is already in the
 * ledger writes nothing and reports `duplicate`. Errors are rethrown as they come from pg
 * (classify them with classifyPgError).
 */
export class BatchWriter {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly partitions: Partitions;
  private readonly series: SeriesResolver;
  private readonly log: Logger;
  private readonly ledgerSql: string;

  constructor(opts: BatchWriterOptions) {
    assertSchemaName(opts.schema);
    this.pool = opts.pool;
    this.schema = opts.schema;
    this.partitions = opts.partitions;
    this.series = opts.series;
    this.log = opts.log;
    this.ledgerSql = `INSERT INTO ${quoteIdent(opts.schema)}.batches (id, queue, samples) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`;
  }

  async write(batch: WriteBatch, hooks: WriteHooks = {}): Promise<WriteBatchResult> {
    const flat = flatten(batch.timeseries);
    try {
      return await this.writeOnce(batch, flat, hooks);
    } catch (err) {
      // Our partition cache said a partition existed but COPY found none: someone dropped it
      // (a retention job). Forget the cache and try once more; the ledger made the first
      // attempt a no-op.
      if (!isMissingPartition(err)) throw err;
      this.log.warn({ batch: batch.id }, 'a cached sample partition is gone; re-reading partitions and retrying');
      this.partitions.reset();
      return this.writeOnce(batch, flat, hooks);
    }
  }

  private async ensurePartitions(client: pg.PoolClient, flat: Rows): Promise<void> {
    if (flat.timestampsMs.length === 0) return;
    const span = (flat.maxTimeMs - flat.minTimeMs) / this.partitions.intervalMs;
    if (span <= RANGE_ENSURE_MAX_PARTITIONS) await this.partitions.ensure(flat.minTimeMs, flat.maxTimeMs, client);
    else await this.partitions.ensureTimes(flat.timestampsMs, client);
  }

  private async writeOnce(batch: WriteBatch, flat: Flattened, hooks: WriteHooks): Promise<WriteBatchResult> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // Outside the transaction, on this same connection: taking a second pooled connection
      // while holding this one could exhaust the pool with every writer waiting on another.
      const resolved = await this.series.resolveWithStats(client, flat.labels, batch.group);
      const rows = hooks.keep ? select(flat, resolved.ids, hooks.keep) : allRows(flat, resolved.ids);
      await this.ensurePartitions(client, rows);
      const n = rows.timestampsMs.length;
      const seriesIds = rows.seriesIds;

      await client.query('BEGIN');
      try {
        if (hooks.beforeWrite) await hooks.beforeWrite(client);
        const ledger = await client.query(this.ledgerSql, [batch.id, batch.queue, n]);
        if (ledger.rowCount === 0) {
          await client.query('ROLLBACK');
          this.log.debug({ batch: batch.id, queue: batch.queue }, 'batch already written; skipped');
          return { duplicate: true, samples: 0, metadata: 0, exemplars: 0, histograms: 0, cacheHits: resolved.hits, cacheMisses: resolved.misses };
        }
        const samples = n === 0 ? 0 : await copySamples(client, this.schema, { seriesIds, timestampsMs: rows.timestampsMs, values: rows.values });
        const exemplars = await insertExemplars(client, this.schema, flat.exemplars.map(
          (e): SeriesExemplar => ({ seriesId: resolved.ids[e.series], exemplar: e.exemplar })));
        const histograms = await insertHistograms(client, this.schema, flat.histograms.map(
          (h): SeriesHistogram => ({ seriesId: resolved.ids[h.series], histogram: h.histogram })));
        const metadata = await upsertMetadata(client, this.schema, batch.metadata);
        if (hooks.afterWrite) await hooks.afterWrite(client, { samples, minTimeMs: rows.minTimeMs, maxTimeMs: rows.maxTimeMs });
        await client.query('COMMIT');
        return { duplicate: false, samples, metadata, exemplars, histograms, cacheHits: resolved.hits, cacheMisses: resolved.misses };
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        });
        throw err;
      }
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: destroy it. pg-pool already
      // drops clients whose connection died, so other errors return a usable session.
      client.release(broken);
    }
  }
}
