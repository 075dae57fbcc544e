import type { Redis } from 'ioredis';
import { queueName } from './names.js';
import type { TimeIndexStore } from './backend.js';

/**
 * The data times of an HA queue's jobs, beside the queue in Redis (same hash slot):
 * - `t0`: a sorted set of job ids by the oldest sample time not yet written (a job's first
 *   sample at first; moved on once the part of it whose owner is decided is written);
 * - `t1`: job ids by their newest sample time (what follower retention compares against the
 *   leader's committed coverage);
 * - `accepted`: the newest sample time the ingress has acknowledged into the queue (a handoff
 *   cuts the old leader's ownership there).
 * Ingress indexes a job before adding it, so a crash leaves at worst an entry without a job,
 * which the look-ups below notice and remove; workers unindex what they finished.
 */

/**
 * Raises `accepted` (KEYS[1]) to ARGV[1] unless it is already higher. When the job's oldest
 * sample (ARGV[3]) comes more than ARGV[2] ms (the replica's Prometheus timeout) after what was
 * accepted before, the replica scraped nothing in between (its Prometheus was down): the
 * watermark from before the silence is recorded in `quiet` (KEYS[2]), and a handoff cuts the
 * replica's ownership there, not after it came back. Slow writes leave no such gap in the data.
 */
const RAISE = `
local v = redis.call('GET', KEYS[1])
if v and tonumber(ARGV[3]) - tonumber(v) > tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[2], v, v)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -101)
end
if (not v) or tonumber(v) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

/**
 * Jobs with an unwritten part at or before ARGV[1] (at most ARGV[2]): entries whose job is gone
 * or dead-lettered are removed on the way. KEYS: t0, t1. ARGV[3]: the queue's key prefix.
 */
const PENDING = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local live = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[3] .. id) == 0 or redis.call('ZSCORE', ARGV[3] .. 'failed', id) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  else
    live[#live + 1] = id
  end
end
return live`;

/**
 * Follower retention in bulk: looks at up to ARGV[3] jobs (from the ARGV[5]-th on) whose newest
 * sample is at or before ARGV[1] (the leader's committed coverage less the margin) and removes
 * those whose unwritten part starts after ARGV[2] (nothing of them is the follower's own to
 * write) unless a worker holds them. Returns { jobs removed, samples in them, jobs looked at }.
 * KEYS: t0, t1, backlog counter. ARGV[4]: key prefix.
 * BullMQ's own keys read here (the same in 5.x and 6.x): the lists `wait`, `active` and `paused`
 * (6.x keeps a paused queue's jobs in `wait`; the list only holds what 5.x left), the sorted sets
 * `delayed`, `prioritized` and `failed`, the job hash `<id>` (field `data`), `<id>:lock` and
 * `<id>:logs`.
 */
const DROP = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', tonumber(ARGV[5]), tonumber(ARGV[3]))
local p = ARGV[4]
local removed, samples = 0, 0
for _, id in ipairs(ids) do
  local start = tonumber(redis.call('ZSCORE', KEYS[1], id) or '0')
  local job = p .. id
  if redis.call('ZSCORE', p .. 'failed', id) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  elseif start > tonumber(ARGV[2]) and redis.call('EXISTS', job .. ':lock') == 0 and not redis.call('ZSCORE', p .. 'failed', id) then
    local data = redis.call('HGET', job, 'data')
    if redis.call('LREM', p .. 'wait', -1, id) == 0 and redis.call('ZREM', p .. 'delayed', id) == 0
      and redis.call('ZREM', p .. 'prioritized', id) == 0 and redis.call('LREM', p .. 'paused', -1, id) == 0 then
      redis.call('LREM', p .. 'active', -1, id)
    end
    redis.call('DEL', job, job .. ':logs')
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    removed = removed + 1
    if data then samples = samples + tonumber(string.match(data, ',"n":(%d+),') or '0') end
  end
