import type pg from 'pg';
import { DigestCache, type Label } from '../protocol/index.js';
import { byteaArrayOfLatin1, jsonbArray, textArray } from './binary-array.js';
import { assertSchemaName, quoteIdent } from './ident.js';
import { seriesCacheKey, seriesRow } from './labels.js';

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

/**
 * Label set → series id, cached in process, misses resolved in bulk.
 *
 * Resolution commits on its own (autocommit), outside the batch transaction: a series row
 * without samples is harmless, while inserting series inside the batch transaction would hold
 * their unique-index entries locked for the whole COPY, so every other worker meeting a new
 * series of the same target would wait for that COPY (or deadlock with it).
 *
 * Ids are JS numbers: identity values stay far below 2^53.
 */
export class SeriesResolver {
  private readonly cache: DigestCache;
  private readonly insertSql: string;
  private readonly selectSql: string;

  constructor(opts: SeriesResolverOptions) {
    assertSchemaName(opts.schema);
    this.cache = new DigestCache(opts.maxEntries ?? 1_000_000);
    const table = `${quoteIdent(opts.schema)}.series`;
    // The INSERT returns the rows it created; rows that existed already (or that another process
    // committed meanwhile: ON CONFLICT waits for it, then skips) are read by the second
    // statement, which runs with a newer snapshot. Input is sorted by hash so two processes
    // inserting overlapping new series lock the unique index in the same order and cannot
    // deadlock. The read probes the unique index once per hash (LIMIT 1 keeps the planner from
    // turning the lookups into a hash join over the whole table, which grows with every series).
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
    // Sorted by hash (see the constructor); the cache key is the hash, as latin1.
    const list = [...misses.values()].sort((a, b) => (a.cacheKey < b.cacheKey ? -1 : a.cacheKey > b.cacheKey ? 1 : 0));
    const rows = list.map((m) => seriesRow(m.labels));
    const found = await client.query<{ id: string; labels_hash: Buffer }>(this.insertSql, [
      textArray(rows.map((r) => r.metric)),
      jsonbArray(rows.map((r) => r.labelsJson)),
      byteaArrayOfLatin1(list.map((m) => m.cacheKey)),
      group,
    ]);
    const apply = (rows: { id: string; labels_hash: Buffer }[]): void => {
      for (const row of rows) {
        const miss = misses.get(row.labels_hash.toString('latin1'));
        if (!miss) continue;
        const id = Number(row.id);
        for (const p of miss.positions) ids[p] = id;
        this.cache.set(miss.cacheKey, id);
        misses.delete(miss.cacheKey);
      }
    };
    apply(found.rows);
    if (misses.size === 0) return;
    // Series that existed before, or were committed by another process meanwhile (see above).
    const late = await client.query<{ id: string; labels_hash: Buffer }>(this.selectSql, [
      byteaArrayOfLatin1([...misses.keys()]),
    ]);
    apply(late.rows);
    if (misses.size > 0) throw new Error(`${misses.size} series could not be resolved after insert`);
  }

  /** Drops every cached id (e.g. after series were deleted by hand). */
  clear(): void {
    this.cache.clear();
  }
}
