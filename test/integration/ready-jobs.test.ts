/**
 * The ready-jobs set KEDA scales workers on, against the real Redis and BullMQ: it holds the
 * jobs waiting in the leader's queue and in queues without an election, never a follower's;
 * it follows a handoff; a share nobody refreshes any more expires; shares are capped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { DEFAULT_QUEUE, QueueRegistry, ReadyJobs, queueName } from '../../src/queue/index.js';
import { ReadyJobsPublisher } from '../../src/wiring/ready-jobs.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { redisUrl, uniqueName } from '../helpers/services.js';

const prefix = uniqueName('pfready');
const A = queueName({ group: 'demo', replica: 'replica-a' });
const B = queueName({ group: 'demo', replica: 'replica-b' });
const OTHER_A = queueName({ group: 'other', replica: 'replica-a' });
let redis: Redis;
const queues: Queue[] = [];
/** BullMQ does not close a connection it was handed. */
const connections: Redis[] = [];

async function addJobs(name: string, n: number): Promise<void> {
  const connection = redis.duplicate();
  connections.push(connection);
  const q = new Queue(name, { connection, prefix });
  queues.push(q);
  await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'batch', data: { i } })));
  await new QueueRegistry(redis, prefix).register(name);
}

function publisher(leaders: Map<string, string>, now: () => number, max = 10_000): ReadyJobsPublisher {
  return new ReadyJobsPublisher({
    ready: new ReadyJobs(redis, prefix, max), registry: new QueueRegistry(redis, prefix),
    leaders: () => leaders, intervalMs: 5_000, log: pino({ level: 'silent' }), now,
  });
}

beforeAll(async () => {
  redis = new Redis(redisUrl());
  await addJobs(A, 7);
  await addJobs(B, 5);
  await addJobs(DEFAULT_QUEUE, 3);
  await addJobs(OTHER_A, 11);
});
afterAll(async () => {
  for (const q of queues) await q.close();
  for (const c of connections) await c.quit();
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

describe('ready-jobs set', () => {
  const key = (): string => `${prefix}:{ready-jobs}`;

  it('holds the leader\'s waiting jobs and the non-HA ones, not the follower\'s', async () => {
    expect(await redis.llen(`${prefix}:${B}:wait`)).toBe(5);
    const size = await publisher(new Map([['demo', 'replica-a']]), () => 1_000_000).publishOnce();
    // demo's leader a (7) + {default} (3); follower b (5) left out; "other" is led elsewhere.
    expect(size).toBe(10);
    expect(await redis.type(key())).toBe('set');
    expect(await redis.scard(key())).toBe(10);
  });

  it('adds up the processes leading different groups, and follows a handoff', async () => {
    await publisher(new Map([['other', 'replica-a']]), () => 1_000_000).publishOnce();
    expect(await redis.scard(key())).toBe(7 + 3 + 11);
    // demo moves to replica b: its new leader's process counts b and zeroes a.
    await publisher(new Map([['demo', 'replica-b']]), () => 1_001_000).publishOnce();
    expect(await redis.scard(key())).toBe(5 + 3 + 11);
  });

  it('follows the wait list as workers take jobs', async () => {
    await redis.rpop(`${prefix}:${B}:wait`, 2);
    await publisher(new Map([['demo', 'replica-b']]), () => 1_002_000).publishOnce();
    expect(await redis.scard(key())).toBe(3 + 3 + 11);
  });

  it('drops the share of a process that stopped refreshing it', async () => {
    // Only the "demo" leader refreshes, well past the staleness bound of the "other" share.
    const p = publisher(new Map([['demo', 'replica-b']]), () => 1_000_000 + 120_000);
    expect(p.staleMs).toBe(30_000);
    expect(await p.publishOnce()).toBe(3 + 3);
  });

  it('caps each queue\'s share', async () => {
    expect(await publisher(new Map([['demo', 'replica-b'], ['other', 'replica-a']]), () => 1_200_000, 2).publishOnce()).toBe(2 + 2 + 2);
  });
});
