/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as Go's
 * `crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))` computes it for remote-read frames.
 * Slicing-by-one over a 256-entry table: frames are small and this is not the hot path.
 */
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[n] = c >>> 0;
}

/** CRC-32C of `buf[start, end)` as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
