/**
 * A native histogram as stored (spans and deltas or counts) rendered the way Prometheus's HTTP
 * API renders one: count, sum, and the non-empty buckets as [boundary rule, lower, upper, count]
 * with rule 0 = (lower, upper], 1 = [lower, upper), 3 = [lower, upper] (the zero bucket).
 */
import type { Histogram } from '../../src/protocol/index.js';

export type Bucket = [rule: number, lower: number, upper: number, count: number];

export interface Rendered {
  count: number;
  sum: number;
  buckets: Bucket[];
}

/** Upper bound of exponential bucket `i` of `schema`: 2^(i / 2^schema). */
export function bound(i: number, schema: number): number {
  return schema <= 0 ? 2 ** (i * 2 ** -schema) : 2 ** (i / 2 ** schema);
}

/** Absolute count per bucket index of one side. */
function side(spans: Histogram['positiveSpans'], deltas: readonly number[], counts: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  let index = 0;
  let k = 0;
  let running = 0;
  for (let s = 0; s < spans.length; s++) {
    index += spans[s].offset;
    for (let j = 0; j < spans[s].length; j++) {
      const c = deltas.length > 0 ? (running += deltas[k]) : counts[k];
      out.push([index, c]);
      index++;
      k++;
    }
  }
  return out;
}

/** JSON numbers as promfleet stores them ("NaN", "+Inf", "-Inf", "StaleNaN" for the non-finite). */
function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return NaN;
}

/** The API rendering of a stored histogram (the JSON of prom.histograms.histogram). */
export function render(stored: Record<string, unknown>): Rendered {
  const h = stored as unknown as Histogram;
  const schema = h.schema ?? 0;
  const buckets: Bucket[] = [];
  for (const [i, c] of side(h.negativeSpans, h.negativeDeltas, h.negativeCounts).reverse()) {
    if (c !== 0) buckets.push([1, -bound(i, schema), -bound(i - 1, schema), c]);
  }
  const zero = num(h.zeroCountInt ?? h.zeroCountFloat ?? 0);
  if (zero !== 0) buckets.push([3, -num(h.zeroThreshold), num(h.zeroThreshold), zero]);
  const custom = h.customValues;
  for (const [i, c] of side(h.positiveSpans, h.positiveDeltas, h.positiveCounts)) {
    if (c === 0) continue;
    if (custom !== undefined && schema === -53) buckets.push([0, i === 0 ? -Infinity : custom[i - 1], i < custom.length ? custom[i] : Infinity, c]);
    else buckets.push([0, bound(i - 1, schema), bound(i, schema), c]);
  }
  return { count: num(h.countInt ?? h.countFloat ?? 0), sum: num(h.sum), buckets };
}

/** Relative equality for bucket bounds (Prometheus computes them from a table; here by pow). */
export function close(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}
