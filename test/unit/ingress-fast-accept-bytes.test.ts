/**
 * The fast way's byte-level label checks never accept what the full path refuses: for label
 * sets built byte by byte (bad names, unsorted or repeated names, NUL, invalid UTF-8, empty
 * values, a missing or empty __name__, long labels, HA labels that differ between series), a
 * request the fast way takes is one the full decode, validation, limits and tagging also take,
 * as one batch with the same identity. And it does take the usual request.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FastAccept } from '../../src/ingress/fast-accept.js';
import { tagRequest, type HaLabels } from '../../src/ingress/tag.js';
import { checkDecodedLimits, decodeWriteRequest, validateWriteRequest } from '../../src/protocol/index.js';
import { DEFAULT_DECODE_LIMITS } from '../helpers/limits.js';

const ha: HaLabels = { clusterLabel: 'cluster', replicaLabel: '__replica__', defaultGroup: undefined, defaultReplica: undefined };
/** The flags name a group and replica: series without the labels take them (groupFromFlag). */
const haDefault: HaLabels = { ...ha, defaultGroup: 'g1', defaultReplica: 'r9' };
const window = { nowMs: 1_000_000, maxAgeMs: 0, maxFutureMs: 3_600_000 };
const limits = { ...DEFAULT_DECODE_LIMITS, maxLabelsPerSeries: 6, maxLabelNameBytes: 20, maxLabelValueBytes: 40 };

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const field = (tag: number, bytes: Uint8Array | number[]) => [tag, ...varint(bytes.length), ...bytes];

/** A WriteRequest of series given as raw [name, value] byte pairs, one sample each at t = 1000. */
function rawBody(series: Array<Array<[Uint8Array, Uint8Array]>>): Uint8Array {
  const out: number[] = [];
  for (const labels of series) {
    const ts: number[] = [];
    for (const [n, v] of labels) ts.push(...field(0x0a, [...field(0x0a, n), ...field(0x12, v)]));
    ts.push(...field(0x12, [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, ...varint(1000)]));
    out.push(...field(0x0a, ts));
  }
  return Uint8Array.from(out);
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const names = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('cluster', '__replica__', 'job', 'instance', 'a', 'z', '_') },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,24}$/) },
  { weight: 1, arbitrary: fc.constantFrom('__name__', '', '1a', 'a-b', 'é') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
).map(utf8);
const values = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('up', 'g1', 'g2', 'r1', 'r2', 'é', 'x') },
  { weight: 2, arbitrary: fc.string({ maxLength: 45 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a\u0000b') },
).map(utf8);
const rawBytes = fc.uint8Array({ maxLength: 6 });
const label = fc.tuple(names, fc.oneof({ weight: 8, arbitrary: values }, { weight: 1, arbitrary: rawBytes }));
const metricName = fc.constantFrom('up', 'node_cpu_seconds_total', '', 'é').map((v): [Uint8Array, Uint8Array] => [utf8('__name__'), utf8(v)]);
const labelSet = fc.tuple(fc.option(metricName, { freq: 5 }), fc.array(label, { maxLength: 6 }), fc.boolean())
  .map(([m, ls, sorted]) => {
    const all = m === null ? ls : [m, ...ls];
    return sorted ? [...all].sort((a, b) => Buffer.compare(a[0], b[0])) : all;
  })
  .filter((ls) => ls.length > 0);

function fullPath(body: Uint8Array, labels: HaLabels) {
  try {
    const req = decodeWriteRequest(body, limits);
    checkDecodedLimits(req, limits);
    validateWriteRequest(req, window);
    return tagRequest(req, labels);
  } catch {
    return undefined;
  }
}

describe('FastAccept byte-level checks', () => {
  for (const [flags, labels, runs] of [['without --ha.group', ha, 20_000], ['with --ha.group and --ha.replica', haDefault, 10_000]] as const) {
    it(`accept only what the full path accepts, as one batch with the same identity (${flags})`, () => {
      let taken = 0;
      fc.assert(fc.property(fc.array(labelSet, { minLength: 1, maxLength: 4 }), (series) => {
        const body = rawBody(series);
        const fast = new FastAccept(labels).accept(body, window, limits);
        if (fast === undefined) return;
        taken++;
        const full = fullPath(body, labels);
        expect(full).toBeDefined();
        expect(full?.batches.length).toBe(1);
        expect(full?.batches[0].identity).toEqual(fast.identity);
        expect(full?.replicaLabelSeen).toBe(fast.replicaLabelSeen);
        expect(full?.batches[0].groupFromFlag).toBe(fast.groupFromFlag);
      }), { numRuns: runs });
      expect(taken).toBeGreaterThan(runs / 20);
    });
  }

  it('takes the usual request: valid labels under 128 bytes, one group and replica, UTF-8 values', () => {
    const s = (name: string) => [[utf8('__name__'), utf8(name)], [utf8('__replica__'), utf8('r1')], [utf8('cluster'), utf8('g')], [utf8('mode'), utf8('idlé')]] as Array<[Uint8Array, Uint8Array]>;
    const got = new FastAccept(ha).accept(rawBody([s('a'), s('b')]), window, DEFAULT_DECODE_LIMITS);
    expect(got).toEqual({ identity: { group: 'g', replica: 'r1' }, replicaLabelSeen: true, samples: 2, minTs: 1000, maxTs: 1000, groupFromFlag: false });
  });

  it('leaves NUL, invalid UTF-8, repeated names and an empty __name__ to the full path', () => {
    const f = new FastAccept(ha);
    const one = (extra: Array<[Uint8Array, Uint8Array]>) => f.accept(rawBody([[[utf8('__name__'), utf8('up')], ...extra]]), window, DEFAULT_DECODE_LIMITS);
    expect(one([[utf8('job'), utf8('ok')]])).toBeDefined();
    expect(one([[utf8('job'), utf8('a\u0000b')]])).toBeUndefined();
    expect(one([[utf8('job'), Uint8Array.from([0xc3, 0x28])]])).toBeUndefined();
    expect(one([[utf8('job'), utf8('a')], [utf8('job'), utf8('b')]])).toBeUndefined();
    expect(f.accept(rawBody([[[utf8('__name__'), utf8('')]]]), window, DEFAULT_DECODE_LIMITS)).toBeUndefined();
  });
});
