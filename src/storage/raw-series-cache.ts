import { createHash } from 'node:crypto';
import { DigestCache } from '../protocol/index.js';

/** What the worker needs of a cache of series ids by the digest of their label bytes. */
export interface SeriesIdCache {
  get(key: string): number | undefined;
  set(key: string, id: number): void;
}

/** Group-keyed views kept at most; past it they are made again (the entries stay valid). */
const MAX_GROUP_VIEWS = 10_000;

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
export class RawSeriesCache implements SeriesIdCache {
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
 * A RawSeriesCache seen through a group: the key of label bytes is the digest XOR a digest of
 * the group (and the label added with it), so the same bytes sent by two groups are two keys,
 * as they are two series (the group's label is added to them before storage). The table reads
 * a key's first 16 bytes only, so only those are mixed. Two keys colliding is still a 128-bit
 * coincidence of SHA-256 outputs, as for plain keys.
 */
class GroupKeyedCache implements SeriesIdCache {
  private readonly salt: Buffer;

  constructor(private readonly table: RawSeriesCache, label: string, group: string) {
    this.salt = createHash('sha256').update(`group label\u0000${label}\u0000${group}`, 'utf8').digest();
  }

  get(key: string): number | undefined {
    return this.table.get(this.keyOf(key));
  }

  set(key: string, id: number): void {
    this.table.set(this.keyOf(key), id);
  }

  private keyOf(key: string): string {
    const s = this.salt;
    return String.fromCharCode(
      key.charCodeAt(0) ^ s[0], key.charCodeAt(1) ^ s[1], key.charCodeAt(2) ^ s[2], key.charCodeAt(3) ^ s[3],
      key.charCodeAt(4) ^ s[4], key.charCodeAt(5) ^ s[5], key.charCodeAt(6) ^ s[6], key.charCodeAt(7) ^ s[7],
      key.charCodeAt(8) ^ s[8], key.charCodeAt(9) ^ s[9], key.charCodeAt(10) ^ s[10], key.charCodeAt(11) ^ s[11],
      key.charCodeAt(12) ^ s[12], key.charCodeAt(13) ^ s[13], key.charCodeAt(14) ^ s[14], key.charCodeAt(15) ^ s[15],
    );
  }
}

/**
 * One RawSeriesCache per label-stripping rule: the same bytes stand for different label sets
 * when one queue's batches have the replica label removed and another's do not. Batches whose
 * group the worker adds as a label (the group came from --ha.group, see BatchJob.c) key their
 * series by bytes and group, in the same table (one bound for all groups).
 */
export class RawSeriesCaches {
  private readonly scopes = new Map<string, RawSeriesCache>();
  private readonly groupViews = new Map<string, GroupKeyedCache>();

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

  /**
   * The cache for batches whose label `stripped` is removed and to whose series `label` is
   * added with the value `group` (when they lack it).
   */
  groupScope(stripped: string, label: string, group: string): SeriesIdCache {
    const k = `${stripped}\u0000${label}\u0000${group}`;
    let v = this.groupViews.get(k);
    if (!v) {
      if (this.groupViews.size >= MAX_GROUP_VIEWS) this.groupViews.clear();
      v = new GroupKeyedCache(this.scope(stripped), label, group);
      this.groupViews.set(k, v);
    }
    return v;
  }

  clear(): void {
    for (const c of this.scopes.values()) c.clear();
  }
}
