import type pg from 'pg';
import type { Logger } from '../observability/log.js';
import type { Label, MetricMetadata, TimeSeries } from '../protocol/index.js';
import { copySamples } from './copy-samples.js';
import { assertSchemaName } from './ident.js';
import { recordBatches } from './ledger.js';
import type { Partitions } from './partitions.js';
import { allRows, concatRows, flatten, selectRows, type Flattened, type Rows } from './sample-rows.js';
import type { SeriesResolver } from './series.js';
import {
  insertCreated, insertExemplars, insertHistograms, upsertMetadata, type SeriesCreated, type SeriesExemplar, type SeriesHistogram,
} from './write-histograms-exemplars-metadata.js';

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
  /** The samples as decoded series; or, already in column form, `flat` (which wins). */
  readonly timeseries?: readonly TimeSeries[];
  readonly flat?: Flattened;
  readonly metadata: readonly MetricMetadata[];
  /** HA group of the batch; new series are recorded with it. */
  readonly group?: string;
  /** Which of this batch's samples to write (HA ownership); wins over the hooks' keep. Absent: the hooks decide. */
  readonly keep?: (seriesId: number, timestampMs: number) => boolean;
}

/** What one batch of a write contributed. */
export interface BatchOutcome {
  /** The ledger already had the id (or an earlier batch of the same call had it): nothing was written. */
  readonly duplicate: boolean;
  readonly samples: number;
  /** Metric families in the batch's metadata (counted once per family). */
  readonly metadata: number;
  readonly exemplars: number;
  readonly histograms: number;
}

export interface WriteBatchResult extends BatchOutcome {
  readonly cacheHits: number;
  readonly cacheMisses: number;
}

export interface WriteManyResult {
  /** One outcome per input batch, in input order. */
  readonly batches: readonly BatchOutcome[];
  /** Sample rows copied by the transaction (0 when every batch was a duplicate). */
  readonly samples: number;
  /** Metric families upserted (a family sent by several batches counts once). */
  readonly metadata: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
}

/** What the transaction writes, for the afterWrite hook (e.g. advancing a watermark). */
export interface BatchWriteSummary {
  /** Float samples and native histograms written. */
  readonly samples: number;
  /** Oldest and newest sample (or histogram) time written, Unix ms; NaN when none is written. */
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
}

/**
 * Statements the caller runs inside the write transaction on the same connection: the worker
 * fences (re-checks leadership) in beforeWrite and moves its watermark in afterWrite, once per
 * transaction however many batches it holds. A hook that throws rolls the whole transaction back.
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

/** Beyond this many partition widths between the oldest and newest sample, ensure only the partitions the samples touch. */
const RANGE_ENSURE_MAX_PARTITIONS = 64;

function isMissingPartition(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.message !== 'string') return false;
  // Routed through samples: no partition for a row. Copied into a partition: it is gone.
  return (e.code === '23514' && e.message.includes('no partition of relation'))
    || (e.code === '42P01' && e.message.includes('samples_'));
}

/** One batch on its way into the transaction: its rows (after `keep`) and the series ids of its label sets. */
interface Prepared {
  readonly batch: WriteBatch;
  readonly flat: Flattened;
  readonly ids: Float64Array;
  readonly rows: Rows;
  /** The batch's native histograms, exemplars and created timestamps that `keep` accepted. */
  readonly extras: Extras;
}

interface Extras {
  readonly histograms: SeriesHistogram[];
  readonly exemplars: SeriesExemplar[];
  readonly created: SeriesCreated[];
}

/**
 * Histograms, exemplars and created timestamps with their series ids, through the same HA
 * handoff filter as the float samples (by their own time; a created timestamp by the time of
 * the sample it came with).
 */
function extrasOf(flat: Flattened, ids: ArrayLike<number>, keep: WriteHooks['keep']): Extras {
  const ok = keep ?? (() => true);
  const histograms: SeriesHistogram[] = [];
  for (const h of flat.histograms) if (ok(ids[h.series], h.histogram.timestamp)) histograms.push({ seriesId: ids[h.series], histogram: h.histogram });
  const exemplars: SeriesExemplar[] = [];
  for (const e of flat.exemplars) if (ok(ids[e.series], e.exemplar.timestamp)) exemplars.push({ seriesId: ids[e.series], exemplar: e.exemplar });
  const created: SeriesCreated[] = [];
  for (const c of flat.created) if (ok(ids[c.series], c.timeMs)) created.push({ seriesId: ids[c.series], createdMs: c.createdMs, timeMs: c.timeMs });
  return { histograms, exemplars, created };
}

