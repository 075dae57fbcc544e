/**
 * The fence is inside the write transaction, and a batch it refuses is not lost: it comes back
 * and is written for the times its replica owns. An in-process worker holds the first batch of
 * replica a, the leader, between dequeue and fence (the pauseBeforeFence seam) while the test
 * moves the leadership to b (a's Prometheus goes quiet, b writes). Released, the held
 * transaction commits nothing (the ownership changed under it); the batch returns to a's queue
 * and, since a accepted it before the cut, it is written afterwards, once, under a's epoch; then
 * b's samples follow a's per series with no hole and no overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Queue } from 'bullmq';
import { createTestDatabase, uniqueName, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';
import { openTestBackend } from '../helpers/queue-store.js';
import { queueName, type QueueBackend } from '../../src/queue/index.js';
import { isBatchJob, type BatchJob } from '../../src/queue/batch.js';
import { handoffProblems, replicaWriter, storedHaSamples, waitForLastSamples, waitForLeader, type ReplicaWriter } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 5;
const INTERVAL = 1000;
const FLAGS = [
  '--leader-election.pg-advisory-lock.prometheus-timeout=2s',
  '--election.interval=250ms',
  '--worker.queue-poll-interval=250ms',
  '--ha.follower-margin=5s',
  '--ha.max-clock-skew=2s',
  '--worker.concurrency=1',
  '--shutdown.timeout=5s',
  '--storage.timescaledb=false',
];

let db: TestDatabase;
let prefix: string;
let client: pg.Client;
let backend: QueueBackend;
let queueA: Queue;
const apps: TestApp[] = [];
const writers: ReplicaWriter[] = [];
let passed = false;

// The seam: the first batch of replica a waits here until the test releases it.
let release: () => void = () => undefined;
const released = new Promise<void>((r) => { release = r; });
let reached: () => void = () => undefined;
const pauseReached = new Promise<void>((r) => { reached = r; });
let paused = 0;
const pauseBeforeFence = async (batch: { group: string; replica: string }): Promise<void> => {
  if (batch.group !== GROUP || batch.replica !== 'a' || paused++ > 0) return;
  reached();
  await released;
};

beforeAll(async () => {
  db = await createTestDatabase('ha_fence_pause');
  prefix = uniqueName('pfha5');
  const worker = await startApp('worker', { pgUrl: db.url, prefix, args: FLAGS, seams: { pauseBeforeFence } });
  apps.push(worker);
  apps.push(await startApp('ingress', { pgUrl: db.url, prefix, args: FLAGS }));
  apps.push(await startApp('ingress', { pgUrl: db.url, prefix, args: FLAGS }));
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  backend = await openTestBackend(prefix, db.url);
  queueA = backend.bull.queue(queueName({ group: GROUP, replica: 'a' }));
});

afterAll(async () => {
  release();
  await Promise.allSettled(writers.map((w) => w.kill()));
  await client?.end().catch(() => undefined);
  await queueA?.close().catch(() => undefined);
  await backend?.close().catch(() => undefined);
  await Promise.allSettled(apps.map((a) => a.stop()));
  if (prefix) await deleteRedisPrefix(prefix);
  if (passed) await db.drop();
});

async function jobsOfA(): Promise<Map<string, BatchJob>> {
  const jobs = await queueA.getJobs(['wait', 'active', 'delayed', 'prioritized', 'waiting-children'], 0, -1);
  const out = new Map<string, BatchJob>();
  for (const j of jobs) if (j.id !== undefined && isBatchJob(j.data)) out.set(j.id, j.data);
  return out;
}

describe('a batch whose replica loses the leadership between dequeue and commit', () => {
  it('is refused by the fence, returns to its queue and is written once afterwards for the times its replica owned', async () => {
    const [worker, ingA, ingB] = apps;
    const a = replicaWriter({ url: ingA.url, group: GROUP, replica: 'a', index: 1, series: SERIES, intervalMs: INTERVAL, phaseMs: 0 });
    const b = replicaWriter({ url: ingB.url, group: GROUP, replica: 'b', index: 2, series: SERIES, intervalMs: INTERVAL, phaseMs: 500 });
    writers.push(a, b);
    a.start();
    const first = await waitForLeader(client, GROUP, 'a', 15_000);
    await Promise.race([pauseReached, new Promise((_, rej) => setTimeout(() => rej(new Error('no batch of a reached the fence')), 15_000))]);

    // The held batch is the one job active in a's queue (concurrency 1).
    const active = await queueA.getJobs(['active'], 0, -1);
    expect(active).toHaveLength(1);
    const heldId = active[0].id as string;
    const held = active[0].data as BatchJob;
    expect(isBatchJob(held)).toBe(true);

    // Move the leadership while the batch is held: a goes quiet, b writes and takes over.
    b.start();
    await a.stop();
    const lead = await waitForLeader(client, GROUP, 'b', 15_000);
    expect(lead.handoffMs ?? -Infinity, 'the cut is at or after the held batch: a accepted it').toBeGreaterThanOrEqual(held.t1);

    release();
    // The held transaction is refused at the fence; the batch is written later, under a's epoch.
    await waitFor('the held batch to be fenced', async () => {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      return /^promfleet_ha_fenced_batches_total\{queue="\{w\.g\.ra\}"\} [1-9]/m.test(text);
    }, 15_000, 100);
    await waitFor('the held batch written and gone from a\'s queue', async () => !(await jobsOfA()).has(heldId), 30_000, 200);
    const ledger = await client.query<{ id: string }>('SELECT id FROM prom.batches WHERE id LIKE $1', [`${heldId}@%`]);
    expect(ledger.rows.map((r) => r.id), 'the held batch is in the ledger once, under a\'s epoch').toEqual([`${heldId}@${first.epoch}`]);

    await new Promise((r) => setTimeout(r, 3_000));
    await b.stop();
    await waitForLastSamples(client, b, SERIES);
    const stored = await storedHaSamples(client);
    const heldSamples = a.requests.filter((r) => r.samples.some((x) => x.ts >= held.t0 && x.ts <= held.t1)).flatMap((r) => r.samples);
    for (const x of heldSamples) {
      expect((stored.get(x.series) ?? []).filter((y) => y.ts === x.ts && y.value === x.value), `held sample ${x.series}@${x.ts} stored once`).toHaveLength(1);
    }
    expect(handoffProblems(stored, a, b)).toEqual([]);
    passed = true;
  }, 90_000);
});
