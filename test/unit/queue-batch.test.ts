/**
 * Batch jobs name the remote-write version of their payload: 1.0 jobs (as every job queued
 * before 2.0 existed) stay v 1, 2.0 payloads are v 2, and anything else is not a batch.
 */
import { describe, expect, it } from 'vitest';
import { batchFormat, isBatchJob, isQueuedJob, jobBatches, makeBatchJob, makeJob, narrowJob, partCount, partsJobId } from '../../src/queue/batch.js';

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

describe('jobs of several batches', () => {
  const parts = [
    { id: 'id-a', payload: new Uint8Array([1, 2]), format: 1 as const, summary: { samples: 3, minTs: 10, maxTs: 20 }, stripLabel: '__replica__', receivedAtMs: 7 },
    { id: 'id-b', payload: new Uint8Array([3]), format: 2 as const, summary: { samples: 0, minTs: 0, maxTs: 0 }, receivedAtMs: 5 },
    { id: 'id-c', payload: new Uint8Array([4, 5, 6]), format: 1 as const, summary: { samples: 4, minTs: 5, maxTs: 15 }, receivedAtMs: 9 },
  ];

  it('keeps a lone batch in the one-batch encoding, its job id its batch id', () => {
    const { jobId, data } = makeJob(id, parts.slice(0, 1));
    expect(jobId).toBe('id-a');
    expect(data).toEqual(makeBatchJob(id, parts[0].payload, parts[0].summary, 7, '__replica__', 1));
  });

  it('puts several batches in a v 3 job with totals over the parts, each part keeping its id, format and strip label', () => {
    const { jobId, data } = makeJob(id, parts);
    expect(data).toMatchObject({ v: 3, g: 'g', r: 'r', n: 7, t0: 5, t1: 20, at: 5 });
    expect(jobId).toBe(partsJobId(['id-c', 'id-a', 'id-b']));
    expect(jobId).not.toBe(partsJobId(['id-a', 'id-b']));
    const json = JSON.parse(JSON.stringify(data)) as unknown;
    expect(isQueuedJob(json)).toBe(true);
    expect(isQueuedJob(json) && partCount(json)).toBe(3);
    const batches = isQueuedJob(json) ? jobBatches(jobId, json) : [];
    expect(batches.map((b) => [b.id, b.format, b.strip, b.samples, [...b.payload], b.group, b.replica])).toEqual([
      ['id-a', 1, '__replica__', 3, [1, 2], 'g', 'r'],
      ['id-b', 2, undefined, 0, [3], 'g', 'r'],
      ['id-c', 1, undefined, 4, [4, 5, 6], 'g', 'r'],
    ]);
  });

  it('is refused by a worker that predates it (not a one-batch job), so it goes to the failed set instead of being misread', () => {
    const { data } = makeJob(id, parts);
    expect(isBatchJob(JSON.parse(JSON.stringify(data)))).toBe(false);
  });

  it('narrows a dead letter to its refused batches, and only a job of several', () => {
    const { data } = makeJob(id, parts);
    const narrowed = narrowJob(data, new Set(['id-c']));
    expect(narrowed).toMatchObject({ v: 3, n: 4, t0: 5, t1: 20 });
    expect(narrowed?.p.map((p) => p.i)).toEqual(['id-c']);
    expect(narrowJob(data, new Set(['id-a', 'id-b', 'id-c']))).toBeUndefined();
    expect(narrowJob(data, new Set(['other']))).toBeUndefined();
    expect(narrowJob(makeJob(id, parts.slice(0, 1)).data, new Set(['id-a']))).toBeUndefined();
  });

  it('carries the group label to add (c) per batch, only where set, and back out with the group to give it', () => {
    const flagged = { ...parts[2], groupLabel: 'cluster' };
    const lone = makeJob(id, [flagged]);
    expect(lone.data).toMatchObject({ v: 1, g: 'g', c: 'cluster' });
    expect(jobBatches(lone.jobId, lone.data).map((b) => b.groupLabel)).toEqual(['cluster']);
    // No c key at all when unset: jobs stay as they were.
    expect(Object.keys(makeJob(id, parts.slice(1, 2)).data)).not.toContain('c');
    const several = makeJob(id, [parts[0], parts[1], flagged]);
    const json = JSON.parse(JSON.stringify(several.data)) as unknown;
    expect(isQueuedJob(json)).toBe(true);
    const batches = isQueuedJob(json) ? jobBatches(several.jobId, json) : [];
    expect(batches.map((b) => [b.id, b.strip, b.groupLabel])).toEqual([['id-a', '__replica__', undefined], ['id-b', undefined, undefined], ['id-c', undefined, 'cluster']]);
    expect(narrowJob(several.data, new Set(['id-c']))?.p.map((p) => p.c)).toEqual(['cluster']);
    // Without a group there is nothing to add.
    const ungrouped = makeJob({ group: undefined, replica: undefined }, [flagged]);
    expect(jobBatches(ungrouped.jobId, ungrouped.data)[0].groupLabel).toBeUndefined();
  });

  it('a one-batch job unpacks to its job id', () => {
    const one = makeBatchJob(id, new Uint8Array([9]), summary, 5, undefined, 2);
    expect(jobBatches('job-1', one).map((b) => [b.id, b.format, b.samples, [...b.payload]])).toEqual([['job-1', 2, 3, [9]]]);
  });

  it('refuses malformed jobs of parts', () => {
    expect(isQueuedJob({ v: 3, n: 1, p: [] })).toBe(false);
    expect(isQueuedJob({ v: 3, n: 1, p: [{ i: 'x', v: 3, n: 1, b: '' }] })).toBe(false);
    expect(isQueuedJob({ v: 3, n: 1, p: [{ v: 1, n: 1, b: '' }] })).toBe(false);
  });
});
