/**
 * The read path's hostile input, in-process and seeded: mutated and random remote_read bodies
 * decode or are refused with a 4xx; and for any matcher a client can send, the SQL that
 * selectSeries builds holds no client character outside bind parameters ($n), so no value,
 * however quoted, can become SQL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import { decodeReadRequest, encodeReadRequest, snappyCompress, snappyDecompress, type Query } from '../../src/protocol/index.js';
import type { LabelMatcher } from '../../src/protocol/index.js';
import { PROMETHEUS_MATCHING } from '../../src/read/index.js';
import { selectSeries } from '../../src/storage/index.js';
import { mutate, mutationArb } from '../helpers/hostile-bodies.js';

const SEED = Number(process.env.PROMFLEET_FUZZ_SEED ?? 20261125);
const hostileString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("'", '"', '\\', '$', '$$', ';', '--', '/*', '*/', '\0', '.', '*', '(', ')', '[', ']', '|', '?', '+', '{', '}', '^', 'a', 'é', '\n', '%', '_', 'E'), maxLength: 16 }),
);
const matcherArb: fc.Arbitrary<LabelMatcher> = fc.record({
  type: fc.constantFrom('EQ' as const, 'NEQ' as const, 'RE' as const, 'NRE' as const),
  name: fc.oneof(fc.constant('__name__'), fc.constant('job'), hostileString),
  value: hostileString,
});
const queryArb: fc.Arbitrary<Query> = fc.record({
  startTimestampMs: fc.integer({ min: 0, max: 2 ** 42 }), endTimestampMs: fc.integer({ min: 0, max: 2 ** 42 }),
  matchers: fc.array(matcherArb, { maxLength: 4 }),
});

function refusedWith4xx(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof PromfleetError) || err.status < 400 || err.status >= 500) throw err;
  }
}

describe('read path fuzz (in-process, seeded)', () => {
  it('decodes or refuses with 4xx 20,000 mutated and random read requests', () => {
    const body = fc.oneof(
      fc.tuple(fc.array(queryArb, { minLength: 1, maxLength: 3 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
        .map(([queries, ms]) => snappyCompress(mutate(encodeReadRequest({ queries, acceptedResponseTypes: ['SAMPLES', 'STREAMED_XOR_CHUNKS'] }), ms))),
      fc.uint8Array({ maxLength: 200 }),
    );
    fc.assert(fc.property(body, (b) => refusedWith4xx(() => {
      for (const q of decodeReadRequest(snappyDecompress(b, 1 << 20)).queries) selectSeries(q.matchers, PROMETHEUS_MATCHING);
    })), { seed: SEED, numRuns: 20_000 });
  });

  it('builds SQL in which every client string is a bind parameter', () => {
    fc.assert(fc.property(fc.array(matcherArb, { minLength: 1, maxLength: 4 }), (ms) => {
      let sel: ReturnType<typeof selectSeries>;
      try {
        sel = selectSeries(ms, PROMETHEUS_MATCHING);
      } catch (err) {
        if (err instanceof PromfleetError && err.code === 'BAD_REQUEST') return;
        throw err;
      }
      // The only quotes in the SQL are the template's own '' literal; the only $ are placeholders.
      const sql = sel.where.replace(/''/g, '').replace(/\$\d+/g, '');
      expect(sql).not.toMatch(/['"\\;$\0]|--|\/\*/);
      expect(sql).toMatch(/^[A-Za-z0-9_\s(),:=<>~!@>-]*$/);
      for (const p of sel.params) expect(typeof p).toBe('string');
    }), { seed: SEED, numRuns: 20_000 });
  });
});
