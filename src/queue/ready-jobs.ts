import type { Redis } from 'ioredis';
import type { ReadyJobsStore } from './backend.js';
import { parseQueueName } from './names.js';

/**
 * Sets queue Q's share of the ready-jobs set (KEYS[1]) to n members `Q#0` … `Q#(n-1)`, its
 * count kept as "n:stamp" in KEYS[2]; then removes the shares nobody refreshed for ARGV[2] ms
 * (their process is gone). ARGV[1]: now (ms); ARGV[3…]: pairs of queue, n. Returns SCARD.
 */
const PUBLISH = `
local set, counts = KEYS[1], KEYS[2]
local now, stale = tonumber(ARGV[1]), tonumber(ARGV[2])
local function resize(q, from, to)
  for i = from, to - 1 do redis.call('SADD', set, q .. '#' .. i) end
  for i = to, from - 1 do redis.call('SREM', set, q .. '#' .. i) end
end
local function held(v)
  local n, at = string.match(v or '', '^(%d+):(%d+)$')
  return tonumber(n or '0'), tonumber(at or '0')
end
for i = 3, #ARGV, 2 do
  local q, n = ARGV[i], tonumber(ARGV[i + 1])
  resize(q, (held(redis.call('HGET', counts, q))), n)
  if n > 0 then redis.call('HSET', counts, q, n .. ':' .. now) else redis.call('HDEL', counts, q) end
end
local all = redis.call('HGETALL', counts)
for i = 1, #all, 2 do
  local n, at = held(all[i + 1])
  if now - at > stale then
    resize(all[i], n, 0)
    redis.call('HDEL', counts, all[i])
  end
end
return redis.call('SCARD', set)`;

/**
 * The work ready to write, as one Redis set whose cardinality KEDA's `redis` scaler reads
 * (SCARD; it reads lists, sets, sorted sets and hashes by their size): the jobs waiting in the
 * queue of each HA group's leader, plus those of the queues without an election. Followers'
 * retained batches are left out: no worker consumes them as a queue, so they must not hold
 * workers up. A process publishes only the queues it knows the answer for (see ReadyJobsPublisher);
 * each queue's share is its own members, so several processes add up without coordinating.
 */
/** The ready-jobs set of a deployment: what KEDA's `listName` names. */
export function readyJobsKey(prefix: string): string {
  return `${prefix}:{ready-jobs}`;
}

export class ReadyJobs implements ReadyJobsStore {
  readonly key: string;
  private readonly counts: string;

  constructor(private readonly redis: Redis, private readonly prefix: string, readonly max: number) {
    // One hash slot for both keys: the script touches them together on a Redis Cluster too.
    this.key = readyJobsKey(prefix);
    this.counts = `${this.key}:counts`;
  }

  /** Jobs waiting in each queue's BullMQ wait list (one LLEN each, in parallel). */
  async waiting(queues: readonly string[]): Promise<Map<string, number>> {
    const lens = await Promise.all(queues.map((q) => this.redis.llen(`${this.prefix}:${q}:wait`)));
    return new Map(queues.map((q, i) => [q, lens[i]]));
  }

  /** Sets each queue's share (capped at `max`); shares not refreshed within staleMs are removed. Resolves to the set's size. */
  async publish(shares: ReadonlyMap<string, number>, nowMs: number, staleMs: number): Promise<number> {
    const args: (string | number)[] = [Math.floor(nowMs), Math.floor(staleMs)];
    for (const [q, n] of shares) args.push(q, Math.max(0, Math.min(this.max, Math.floor(n))));
    return Number(await this.redis.eval(PUBLISH, 2, this.key, this.counts, ...args));
  }

  /** The set's size: what KEDA reads. */
  size(): Promise<number> {
    return this.redis.scard(this.key);
  }
}

/**
 * Which queues' waiting jobs count, as a process that leads `leaders` (group → replica) sees
 * them: its leaders' queues count, the other replicas of those groups count zero, queues
 * without an election (no group, or a group without replicas) count; the groups it does not
 * lead are left to the process that does (undefined: not published by this one).
 */
export function readyShare(queue: string, leaders: ReadonlyMap<string, string>): 'count' | 'zero' | undefined {
  const id = parseQueueName(queue);
  if (id === undefined) return undefined;
  if (id.group === undefined || id.replica === undefined) return 'count';
  const leader = leaders.get(id.group);
  if (leader === undefined) return undefined;
  return leader === id.replica ? 'count' : 'zero';
}
