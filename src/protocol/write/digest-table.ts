/**
 * Non-negative integers by a SHA-256 digest, in typed arrays: the caches that know a series by
 * the digest of its label bytes (the worker's series ids; see columnar-decode.ts).
 *
 * A Map of a million 32-character string keys costs well over 100 bytes an entry in objects the
 * garbage collector walks; here an entry is 24 bytes of a slot in three flat arrays, with no
 * object per entry and nothing for the collector to trace.
 *
 * Only the digest's first 16 bytes are kept. Two different label sets sharing them is a 128-bit
 * collision of SHA-256 (about n²/2¹²⁹ for n keys: never, in practice), the same bet the series
 * table makes on its full hash. Open addressing with linear probing from the key's first 32 bits
 * (SHA-256 bits are uniform, so no further mixing); the table doubles past 3/4 full.
 */

const MIN_SLOTS = 1024; // power of two
const EMPTY = 0;

/** The first 16 bytes of a digest given as a latin1 string (one byte a character), as 4 words. */
function word(key: string, i: number): number {
  return (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24)) >>> 0;
}

export class DigestTable {
  /** Slot s holds key words [4s, 4s + 4). */
  private keys: Uint32Array;
  /** value + 1 per slot; 0 marks an empty slot. Float64: exact for every value below 2^53. */
  private values: Float64Array;
  private mask: number;
  private count = 0;

  /** @param expected entries to make room for at once (the table grows past it anyway). */
  constructor(expected = 0) {
    let slots = MIN_SLOTS;
    while (slots * 0.75 < expected) slots *= 2;
    this.keys = new Uint32Array(slots * 4);
    this.values = new Float64Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the slots (what the table costs; for tests and sizing). */
  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The value stored under `key` (a digest of at least 16 latin1 characters), or -1. */
  get(key: string): number {
    const w0 = word(key, 0);
    const w1 = word(key, 4);
    const w2 = word(key, 8);
    const w3 = word(key, 12);
    const keys = this.keys;
    const values = this.values;
    for (let s = w0 & this.mask; ; s = (s + 1) & this.mask) {
      const v = values[s];
      if (v === EMPTY) return -1;
      const k = 4 * s;
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return v - 1;
    }
  }

  /** Stores `value` (an integer in [0, 2^53 - 1)) under `key`, replacing any value it had. */
  set(key: string, value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0 && value < Number.MAX_SAFE_INTEGER)) throw new RangeError(`DigestTable value must be a safe non-negative integer, got ${value}`);
    if ((this.count + 1) > (this.mask + 1) * 0.75) this.grow();
    this.put(word(key, 0), word(key, 4), word(key, 8), word(key, 12), value + 1);
  }

  clear(): void {
    if (this.values.length > MIN_SLOTS) {
      this.keys = new Uint32Array(MIN_SLOTS * 4);
      this.values = new Float64Array(MIN_SLOTS);
      this.mask = MIN_SLOTS - 1;
    } else {
      this.keys.fill(0);
      this.values.fill(EMPTY);
    }
    this.count = 0;
  }

  /** Inserts or replaces; `stored` is value + 1. The caller made room. */
  private put(w0: number, w1: number, w2: number, w3: number, stored: number): void {
    const keys = this.keys;
    for (let s = w0 & this.mask; ; s = (s + 1) & this.mask) {
      const k = 4 * s;
      if (this.values[s] === EMPTY) {
        keys[k] = w0;
        keys[k + 1] = w1;
        keys[k + 2] = w2;
        keys[k + 3] = w3;
        this.values[s] = stored;
        this.count++;
        return;
      }
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) {
        this.values[s] = stored;
        return;
      }
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const slots = 2 * oldValues.length;
    this.keys = new Uint32Array(slots * 4);
    this.values = new Float64Array(slots);
    this.mask = slots - 1;
    this.count = 0;
    for (let s = 0; s < oldValues.length; s++) {
      const v = oldValues[s];
      if (v !== EMPTY) this.put(oldKeys[4 * s], oldKeys[4 * s + 1], oldKeys[4 * s + 2], oldKeys[4 * s + 3], v);
    }
  }
}

/**
 * DigestTable bounded by generations rather than exact LRU: a hit in the current generation
 * costs nothing more than the lookup (an LRU pays a move per hit); a hit in the previous one
 * copies the entry forward; when the current generation holds half the bound, the previous one
 * is dropped whole. Keys still being sent survive, those gone quiet go.
 */
export class DigestCache {
  private current = new DigestTable();
  private previous = new DigestTable();
  private readonly generationSize: number;

  /** @param maxEntries most entries kept, both generations together (at least 2). */
  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 2) throw new RangeError(`maxEntries must be >= 2, got ${maxEntries}`);
    this.generationSize = Math.floor(maxEntries / 2);
  }

  /** The value stored under `key`, or -1. */
  get(key: string): number {
    const v = this.current.get(key);
    if (v >= 0) return v;
    const old = this.previous.get(key);
    if (old >= 0) this.set(key, old);
    return old;
  }

  set(key: string, value: number): void {
    this.current.set(key, value);
    if (this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new DigestTable();
    }
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Bytes held by both generations' slots. */
  get bytes(): number {
    return this.current.bytes + this.previous.bytes;
  }

  clear(): void {
    this.current = new DigestTable();
    this.previous = new DigestTable();
  }
}
