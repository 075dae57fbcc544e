import type pg from 'pg';
import { DigestCache, type Label } from '../protocol/index.js';
import { byteaArrayOfLatin1, int8Array, jsonbArray, textArray } from './binary-array.js';
import { assertSchemaName, quoteIdent } from './ident.js';
import { seriesCacheKey, seriesRow, type SeriesRow } from './labels.js';
import { hashSeriesId } from './series-id.js';

export type Queryable = pg.PoolClient | pg.Client;

export interface SeriesResolverOptions {
  readonly schema: string;
  /**
   * Most label sets kept in the id cache (at least 2; default 1_000_000). Evicted by generations
   * (see DigestCache): the most recently used half of them always stays.
   */
  readonly maxEntries?: number;
}

export interface ResolveResult {
  /** One id per input series, in input order. */
  readonly ids: number[];
  /** Input series answered from the cache. */
  readonly hits: number;
  /** Input series that needed the database (duplicates within one call count once each). */
  readonly misses: number;
}

interface Miss {
  readonly labels: readonly Label[];
  readonly cacheKey: string;
  readonly positions: number[];
}

/** The series columns of `list` (rows[k] is list[k]'s) as binary array parameters: metric, labels, hash. */
function seriesColumns(list: readonly Miss[], rows: readonly SeriesRow[]): Buffer[] {
  return [textArray(rows.map((r) => r.metric)), jsonbArray(rows.map((r) => r.labelsJson)), byteaArrayOfLatin1(list.map((m) => m.cacheKey))];
}

/**
 * Label set → series id, cached in process, misses resolved in bulk.
 *
 * A new label set is stored with the id derived from its hash (hashSeriesId), so the usual
 * insert of new series returns nothing: when the database reports every row inserted, the ids
 * are the ones computed here. Otherwise some label sets were stored already (by another
 * process, or before hash ids, with an identity id), and one read by hash gives their ids; a
 * label set still without one lost its hash id to another label set (52 bits collide) and is
 * stored with an identity id.
 *
 * Resolution commits on its own (autocommit), outside the batch transaction: a series row
 * without samples is harmless, while inserting series inside the batch transaction would hold
 * their unique-index entries locked for the whole COPY, so every other worker meeting a new
 * series of the same target would wait for that COPY (or deadlock with it).
 *
 * Ids are JS numbers: hash ids stay below 2^53, identity values far below 2^52.
 */
export class SeriesResolver {
  private readonly cache: DigestCache;
  private readonly insertHashedSql: string;
  private readonly insertSql: string;
  private readonly selectSql: string;

  constructor(opts: SeriesResolverOptions) {
    assertSchemaName(opts.schema);
    this.cache = new DigestCache(opts.maxEntries ?? 1_000_000);
    const table = `${quoteIdent(opts.schema)}.series`;
    // New label sets with their hash ids; the database says only how many rows it inserted.
    // Rows go in id order, so that two processes inserting overlapping new series meet their
    // conflicts (same label set, same id) in the same order and cannot deadlock. No conflict
    // target: a row is skipped when its label set is stored already or its id is taken.
    this.insertHashedSql = `INSERT INTO ${table} (id, metric, labels, labels_hash, ha_group) OVERRIDING SYSTEM VALUE
      SELECT id, metric, labels, labels_hash, $5::text
      FROM unnest($1::int8[], $2::text[], $3::jsonb[], $4::bytea[]) AS t(id, metric, labels, labels_hash) ORDER BY id
      ON CONFLICT DO NOTHING`;
    // Label sets whose hash id another label set holds: an identity id, returned with the hash.
    // The read probes the unique index once per hash (LIMIT 1 keeps the planner from turning
    // the lookups into a hash join over the whole table, which grows with every series).
    this.insertSql = `INSERT INTO ${table} (metric, labels, labels_hash, ha_group)
      SELECT metric, labels, labels_hash, $4::text
      FROM unnest($1::text[], $2::jsonb[], $3::bytea[]) AS t(metric, labels, labels_hash) ORDER BY labels_hash
      ON CONFLICT (labels_hash) DO NOTHING
      RETURNING id, labels_hash`;
    this.selectSql = `SELECT s.id, s.labels_hash FROM unnest($1::bytea[]) AS h(labels_hash)
      JOIN LATERAL (SELECT id, labels_hash FROM ${table} WHERE labels_hash = h.labels_hash LIMIT 1) s ON true`;
  }

