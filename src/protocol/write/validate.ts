/**
 * Remote-Write checks on a decoded WriteRequest: what the specifications require of label sets
 * and native histograms, plus the sample time window the operator configured. Remote-write 1.0
 * is all or nothing (`validateWriteRequest`); 2.0 drops the invalid series and keeps the rest
 * (`splitValidSeries`), so that the response can report what was written.
 *
 * Exemplars are not held to the window: they carry the time they were observed, which may be
 * well before the samples they ride with, and refusing them would drop the whole batch.
 *
 * Deliberately permissive where Prometheus is: label values may be any UTF-8 (including the
 * metric name, which Prometheus 3 allows outside the legacy charset) and may be empty except
 * for `__name__`; NaN and ±Inf sample values are valid (the stale marker is a NaN).
 */
import { PromfleetError } from '../../errors.js';
import type { Histogram, Label, MetricMetadata, TimeSeries, WriteRequest } from './types.js';
import { histogramProblem } from './validate-histogram.js';

export interface ValidateOptions {
  /** The current time, in milliseconds since the epoch (injected; see STYLE.md §9). */
  nowMs: number;
  /** Oldest accepted sample: nowMs - maxAgeMs, in milliseconds. 0 or less: no lower bound. */
  maxAgeMs: number;
  /** Newest accepted sample: nowMs + maxFutureMs, in milliseconds. 0 or less: no upper bound. */
  maxFutureMs: number;
  /**
   * Accept any non-empty UTF-8 label name (remote-write 2.0, Prometheus 3) instead of the legacy
   * charset [a-zA-Z_][a-zA-Z0-9_]*. Default false.
   */
  utf8Names?: boolean;
}

const METRIC_NAME_LABEL = '__name__';
/** Prometheus's legacy label-name charset. */
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_SHOWN = 80;

/** A label name or value quoted for a one-line message, cut to a readable length. */
function quote(s: string): string {
  return JSON.stringify(s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s);
}

/** "series 3 (up)" or "series 3 (no __name__)". */
function seriesName(index: number, labels: readonly Label[]): string {
  for (const l of labels) {
    if (l.name === METRIC_NAME_LABEL) return l.value === '' ? `series ${index} (empty __name__)` : `series ${index} (${quote(l.value)})`;
  }
  return `series ${index} (no __name__)`;
}

function invalidLabels(index: number, labels: readonly Label[], problem: string): PromfleetError {
  return new PromfleetError('INVALID_LABELS', `${seriesName(index, labels)}: ${problem}`);
}

/** Checks one series' label set; throws INVALID_LABELS naming the series and the label. */
function validateLabels(index: number, labels: readonly Label[], utf8Names: boolean): void {
  if (labels.length === 0) throw invalidLabels(index, labels, 'has no labels');
  let metricName: string | undefined;
  let prev = '';
  for (let i = 0; i < labels.length; i++) {
    const { name, value } = labels[i];
    if (name === '') throw invalidLabels(index, labels, `label ${i} has an empty name (value ${quote(value)})`);
    // PostgreSQL text and jsonb cannot hold NUL: refused here rather than dead-lettered later.
    if (name.indexOf('\0') !== -1) throw invalidLabels(index, labels, `label name ${quote(name)} contains NUL, which cannot be stored`);
    if (value.indexOf('\0') !== -1) throw invalidLabels(index, labels, `value of label ${quote(name)} contains NUL, which cannot be stored`);
    if (!utf8Names && !LABEL_NAME_RE.test(name)) {
      throw invalidLabels(index, labels, `label name ${quote(name)} does not match [a-zA-Z_][a-zA-Z0-9_]*`);
    }
    if (i > 0) {
      if (name === prev) throw invalidLabels(index, labels, `duplicate label name ${quote(name)}`);
      if (name < prev) throw invalidLabels(index, labels, `labels are not sorted by name: ${quote(name)} follows ${quote(prev)}`);
    }
    if (name === METRIC_NAME_LABEL) metricName = value;
    prev = name;
  }
  if (metricName === undefined) throw invalidLabels(index, labels, 'has no __name__ label');
  if (metricName === '') throw invalidLabels(index, labels, 'has an empty __name__ label');
}

function checkTime(
  index: number,
  labels: readonly Label[],
  what: string,
  ts: number,
  minMs: number,
  maxMs: number,
): void {
  if (ts < minMs) {
    throw new PromfleetError(
      'INVALID_SAMPLE',
      `${seriesName(index, labels)}: ${what} timestamp ${ts} (${iso(ts)}) is older than the oldest accepted ${minMs} (${iso(minMs)}, --web.max-sample-age)`,
    );
  }
  if (ts > maxMs) {
    throw new PromfleetError(
      'INVALID_SAMPLE',
      `${seriesName(index, labels)}: ${what} timestamp ${ts} (${iso(ts)}) is newer than the newest accepted ${maxMs} (${iso(maxMs)}, --web.max-future)`,
    );
  }
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'out of range' : d.toISOString();
}

