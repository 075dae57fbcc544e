/**
 * Silences in a replica's data, against the real Redis: a job that starts more than the
 * Prometheus timeout after what was accepted before records the silence, with where the data
 * resumes; a cut inside that silence learns where the replica's data resumes, a cut while the
 * replica is still silent is pending, and a cut across continuous data asks for nothing.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueTimeIndex, queueName } from '../../src/queue/index.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { redisUrl, uniqueName } from '../helpers/services.js';

const TIMEOUT = 2_000;
const A = queueName({ group: 'g', replica: 'a' });
let prefix: string;
let redis: Redis;
let index: QueueTimeIndex;

beforeAll(() => {
  prefix = uniqueName('pfsilence');
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  index = new QueueTimeIndex(redis, prefix);
});

afterAll(async () => {
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

describe('silences in a replica\'s data', () => {
  it('records where the data resumes, and tells a cut inside the silence', async () => {
    // Data every second up to 10 s, then silent until 20 s.
    for (let t = 1_000; t <= 10_000; t += 1_000) await index.raiseAccepted(A, t - 800, t, TIMEOUT);
    expect(await index.resumesAfter(A, 9_500, TIMEOUT), 'a cut within its data').toBeUndefined();
    expect(await index.resumesAfter(A, 15_000, TIMEOUT), 'silent, nothing accepted since').toBe('pending');
    expect(await index.resumesAfter(A, 11_000, TIMEOUT), 'within the timeout of its last sample').toBeUndefined();
    await index.raiseAccepted(A, 20_000, 20_800, TIMEOUT);
    expect(await index.resumesAfter(A, 15_000, TIMEOUT)).toBe(20_000);
    expect(await index.quietAfter(A, 5_000), 'the watermark from before the silence').toBe(10_000);
    expect(await index.resumesAfter(A, 20_500, TIMEOUT), 'a cut after it resumed').toBeUndefined();
    expect(await index.resumesAfter(A, 5_000, TIMEOUT), 'a cut before the silence').toBeUndefined();
  });

  it('reads a silence recorded in the older format (no resumption) as before', async () => {
    const q = queueName({ group: 'g', replica: 'old' });
    await redis.zadd(`${prefix}:${q}:quiet`, 7_000, '7000');
    await redis.set(`${prefix}:${q}:accepted`, '30000');
    expect(await index.quietAfter(q, 1_000)).toBe(7_000);
    expect(await index.resumesAfter(q, 8_000, TIMEOUT)).toBeUndefined();
  });
});
