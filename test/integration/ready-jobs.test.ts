/**
 * The ready-jobs count KEDA scales workers on, against the real queue store and BullMQ: it
 * holds the jobs waiting in the leader's queue and in queues without an election, never a
 * follower's; it follows a handoff; a share nobody refreshes any more expires; shares are
 * capped. The count is read as the autoscaler reads it (a Redis set's SCARD, or the sum of the
 * shares' rows in the PostgreSQL queue schema).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { DEFAULT_QUEUE, queueName, type QueueBackend } from '../../src/queue/index.js';
import { ReadyJobsPublisher } from '../../src/wiring/ready-jobs.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { openTestBackend, scaledReadyJobs, takeJobs } from '../helpers/queue-store.js';
import { uniqueName } from '../helpers/services.js';

const prefix = uniqueName('pfready');
const A = queueName({ group: 'demo', replica: 'replica-a' });
const B = queueName({ group: 'demo', replica: 'replica-b' });
const OTHER_A = queueName({ group: 'other', replica: 'replica-a' });
let backend: QueueBackend;
const queues: Queue[] = [];

async function addJobs(name: string, n: number): Promise<void> {
  const q = backend.bull.queue(name);
  queues.push(q);
  await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'batch', data: { i } })));
  await backend.registry.register(name);
}

function publisher(leaders: Map<string, string>, now: () => number, max = 10_000): ReadyJobsPublisher {
  return new ReadyJobsPublisher({
    ready: backend.readyJobs(max), registry: backend.registry,
    leaders: () => leaders, intervalMs: 5_000, log: pino({ level: 'silent' }), now,
  });
}

beforeAll(async () => {
  backend = await openTestBackend(prefix);
  await addJobs(A, 7);
  await addJobs(B, 5);
  await addJobs(DEFAULT_QUEUE, 3);
  await addJobs(OTHER_A, 11);
});
afterAll(async () => {
  for (const q of queues) await q.close();
  await backend?.close();
  await deleteRedisPrefix(prefix);
});

describe('ready-jobs count', () => {
  it('holds the leader\'s waiting jobs and the non-HA ones, not the follower\'s', async () => {
    expect((await backend.depth(B)).wait).toBe(5);
    const size = await publisher(new Map([['demo', 'replica-a']]), () => 1_000_000).publishOnce();
    // demo's leader a (7) + {default} (3); follower b (5) left out; "other" is led elsewhere.
    expect(size).toBe(10);
    expect(await scaledReadyJobs(backend)).toBe(10);
    expect(await backend.readyJobs(10_000).size()).toBe(10);
  });

  it('adds up the processes leading different groups, and follows a handoff', async () => {
    await publisher(new Map([['other', 'replica-a']]), () => 1_000_000).publishOnce();
    expect(await scaledReadyJobs(backend)).toBe(7 + 3 + 11);
    // demo moves to replica b: its new leader's process counts b and zeroes a.
    await publisher(new Map([['demo', 'replica-b']]), () => 1_001_000).publishOnce();
    expect(await scaledReadyJobs(backend)).toBe(5 + 3 + 11);
  });

  it('follows the waiting jobs as workers take them', async () => {
    expect(await takeJobs(prefix, B, 2, 30_000)).toHaveLength(2);
    await publisher(new Map([['demo', 'replica-b']]), () => 1_002_000).publishOnce();
    expect(await scaledReadyJobs(backend)).toBe(3 + 3 + 11);
  });

  it('drops the share of a process that stopped refreshing it', async () => {
    // Only the "demo" leader refreshes, well past the staleness bound of the "other" share.
    const p = publisher(new Map([['demo', 'replica-b']]), () => 1_000_000 + 120_000);
    expect(p.staleMs).toBe(30_000);
    expect(await p.publishOnce()).toBe(3 + 3);
    expect(await scaledReadyJobs(backend)).toBe(3 + 3);
  });

  it('caps each queue\'s share', async () => {
    expect(await publisher(new Map([['demo', 'replica-b'], ['other', 'replica-a']]), () => 1_200_000, 2).publishOnce()).toBe(2 + 2 + 2);
    expect(await scaledReadyJobs(backend)).toBe(2 + 2 + 2);
  });
});
