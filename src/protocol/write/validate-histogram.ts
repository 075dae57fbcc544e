/**
 * Consistency checks of a native histogram, as Prometheus applies them before appending one:
 * a known schema, spans that cover exactly the buckets sent, no negative bucket counts, and a
 * total count that agrees with the buckets (equal for integer histograms unless the sum is NaN,
 * at least the buckets' total otherwise). Integer and float flavours are not mixed.
 */
import type { BucketSpan, Histogram } from './types.js';

/** Schema of histograms with custom bucket bounds (custom_values). */
export const CUSTOM_BUCKETS_SCHEMA = -53;
export const MIN_EXPONENTIAL_SCHEMA = -4;
export const MAX_EXPONENTIAL_SCHEMA = 8;

/** True when the histogram carries float counts (FloatHistogram) rather than integer ones. */
export function isFloatHistogram(h: Histogram): boolean {
  return h.countFloat !== undefined || h.zeroCountFloat !== undefined || h.positiveCounts.length > 0 || h.negativeCounts.length > 0;
}

/** Checks one side's spans against its bucket count; returns a problem or undefined. */
function spansProblem(side: string, spans: readonly BucketSpan[], buckets: number): string | undefined {
  let covered = 0;
  for (let i = 0; i < spans.length; i++) {
    if (i > 0 && spans[i].offset < 0) return `${side} span ${i} has a negative offset ${spans[i].offset}`;
    covered += spans[i].length;
  }
  if (covered !== buckets) return `${side} spans cover ${covered} buckets but ${buckets} bucket counts were sent`;
  return undefined;
}

/** Sum of one side's absolute bucket counts, or a problem when one is negative. */
function bucketTotal(side: string, deltas: readonly number[], counts: readonly number[]): number | string {
  let total = 0;
  if (deltas.length > 0) {
    let c = 0;
    for (let i = 0; i < deltas.length; i++) {
      c += deltas[i];
      if (c < 0) return `${side} bucket ${i} has a negative count ${c}`;
      total += c;
    }
    return total;
  }
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] < 0) return `${side} bucket ${i} has a negative count ${counts[i]}`;
    total += counts[i];
  }
  return total;
}

function customProblem(h: Histogram): string | undefined {
  if (h.negativeSpans.length > 0 || h.negativeDeltas.length > 0 || h.negativeCounts.length > 0) return 'custom-bucket histogram has negative buckets';
  if (h.zeroThreshold !== 0 || (h.zeroCountInt ?? 0) !== 0 || (h.zeroCountFloat ?? 0) !== 0) return 'custom-bucket histogram has a zero bucket';
  const bounds = h.customValues ?? [];
  for (let i = 0; i < bounds.length; i++) {
    if (Number.isNaN(bounds[i]) || bounds[i] === Infinity) return `custom bound ${i} is ${bounds[i]}`;
    if (i > 0 && !(bounds[i] > bounds[i - 1])) return `custom bounds are not strictly increasing at ${i}`;
  }
  // Bucket indexes: the first span starts at its offset, each next one `offset` after the end of
  // the previous; index bounds.length is the +Inf bucket.
  let next = 0;
  let last = -1;
  for (let i = 0; i < h.positiveSpans.length; i++) {
    const s = h.positiveSpans[i];
    if (s.offset < 0) return `custom-bucket span ${i} has a negative offset ${s.offset}`;
    const start = next + s.offset;
    if (s.length > 0) last = start + s.length - 1;
    next = start + s.length;
  }
  const index = last;
  if (index > bounds.length) return `custom-bucket spans reach bucket ${index} but only ${bounds.length + 1} buckets are defined`;
  return undefined;
}

/**
 * Returns what is wrong with the histogram in one line, or undefined when it is consistent.
 */
export function histogramProblem(h: Histogram): string | undefined {
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (!custom && (h.schema < MIN_EXPONENTIAL_SCHEMA || h.schema > MAX_EXPONENTIAL_SCHEMA)) {
    return `schema ${h.schema} is neither ${CUSTOM_BUCKETS_SCHEMA} (custom buckets) nor within ${MIN_EXPONENTIAL_SCHEMA}..${MAX_EXPONENTIAL_SCHEMA}`;
  }
  if (!custom && h.customValues !== undefined && h.customValues.length > 0) return `schema ${h.schema} does not take custom bounds`;
  const float = isFloatHistogram(h);
  if (float && (h.countInt !== undefined || h.zeroCountInt !== undefined || h.positiveDeltas.length > 0 || h.negativeDeltas.length > 0)) {
    return 'mixes integer and float counts';
  }
  const spans = spansProblem('positive', h.positiveSpans, float ? h.positiveCounts.length : h.positiveDeltas.length)
    ?? spansProblem('negative', h.negativeSpans, float ? h.negativeCounts.length : h.negativeDeltas.length);
  if (spans !== undefined) return spans;
  if (custom) {
    const p = customProblem(h);
    if (p !== undefined) return p;
  }
  const pos = bucketTotal('positive', h.positiveDeltas, h.positiveCounts);
  if (typeof pos === 'string') return pos;
  const neg = bucketTotal('negative', h.negativeDeltas, h.negativeCounts);
  if (typeof neg === 'string') return neg;
  const zero = float ? h.zeroCountFloat ?? 0 : h.zeroCountInt ?? 0;
  if (zero < 0) return `zero bucket has a negative count ${zero}`;
  const inBuckets = pos + neg + zero;
  const count = float ? h.countFloat ?? 0 : h.countInt ?? 0;
  if (float) {
    // Float sums of many buckets are not exact: allow for rounding.
    if (inBuckets > count * (1 + 1e-12) + 1e-12) return `count ${count} is smaller than the ${inBuckets} observations in its buckets`;
    return undefined;
  }
  // A NaN observation counts but lands in no bucket (and makes the sum NaN).
  if (Number.isNaN(h.sum) ? inBuckets > count : inBuckets !== count) {
    return `count ${count} does not match the ${inBuckets} observations in its buckets`;
  }
  return undefined;
}
