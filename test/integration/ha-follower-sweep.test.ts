/**
 * Follower retention in bulk, against the real Redis: one script call removes up to 2,000
 * redundant follower jobs (the leader committed past their newest sample by the margin), with
 * their backlog count, so a scan keeps up with a follower sending thousands of jobs a second;
 * jobs with a part their replica still owns are kept; jobs left active with no worker holding
 * them go back to the end of the wait list that is taken first.
 */
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, QueueTimeIndex, SWEEP_PAGE, queueName } from '../../src/queue/index.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { redisUrl, uniqueName } from '../helpers/services.js';

const JOBS = 10_000;
const SAMPLES = 10;
const QUEUE = queueName({ group: 'g', replica: 'b' });
let prefix: string;
let redis: Redis;
let producer: Producer;
let index: QueueTimeIndex;

beforeAll(async () => {
  prefix = uniqueName('pfsweep');
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  index = new QueueTimeIndex(redis, prefix);
  producer = new Producer({ redisUrl: redisUrl(), prefix, log: pino({ level: 'silent' }), coalesce: { maxParts: 1, maxSamples: 1e9, maxBytes: 1e9, waitMs: 0 } });
  await producer.start();
  // Job i holds samples in [i s, i s + 500 ms]; distinct payloads make distinct job ids.
  for (let i = 0; i < JOBS; i += 500) {
    await producer.enqueue(Array.from({ length: 500 }, (_, k) => ({
      identity: { group: 'g', replica: 'b' },
      payload: Buffer.from(`job ${i + k}`),
      summary: { samples: SAMPLES, minTs: (i + k) * 1000, maxTs: (i + k) * 1000 + 500 },
    })), Date.now());
  }
}, 120_000);

afterAll(async () => {
  await producer?.stop();
  redis?.disconnect();
  if (prefix) await deleteRedisPrefix(prefix);
});

const key = (s: string) => `${prefix}:${QUEUE}:${s}`;

describe('the follower sweep', () => {
  it('removes 2,000 redundant jobs per call with their backlog, and keeps what is not covered or still owned', async () => {
    expect(await redis.llen(key('wait'))).toBe(JOBS);
    expect(await index.size(QUEUE)).toBe(JOBS);
    const backlogBefore = Number(await redis.get(key('backlog-samples')));
    // The leader covered everything up to 9,000 s (the margin already taken off); the owner's own
    // part of job 10 was written (up to 10.5 s), so only follower data is left in it.
    await index.writtenThrough(QUEUE, (await redis.zrangebyscore(key('t0'), 10_000, 10_000))[0], 10_500);
    const started = process.hrtime.bigint();
    const { jobs: removed, calls } = await index.dropRedundant(QUEUE, 9_000 * 1000, 10_500);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.info(`swept ${removed} follower jobs in ${calls} calls, ${ms.toFixed(0)} ms (${Math.round(removed / (ms / 1000))} jobs/s)`);
    // Jobs 0..9 start at or before 10.5 s: their owner may still write part of them. Jobs
    // 10..8999 end by 9,000 s and go.
    expect(removed).toBe(8_990);
    // One round trip per SWEEP_PAGE jobs looked at (9,000 of them).
    expect(calls).toBe(Math.ceil(9_000 / SWEEP_PAGE));
    expect(await redis.llen(key('wait'))).toBe(JOBS - removed);
    expect(await index.size(QUEUE)).toBe(JOBS - removed);
    expect(Number(await redis.get(key('backlog-samples')))).toBe(backlogBefore - removed * SAMPLES);
    const left = await redis.lrange(key('wait'), 0, -1);
    expect(left.every((id) => !!id)).toBe(true);
    expect(await redis.exists(key(left[0]))).toBe(1);
  });

  it('puts jobs left active with no worker holding them back where they are taken first', async () => {
    const taken: string[] = [];
    for (let k = 0; k < 3; k++) taken.push((await redis.rpoplpush(key('wait'), key('active'))) as string);
    // The third is held by a live worker (its lock is there).
    await redis.set(`${key(taken[2])}:lock`, 'token', 'PX', 30_000);
    expect(await index.recoverActive(QUEUE)).toBe(2);
    expect(await redis.lrange(key('active'), 0, -1)).toEqual([taken[2]]);
    // The oldest ends up last, where RPOPLPUSH takes from.
    expect(await redis.lrange(key('wait'), -2, -1)).toEqual([taken[1], taken[0]]);
  });
});
