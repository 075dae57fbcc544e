/**
 * Where Prometheus 2.42 cuts a float series into chunks, so that chunks built here from the same
 * samples are the ones Prometheus serves over STREAMED_XOR_CHUNKS (tsdb head_append.go
 * appendPreprocessor, and the trimming of tsdb/querier.go):
 *
 * - a chunk's latest end is the next multiple of the chunk range (2 h) after its first sample;
 * - when the chunk holds 30 samples (a quarter of 120), the end is re-estimated so the rest of
 *   the range splits into chunks of about 120 samples: n = (end - start) / ((last - start + 1) * 4)
 *   (integer division), end = start + (end - start) / n when n > 1;
 * - a sample at or after the end, or a chunk already holding 240 samples, starts a new chunk.
 * So chunks are not a flat 120 samples: at a 15 s interval they are 30-minute chunks aligned to
 * the 2 h grid. The first sample at or after a multiple of the range always starts a chunk, so
 * the cuts over [start, end] depend only on the samples from the range boundary at or before
 * start. A query returns the chunks that overlap [mint, maxt]; one reaching outside is
 * re-encoded with only the samples inside.
 */
import { type Chunk, encodeXorChunk } from '../protocol/index.js';

/** Prometheus's default `--storage.tsdb.min-block-duration`, the head's chunk range. */
export const DEFAULT_CHUNK_RANGE_MS = 2 * 60 * 60 * 1000;

/** Go's truncating integer division of safe integers. */
function div(a: number, b: number): number {
  return Math.trunc(a / b);
}

/** Go's rangeForTimestamp: the end of the chunk-range window holding t. */
function rangeEnd(t: number, width: number): number {
  return div(t, width) * width + width;
}

function chunkEndTime(start: number, cur: number, max: number): number {
  const n = div(max - start, (cur - start + 1) * 4);
  return n <= 1 ? max : start + div(max - start, n);
}

/** Start of the chunk-range window holding t: a read for chunks must fetch samples from here. */
export function rangeStart(t: number, chunkRangeMs = DEFAULT_CHUNK_RANGE_MS): number {
  return rangeEnd(t, chunkRangeMs) - chunkRangeMs;
}

/**
 * Indices of the samples that start a chunk, for timestamps strictly ascending that Prometheus
 * appended in order starting at `timestampsMs[0]` (or at a chunk-range boundary).
 */
export function headChunkStarts(timestampsMs: ArrayLike<number>, chunkRangeMs = DEFAULT_CHUNK_RANGE_MS): number[] {
  const starts: number[] = [];
  let nextAt = 0;
  let minTime = 0;
  let maxTime = 0;
  let num = 0;
  for (let i = 0; i < timestampsMs.length; i++) {
    const t = timestampsMs[i];
    if (i > 0 && t <= maxTime) throw new RangeError(`sample ${i}: timestamp ${t} is not after ${maxTime}`);
    if (i > 0 && num === 30) nextAt = chunkEndTime(minTime, maxTime, nextAt);
    if (i === 0 || t >= nextAt || num >= 240) {
      starts.push(i);
      minTime = t;
      num = 0;
      nextAt = rangeEnd(t, chunkRangeMs);
    }
    maxTime = t;
    num++;
  }
  return starts;
}

/** Elements [from, to) of a sequence: a view of a typed array (values keep their bits), else a copy. */
function part(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (a instanceof Float64Array) return a.subarray(from, to);
  return Array.prototype.slice.call(a, from, to) as number[];
}

/**
 * The XOR chunks Prometheus 2.42 answers a query [mintMs, maxtMs] with, given the series'
 * samples from (at least) the chunk-range boundary at or before mintMs: head cuts, chunks
 * outside the query dropped, chunks reaching outside re-encoded with the samples inside.
 */
export function prometheusXorChunks(
  timestampsMs: ArrayLike<number>, values: ArrayLike<number>, mintMs: number, maxtMs: number,
  chunkRangeMs = DEFAULT_CHUNK_RANGE_MS,
): Chunk[] {
  const starts = headChunkStarts(timestampsMs, chunkRangeMs);
  const out: Chunk[] = [];
  for (let c = 0; c < starts.length; c++) {
    const from = starts[c];
    const to = c + 1 < starts.length ? starts[c + 1] : timestampsMs.length;
    const minT = timestampsMs[from];
    const maxT = timestampsMs[to - 1];
    if (maxT < mintMs || minT > maxtMs) continue;
    let lo = from;
    let hi = to;
    while (lo < hi && timestampsMs[lo] < mintMs) lo++;
    while (hi > lo && timestampsMs[hi - 1] > maxtMs) hi--;
    if (lo === hi) continue;
    const ts = part(timestampsMs, lo, hi);
    const vs = part(values, lo, hi);
    out.push({ minTimeMs: ts[0], maxTimeMs: ts[hi - lo - 1], type: 'XOR', data: encodeXorChunk(ts, vs) });
  }
  return out;
}
