import { DigestCache } from '../protocol/index.js';

/**
 * Series ids by the SHA-256 of the encoded bytes of their labels (the worker's fast path, see
 * protocol/columnar-decode.ts): a series seen before costs one SHA-256 of those bytes and one
 * probe of a typed-array table, no label decoding or validation. One label set may have several
 * keys (encoded differently, or with a different replica label), each mapping to its one id.
 *
 * Ids never change once assigned (series rows are not deleted while workers run; see
 * SeriesResolver.clear), so an entry is never stale, only evicted (by generations, see
 * DigestCache).
 */
export class RawSeriesCache {
  private readonly table: DigestCache;

  /** @param maxEntries most entries kept, both generations together (at least 2). */
  constructor(maxEntries: number) {
    this.table = new DigestCache(maxEntries);
  }

  get(key: string): number | undefined {
    const id = this.table.get(key);
    return id >= 0 ? id : undefined;
  }

  set(key: string, id: number): void {
    this.table.set(key, id);
  }

  get size(): number {
    return this.table.size;
  }

  clear(): void {
    this.table.clear();
  }
}

/**
 * One RawSeriesCache per label-stripping rule: the same bytes stand for different label sets
 * when one queue's batches have the replica label removed and another's do not.
 */
export class RawSeriesCaches {
  private readonly scopes = new Map<string, RawSeriesCache>();

  constructor(private readonly maxEntries: number) {}

  /** The cache for batches whose label `stripped` is removed before storage ('' for none). */
  scope(stripped: string): RawSeriesCache {
    let c = this.scopes.get(stripped);
    if (!c) {
      c = new RawSeriesCache(this.maxEntries);
      this.scopes.set(stripped, c);
    }
    return c;
  }

  clear(): void {
    for (const c of this.scopes.values()) c.clear();
  }
}