function checkHistograms(index: number, labels: readonly Label[], histograms: readonly Histogram[]): void {
  for (let j = 0; j < histograms.length; j++) {
    const problem = histogramProblem(histograms[j]);
    if (problem !== undefined) throw new PromfleetError('INVALID_HISTOGRAM', `${seriesName(index, labels)}: histogram ${j}: ${problem}`);
  }
}

/** Checks one series (labels, histograms, times); throws the first problem found. */
function validateSeries(i: number, ts: TimeSeries, minMs: number, maxMs: number, utf8Names: boolean): void {
  const { labels, samples, histograms } = ts;
  validateLabels(i, labels, utf8Names);
  if (histograms.length > 0) checkHistograms(i, labels, histograms);
  for (const e of ts.exemplars) {
    for (const l of e.labels) {
      if (l.name.indexOf('\0') !== -1 || l.value.indexOf('\0') !== -1) throw invalidLabels(i, labels, 'an exemplar label contains NUL, which cannot be stored');
    }
  }
  if (minMs === -Infinity && maxMs === Infinity) return;
  for (let j = 0; j < samples.length; j++) {
    const t = samples[j].timestamp;
    // Inline bounds test first: building the message is only for the failing sample.
    if (t < minMs || t > maxMs) checkTime(i, labels, `sample ${j}`, t, minMs, maxMs);
  }
  for (let j = 0; j < histograms.length; j++) {
    checkTime(i, labels, `histogram ${j}`, histograms[j].timestamp, minMs, maxMs);
  }
}

function window(opts: ValidateOptions): { minMs: number; maxMs: number } {
  return {
    minMs: opts.maxAgeMs > 0 ? opts.nowMs - opts.maxAgeMs : -Infinity,
    maxMs: opts.maxFutureMs > 0 ? opts.nowMs + opts.maxFutureMs : Infinity,
  };
}

function validateMetadata(metadata: readonly MetricMetadata[]): void {
  for (let i = 0; i < metadata.length; i++) {
    const m = metadata[i];
    if (m.metricFamilyName === '') {
      throw new PromfleetError('INVALID_LABELS', `metadata ${i}: metric_family_name is empty`);
    }
    if ((m.metricFamilyName + m.help + m.unit).indexOf('\0') !== -1) {
      throw new PromfleetError('INVALID_LABELS', `metadata ${i}: contains NUL, which cannot be stored`);
    }
  }
}

/**
 * Validates a decoded request against Remote-Write 1.0 and the accepted time window.
 * A request without series (metadata only, or nothing at all) is valid.
 *
 * @throws PromfleetError `INVALID_LABELS` (label set or metadata name), `INVALID_HISTOGRAM`
 *   (inconsistent native histogram) or `INVALID_SAMPLE` (a sample or histogram outside the
 *   window), with a one-line message naming the series index, its metric name and the problem.
 */
export function validateWriteRequest(req: WriteRequest, opts: ValidateOptions): void {
  const { minMs, maxMs } = window(opts);
  const utf8Names = opts.utf8Names ?? false;
  const series = req.timeseries;
  for (let i = 0; i < series.length; i++) validateSeries(i, series[i], minMs, maxMs, utf8Names);
  validateMetadata(req.metadata);
}

export interface SplitRequest {
  /** The request without its invalid series (the same object when every series is valid). */
  readonly valid: WriteRequest;
  /** The first problem found (it names its series), or undefined. */
  readonly error: PromfleetError | undefined;
  /** How many series were dropped. */
  readonly dropped: number;
}

/**
 * Remote-write 2.0's partial acceptance: the series that pass every check are kept, the others
 * dropped, and the first problem is returned for the 4xx answer. Metadata of families with no
 * valid series is kept (it names no series to be wrong about).
 */
export function splitValidSeries(req: WriteRequest, opts: ValidateOptions): SplitRequest {
  const { minMs, maxMs } = window(opts);
  const utf8Names = opts.utf8Names ?? true;
  let error: PromfleetError | undefined;
  let kept: TimeSeries[] | undefined;
  const series = req.timeseries;
  for (let i = 0; i < series.length; i++) {
    try {
      validateSeries(i, series[i], minMs, maxMs, utf8Names);
      kept?.push(series[i]);
    } catch (err) {
      if (!(err instanceof PromfleetError)) throw err;
      error ??= err;
      kept ??= series.slice(0, i);
    }
  }
  validateMetadata(req.metadata);
  if (kept === undefined) return { valid: req, error: undefined, dropped: 0 };
  return { valid: { timeseries: kept, metadata: req.metadata }, error, dropped: series.length - kept.length };
}
