import type { Histogram } from '../protocol/index.js';

/**
 * The JSON form of a native histogram in `histograms.histogram`: the decoded message as it
 * came (spans and deltas or counts, custom bounds), with the non-finite numbers JSON cannot
 * hold spelled as Prometheus's JSON API spells them ("NaN", "+Inf", "-Inf") and the stale
 * marker as "StaleNaN", so that reading it back restores the exact bits.
 */

const bits = new DataView(new ArrayBuffer(8));

/** The stale marker: NaN with payload 0x7ff0000000000002. */
const STALE_NAN = (() => {
  bits.setUint32(0, 0x7ff00000);
  bits.setUint32(4, 2);
  return bits.getFloat64(0);
})();

function jsonNumber(v: number): number | string {
  if (Number.isFinite(v)) return v;
  if (v !== v) {
    bits.setFloat64(0, v);
    return bits.getUint32(0) === 0x7ff00000 && bits.getUint32(4) === 2 ? 'StaleNaN' : 'NaN';
  }
  return v > 0 ? '+Inf' : '-Inf';
}

function fromJsonNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  switch (v) {
    case 'StaleNaN': return STALE_NAN;
    case '+Inf': return Infinity;
    case '-Inf': return -Infinity;
    default: return NaN;
  }
}

export function histogramToJson(h: Histogram): string {
  return JSON.stringify(h, (_key, value: unknown) => (typeof value === 'number' ? jsonNumber(value) : value));
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.map(fromJsonNumber) : [];
}

function spans(v: unknown): Histogram['positiveSpans'] {
  if (!Array.isArray(v)) return [];
  return v.map((s: { offset?: unknown; length?: unknown }) => ({ offset: Number(s.offset ?? 0), length: Number(s.length ?? 0) }));
}

/** The inverse of histogramToJson, for a value read from jsonb (already parsed). */
export function histogramFromJson(j: Record<string, unknown>): Histogram {
  const opt = (k: string): number | undefined => (j[k] === undefined || j[k] === null ? undefined : fromJsonNumber(j[k]));
  const h: Histogram = {
    countInt: opt('countInt'),
    countFloat: opt('countFloat'),
    sum: fromJsonNumber(j.sum ?? 0),
    schema: Number(j.schema ?? 0),
    zeroThreshold: fromJsonNumber(j.zeroThreshold ?? 0),
    zeroCountInt: opt('zeroCountInt'),
    zeroCountFloat: opt('zeroCountFloat'),
    negativeSpans: spans(j.negativeSpans),
    negativeDeltas: numbers(j.negativeDeltas),
    negativeCounts: numbers(j.negativeCounts),
    positiveSpans: spans(j.positiveSpans),
    positiveDeltas: numbers(j.positiveDeltas),
    positiveCounts: numbers(j.positiveCounts),
    resetHint: Number(j.resetHint ?? 0),
    timestamp: Number(j.timestamp ?? 0),
  };
  if (Array.isArray(j.customValues)) h.customValues = numbers(j.customValues);
  return h;
}
