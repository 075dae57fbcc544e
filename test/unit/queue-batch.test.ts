/**
 * Batch jobs name the remote-write version of their payload: 1.0 jobs (as every job queued
 * before 2.0 existed) stay v 1, 2.0 payloads are v 2, and anything else is not a batch.
 */
import { describe, expect, it } from 'vitest';
import { batchFormat, isBatchJob, makeBatchJob } from '../../src/queue/batch.js';

const id = { group: 'g', replica: 'r' };
const summary = { samples: 3, minTs: 1, maxTs: 2 };

describe('batch job format', () => {
  it('marks 2.0 payloads v 2 and keeps 1.0 jobs (old ones included) v 1', () => {
    const v1 = makeBatchJob(id, new Uint8Array([1, 2]), summary, 5, '__replica__');
    const v2 = makeBatchJob(id, new Uint8Array([1, 2]), summary, 5, '__replica__', 2);
    expect(v1).toMatchObject({ v: 1, s: '__replica__', n: 3 });
    expect(v2).toMatchObject({ v: 2, s: '__replica__', n: 3 });
    expect(batchFormat(v1)).toBe(1);
    expect(batchFormat(v2)).toBe(2);
    const queuedBefore2 = JSON.parse('{"v":1,"g":"g","r":"r","n":3,"t0":1,"t1":2,"at":5,"b":"AQI="}') as unknown;
    expect(isBatchJob(queuedBefore2)).toBe(true);
    expect(isBatchJob(queuedBefore2) && batchFormat(queuedBefore2)).toBe(1);
  });

  it('refuses versions it does not know', () => {
    expect(isBatchJob({ v: 3, b: 'AQI=', n: 1 })).toBe(false);
    expect(isBatchJob({ v: '2', b: 'AQI=', n: 1 })).toBe(false);
  });
});