end
if samples > 0 and redis.call('DECRBY', KEYS[3], samples) < 0 then redis.call('SET', KEYS[3], '0') end
return { removed, samples, #ids }`;

/**
 * Jobs left active with no worker's lock (a worker died, or the queue stopped being consumed
 * while they were taken) go back to the end of the wait list that is taken first. Up to ARGV[2].
 */
const RECOVER = `
local p = ARGV[1]
local ids = redis.call('LRANGE', p .. 'active', 0, tonumber(ARGV[2]) - 1)
local moved = 0
for _, id in ipairs(ids) do
  if redis.call('EXISTS', p .. id .. ':lock') == 0 and redis.call('LREM', p .. 'active', 1, id) == 1 then
    redis.call('RPUSH', p .. 'wait', id)
    moved = moved + 1
  end
end
return moved`;

/** How many jobs one script call looks at: large enough to keep up at 10k jobs/s with a scan a second, small enough to keep Redis responsive. */
export const SWEEP_PAGE = 2000;

/** Where a handoff cuts a group's ownership, read from its replicas' queues (the storage's CutSource). */
export interface QueueCuts {
  acceptedMs(replica: string): Promise<number | undefined>;
  quietMs(replica: string, afterMs: number | null): Promise<number | undefined>;
  readonly maxSkewMs: number;
}

export class QueueTimeIndex implements TimeIndexStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(queue: string, what: string): string {
    return `${this.prefix}:${queue}:${what}`;
  }

  /** Before the job is added: a crash in between leaves an entry without a job, never a job without an entry. */
  async index(queue: string, jobId: string, t0: number, t1: number): Promise<void> {
    await this.redis.multi().zadd(this.key(queue, 't0'), t0, jobId).zadd(this.key(queue, 't1'), t1, jobId).exec();
  }

  async unindex(queue: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.redis.multi().zrem(this.key(queue, 't0'), ...jobIds).zrem(this.key(queue, 't1'), ...jobIds).exec();
  }

  /** After the part of a job up to `writtenThroughMs` is written: only what follows is still pending. */
  async writtenThrough(queue: string, jobId: string, writtenThroughMs: number): Promise<void> {
    if (!Number.isFinite(writtenThroughMs)) return;
    await this.redis.zadd(this.key(queue, 't0'), 'XX', 'GT', writtenThroughMs + 1, jobId);
  }

  /** After a job of samples in [oldestMs, newestMs] is added; a gap in the data longer than `quietAfterMs` (the Prometheus timeout) is a silence. */
  async raiseAccepted(queue: string, oldestMs: number, newestMs: number, quietAfterMs: number): Promise<void> {
    await this.redis.eval(RAISE, 2, this.key(queue, 'accepted'), this.key(queue, 'quiet'), newestMs, quietAfterMs, oldestMs);
  }

  async accepted(queue: string): Promise<number | undefined> {
    const v = await this.redis.get(this.key(queue, 'accepted'));
    return v === null ? undefined : Number(v);
  }

  /**
   * What the replica had accepted when it first fell quiet after `afterMs` (and wrote again
   * since); undefined when it did not. Its first silence after an interval's start ends what it
   * can own of that interval.
   */
  async quietAfter(queue: string, afterMs: number | null): Promise<number | undefined> {
    const quiet = await this.redis.zrangebyscore(this.key(queue, 'quiet'), afterMs === null ? '-inf' : `(${afterMs}`, '+inf', 'LIMIT', 0, 1);
    return quiet.length > 0 ? Number(quiet[0]) : undefined;
  }

  /** The cut source of one HA group, from its replicas' queues. */
  cuts(group: string, maxSkewMs: number): QueueCuts {
    return {
      acceptedMs: (replica) => this.accepted(queueName({ group, replica })),
      quietMs: (replica, afterMs) => this.quietAfter(queueName({ group, replica }), afterMs),
      maxSkewMs,
    };
  }

  /** Ids of live jobs with an unwritten part at or before `cutMs` (at most `limit`). */
  async pending(queue: string, cutMs: number, limit: number): Promise<string[]> {
    if (cutMs === -Infinity) return [];
    const bound = cutMs === Infinity ? '+inf' : String(cutMs);
    return (await this.redis.eval(PENDING, 2, this.key(queue, 't0'), this.key(queue, 't1'), bound, limit, `${this.prefix}:${queue}:`)) as string[];
  }

  /**
   * Removes redundant follower jobs (see DROP), one call per SWEEP_PAGE jobs looked at, up to
   * `maxCalls`; jobs kept (still partly owned, or held by a worker) are stepped over.
   */
  async dropRedundant(queue: string, coveredThroughMs: number, undecidedFromMs: number, maxCalls = 20): Promise<{ jobs: number; samples: number; calls: number }> {
    // Lua's tonumber reads no infinities: beyond any sample time is enough.
    const from = undecidedFromMs === Infinity ? '1e300' : undecidedFromMs === -Infinity ? '-1e300' : String(undecidedFromMs);
    let jobs = 0;
    let samples = 0;
    let kept = 0;
    let calls = 0;
    while (calls < maxCalls) {
      calls++;
      const r = (await this.redis.eval(DROP, 3, this.key(queue, 't0'), this.key(queue, 't1'), this.key(queue, 'backlog-samples'),
        coveredThroughMs, from, SWEEP_PAGE, `${this.prefix}:${queue}:`, kept)) as [number, number, number];
      jobs += r[0];
      samples += r[1];
      kept += r[2] - r[0];
      if (r[2] < SWEEP_PAGE) break;
    }
    return { jobs, samples, calls };
  }

  /** Puts active jobs that no worker holds back to wait (see RECOVER); returns how many. */
  async recoverActive(queue: string): Promise<number> {
    return (await this.redis.eval(RECOVER, 0, `${this.prefix}:${queue}:`, SWEEP_PAGE)) as number;
  }

  /** Jobs indexed (an HA queue's jobs that are not finished). */
  async size(queue: string): Promise<number> {
    return this.redis.zcard(this.key(queue, 't1'));
  }

  async isLocked(queue: string, jobId: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:${queue}:${jobId}:lock`)) === 1;
  }
}
