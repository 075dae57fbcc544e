/** Doubles by their exact bits (16 hex digits, big-endian), for NaN payloads, -0 and the stale marker. */

/** A double with exactly these bits, kept out of V8 double arrays (which quiet NaNs). */
export function fromBits(hex: string): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt(`0x${hex}`));
  return dv.getFloat64(0);
}

export function toBits(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}
