/**
 * Incremental reader of PostgreSQL's binary COPY output (`COPY … TO STDOUT (FORMAT binary)`):
 * an 11-byte signature, a flags word and a header extension, then tuples of
 * `int16 field count | (int32 length, -1 for NULL | bytes)…`, ended by a field count of -1.
 * Chunks arrive cut anywhere; a tuple is handed over only once all its bytes are in, as views
 * into the received bytes. A tuple spanning chunks is copied once, when its last byte arrived:
 * chunks are held until the bytes it needs are all in, so a large tuple costs no repeated copies.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** One tuple's fields: views into received bytes, valid only during the callback; null for SQL NULL. */
export type CopyTuple = readonly (Buffer | null)[];

export class CopyTupleReader {
  /** Received bytes not consumed yet, and how many of them there must be before parsing again. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private need = 0;
  private headerDone = false;
  private ended = false;
  private readonly fields: (Buffer | null)[] = [];

  constructor(private readonly onTuple: (tuple: CopyTuple) => void) {}

  /** Feeds the next chunk of COPY output; calls onTuple for every tuple it completes. */
  push(chunk: Buffer): void {
    if (this.ended) throw new Error('binary COPY: data after the trailer');
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.need) return;
    const buf = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    let pos = 0;
    let need = 0;
    if (!this.headerDone) {
      if (buf.length < 19) return this.keep(buf, 0, 19);
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('binary COPY: bad signature');
      const extension = buf.readUInt32BE(15);
      if (buf.length < 19 + extension) return this.keep(buf, 0, 19 + extension);
      pos = 19 + extension;
      this.headerDone = true;
    }
    const fields = this.fields;
    const n = buf.length;
    need = 2;
    while (pos + 2 <= n) {
      const count = buf.readInt16BE(pos);
      if (count === -1) {
        this.ended = true;
        pos += 2;
        break;
      }
      // Walk the field lengths first: the tuple is taken only when every byte of it is here.
      let p = pos + 2;
      let complete = true;
      fields.length = 0;
      for (let f = 0; f < count; f++) {
        if (p + 4 > n) {
          complete = false;
          need = p + 4 - pos;
          break;
        }
        const len = buf.readInt32BE(p);
        p += 4;
        if (len === -1) {
          fields.push(null);
          continue;
        }
        if (p + len > n) {
          complete = false;
          need = p + len - pos;
          break;
        }
        fields.push(buf.subarray(p, p + len));
        p += len;
      }
      if (!complete) break;
      this.onTuple(fields);
      pos = p;
      need = 2;
    }
    this.keep(buf, pos, need);
  }

  /** Holds buf[from…] until `need` bytes from there have arrived. */
  private keep(buf: Buffer, from: number, need: number): void {
    const rest = from === buf.length ? [] : [buf.subarray(from)];
    this.pending = rest;
    this.pendingBytes = buf.length - from;
    this.need = need;
  }

  /** Throws unless the output ended with its trailer and nothing after it. */
  end(): void {
    if (!this.ended || this.pendingBytes > 0) throw new Error('binary COPY: output ended without its trailer');
  }
}
