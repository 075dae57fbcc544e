/**
 * The id a label set gets when it is first stored: 52 bits of its hash (series.labels_hash,
 * sha256), placed in [2^52, 2^53). Every writer derives the same id for the same label set, so
 * new series need no id back from the database, and the range never meets the identity values
 * of series stored before (those count up from 1). Two label sets whose hashes share these 52
 * bits get one hash id between them; the second is stored with an identity value instead (see
 * SeriesResolver). The result is a safe integer, as every series id in JS.
 */
const TWO_32 = 2 ** 32;
const BASE = 2 ** 52;

/** `cacheKey`: the hash as a latin1 string (one character a byte), as the series caches key it. */
export function hashSeriesId(cacheKey: string): number {
  if (cacheKey.length < 7) throw new RangeError(`a series hash has 32 bytes, got ${cacheKey.length}`);
  const hi = ((cacheKey.charCodeAt(0) & 0x0f) << 16) | (cacheKey.charCodeAt(1) << 8) | cacheKey.charCodeAt(2);
  const lo = cacheKey.charCodeAt(3) * 2 ** 24 + (cacheKey.charCodeAt(4) << 16) + (cacheKey.charCodeAt(5) << 8) + cacheKey.charCodeAt(6);
  return BASE + hi * TWO_32 + lo;
}
