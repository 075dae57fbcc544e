import type { Redis } from 'ioredis';
import type { Logger } from '../observability/log.js';
import type { LivenessStore, QueueBackend } from './backend.js';
import { queueName } from './names.js';

/**
 * Replica liveness shared by every ingress process: when each (group, replica) last wrote,
 * through whichever ingress. A load balancer may move a Prometheus's connection to another
 * ingress; the process holding its group's lock must still see it alive.
 *
 * One Redis hash per group, `${prefix}:seen:{w.<group>.}` (the braces keep it in one Cluster
 * slot), field = replica, value = the time of its last write on Redis's clock (TIME), so that
 * the clocks of the ingress hosts never matter: readers get ages, not timestamps. The hash
 * expires `ttlMs` after its last write, and fields older than that are dropped when written.
 */
export interface LivenessReader {
  /**
   * For each of `groups` that has any: replica → ms since its last write through any ingress.
   * Rejects when the store does not answer (within its read timeout).
   */
  ages(groups: readonly string[]): Promise<Map<string, Map<string, number>>>;
}

export interface SharedLivenessOptions {
  /** Where the replicas' times are kept, on the store's clock. */
  readonly store: LivenessStore;
  /** The hash expires this long after its last write; older fields are dropped (ms). */
  readonly ttlMs: number;
  /** Each process writes a replica's time at most this often (ms). */
  readonly writeEveryMs: number;
  /** A read that takes longer fails (ms, default 1000). */
  readonly readTimeoutMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
}

const RECORD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] and now - tonumber(all[i + 1]) > tonumber(ARGV[2]) then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[1], now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now`;

const AGES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  out[#out + 1] = all[i]
  out[#out + 1] = math.max(0, now - tonumber(all[i + 1]))
end
return out`;

export function livenessKey(prefix: string, group: string): string {
  return `${prefix}:seen:${queueName({ group, replica: undefined })}`;
}

export class SharedLiveness implements LivenessReader {
  private readonly written = new Map<string, number>();
  private readonly now: () => number;
  private owned: QueueBackend | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: SharedLivenessOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * On a backend of its own, which it owns: give it a connection that fails fast like the
   * producer's (a read never waits for a reconnect). Fields live three replica timeouts; a
   * replica's time is written at most once a second per process (more often with a timeout under
   * 4 s, so that it is never stale by more than a quarter of the timeout). start() connects,
   * stop() closes.
   */
  static open(opts: { backend: QueueBackend; timeoutMs: number; log: Logger; now?: () => number }): SharedLiveness {
    const l = new SharedLiveness({
      store: opts.backend.liveness, ttlMs: 3 * opts.timeoutMs, writeEveryMs: Math.min(1000, Math.floor(opts.timeoutMs / 4)), log: opts.log, now: opts.now,
    });
    l.owned = opts.backend;
    return l;
  }

  /** Connects an owned backend (a failure is not fatal: its client keeps reconnecting). Idempotent. */
  start(): Promise<void> {
    const backend = this.owned;
    this.started ??= backend === undefined ? Promise.resolve() : backend.connect().catch((err: unknown) => {
      this.opts.log.warn({ err }, 'redis liveness connection not up yet; retrying');
    });
    return this.started;
  }

  /** Closes an owned backend. Idempotent. */
  async stop(): Promise<void> {
    if (!this.stopped && this.owned !== undefined) await this.owned.close();
    this.stopped = true;
  }

  /**
   * `replica` of `group` wrote through this process. Cheap on the hot path: at most one Redis
   * write per replica per `writeEveryMs`, never awaited; a failure is only logged (debug).
   */
  record(group: string, replica: string): void {
    const id = `${group}\u0000${replica}`;
    const now = this.now();
    const last = this.written.get(id);
    if (last !== undefined && now - last < this.opts.writeEveryMs) return;
    this.written.set(id, now);
    this.opts.store.record(group, replica, this.opts.ttlMs).catch((err: unknown) => {
      // Try again on the next write rather than a second later.
      if (this.written.get(id) === now) this.written.delete(id);
      this.opts.log.debug({ err, group, replica }, 'replica liveness not recorded');
    });
  }

  async ages(groups: readonly string[]): Promise<Map<string, Map<string, number>>> {
    if (groups.length === 0) return new Map();
    const ms = this.opts.readTimeoutMs ?? 1000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`replica liveness not read within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.opts.store.ages(groups), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Liveness in Redis: one hash per group (see above), written and read by script on Redis's clock. */
export class RedisLivenessStore implements LivenessStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  async record(group: string, replica: string, ttlMs: number): Promise<void> {
    await this.redis.eval(RECORD, 1, livenessKey(this.prefix, group), replica, String(ttlMs));
  }

  async ages(groups: readonly string[]): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    if (groups.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const g of groups) pipeline.eval(AGES, 1, livenessKey(this.prefix, g));
    const results = await pipeline.exec();
    if (results === null) throw new Error('replica liveness read was discarded');
    groups.forEach((group, i) => {
      const [err, reply] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (!Array.isArray(reply) || reply.length === 0) return;
      const m = new Map<string, number>();
      for (let k = 0; k + 1 < reply.length; k += 2) {
        const replica: unknown = reply[k];
        const age = Number(reply[k + 1]);
        if (typeof replica === 'string' && Number.isFinite(age)) m.set(replica, age);
      }
      out.set(group, m);
    });
    return out;
  }
}
