/**
 * Limits the remote-write decoder enforces while it reads, so that a hostile body is refused
 * after at most `limit + 1` elements of the offending kind were allocated: a 64 MiB body of
 * two-byte empty labels would otherwise become tens of millions of objects before any check
 * after decoding could run.
 *
 * The decoder is synchronous, so one module-level budget serves every call (as `where` does in
 * pb-reader.ts).
 */
import { PromfleetError } from '../../errors.js';
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

/** The limits of the decode in progress and what is left of the request-wide point budget. */
export const budget = {
  limits: NO_DECODE_LIMITS,
  /** Points (samples, histograms, exemplars, buckets) the request may still hold. */
  points: Infinity,
};

export function beginBudget(limits: DecodeLimits): void {
  budget.limits = limits;
  budget.points = limits.maxSamplesPerRequest;
}

/** Called when budget.points went below zero. */
export function tooManyPoints(): never {
  throw new PromfleetError('LIMIT_SAMPLES_PER_REQUEST',
    `the request holds more than ${budget.limits.maxSamplesPerRequest} samples, exemplars, histograms and buckets (--web.max-samples-per-request)`);
}

export function tooManySeries(what: 'series' | 'metadata entries'): never {
  throw new PromfleetError('LIMIT_SERIES_PER_REQUEST',
    `the request holds more than ${budget.limits.maxSeriesPerRequest} ${what} (--web.max-series-per-request)`);
}

export function tooManySamplesInSeries(series: number): never {
  throw new PromfleetError('LIMIT_SAMPLES_PER_SERIES',
    `series ${series} holds more than ${budget.limits.maxSamplesPerSeries} samples and histograms (--web.max-samples-per-series)`);
}

export function tooManyLabels(where: string): never {
  throw new PromfleetError('LIMIT_LABELS_PER_SERIES',
    `${where} has more than ${budget.limits.maxLabelsPerSeries} labels (--web.max-labels-per-series)`);
}

export function labelTooLong(where: string, isName: boolean, bytes: number): never {
  if (isName) {
    throw new PromfleetError('LIMIT_LABEL_NAME_LENGTH',
      `${where}: a label name of ${bytes} bytes exceeds ${budget.limits.maxLabelNameBytes} (--web.max-label-name-length)`);
  }
  throw new PromfleetError('LIMIT_LABEL_VALUE_LENGTH',
    `${where}: a label value of ${bytes} bytes exceeds ${budget.limits.maxLabelValueBytes} (--web.max-label-value-length)`);
}

/**
 * The same limits checked on a request already decoded: for remote-write 2.0, whose decoder
 * builds series from a symbols table (its body size is held by the decompressed-size limit).
 */
export function checkDecodedLimits(req: WriteRequest, limits: DecodeLimits): void {
  beginBudget(limits);
  if (req.timeseries.length > limits.maxSeriesPerRequest) tooManySeries('series');
  if (req.metadata.length > limits.maxSeriesPerRequest) tooManySeries('metadata entries');
  let points = 0;
  for (let i = 0; i < req.timeseries.length; i++) {
    const ts = req.timeseries[i];
    if (ts.labels.length > limits.maxLabelsPerSeries) tooManyLabels(`series ${i}`);
    for (const l of ts.labels) {
      const nameBytes = Buffer.byteLength(l.name);
      if (nameBytes > limits.maxLabelNameBytes) labelTooLong(`series ${i}`, true, nameBytes);
      const valueBytes = Buffer.byteLength(l.value);
      if (valueBytes > limits.maxLabelValueBytes) labelTooLong(`series ${i}`, false, valueBytes);
    }
    if (ts.samples.length + ts.histograms.length > limits.maxSamplesPerSeries) tooManySamplesInSeries(i);
    for (const e of ts.exemplars) if (e.labels.length > limits.maxLabelsPerSeries) tooManyLabels(`series ${i}: an exemplar`);
    points += ts.samples.length + ts.histograms.length + ts.exemplars.length;
    for (const h of ts.histograms) points += h.positiveSpans.length + h.negativeSpans.length + h.positiveDeltas.length + h.negativeDeltas.length + h.positiveCounts.length + h.negativeCounts.length;
    if (points > limits.maxSamplesPerRequest) tooManyPoints();
  }
}
