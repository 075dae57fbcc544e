/**
 * Series ids by the encoded bytes of their labels (the worker's fast path, see
 * protocol/columnar-decode.ts): a series seen before costs one SHA-256 of those bytes and one
 * Map lookup, no label decoding or validation. One label set may have several keys (encoded
 * differently, or with a different replica label), each mapping to its one id.
 *
 * Ids never change once assigned (series rows are not deleted while workers run; see
 * SeriesResolver.clear), so an entry is never stale, only evicted.
 *
 * Eviction by generations rather than exact LRU: a hit in the current generation costs nothing
 * more than the lookup (an LRU Map pays a delete and an insert per hit); a hit in the previous
 * one moves the entry forward; when the current generation fills half the bound, the previous
 * one is dropped whole. Series still being sent survive, those gone quiet go.
 */
export class RawSeriesCache {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private readonly generationSize: number;

  /** @param maxEntries most entries kept, both generations together (at least 2). */
  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 2) throw new RangeError(`maxEntries must be >= 2, got ${maxEntries}`);
    this.generationSize = Math.floor(maxEntries / 2);
  }

  get(key: string): number | undefined {
    const id = this.current.get(key);
    if (id !== undefined) return id;
    const old = this.previous.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: string, id: number): void {
    this.current.set(key, id);
    if (this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new Map();
    }
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
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
