/**
 * Follower retention in bulk, against the real queue store: one call removes up to 2,000
 * redundant follower jobs (the leader committed past their newest sample by the margin), with
 * their backlog count, so a scan keeps up with a follower sending thousands of jobs a second;
 * jobs with a part their replica still owns are kept; jobs left active with no worker holding
 * them go back to the end of the wait list that is taken first.
 */
import { pino } from 'pino';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, SWEEP_PAGE, queueName, type QueueBackend } from '../../src/queue/index.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { openTestBackend, queueStore, takeJobs } from '../helpers/queue-store.js';
import { uniqueName } from '../helpers/services.js';

const JOBS = 10_000;
const SAMPLES = 10;
const QUEUE = queueName({ group: 'g', replica: 'b' });
let prefix: string;
let backend: QueueBackend;
let queue: Queue;
let producer: Producer;
/** The id of job 10, whose samples are in [10 s, 10.5 s]. */
let job10: string;

beforeAll(async () => {
  prefix = uniqueName('pfsweep');
  backend = await openTestBackend(prefix);
  queue = backend.bull.queue(QUEUE);
  producer = new Producer({ ...queueStore(prefix), log: pino({ level: 'silent' }), coalesce: { maxParts: 1, maxSamples: 1e9, maxBytes: 1e9, waitMs: 0 } });
  await producer.start();
  // Job i holds samples in [i s, i s + 500 ms]; distinct payloads make distinct job ids. 100 adds
  // at a time: a PostgreSQL queue's handle has a small pool, and a request waiting for it longer
  // than the producer's connect timeout would fail.
  for (let i = 0; i < JOBS; i += 100) {
    const added = await producer.enqueue(Array.from({ length: 100 }, (_, k) => ({
      identity: { group: 'g', replica: 'b' },
      payload: Buffer.from(`job ${i + k}`),
      summary: { samples: SAMPLES, minTs: (i + k) * 1000, maxTs: (i + k) * 1000 + 500 },
    })), Date.now());
    if (i === 0) job10 = added[10].id;
  }
}, 120_000);

afterAll(async () => {
  await producer?.stop();
  await queue?.close();
  await backend?.close();
  if (prefix) await deleteRedisPrefix(prefix);
});

describe('the follower sweep', () => {
  it('removes 2,000 redundant jobs per call with their backlog, and keeps what is not covered or still owned', async () => {
    const index = backend.index;
    expect((await backend.depth(QUEUE)).wait).toBe(JOBS);
    expect(await index.size(QUEUE)).toBe(JOBS);
    const backlogBefore = await backend.backlog.total([QUEUE]);
    expect(backlogBefore).toBe(JOBS * SAMPLES);
    // The leader covered everything up to 9,000 s (the margin already taken off); the owner's own
    // part of job 10 was written (up to 10.5 s), so only follower data is left in it.
    await index.writtenThrough(QUEUE, job10, 10_500);
    const started = process.hrtime.bigint();
    const { jobs: removed, calls } = await index.dropRedundant(QUEUE, 9_000 * 1000, 10_500);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.info(`swept ${removed} follower jobs in ${calls} calls, ${ms.toFixed(0)} ms (${Math.round(removed / (ms / 1000))} jobs/s)`);
    // Jobs 0..9 start at or before 10.5 s: their owner may still write part of them. Jobs
    // 10..8999 end by 9,000 s and go.
    expect(removed).toBe(8_990);
    // One round trip per SWEEP_PAGE jobs looked at (9,000 of them).
    expect(calls).toBe(Math.ceil(9_000 / SWEEP_PAGE));
    expect((await backend.depth(QUEUE)).wait).toBe(JOBS - removed);
    expect(await index.size(QUEUE)).toBe(JOBS - removed);
    expect(await backend.backlog.total([QUEUE])).toBe(backlogBefore - removed * SAMPLES);
    // What is left waiting are whole jobs: none removed half-way.
    const left = await queue.getJobs(['wait'], 0, -1);
    expect(left).toHaveLength(JOBS - removed);
    expect(left.every((j) => !!j.id && j.data !== undefined && j.data !== null)).toBe(true);
    expect(left.some((j) => j.id === job10)).toBe(false);
  });

  it('puts jobs left active with no worker holding them back where they are taken first', async () => {
    // Two jobs taken by a worker that died (their locks, 1 ms, are gone); a third held by a live one.
    const dead = await takeJobs(prefix, QUEUE, 2, 1);
    const held = await takeJobs(prefix, QUEUE, 1, 30_000);
    expect(dead).toHaveLength(2);
    expect(held).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(await backend.index.isLocked(QUEUE, held[0])).toBe(true);
    expect(await backend.index.isLocked(QUEUE, dead[0])).toBe(false);
    expect(await backend.index.recoverActive(QUEUE)).toBe(2);
    expect((await queue.getJobs(['active'], 0, -1)).map((j) => j.id)).toEqual(held);
    // The oldest is taken first again, then the other one, before any job that was waiting.
    expect(await takeJobs(prefix, QUEUE, 2, 30_000)).toEqual(dead);
  });
});
