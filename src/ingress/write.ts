import type http from 'node:http';
import { PromfleetError, isPromfleetError } from '../errors.js';
import {
  checkDecodedLimits, decodeWriteRequest, decodeWriteRequestV2, encodeWriteRequest, encodeWriteRequestV2, snappyCompress, snappyDecompress,
  splitValidSeries, validateWriteRequest, withoutLabel, type DecodeLimits, type ValidateOptions, type WriteRequest,
} from '../protocol/index.js';
import type { OutgoingBatch, Producer, QueueIdentity, WireFormat } from '../queue/index.js';
import { authorizeGroup, principalOf } from '../auth/index.js';
import type { RateLimiter } from '../http/rate-limit.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { readBody } from '../http/body.js';
import { checkWriteEncoding, writeFormat } from './content-type.js';
import { tagRequest, type HaLabels } from './tag.js';
import type { FastAccept } from './fast-accept.js';

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
  /** The fast way for requests of valid series of one group (see fast-accept.ts). */
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
  /** Takes a processing slot once the body is in (TOO_BUSY when none); returns its release. */
  readonly admit: () => () => void;
  /** Write requests per second per HA group. */
  readonly groupLimiter: RateLimiter;
}

/** What a write request carried that passed validation: reported in 2.0's *-Written headers. */
interface Counts {
  samples: number;
  histograms: number;
  exemplars: number;
}

const WRITTEN = {
  samples: 'X-Prometheus-Remote-Write-Samples-Written',
  histograms: 'X-Prometheus-Remote-Write-Histograms-Written',
  exemplars: 'X-Prometheus-Remote-Write-Exemplars-Written',
} as const;

function countOf(request: WriteRequest): Counts {
  const c: Counts = { samples: 0, histograms: 0, exemplars: 0 };
  for (const ts of request.timeseries) {
    c.samples += ts.samples.length;
    c.histograms += ts.histograms.length;
    c.exemplars += ts.exemplars.length;
  }
  return c;
}

function setWritten(res: http.ServerResponse, c: Counts): void {
  res.setHeader(WRITTEN.samples, String(c.samples));
  res.setHeader(WRITTEN.histograms, String(c.histograms));
  res.setHeader(WRITTEN.exemplars, String(c.exemplars));
}

/** Validates; 2.0 keeps the valid series of a partly invalid request (`error` says why the rest went). */
function validate(format: WireFormat, decoded: WriteRequest, opts: ValidateOptions): { request: WriteRequest; error?: PromfleetError } {
  if (format === 1) {
    validateWriteRequest(decoded, opts);
    return { request: decoded };
  }
  const split = splitValidSeries(decoded, { ...opts, utf8Names: true });
  return { request: split.valid, error: split.error };
}

function encode(format: WireFormat, request: WriteRequest): Uint8Array {
  return snappyCompress(format === 1 ? encodeWriteRequest(request) : encodeWriteRequestV2(request));
}

export function writeHandler(deps: WriteDeps) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (deps.closing()) throw new PromfleetError('SHUTTING_DOWN', 'not accepting writes while shutting down');
    let samples = 0;
    let release: (() => void) | undefined;
    try {
      const format = writeFormat(req);
      deps.metrics.writeRequests.inc({ protocol: format === 1 ? '1.0' : '2.0' });
      // 2.0 answers carry the written counts, errors included (0 until the batches are queued).
      if (format === 2) setWritten(res, { samples: 0, histograms: 0, exemplars: 0 });
      checkWriteEncoding(req);
      const body = await readBody(req, deps.limits.maxBodyBytes);
      release = deps.admit();
      const started = process.hrtime.bigint();
      const raw = snappyDecompress(body, deps.limits.maxDecompressedBytes);
      const window = { nowMs: deps.now(), maxAgeMs: deps.limits.maxSampleAgeMs, maxFutureMs: deps.limits.maxFutureMs };
      const principal = principalOf(req);
      const admitGroup = (group: string | undefined): void => {
        authorizeGroup(principal, group);
        try {
          deps.groupLimiter.take(group ?? '');
        } catch (err) {
          deps.metrics.rateLimited.inc({ limit: 'group' });
          throw err;
        }
      };
      const fast = format === 1 ? deps.fast.accept(raw, window, deps.limits.decode) : undefined;
      let batches: OutgoingBatch[];
      let counts: Counts;
      let error: PromfleetError | undefined;
      if (fast) {
        // The usual request: valid series of one group and replica, queued as received.
        samples = fast.samples;
        deps.metrics.receivedSamples.inc(samples);
        admitGroup(fast.identity.group);
        deps.observe(fast.identity);
        counts = { samples: fast.samples, histograms: 0, exemplars: 0 };
        batches = [{
          identity: fast.identity, payload: body, format, stripLabel: fast.replicaLabelSeen ? deps.ha.replicaLabel : undefined,
          groupLabel: fast.groupFromFlag ? deps.ha.clusterLabel : undefined,
          summary: { samples: fast.samples, minTs: fast.minTs, maxTs: fast.maxTs },
        }];
      } else {
        let decoded: WriteRequest;
        if (format === 1) {
          decoded = decodeWriteRequest(raw, deps.limits.decode);
        } else {
          decoded = decodeWriteRequestV2(raw);
          checkDecodedLimits(decoded, deps.limits.decode);
        }
        for (const ts of decoded.timeseries) samples += ts.samples.length;
        deps.metrics.receivedSamples.inc(samples);
        const valid = validate(format, decoded, window);
        error = valid.error;
        counts = countOf(valid.request);
        const tagged = tagRequest(valid.request, deps.ha);
        for (const b of tagged.batches) admitGroup(b.identity.group);
        for (const b of tagged.batches) deps.observe(b.identity);
        // The usual request (one group, one replica, all valid) travels as the bytes Prometheus
        // sent, with the worker told which label to strip: no re-encode, no re-compress on the
        // hot path. Only a request split by group, or cut by validation, is encoded again.
        const single = tagged.batches.length === 1 && error === undefined;
        batches = tagged.batches.map((b) => ({
          identity: b.identity,
          payload: single ? body : encode(format, { timeseries: withoutLabel(b.series, deps.ha.replicaLabel), metadata: b.metadata }),
          format,
          stripLabel: single && tagged.replicaLabelSeen ? deps.ha.replicaLabel : undefined,
          groupLabel: b.groupFromFlag ? deps.ha.clusterLabel : undefined,
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
      // Queued is what this ingress accepts; an HA follower's batches are retained for failover,
      // so they count as written too (a sender must not take retention for failure).
      if (format === 2) setWritten(res, counts);
      if (error !== undefined) {
        samples -= counts.samples; // only the dropped series' samples are refused
        throw error;
      }
      res.writeHead(204).end();
    } catch (err) {
      if (isPromfleetError(err)) {
        deps.metrics.rejectedRequests.inc({ reason: err.code });
        if (samples > 0) deps.metrics.rejectedSamples.inc({ reason: err.code }, samples);
        if (err.status < 500) deps.log.debug({ err }, 'write refused');
        else deps.log.warn({ err }, 'write not accepted now');
        if (err.code === 'FORBIDDEN') deps.metrics.authFailures.inc({ reason: 'group' });
      }
      throw err;
    } finally {
      release?.();
    }
  };
}
