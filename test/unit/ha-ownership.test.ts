/** Ownership by data time: which replica's sample of a series is written, decided from the ownership log and the fill-in marks. */
import { describe, expect, it } from 'vitest';
import { Ownership, UNDECIDED, type OwnershipInterval } from '../../src/worker/ownership.js';

const L = 60_000;

function own(intervals: OwnershipInterval[], marks: Record<number, Record<number, number>> = {}): Ownership {
  return new Ownership(intervals, (e) => (marks[e] ? new Map(Object.entries(marks[e]).map(([k, v]) => [Number(k), v])) : undefined), L);
}

describe('ownership by data time', () => {
  it('a group that never had a leader decides nothing', () => {
    const o = own([]);
    expect(o.owner('a', 1, 1000)).toBe(UNDECIDED);
    expect(o.undecidedFrom('a')).toBe(-Infinity);
  });

  it('the ready leader of an open interval owns every time of it, others none, and nothing of it is undecided for the leader', () => {
    const o = own([{ epoch: 1, replica: 'a', fromMs: null, toMs: null, ready: true }]);
    expect(o.owner('a', 1, 5)).toBe(1);
    expect(o.undecidedFrom('a')).toBe(Infinity);
    expect(o.owner('b', 1, 5)).toBe(UNDECIDED);
  });

  it('after a resignation the closed interval is decided for its owner up to the cut, later times for nobody', () => {
    const o = own([{ epoch: 1, replica: 'a', fromMs: null, toMs: 10_000, ready: true }]);
    expect(o.owner('a', 1, 10_000)).toBe(1);
    expect(o.owner('a', 1, 10_001)).toBe(UNDECIDED);
    expect(o.owner('b', 1, 9_000)).toBeNull();
    expect(o.owner('b', 1, 10_001)).toBe(UNDECIDED);
  });

  it('while the new leader waits for its marks the old leader owns everything up to the cut and the new leader\'s fill-in region is undecided', () => {
    const o = own([
      { epoch: 1, replica: 'a', fromMs: null, toMs: 100_000, ready: true },
      { epoch: 2, replica: 'b', fromMs: 100_000, toMs: null, ready: false },
    ]);
    expect(o.owner('a', 1, 100_000)).toBe(1);
    expect(o.owner('a', 1, 99_000)).toBe(1);
    expect(o.owner('b', 1, 99_000)).toBe(UNDECIDED);
    expect(o.owner('b', 1, 100_000 - L)).toBeNull();
    expect(o.owner('b', 1, 100_001)).toBe(UNDECIDED);
    expect(o.owner('a', 1, 100_001)).toBe(UNDECIDED);
  });

  it('once ready, per series the old leader keeps up to its mark and the new leader fills in after it; a series without a mark is filled from cut - lookback', () => {
    const o = own([
      { epoch: 1, replica: 'a', fromMs: null, toMs: 100_000, ready: true },
      { epoch: 2, replica: 'b', fromMs: 100_000, toMs: null, ready: true },
    ], { 2: { 7: 95_000 } });
    expect(o.owner('a', 7, 95_000)).toBe(1);
    expect(o.owner('a', 7, 96_000)).toBeNull();
    expect(o.owner('b', 7, 95_000)).toBeNull();
    expect(o.owner('b', 7, 96_000)).toBe(2);
    expect(o.owner('b', 7, 100_500)).toBe(2);
    expect(o.owner('b', 8, 100_000 - L + 1)).toBe(2);
    expect(o.owner('a', 8, 100_000 - L + 1)).toBeNull();
    expect(o.owner('a', 8, 100_000 - L)).toBe(1);
    expect(o.epochsFor('b', 90_000, 101_000)).toEqual([2]);
    expect(o.epochsFor('a', 90_000, 101_000)).toEqual([1]);
  });

  it('a mark past the cut (a clock running ahead) keeps the new leader out of that series until it', () => {
    const o = own([
      { epoch: 1, replica: 'a', fromMs: null, toMs: 100_000, ready: true },
      { epoch: 2, replica: 'b', fromMs: 100_000, toMs: null, ready: true },
    ], { 2: { 7: 160_000 } });
    expect(o.owner('b', 7, 120_000)).toBeNull();
    expect(o.owner('b', 7, 160_001)).toBe(2);
    expect(o.owner('b', 8, 120_000)).toBe(2);
  });

  it('a replica owning two intervals gets one epoch per interval its batch touches', () => {
    const o = own([
      { epoch: 1, replica: 'a', fromMs: null, toMs: 100_000, ready: true },
      { epoch: 2, replica: 'b', fromMs: 100_000, toMs: 200_000, ready: true },
      { epoch: 3, replica: 'a', fromMs: 200_000, toMs: null, ready: true },
    ], { 2: { 1: 99_000 }, 3: { 1: 199_000 } });
    expect(o.epochsFor('a', 50_000, 250_000)).toEqual([1, 3]);
    expect(o.owner('a', 1, 150_000)).toBeNull();
    expect(o.owner('a', 1, 250_000)).toBe(3);
    expect(o.owner('b', 1, 150_000)).toBe(2);
    expect(o.owner('b', 1, 250_000)).toBe(UNDECIDED);
  });

  it('keeps a replica\'s fill-in undecided while its first interval waits for its marks, even after it leads again', () => {
    // b took over at 100 s, fell quiet before its marks were known, and leads again from the same cut.
    const waiting = own([
      { epoch: 1, replica: 'a', fromMs: null, toMs: 100_000, ready: true },
      { epoch: 2, replica: 'b', fromMs: 100_000, toMs: 100_000, ready: false },
      { epoch: 3, replica: 'b', fromMs: 100_000, toMs: null, ready: true },
    ]);
    expect(waiting.owner('b', 1, 99_500)).toBe(UNDECIDED);
    expect(waiting.owner('b', 1, 100_500)).toBe(3);
    expect(waiting.decided('b', 99_500, 100_500)).toBe(false);
    expect(waiting.decided('b', 100_200, 100_500)).toBe(true);
    expect(waiting.epochsFor('b', 99_000, 101_000)).toEqual([3]);
    expect(waiting.owner('a', 1, 99_500)).toBe(1);
    const ready = own([
      { epoch: 1, replica: 'a', fromMs: null, toMs: 100_000, ready: true },
      { epoch: 2, replica: 'b', fromMs: 100_000, toMs: 100_000, ready: true },
      { epoch: 3, replica: 'b', fromMs: 100_000, toMs: null, ready: true },
    ], { 2: { 1: 99_000 } });
    expect(ready.owner('b', 1, 99_500)).toBe(2);
    expect(ready.owner('a', 1, 99_500)).toBeNull();
    expect(ready.epochsFor('b', 99_000, 101_000)).toEqual([2, 3]);
  });
});
