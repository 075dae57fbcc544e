/**
 * A per-request cache of decoded labels, keyed by the raw bytes of their Label message.
 *
 * In a remote-write body the same few hundred label pairs (job, instance, cluster, replica,
 * metric names) repeat across hundreds of series. Creating and validating their strings is the
 * largest cost of decoding; hashing and comparing the bytes is several times cheaper, so a
 * label seen before in the same body reuses its strings (which also shares their memory).
 *
 * Bounded against hostile bodies: keys longer than MAX_KEY_BYTES are not cached, the table
 * holds at most MAX_ENTRIES, and a probe gives up after MAX_PROBES slots (then the label is
 * simply decoded), so no input makes lookups slower than plain decoding by more than a
 * constant. Only the current body's bytes are ever compared, and `end()` drops every string so
 * nothing outlives the request.
 */

const SLOTS = 8192; // power of two
const MASK = SLOTS - 1;
const MAX_ENTRIES = SLOTS / 2;
const MAX_PROBES = 8;
const MAX_KEY_BYTES = 256;
const EMPTY = new Uint8Array(0);

export class LabelCache {
  private buf: Uint8Array = EMPTY;
  private view: DataView = new DataView(EMPTY.buffer);
  private readonly starts = new Int32Array(SLOTS);
  private readonly lengths = new Int32Array(SLOTS);
  /** A slot is live when its stamp equals the current request's stamp. */
  private readonly stamps = new Uint32Array(SLOTS);
  private readonly used = new Int32Array(MAX_ENTRIES);
  private readonly names: string[] = new Array<string>(SLOTS).fill('');
  private readonly values: string[] = new Array<string>(SLOTS).fill('');
  private stamp = 0;
  private entries = 0;
  /** Where the last missed key may be stored, or -1 when it must not be. */
  private freeSlot = -1;

  /** Starts caching for one request body. */
  begin(buf: Uint8Array): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.entries = 0;
    this.freeSlot = -1;
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /** Forgets the body and every string decoded from it. */
  end(): void {
    for (let i = 0; i < this.entries; i++) {
      const slot = this.used[i];
      this.names[slot] = '';
      this.values[slot] = '';
    }
    this.entries = 0;
    this.buf = EMPTY;
    this.view = new DataView(EMPTY.buffer);
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /**
   * Looks up the Label message stored in buf[start, end). Returns its slot (read the strings
   * with `name`/`value`) or -1 on a miss; after a miss, `store` may record the decoded pair.
   */
  find(start: number, end: number): number {
    const len = end - start;
    this.freeSlot = -1;
    if (len > MAX_KEY_BYTES) return -1;
    const view = this.view;
    // Hash the first and last 8 bytes (a Label message ends with its value, where labels that
    // share a name differ) four at a time; the full comparison below decides equality.
    let h = Math.imul(0x811c9dc5 ^ len, 0x01000193);
    if (len >= 8) {
      h = Math.imul(h ^ view.getUint32(start, true), 0x01000193);
      h = Math.imul(h ^ view.getUint32(start + 4, true), 0x01000193);
      h = Math.imul(h ^ view.getUint32(end - 8, true), 0x01000193);
      h = Math.imul(h ^ view.getUint32(end - 4, true), 0x01000193);
    } else {
      const buf = this.buf;
      for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    }
    let slot = (h ^ (h >>> 15)) & MASK;
    const stamp = this.stamp;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      if (this.stamps[slot] !== stamp) {
        if (this.entries < MAX_ENTRIES) this.freeSlot = slot;
        return -1;
      }
      if (this.lengths[slot] === len && this.sameBytes(this.starts[slot], start, len)) return slot;
      slot = (slot + 1) & MASK;
    }
    return -1;
  }

  private sameBytes(a: number, b: number, len: number): boolean {
    const view = this.view;
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      if (view.getUint32(a + i, true) !== view.getUint32(b + i, true)) return false;
    }
    const buf = this.buf;
    for (; i < len; i++) {
      if (buf[a + i] !== buf[b + i]) return false;
    }
    return true;
  }

  /** Records the pair decoded after the last `find` missed (a no-op when the table is full). */
  store(start: number, end: number, name: string, value: string): void {
    const slot = this.freeSlot;
    if (slot < 0) return;
    this.freeSlot = -1;
    this.stamps[slot] = this.stamp;
    this.starts[slot] = start;
    this.lengths[slot] = end - start;
    this.names[slot] = name;
    this.values[slot] = value;
    this.used[this.entries++] = slot;
  }

  name(slot: number): string {
    return this.names[slot];
  }

  value(slot: number): string {
    return this.values[slot];
  }
}
