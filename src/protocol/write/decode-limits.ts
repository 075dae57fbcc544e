/**
 * Limits the remote-write decoder enforces while it reads, so that a hostile body is refused
 * after at most `limit + 1` elements of the offending kind were allocated: a 64 MiB body of
 * two-byte empty labels would otherwise become tens of millions of objects before any check
 * after decoding could run.
 *
 * Each decode carries its own DecodeContext (limits, what is left of the budget, where it is),
 * so no state outlives a call or passes from one request to the next.
 */
import { PromfleetError } from '../../errors.js';
import { DecodePosition } from '../wire/pb-reader.js';
import type { WriteRequest } from './types.js';

export interface DecodeLimits {
  /** Series in one request; metadata entries are held to the same number. */
  readonly maxSeriesPerRequest: number;
  /** Samples + histograms + exemplars + histogram buckets and spans in one request. */
  readonly maxSamplesPerRequest: number;
  /** Samples + histograms of one series. */
  readonly maxSamplesPerSeries: number;
  /** Labels of one series (and of one exemplar). */
  readonly maxLabelsPerSeries: number;
  /** Bytes (UTF-8) of one label name. */
  readonly maxLabelNameBytes: number;
  /** Bytes (UTF-8) of one label value. */
  readonly maxLabelValueBytes: number;
}

/** What the worker uses: the body was held to the ingress's limits when it was accepted. */
export const NO_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxSeriesPerRequest: Infinity,
  maxSamplesPerRequest: Infinity,
  maxSamplesPerSeries: Infinity,
  maxLabelsPerSeries: Infinity,
  maxLabelNameBytes: Infinity,
  maxLabelValueBytes: Infinity,
});

/** One decode's limits, what is left of its request-wide point budget, and where it is. */
export class DecodeContext extends DecodePosition {
  /** Points (samples, histograms, exemplars, buckets) the request may still hold. */
  points: number;

  constructor(readonly limits: DecodeLimits) {
    super();
    this.points = limits.maxSamplesPerRequest;
  }
}

/** Called when ctx.points went below zero. */
export function tooManyPoints(ctx: DecodeContext): never {
  throw new PromfleetError('LIMIT_SAMPLES_PER_REQUEST',
    `the request holds more than ${ctx.limits.maxSamplesPerRequest} samples, exemplars, histograms and buckets (--web.max-samples-per-request)`);
}

export function tooManySeries(ctx: DecodeContext, what: 'series' | 'metadata entries'): never {
  throw new PromfleetError('LIMIT_SERIES_PER_REQUEST',
    `the request holds more than ${ctx.limits.maxSeriesPerRequest} ${what} (--web.max-series-per-request)`);
}

export function tooManySamplesInSeries(ctx: DecodeContext, series: number): never {
  throw new PromfleetError('LIMIT_SAMPLES_PER_SERIES',
    `series ${series} holds more than ${ctx.limits.maxSamplesPerSeries} samples and histograms (--web.max-samples-per-series)`);
}

export function tooManyLabels(ctx: DecodeContext, where: string): never {
  throw new PromfleetError('LIMIT_LABELS_PER_SERIES',
    `${where} has more than ${ctx.limits.maxLabelsPerSeries} labels (--web.max-labels-per-series)`);
}

export function labelTooLong(ctx: DecodeContext, where: string, isName: boolean, bytes: number): never {
  if (isName) {
    throw new PromfleetError('LIMIT_LABEL_NAME_LENGTH',
      `${where}: a label name of ${bytes} bytes exceeds ${ctx.limits.maxLabelNameBytes} (--web.max-label-name-length)`);
  }
  throw new PromfleetError('LIMIT_LABEL_VALUE_LENGTH',
    `${where}: a label value of ${bytes} bytes exceeds ${ctx.limits.maxLabelValueBytes} (--web.max-label-value-length)`);
}

/**
 * The same limits checked on a request already decoded: for remote-write 2.0, whose decoder
 * builds series from a symbols table (its body size is held by the decompressed-size limit).
 */
export function checkDecodedLimits(req: WriteRequest, limits: DecodeLimits): void {
  const ctx = new DecodeContext(limits);
  if (req.timeseries.length > limits.maxSeriesPerRequest) tooManySeries(ctx, 'series');
  if (req.metadata.length > limits.maxSeriesPerRequest) tooManySeries(ctx, 'metadata entries');
  let points = 0;
  for (let i = 0; i < req.timeseries.length; i++) {
    const ts = req.timeseries[i];
    if (ts.labels.length > limits.maxLabelsPerSeries) tooManyLabels(ctx, `series ${i}`);
    for (const l of ts.labels) {
      const nameBytes = Buffer.byteLength(l.name);
      if (nameBytes > limits.maxLabelNameBytes) labelTooLong(ctx, `series ${i}`, true, nameBytes);
      const valueBytes = Buffer.byteLength(l.value);
      if (valueBytes > limits.maxLabelValueBytes) labelTooLong(ctx, `series ${i}`, false, valueBytes);
    }
    if (ts.samples.length + ts.histograms.length > limits.maxSamplesPerSeries) tooManySamplesInSeries(ctx, i);
    for (const e of ts.exemplars) if (e.labels.length > limits.maxLabelsPerSeries) tooManyLabels(ctx, `series ${i}: an exemplar`);
    points += ts.samples.length + ts.histograms.length + ts.exemplars.length;
    for (const h of ts.histograms) points += h.positiveSpans.length + h.negativeSpans.length + h.positiveDeltas.length + h.negativeDeltas.length + h.positiveCounts.length + h.negativeCounts.length;
    if (points > limits.maxSamplesPerRequest) tooManyPoints(ctx);
  }
}