/** Oldest and newest time over sample rows and histograms (NaN when there are none). */
function timeSpan(rows: Rows, histograms: readonly SeriesHistogram[]): { min: number; max: number } {
  let min = rows.timestampsMs.length > 0 ? rows.minTimeMs : Infinity;
  let max = rows.timestampsMs.length > 0 ? rows.maxTimeMs : -Infinity;
  for (const h of histograms) {
    const t = h.histogram.timestamp;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return min === Infinity ? { min: NaN, max: NaN } : { min, max };
}

/** A batch id twice in one call (a redelivery met its original): only the first copy goes to the ledger. */
function firstOfEachId(prepared: readonly Prepared[]): Prepared[] {
  const seen = new Set<string>();
  const out: Prepared[] = [];
  for (const p of prepared) {
    if (seen.has(p.batch.id)) continue;
    seen.add(p.batch.id);
    out.push(p);
  }
  return out;
}

const DUPLICATE: BatchOutcome = { duplicate: true, samples: 0, metadata: 0, exemplars: 0, histograms: 0 };

/**
 * Writes batches exactly once. Series ids are resolved (in bulk, for all batches of a call) and
 * partitions ensured first, each committing on its own; then one transaction runs the
 * beforeWrite hook, records every batch id in the ledger, copies the samples of the batches
 * whose id was new in one binary COPY, writes their exemplars, histograms and metadata, runs
 * afterWrite and commits. A batch whose id is already in the ledger writes nothing and reports
 * `duplicate`. Errors are rethrown as they come from pg (classify them with classifyPgError);
 * nothing of a failed call is committed.
 */
export class BatchWriter {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly partitions: Partitions;
  private readonly series: SeriesResolver;
  private readonly log: Logger;

  constructor(opts: BatchWriterOptions) {
    assertSchemaName(opts.schema);
    this.pool = opts.pool;
    this.schema = opts.schema;
    this.partitions = opts.partitions;
    this.series = opts.series;
    this.log = opts.log;
  }

  /** One batch, one transaction. */
  async write(batch: WriteBatch, hooks: WriteHooks = {}): Promise<WriteBatchResult> {
    const r = await this.writeMany([batch], hooks);
    return { ...r.batches[0], cacheHits: r.cacheHits, cacheMisses: r.cacheMisses };
  }

  /**
   * Several batches in one transaction (group commit). They must share their HA group: new
   * series are recorded with it and the hooks are the group's.
   */
  async writeMany(batches: readonly WriteBatch[], hooks: WriteHooks = {}): Promise<WriteManyResult> {
    if (batches.length === 0) return { batches: [], samples: 0, metadata: 0, cacheHits: 0, cacheMisses: 0 };
    const group = batches[0].group;
    if (batches.some((b) => b.group !== group)) throw new RangeError('writeMany: the batches of one transaction must share their HA group');
    const flats = batches.map((b) => b.flat ?? flatten(b.timeseries ?? []));
    try {
      return await this.writeOnce(batches, flats, hooks);
    } catch (err) {
      // Our partition cache said a partition existed but COPY found none: someone dropped it
      // (a retention job). Forget the cache and try once more; the rollback left nothing behind.
      if (!isMissingPartition(err)) throw err;
      this.log.warn({ batches: batches.map((b) => b.id) }, 'a cached sample partition is gone; re-reading partitions and retrying');
      this.partitions.reset();
      return this.writeOnce(batches, flats, hooks);
    }
  }

  private async ensurePartitions(client: pg.PoolClient, rows: Rows): Promise<void> {
    if (rows.timestampsMs.length === 0) return;
    const span = (rows.maxTimeMs - rows.minTimeMs) / this.partitions.intervalMs;
    if (span <= RANGE_ENSURE_MAX_PARTITIONS) await this.partitions.ensure(rows.minTimeMs, rows.maxTimeMs, client);
    else await this.partitions.ensureTimes(rows.timestampsMs, client);
  }

  /**
   * Series ids for every batch (one bulk resolution of the series not known beforehand), then
   * each batch's rows after `keep`.
   */
  private async prepare(
    client: pg.PoolClient, batches: readonly WriteBatch[], flats: readonly Flattened[], hooks: WriteHooks,
  ): Promise<{ prepared: Prepared[]; hits: number; misses: number }> {
    const idsOf = flats.map((f) => new Float64Array(f.labels.length));
    const unknown: Label[][] = [];
    const unknownAt: number[] = []; // pairs: flat index, series index
    let known = 0;
    for (let i = 0; i < flats.length; i++) {
      const f = flats[i];
      const ids = idsOf[i];
      for (let s = 0; s < f.labels.length; s++) {
        const id = f.knownIds ? f.knownIds[s] : NaN;
        if (id === id) {
          ids[s] = id;
          known++;
        } else {
          unknown.push(f.labels[s]);
          unknownAt.push(i, s);
        }
      }
    }
    let hits = known;
    let misses = 0;
    if (unknown.length > 0) {
      const resolved = await this.series.resolveWithStats(client, unknown, batches[0].group);
      hits += resolved.hits;
      misses = resolved.misses;
      for (let k = 0; k < resolved.ids.length; k++) {
        const f = unknownAt[2 * k];
        const s = unknownAt[2 * k + 1];
        idsOf[f][s] = resolved.ids[k];
        flats[f].onResolved?.(s, resolved.ids[k]);
      }
    }
    const prepared: Prepared[] = [];
    for (let i = 0; i < batches.length; i++) {
      const flat = flats[i];
      const ids = idsOf[i];
      const keep = batches[i].keep ?? hooks.keep;
      prepared.push({ batch: batches[i], flat, ids, rows: keep ? selectRows(flat, ids, keep) : allRows(flat, ids), extras: extrasOf(flat, ids, keep) });
    }
    return { prepared, hits, misses };
  }

  private async writeOnce(batches: readonly WriteBatch[], flats: readonly Flattened[], hooks: WriteHooks): Promise<WriteManyResult> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // Outside the transaction, on this same connection: taking a second pooled connection
      // while holding this one could exhaust the pool with every writer waiting on another.
      const { prepared, hits, misses } = await this.prepare(client, batches, flats, hooks);
      const unique = firstOfEachId(prepared);
      const all = concatRows(unique.map((p) => p.rows));
      await this.ensurePartitions(client, all);

      await client.query('BEGIN');
      try {
        if (hooks.beforeWrite) await hooks.beforeWrite(client);
        const fresh = await recordBatches(client, this.schema, unique.map((p) => ({ id: p.batch.id, queue: p.batch.queue, samples: p.rows.timestampsMs.length })));
        const written = unique.filter((p) => fresh.has(p.batch.id));
        if (written.length === 0) {
          await client.query('ROLLBACK');
          this.log.debug({ batches: batches.map((b) => b.id), queue: batches[0].queue }, 'batches already written; skipped');
          return { batches: batches.map(() => DUPLICATE), samples: 0, metadata: 0, cacheHits: hits, cacheMisses: misses };
        }
        const rows = written.length === unique.length ? all : concatRows(written.map((p) => p.rows));
        const samples = await copySamples(client, this.schema, rows, this.partitions.soleTarget(rows.minTimeMs, rows.maxTimeMs));
        await insertExemplars(client, this.schema, written.flatMap((p) => p.extras.exemplars));
        const histograms = written.flatMap((p) => p.extras.histograms);
        await insertHistograms(client, this.schema, histograms);
        await insertCreated(client, this.schema, written.flatMap((p) => p.extras.created));
        const metadata = await upsertMetadata(client, this.schema, written.flatMap((p) => p.batch.metadata));
        // Histograms are samples of their series: they move the HA watermark like float samples.
        const span = timeSpan(rows, histograms);
        if (hooks.afterWrite) await hooks.afterWrite(client, { samples: samples + histograms.length, minTimeMs: span.min, maxTimeMs: span.max });
        await client.query('COMMIT');
        const done = new Set(written);
        const outcomes = prepared.map((p): BatchOutcome => (done.has(p) ? {
          duplicate: false,
          samples: p.rows.timestampsMs.length,
          metadata: new Set(p.batch.metadata.map((m) => m.metricFamilyName)).size,
          exemplars: p.extras.exemplars.length,
          histograms: p.extras.histograms.length,
        } : DUPLICATE));
        if (written.length < prepared.length) {
          this.log.debug({ batches: prepared.filter((p) => !done.has(p)).map((p) => p.batch.id), queue: batches[0].queue }, 'batches already written; skipped');
        }
        return { batches: outcomes, samples, metadata, cacheHits: hits, cacheMisses: misses };
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
