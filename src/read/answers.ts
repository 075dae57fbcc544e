/**
 * A read query's answer, encoded series by series as the reader streams them out of
 * PostgreSQL (so encoding overlaps the database's work), then put in Prometheus's order (by
 * label set): STREAMED_XOR_CHUNKS frames, or a SAMPLES QueryResult's series fields, each
 * already snappy-compressed on its own (the HTTP body is one Snappy block of them).
 */
import type { Label, Query, Sample } from '../protocol/index.js';
import { compareLabelSets, type ReadQuery, type SampleReader, type StreamedSeries } from '../storage/index.js';
import { prometheusXorChunks, rangeStart } from './head-chunk-cuts.js';
import { compressSeries, encodeSeriesColumns, encodeSeriesObject, type CompressedSeries } from './samples-answer.js';
import { seriesFrames } from './series-frames.js';

/** What every query of a request shares: limits, and labels whose matchers are ignored. */
export type QueryLimits = Pick<ReadQuery, 'ignoreLabels' | 'maxSeries' | 'maxSamples'>;

/** Series and samples a request's answers hold, counted as they are encoded. */
export interface ReadTally {
  series: number;
  samples: number;
}

/** Index of the first time at or after `t` in ascending `times`. */
function lowerBound(times: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Encoded<T> {
  readonly labels: Label[];
  readonly data: T;
}

function inLabelOrder<T>(encoded: Encoded<T>[]): T[] {
  return encoded.sort((a, b) => compareLabelSets(a.labels, b.labels)).map((e) => e.data);
}

/**
 * The frames of query `qi` (one series per frame, split at 1 MiB), chunks cut as Prometheus's
 * head cuts them, so samples are read from the start of the 2-hour range holding the query start.
 */
export async function chunkFrames(reader: SampleReader, q: Query, qi: number, limits: QueryLimits, tally: ReadTally): Promise<Uint8Array[][]> {
  const encoded: Encoded<Uint8Array[]>[] = [];
  await reader.eachSeries({
    ...limits, startMs: rangeStart(q.startTimestampMs), endMs: q.endTimestampMs, matchers: q.matchers,
  }, (ts) => {
    const chunks = prometheusXorChunks(ts.times, ts.values, q.startTimestampMs, q.endTimestampMs);
    if (chunks.length === 0) return;
    encoded.push({ labels: ts.labels, data: seriesFrames({ labels: ts.labels, chunks }, qi) });
    tally.series++;
    // The chunks hold exactly the samples inside the query's range.
    tally.samples += lowerBound(ts.times, q.endTimestampMs + 1) - lowerBound(ts.times, q.startTimestampMs);
  });
  return inLabelOrder(encoded);
}

function seriesField(s: StreamedSeries): Uint8Array {
  if (s.histograms.length === 0 && s.exemplars.length === 0) return encodeSeriesColumns(s.labels, s.times, s.values);
  const samples = new Array<Sample>(s.times.length);
  for (let i = 0; i < s.times.length; i++) samples[i] = { timestamp: s.times[i], value: s.values[i] };
  return encodeSeriesObject({ labels: s.labels, samples, exemplars: [...s.exemplars], histograms: [...s.histograms] });
}

/** A SAMPLES QueryResult's series fields, compressed, native histograms and exemplars included. */
export async function samplesResult(reader: SampleReader, q: Query, limits: QueryLimits, tally: ReadTally): Promise<CompressedSeries[]> {
  const encoded: Encoded<CompressedSeries>[] = [];
  await reader.eachSeries({
    ...limits, startMs: q.startTimestampMs, endMs: q.endTimestampMs, matchers: q.matchers, extras: true,
  }, (s) => {
    encoded.push({ labels: s.labels, data: compressSeries(seriesField(s)) });
    tally.series++;
    tally.samples += s.times.length + s.histograms.length;
  });
  return inLabelOrder(encoded);
}
