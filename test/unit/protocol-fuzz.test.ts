/**
 * Fuzzing the write path in-process: 100,000 mutated and random bodies through what the ingress
 * does before it enqueues (snappy, decode within limits, validate, tag, re-encode). Every body is
 * accepted or refused with a 4xx PromfleetError: nothing else is thrown, nothing hangs, and the
 * heap stays bounded. (test/integration/ingress-fuzz.test.ts sends a further 5,000 over HTTP to
 * a running ingress: 105,000 in all.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { hostileBodyArb, ingest, writeRequestArb } from '../helpers/hostile-bodies.js';
import { DEFAULT_DECODE_LIMITS } from '../helpers/limits.js';

/** Small limits as well, so the limit checks themselves meet mutated input. */
const TIGHT = { maxSeriesPerRequest: 2, maxSamplesPerRequest: 6, maxSamplesPerSeries: 3, maxLabelsPerSeries: 4, maxLabelNameBytes: 6, maxLabelValueBytes: 8 };
/** Generous: on two busy cores 60,000 bodies take over a minute; a hang still fails. */
const FUZZ_TIMEOUT_MS = 300_000;
const SEED = Number(process.env.PROMFLEET_FUZZ_SEED ?? 20261125);

let slowest = 0;
function survives(body: Uint8Array, limits = DEFAULT_DECODE_LIMITS): void {
  const started = performance.now();
  try {
    ingest(body, limits);
  } catch (err) {
    if (!(err instanceof PromfleetError)) throw err;
    if (err.status < 400 || err.status >= 500) throw new Error(`refused with ${err.status} ${err.code}: ${err.message}`);
    if (err.message.includes('\n')) throw new Error(`multi-line reason: ${err.message}`);
  }
  slowest = Math.max(slowest, performance.now() - started);
}

describe('write path fuzz (in-process, seeded)', () => {
  it('accepts every valid request it generates', () => {
    fc.assert(fc.property(writeRequestArb, (req) => {
      const decoded = ingest(snappyCompress(encodeWriteRequest(req)));
      expect(decoded.timeseries).toHaveLength(req.timeseries.length);
    }), { seed: SEED, numRuns: 5_000 });
  }, FUZZ_TIMEOUT_MS);

  it('survives 60,000 mutated and random bodies with the default limits', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    fc.assert(fc.property(hostileBodyArb, (body) => survives(body)), { seed: SEED, numRuns: 60_000 });
    expect(slowest).toBeLessThan(1_000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  }, FUZZ_TIMEOUT_MS);

  it('survives 40,000 mutated and random bodies with tight limits', () => {
    fc.assert(fc.property(hostileBodyArb, (body) => survives(body, TIGHT)), { seed: SEED + 1, numRuns: 40_000 });
    expect(slowest).toBeLessThan(1_000);
  }, FUZZ_TIMEOUT_MS);
});
