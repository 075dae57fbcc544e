import type http from 'node:http';
import { PromfleetError, isPromfleetError } from '../errors.js';
import {
  decodeWriteRequest, encodeWriteRequest, snappyCompress, snappyDecompress, validateWriteRequest, withoutLabel,
} from '../protocol/index.js';
import type { OutgoingBatch, Producer, QueueIdentity } from '../queue/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { readBody } from './body.js';
import { tagRequest, type HaLabels } from './tag.js';
import type { FastAccept } from './fast-accept.js';

export interface WriteLimits {
  readonly maxBodyBytes: number;
  readonly maxDecompressedBytes: number;
  readonly maxSampleAgeMs: number;
  readonly maxFutureMs: number;
}

export interface WriteDeps {
  readonly producer: Producer;
  /** The fast way for requests of known, valid series of one group (see fast-accept.ts). */
  readonly fast: FastAccept;
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
    try {
      checkHeaders(req);
      const body = await readBody(req, deps.limits.maxBodyBytes);
      const started = process.hrtime.bigint();
      const raw = snappyDecompress(body, deps.limits.maxDecompressedBytes);
      const window = { nowMs: deps.now(), maxAgeMs: deps.limits.maxSampleAgeMs, maxFutureMs: deps.limits.maxFutureMs };
      const fast = deps.fast.accept(raw, window);
      let batches: OutgoingBatch[];
      if (fast) {
        // The usual request: known series of one group and replica, queued as received.
        samples = fast.samples;
        deps.metrics.receivedSamples.inc(samples);
        deps.observe(fast.identity);
        batches = [{
          identity: fast.identity, payload: body, stripLabel: fast.replicaLabelSeen ? deps.ha.replicaLabel : undefined,
          summary: { samples: fast.samples, minTs: fast.minTs, maxTs: fast.maxTs },
        }];
      } else {
        const request = decodeWriteRequest(raw);
        for (const ts of request.timeseries) samples += ts.samples.length;
        deps.metrics.receivedSamples.inc(samples);
        validateWriteRequest(request, window);
        const tagged = tagRequest(request, deps.ha);
        for (const b of tagged.batches) deps.observe(b.identity);
        // The usual request (one group, one replica) travels as the bytes Prometheus sent, with
        // the worker told which label to strip: no re-encode, no re-compress on the hot path.
        const single = tagged.batches.length === 1;
        batches = tagged.batches.map((b) => ({
          identity: b.identity,
          payload: single ? body : snappyCompress(encodeWriteRequest({ timeseries: withoutLabel(b.series, deps.ha.replicaLabel), metadata: b.metadata })),
          stripLabel: single && tagged.replicaLabelSeen ? deps.ha.replicaLabel : undefined,
          summary: { samples: b.samples, minTs: b.minTs, maxTs: b.maxTs },
        }));
      }
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
      }
      throw err;
    }
  };
}