  /** Entries currently cached. */
  get size(): number {
    return this.cache.size;
  }

  async resolve(client: Queryable, series: readonly (readonly Label[])[], group?: string): Promise<number[]> {
    return (await this.resolveWithStats(client, series, group)).ids;
  }

  /**
   * resolve() plus the hit and miss counts, for promfleet_series_cache_lookups_total. New series
   * are recorded with their HA group (handoffs look up a group's series by it).
   */
  async resolveWithStats(client: Queryable, series: readonly (readonly Label[])[], group?: string): Promise<ResolveResult> {
    const ids = new Array<number>(series.length);
    const misses = new Map<string, Miss>();
    let hits = 0;
    for (let i = 0; i < series.length; i++) {
      // The hash only: the stored form (metric, JSON labels) is built for misses alone.
      const cacheKey = seriesCacheKey(series[i]);
      const id = this.cache.get(cacheKey);
      if (id >= 0) {
        ids[i] = id;
        hits++;
        continue;
      }
      const miss = misses.get(cacheKey);
      if (miss) miss.positions.push(i);
      else misses.set(cacheKey, { labels: series[i], cacheKey, positions: [i] });
    }
    if (misses.size > 0) await this.fetch(client, misses, ids, group ?? null);
    return { ids, hits, misses: series.length - hits };
  }

  private async fetch(client: Queryable, misses: Map<string, Miss>, ids: number[], group: string | null): Promise<void> {
    const list = [...misses.values()];
    const rows = list.map((m) => seriesRow(m.labels));
    const hashIds = list.map((m) => hashSeriesId(m.cacheKey));
    const inserted = await client.query(this.insertHashedSql, [int8Array(hashIds), ...seriesColumns(list, rows), group]);
    if (inserted.rowCount === list.length) {
      for (let k = 0; k < list.length; k++) this.assign(list[k], hashIds[k], ids);
      return;
    }
    // Stored already (with whatever id), or committed by another process meanwhile: ON CONFLICT
    // waited for it, then skipped it. This statement runs with a newer snapshot and sees them all.
    await this.readBack(client, misses, ids);
    if (misses.size === 0) return;
    // Hash ids held by other label sets: identity ids (sorted by hash, as the first insert was).
    const rest = [...misses.values()].sort((a, b) => (a.cacheKey < b.cacheKey ? -1 : a.cacheKey > b.cacheKey ? 1 : 0));
    const rowOf = new Map(list.map((m, k) => [m, rows[k]]));
    const found = await client.query<{ id: string; labels_hash: Buffer }>(this.insertSql, [
      ...seriesColumns(rest, rest.map((m) => rowOf.get(m) as SeriesRow)), group,
    ]);
    this.applyRows(found.rows, misses, ids);
    if (misses.size > 0) await this.readBack(client, misses, ids);
    if (misses.size > 0) throw new Error(`${misses.size} series could not be resolved after insert`);
  }

  private async readBack(client: Queryable, misses: Map<string, Miss>, ids: number[]): Promise<void> {
    const late = await client.query<{ id: string; labels_hash: Buffer }>(this.selectSql, [byteaArrayOfLatin1([...misses.keys()])]);
    this.applyRows(late.rows, misses, ids);
  }

  private applyRows(rows: readonly { id: string; labels_hash: Buffer }[], misses: Map<string, Miss>, ids: number[]): void {
    for (const row of rows) {
      const miss = misses.get(row.labels_hash.toString('latin1'));
      if (!miss) continue;
      this.assign(miss, Number(row.id), ids);
      misses.delete(miss.cacheKey);
    }
  }

  private assign(miss: Miss, id: number, ids: number[]): void {
    for (const p of miss.positions) ids[p] = id;
    this.cache.set(miss.cacheKey, id);
  }

  /** Drops every cached id (e.g. after series were deleted by hand). */
  clear(): void {
    this.cache.clear();
  }
}
