import type { HttpServer } from '../http/server.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { Producer, type CoalesceBounds, type QueueIdentity } from '../queue/index.js';
import { RateLimiter } from '../http/rate-limit.js';
import type { HaLabels } from './tag.js';
import { writeHandler, type WriteLimits } from './write.js';
import { FastAccept } from './fast-accept.js';

export type { HaLabels } from './tag.js';
export type { WriteLimits } from './write.js';

export interface IngressOptions {
  readonly server: HttpServer;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  /** Where the queue lives (default redis); on postgres, in the database at pgUrl. */
  readonly backend?: 'redis' | 'postgres';
  readonly pgUrl?: string;
  /** Per-group backlog bound in samples (0: none). */
  readonly maxBacklogSamples?: number;
  /** Concurrent batches of one queue gathered into one job (default DEFAULT_COALESCE). */
  readonly coalesce?: CoalesceBounds;
  readonly limits: WriteLimits;
  readonly ha: HaLabels;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Write requests per second per HA group (0: none) and the status over it. */
  readonly groupRate?: { readonly perSecond: number; readonly status: 429 | 503 };
  /** Told about every (group, replica) that sent a batch (the elector's sign of life). */
  readonly observe?: (identity: QueueIdentity) => void;
  /** A replica that sent nothing for this long was quiet (its Prometheus timeout, ms; see Producer). */
  readonly quietAfterMs?: number;
}

export interface Ingress {
  start(): Promise<void>;
  /** Stops accepting writes (503) and waits for in-flight enqueues, up to the signal. */
  drain(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** The ingress role: POST /write and /api/v1/write → decode, validate, tag, enqueue, 204. */
export function createIngress(opts: IngressOptions): Ingress {
  const producer = new Producer({
    backend: opts.backend, redisUrl: opts.redisUrl, pgUrl: opts.pgUrl, prefix: opts.queuePrefix, log: opts.log.child({ component: 'producer' }),
    maxBacklogSamples: opts.maxBacklogSamples, now: opts.now, coalesce: opts.coalesce, quietAfterMs: opts.quietAfterMs,
    onJob: (queue, parts) => {
      opts.metrics.enqueuedJobs.inc({ queue });
      opts.metrics.jobBatches.observe(parts);
    },
  });
  const inFlight = new Set<Promise<unknown>>();
  let closing = false;
  const handler = writeHandler({
    producer,
    fast: new FastAccept(opts.ha),
    limits: opts.limits,
    ha: opts.ha,
    log: opts.log,
    metrics: opts.metrics,
    now: opts.now ?? Date.now,
    observe: opts.observe ?? (() => undefined),
    closing: () => closing || opts.server.isClosing,
    admit: () => opts.server.admit(),
    groupLimiter: new RateLimiter({
      perSecond: opts.groupRate?.perSecond ?? 0, status: opts.groupRate?.status ?? 503, what: 'HA group', flag: '--web.rate-limit.group', now: opts.now,
    }),
    track: (p) => {
      inFlight.add(p);
      return p.finally(() => inFlight.delete(p));
    },
  });
  opts.server.route('POST', '/write', handler, 'write');
  opts.server.route('POST', '/api/v1/write', handler, 'write');
  opts.server.readiness('queue', async () => ((await producer.ping()) ? undefined : 'the queue store does not answer'));
  let stopped: Promise<void> | undefined;
  return {
    start: () => producer.start(),
    async drain(signal) {
      closing = true;
      const all = Promise.allSettled([...inFlight]);
      await Promise.race([all, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
      if (inFlight.size > 0) opts.log.warn({ inFlight: inFlight.size }, 'shutdown deadline cut in-flight enqueues (answered 503)');
    },
    stop() {
      closing = true;
      stopped ??= producer.stop();
      return stopped;
    },
  };
}
