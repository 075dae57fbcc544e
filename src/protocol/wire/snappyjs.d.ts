/**
 * Types for `snappyjs` (pure JavaScript Snappy, block format only), which ships none.
 * Only the two functions promfleet calls are declared.
 */
declare module 'snappyjs' {
  interface SnappyJs {
    /**
     * Decompresses a Snappy block. Throws a plain Error when the length header exceeds
     * `maxLength` or the stream is malformed. Returns the same kind of object it was given
     * (a Buffer for a Buffer).
     */
    uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
    /** Compresses into one Snappy block (length header, then literals and copies). */
    compress(uncompressed: Uint8Array): Uint8Array;
  }
  const snappy: SnappyJs;
  export = snappy;
}
