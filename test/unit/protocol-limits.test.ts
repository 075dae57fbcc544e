/**
 * The decoder's limits: each named attack is refused with its limit's code, quickly, and
 * before it allocates the millions of elements it describes; a request exactly at a limit passes.
 */
import { describe, expect, it } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import { decodeReadRequest, decodeWriteRequest, encodeReadRequest } from '../../src/protocol/index.js';
import { delimited } from '../helpers/hostile-bodies.js';
import { ingest, namedAttacks, pbLabel, pbSample, pbSeries, NOW } from '../helpers/hostile-bodies.js';
import { DEFAULT_DECODE_LIMITS } from '../helpers/limits.js';

function refusal(fn: () => unknown): PromfleetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PromfleetError);
    return err as PromfleetError;
  }
  throw new Error('expected a PromfleetError, nothing was thrown');
}

describe('decoder limits', () => {
  for (const attack of namedAttacks()) {
    it(`refuses ${attack.name} with ${attack.status} ${attack.code}, quickly and within bounded memory`, () => {
      const heapBefore = process.memoryUsage().heapUsed;
      const started = performance.now();
      const err = refusal(() => ingest(attack.body));
      const ms = performance.now() - started;
      expect(err.code).toBe(attack.code);
      expect(err.status).toBe(attack.status);
      expect(err.message).not.toMatch(/\n/);
      expect(ms).toBeLessThan(1_000);
      // The body itself is a few MiB; refused elements beyond the limit are never allocated.
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    });
  }

  it('names the flag of the limit in the message', () => {
    for (const attack of namedAttacks()) {
      if (!attack.code.startsWith('LIMIT_')) continue;
      expect(refusal(() => ingest(attack.body)).message).toMatch(/\(--web\.max-[a-z-]+\)/);
    }
  });

  it('accepts a series exactly at the label, name and value limits', () => {
    const limits = { ...DEFAULT_DECODE_LIMITS, maxLabelsPerSeries: 3, maxLabelNameBytes: 8, maxLabelValueBytes: 5 };
    const body = pbSeries(pbLabel('__name__', 'up'), pbLabel('aaaaaaaa', '12345'), pbLabel('job', 'x'), pbSample(1, NOW));
    expect(decodeWriteRequest(body, limits).timeseries[0].labels).toHaveLength(3);
    expect(refusal(() => decodeWriteRequest(body, { ...limits, maxLabelsPerSeries: 2 })).code).toBe('LIMIT_LABELS_PER_SERIES');
    expect(refusal(() => decodeWriteRequest(body, { ...limits, maxLabelNameBytes: 7 })).code).toBe('LIMIT_LABEL_NAME_LENGTH');
    expect(refusal(() => decodeWriteRequest(body, { ...limits, maxLabelValueBytes: 4 })).code).toBe('LIMIT_LABEL_VALUE_LENGTH');
  });

  it('counts samples per series, series per request and samples per request at their limits', () => {
    const one = pbSeries(pbLabel('__name__', 'up'), pbSample(1, NOW), pbSample(2, NOW + 1));
    const body = Buffer.concat([one, one, one]);
    const limits = { ...DEFAULT_DECODE_LIMITS, maxSamplesPerSeries: 2, maxSeriesPerRequest: 3, maxSamplesPerRequest: 6 };
    expect(decodeWriteRequest(body, limits).timeseries).toHaveLength(3);
    expect(refusal(() => decodeWriteRequest(body, { ...limits, maxSamplesPerSeries: 1 })).code).toBe('LIMIT_SAMPLES_PER_SERIES');
    expect(refusal(() => decodeWriteRequest(body, { ...limits, maxSeriesPerRequest: 2 })).code).toBe('LIMIT_SERIES_PER_REQUEST');
    expect(refusal(() => decodeWriteRequest(body, { ...limits, maxSamplesPerRequest: 5 })).code).toBe('LIMIT_SAMPLES_PER_REQUEST');
  });

  it('leaves no limit behind for the next decode (the worker decodes without limits)', () => {
    const one = pbSeries(pbLabel('__name__', 'up'), pbSample(1, NOW), pbSample(2, NOW + 1));
    refusal(() => decodeWriteRequest(one, { ...DEFAULT_DECODE_LIMITS, maxSamplesPerSeries: 1 }));
    expect(decodeWriteRequest(one).timeseries[0].samples).toHaveLength(2);
  });
});

describe('read decoder limits', () => {
  const q = (matchers: number) => ({ startTimestampMs: 0, endTimestampMs: 1, matchers: Array.from({ length: matchers }, (_, i) => ({ type: 'EQ' as const, name: `l${i}`, value: 'v' })) });
  const limits = { maxQueries: 2, maxMatchers: 3 };

  it('accepts a request at its limits and refuses one query or matcher more', () => {
    expect(decodeReadRequest(encodeReadRequest({ queries: [q(3), q(3)], acceptedResponseTypes: ['SAMPLES'] }), limits).queries).toHaveLength(2);
    expect(refusal(() => decodeReadRequest(encodeReadRequest({ queries: [q(1), q(1), q(1)], acceptedResponseTypes: [] }), limits)).code).toBe('LIMIT_READ_QUERIES');
    const err = refusal(() => decodeReadRequest(encodeReadRequest({ queries: [q(4)], acceptedResponseTypes: [] }), limits));
    expect(err.code).toBe('LIMIT_READ_MATCHERS');
    expect(err.message).toMatch(/query 0 .*--web\.read-max-matchers/);
  });

  it('refuses two million empty queries quickly, and keeps repeated response types to one each', () => {
    const many = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < many.length; i += 2) many[i] = 0x0a;
    const started = performance.now();
    expect(refusal(() => decodeReadRequest(many, { maxQueries: 64, maxMatchers: 64 })).code).toBe('LIMIT_READ_QUERIES');
    expect(performance.now() - started).toBeLessThan(1_000);
    const types = delimited(2, Buffer.alloc(1_000_000, 1));
    expect(decodeReadRequest(types, { maxQueries: 64, maxMatchers: 64 }).acceptedResponseTypes).toEqual(['STREAMED_XOR_CHUNKS']);
  });
});
