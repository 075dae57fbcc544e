import type http from 'node:http';
import { PromfleetError, isPromfleetError } from '../errors.js';
import {
  type DecodeLimits, decodeWriteRequest, encodeWriteRequest, snappyCompress, snappyDecompress, validateWriteRequest, withoutLabel,
} from '../protocol/index.js';
import type { OutgoingBatch, Producer, QueueIdentity } from '../queue/index.js';
import { authorizeGroup, principalOf } from '../auth/index.js';
import type { RateLimiter } from '../http/rate-limit.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { readBody } from './body.js';
import { tagRequest, type HaLabels } from './tag.js';

export interface WriteLimits {
  readonly maxBodyBytes: number;
  readonly maxDecompressedBytes: number;
  readonly maxSampleAgeMs: number;
  readonly maxFutureMs: number;
  /** Counts and lengths refused while decoding (each a LIMIT_* 4xx). */
  readonly decode: DecodeLimits;
}

export interface WriteDeps {
  readonly producer: Producer;
  readonly limits: WriteLimits;
  readonly ha: HaLabels;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly observe: (identity: QueueIdentity) => void;
  /** True once shutdown began: new writes get 503. */
  readonly closing: () => boolean;
  /** Called around each request so shutdown can wait for in-flight enqueues. */
  readonly track: <T>(p: Promise<T>) => Promise<T>;
  /** Takes a processing slot once the body is in (TOO_BUSY when none); returns its release. */
  readonly admit: () => () => void;
  /** Write requests per second per HA group. */
  readonly groupLimiter: RateLimiter;
}

/** Remote-write 1.0 only for now; RW 2.0 bodies get 415 so a sender can fall back. */
function checkHeaders(req: http.IncomingMessage): void {
  const encoding = (req.headers['content-encoding'] ?? '').toLowerCase().trim();
  if (encoding !== 'snappy') {
    throw new PromfleetError('UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding "${encoding}" is not supported; expected snappy`);
  }
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const [mime, ...params] = type.split(';').map((s) => s.trim());
  if (mime !== 'application/x-protobuf') {
    throw new PromfleetError('UNSUPPORTED_CONTENT_TYPE', `Content-Type "${type}" is not supported; expected application/x-protobuf`);
  }
  const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
  if (proto !== undefined && proto !== 'prometheus.writerequest') {
    throw new PromfleetError('UNSUPPORTED_CONTENT_TYPE', `proto=${proto} is not supported; expected prometheus.WriteRequest`);
  }
}

export function writeHandler(deps: WriteDeps) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (deps.closing()) throw new PromfleetError('SHUTTING_DOWN', 'not accepting writes while shutting down');
    let samples = 0;
    let release: (() => void) | undefined;
    try {
      checkHeaders(req);
      const body = await readBody(req, deps.limits.maxBodyBytes);
      release = deps.admit();
      const started = process.hrtime.bigint();
      const request = decodeWriteRequest(snappyDecompress(body, deps.limits.maxDecompressedBytes), deps.limits.decode);
      for (const ts of request.timeseries) samples += ts.samples.length;
      deps.metrics.receivedSamples.inc(samples);
      validateWriteRequest(request, { nowMs: deps.now(), maxAgeMs: deps.limits.maxSampleAgeMs, maxFutureMs: deps.limits.maxFutureMs });
      const tagged = tagRequest(request, deps.ha);
      const principal = principalOf(req);
      for (const b of tagged.batches) {
        authorizeGroup(principal, b.identity.group);
        try {
          deps.groupLimiter.take(b.identity.group ?? '');
        } catch (err) {
          deps.metrics.rateLimited.inc({ limit: 'group' });
          throw err;
        }
      }
      for (const b of tagged.batches) deps.observe(b.identity);
      // The usual request (one group, one replica) travels as the bytes Prometheus sent, with
      // the worker told which label to strip: no re-encode, no re-compress on the hot path.
      const single = tagged.batches.length === 1;
      const batches: OutgoingBatch[] = tagged.batches.map((b) => ({
        identity: b.identity,
        payload: single ? body : snappyCompress(encodeWriteRequest({ timeseries: withoutLabel(b.series, deps.ha.replicaLabel), metadata: b.metadata })),
        stripLabel: single && tagged.replicaLabelSeen ? deps.ha.replicaLabel : undefined,
        summary: { samples: b.samples, minTs: b.minTs, maxTs: b.maxTs },
      }));
      if (batches.length > 0) {
        const enqueued = await deps.track(deps.producer.enqueue(batches, deps.now()));
        for (let i = 0; i < enqueued.length; i++) {
          deps.metrics.enqueuedBatches.inc({ queue: enqueued[i].queue });
          deps.metrics.enqueuedSamples.inc({ queue: enqueued[i].queue }, batches[i].summary.samples);
          deps.metrics.queuedBytes.inc(batches[i].payload.byteLength);
        }
      }
      deps.metrics.enqueueSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      res.writeHead(204).end();
    } catch (err) {
      if (isPromfleetError(err)) {
        deps.metrics.rejectedRequests.inc({ reason: err.code });
        if (samples > 0) deps.metrics.rejectedSamples.inc({ reason: err.code }, samples);
        if (err.status < 500) deps.log.debug({ code: err.code, reason: err.message }, 'write refused');
        else deps.log.warn({ code: err.code, reason: err.message }, 'write not accepted now');
        if (err.code === 'FORBIDDEN') deps.metrics.authFailures.inc({ reason: 'group' });
      }
      throw err;
    } finally {
      release?.();
    }
  };
}
