import type http from 'node:http';
import { PromfleetError } from '../errors.js';
import {
  decodeReadRequest, snappyDecompress, type Query, type ReadDecodeLimits, type ReadRequest,
} from '../protocol/index.js';
import type { HttpServer } from '../http/server.js';
import type { SampleReader } from '../storage/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { principalOf, type Principal } from '../auth/index.js';
import { readBody } from '../http/body.js';
import { chunkFrames, samplesResult, type QueryLimits, type ReadTally } from './answers.js';
import { compressedReadResponse, type CompressedSeries } from './samples-answer.js';

export interface ReadOptions {
  readonly server: HttpServer;
  readonly reader: SampleReader;
  /** Labels never stored (the HA replica label): matchers on them are ignored. */
  readonly ignoreLabels: readonly string[];
  readonly maxBodyBytes: number;
  readonly maxDecompressedBytes: number;
  /** Counts refused while decoding a request (--web.read-max-queries, --web.read-max-matchers). */
  readonly decodeLimits: ReadDecodeLimits;
  /** Per query: series selected in PostgreSQL and samples returned (--web.read-series-limit, --web.read-sample-limit). */
  readonly maxSeries: number;
  readonly maxSamples: number;
  /** The label naming the HA group: a credential bound to groups reads only series of those groups. */
  readonly clusterLabel: string;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** RE2 with every metacharacter escaped: the regex matching exactly `s`. */
function quoteRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** The query's matchers, plus one on the cluster label when the credential is bound to groups. */
function restrict(q: Query, p: Principal | undefined, clusterLabel: string): Query {
  if (p?.groups === undefined) return q;
  const groups = [...p.groups];
  const m = groups.length === 1
    ? { type: 'EQ' as const, name: clusterLabel, value: groups[0] }
    : { type: 'RE' as const, name: clusterLabel, value: groups.map(quoteRegex).join('|') };
  return { ...q, matchers: [...q.matchers, m] };
}

function checkHeaders(req: http.IncomingMessage): void {
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase().trim();
  if (encoding !== 'snappy') throw new PromfleetError('UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding "${encoding}" is not supported; expected snappy`);
  const type = (req.headers['content-type'] ?? '').toLowerCase().split(';')[0].trim();
  if (type !== 'application/x-protobuf') throw new PromfleetError('UNSUPPORTED_CONTENT_TYPE', `Content-Type "${type}" is not supported; expected application/x-protobuf`);
}

/** STREAMED_XOR_CHUNKS: each query's frames, in order. */
async function streamChunks(opts: ReadOptions, queries: readonly Query[], res: http.ServerResponse, tally: ReadTally): Promise<void> {
  // Headers go out with the first frame, so a limit hit before it is still a proper 4xx.
  const head = (): void => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse' });
  };
  for (let qi = 0; qi < queries.length; qi++) {
    const frames = (await chunkFrames(opts.reader, queries[qi], qi, limitsOf(opts), tally)).flat();
    if (frames.length === 0) continue;
    head();
    // One write per query: a write per frame costs both ends a chunk of HTTP framing each.
    if (!res.write(Buffer.concat(frames))) await new Promise((resolve) => res.once('drain', resolve));
  }
  head();
  res.end();
}

function limitsOf(opts: ReadOptions): QueryLimits {
  return { ignoreLabels: opts.ignoreLabels, maxSeries: opts.maxSeries, maxSamples: opts.maxSamples };
}

/**
 * STREAMED_XOR_CHUNKS when the client accepts it, unless it accepts SAMPLES too and a query
 * selects native histograms: streamed XOR chunks cannot carry them, SAMPLES results can
 * (Prometheus 3 accepts both and reads either answer by its Content-Type).
 */
async function preferStreamed(opts: ReadOptions, request: ReadRequest): Promise<boolean> {
  const accepted = request.acceptedResponseTypes;
  if (!accepted.includes('STREAMED_XOR_CHUNKS')) return false;
  if (!accepted.includes('SAMPLES')) return true;
  for (const q of request.queries) {
    const query = { startMs: q.startTimestampMs, endMs: q.endTimestampMs, matchers: q.matchers, ignoreLabels: opts.ignoreLabels, maxSeries: opts.maxSeries };
    if (await opts.reader.hasHistograms(query)) return false;
  }
  return true;
}

/**
 * POST /read and /api/v1/read: snappy prometheus.ReadRequest → one QueryResult per query, in
 * order: STREAMED_XOR_CHUNKS when the client accepts it (see preferStreamed), SAMPLES otherwise.
 * SAMPLES results carry native histograms and exemplars too (prompb.TimeSeries has fields for
 * both); streamed chunks carry float samples only (no HISTOGRAM chunk encoding is produced). A Prometheus sends
 * its own external labels as equality matchers; the one on the replica label is ignored
 * because that label is never stored.
 */
export function registerRead(opts: ReadOptions): void {
  const { metrics } = opts;
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const stopTimer = metrics.readSeconds.startTimer();
    const tally: ReadTally = { series: 0, samples: 0 };
    try {
      await answer(req, res, tally);
      metrics.readRequests.inc({ outcome: 'success' });
    } catch (err) {
      const status = err instanceof PromfleetError ? err.status : 500;
      metrics.readRequests.inc({ outcome: status < 500 ? 'refused' : 'error' });
      throw err;
    } finally {
      // Counted as encoded: a request refused part-way counts what it had encoded by then.
      metrics.readSeries.inc(tally.series);
      metrics.readSamples.inc(tally.samples);
      stopTimer();
    }
  };
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse, tally: ReadTally): Promise<void> => {
    checkHeaders(req);
    const body = await readBody(req, opts.maxBodyBytes);
    const release = opts.server.admit();
    try {
      const request = decodeReadRequest(snappyDecompress(body, opts.maxDecompressedBytes), opts.decodeLimits);
      const principal = principalOf(req);
      const restricted = { ...request, queries: request.queries.map((q) => restrict(q, principal, opts.clusterLabel)) };
      if (await preferStreamed(opts, restricted)) return await streamChunks(opts, restricted.queries, res, tally);
      const results: CompressedSeries[][] = [];
      for (const q of restricted.queries) results.push(await samplesResult(opts.reader, q, limitsOf(opts), tally));
      const out = compressedReadResponse(results);
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' }).end(out);
    } finally {
      release();
    }
  };
  opts.server.route('POST', '/read', handler, 'read');
  opts.server.route('POST', '/api/v1/read', handler, 'read');
}
