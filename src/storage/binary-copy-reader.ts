/**
 * Incremental reader of PostgreSQL's binary COPY output (`COPY … TO STDOUT (FORMAT binary)`):
 * an 11-byte signature, a flags word and a header extension, then tuples of
 * `int16 field count | (int32 length, -1 for NULL | bytes)…`, ended by a field count of -1.
 * Chunks arrive cut anywhere. A field lying within one chunk is handed over as a view of it; only
 * a field cut between chunks is copied, once, when its last byte arrived (so a tuple of
 * megabytes costs no repeated copies, and the rest of the stream none at all).
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** One tuple's fields: views into received bytes, valid only during the callback; null for SQL NULL. */
export type CopyTuple = readonly (Buffer | null)[];

/** What the next bytes are: the header (signature, flags, extension length), a header extension, a field count, a field length, field bytes, nothing (after the trailer). */
type Expect = 'header' | 'extension' | 'count' | 'length' | 'field' | 'end';

export class CopyTupleReader {
  private expect: Expect = 'header';
  /** Bytes the current element needs, and those of them received in earlier chunks. */
  private need = 19;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private fieldsLeft = 0;
  private readonly fields: (Buffer | null)[] = [];

  constructor(private readonly onTuple: (tuple: CopyTuple) => void) {}

  /** Feeds the next chunk of COPY output; calls onTuple for every tuple it completes. */
  push(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.expect === 'end') throw new Error('binary COPY: data after the trailer');
      // The current element: whole in this chunk (a view), or completed from earlier parts.
      let el: Buffer;
      const missing = this.need - this.partBytes;
      if (this.partBytes === 0 && pos + this.need <= n) {
        el = chunk.subarray(pos, pos + this.need);
        pos += this.need;
      } else if (n - pos < missing) {
        this.parts.push(chunk.subarray(pos));
        this.partBytes += n - pos;
        return;
      } else {
        this.parts.push(chunk.subarray(pos, pos + missing));
        pos += missing;
        el = Buffer.concat(this.parts, this.need);
        this.parts = [];
        this.partBytes = 0;
      }
      this.take(el);
    }
  }

  /** Handles one complete element and sets what comes next. */
  private take(el: Buffer): void {
    switch (this.expect) {
      case 'header':
        if (!el.subarray(0, 11).equals(SIGNATURE)) throw new Error('binary COPY: bad signature');
        this.need = el.readUInt32BE(15);
        this.expect = this.need > 0 ? 'extension' : 'count';
        if (this.need === 0) this.need = 2;
        return;
      case 'extension':
        this.expect = 'count';
        this.need = 2;
        return;
      case 'count': {
        const count = el.readInt16BE(0);
        if (count === -1) {
          this.expect = 'end';
          return;
        }
        this.fields.length = 0;
        this.fieldsLeft = count;
        this.nextField();
        return;
      }
      case 'length': {
        const len = el.readInt32BE(0);
        if (len === -1) {
          this.fields.push(null);
          this.fieldsLeft--;
          this.nextField();
          return;
        }
        if (len === 0) {
          this.fields.push(Buffer.alloc(0));
          this.fieldsLeft--;
          this.nextField();
          return;
        }
        this.expect = 'field';
        this.need = len;
        return;
      }
      case 'field':
        this.fields.push(el);
        this.fieldsLeft--;
        this.nextField();
        return;
      default:
        throw new Error('binary COPY: data after the trailer');
    }
  }

  /** After a field (or a count): the next field's length, or the tuple is complete. */
  private nextField(): void {
    if (this.fieldsLeft > 0) {
      this.expect = 'length';
      this.need = 4;
      return;
    }
    this.onTuple(this.fields);
    this.expect = 'count';
    this.need = 2;
  }

  /** Throws unless the output ended with its trailer. */
  end(): void {
    if (this.expect !== 'end' || this.partBytes > 0) throw new Error('binary COPY: output ended without its trailer');
  }
}
