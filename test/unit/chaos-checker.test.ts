/**
 * The soak's checker on synthetic data: a clean handoff from a to b passes, and each rule fails
 * on a run made to break it (and only it).
 */
import { describe, expect, it } from 'vitest';
import { formatProblems, soakProblems, type SoakData } from '../helpers/chaos/checker.js';
import type { OwnershipRow } from '../helpers/chaos/ownership.js';
import { canaryProblems } from '../helpers/chaos/sanity.js';
import type { SentSample, StoredSample } from '../helpers/ha-load.js';

const A = 1_000_000;
const B = 2_000_000;
/** a owns (-inf, 10000], b owns (10000, +inf). */
const HANDOFF: OwnershipRow[] = [{ epoch: 1, replica: 'a', fromMs: null, toMs: 10_000 }, { epoch: 2, replica: 'b', fromMs: 10_000, toMs: null }];

/** a samples at 1000, 2000, … 20000; b at 1500, 2500, … 20500 (one series, interval 1 s). */
const aSent: SentSample[] = Array.from({ length: 20 }, (_, k) => ({ series: 0, ts: (k + 1) * 1000, value: A + k }));
const bSent: SentSample[] = Array.from({ length: 20 }, (_, k) => ({ series: 0, ts: (k + 1) * 1000 + 500, value: B + k }));

function st(samples: readonly SentSample[]): StoredSample[] {
  return samples.map((s) => ({ ts: s.ts, value: s.value }));
}

/** Stored: a's samples up to 10000, b's after. */
const clean = [...st(aSent.filter((s) => s.ts <= 10_000)), ...st(bSent.filter((s) => s.ts > 10_000))];

function data(stored: StoredSample[], over: Partial<SoakData> = {}): SoakData {
  return {
    series: 1, intervalMs: 1000, spreadMs: 0, takeoverMs: 0, stored: new Map([[0, stored]]), ownership: HANDOFF,
    replicas: [{ replica: 'a', index: 1, sent: aSent, accepted: aSent }, { replica: 'b', index: 2, sent: bSent, accepted: bSent }],
    ...over,
  };
}

function rules(d: SoakData): string[] {
  return [...new Set(soakProblems(d).map((p) => p.rule))];
}

describe('the chaos soak checker', () => {
  it('passes a clean handoff from a to b', () => {
    expect(soakProblems(data(clean))).toEqual([]);
  });

  it('ownership: a log with a hole between two epochs', () => {
    const broken: OwnershipRow[] = [HANDOFF[0], { ...HANDOFF[1], fromMs: 11_000 }];
    expect(rules(data(clean, { ownership: broken }))).toEqual(['ownership']);
  });

  it('rule 1: a time stored twice', () => {
    const stored = [...clean, { ts: 5000, value: A + 4 }];
    expect(rules(data(stored))).toEqual(['rule 1']);
    expect(soakProblems(data(stored))[0].text).toContain('time 5000 stored 2 times');
  });

  it('rule 1: a stored sample no writer sent', () => {
    const stored = clean.map((s) => (s.ts === 5000 ? { ts: 5000, value: A + 999 } : s));
    expect(rules(data(stored))).toEqual(['rule 1', 'rule 3']);
    expect(soakProblems(data(stored))[0].text).toContain('no writer sent: 5000=1000999');
  });

  it('rule 2: replicas interleaving around the boundary', () => {
    const stored = clean.filter((s) => s.ts !== 10_000).concat([{ ts: 9500, value: B + 8 }, { ts: 10_000, value: A + 9 }]);
    expect(rules(data(stored))).toEqual(['rule 2']);
    expect(soakProblems(data(stored))[0].text).toContain('changes 3 times, the ownership log changes owner 1 times');
  });

  it('rule 2: samples of a replica stored far outside the range it owned', () => {
    // a's samples go on to 12000 where b's (not accepted) were not stored.
    const stored = [...st(aSent.filter((s) => s.ts <= 12_000)), ...st(bSent.filter((s) => s.ts > 12_000))];
    const bAccepted = bSent.filter((s) => s.ts < 10_000 || s.ts > 12_000);
    const d = data(stored, { replicas: [{ replica: 'a', index: 1, sent: aSent, accepted: aSent }, { replica: 'b', index: 2, sent: bSent, accepted: bAccepted }] });
    expect(rules(d)).toEqual(['rule 2']);
    expect(soakProblems(d)[0].text).toBe('series 0: 1 samples of a at 12000 lie outside every range it owned (±1000 ms); owner there: epoch 2 b (10000, +inf]');
  });

  it('rule 3: a sample the owner had accepted is not stored', () => {
    const stored = clean.filter((s) => s.ts !== 7000);
    expect(rules(data(stored))).toEqual(['rule 3']);
    expect(soakProblems(data(stored))[0].text).toBe('series 0: 1 of the 10 samples a had accepted in its epoch 1 a (-inf, 10000] are not stored: 7000');
  });

  it('rule 4: a gap while the other replica had samples accepted all along', () => {
    const aAccepted = aSent.filter((s) => s.ts < 4000 || s.ts > 7000);
    const stored = clean.filter((s) => s.ts < 4000 || s.ts > 7000);
    const d = data(stored, { replicas: [{ replica: 'a', index: 1, sent: aSent, accepted: aAccepted }, { replica: 'b', index: 2, sent: bSent, accepted: bSent }] });
    expect(rules(d)).toEqual(['rule 4']);
    expect(soakProblems(d)[0].text).toBe('series 0: gap of 5000 ms between 3000 (a) and 8000 (a) with 5 accepted samples inside, 5 not excused: 3500, 4500, 5500, 6500 … (+1); owners: epoch 1 a (-inf, 10000]');
    // However long the takeover may take: b was live throughout.
    expect(rules({ ...d, takeoverMs: 10_000 })).toEqual(['rule 4']);
  });

  it('rule 4: excused when nobody had a sample accepted, or the other replica went down and came back with the owner', () => {
    const aAccepted = aSent.filter((s) => s.ts < 4000 || s.ts > 7000);
    const stored = clean.filter((s) => s.ts < 4000 || s.ts > 7000);
    const nobody = bSent.filter((s) => s.ts < 3000 || s.ts > 8000);
    expect(soakProblems(data(stored, { replicas: [{ replica: 'a', index: 1, sent: aSent, accepted: aAccepted }, { replica: 'b', index: 2, sent: bSent, accepted: nobody }] }))).toEqual([]);
    // b's last sample half an interval after a's last, its first half an interval before a's first.
    const together = bSent.filter((s) => s.ts <= 3500 || s.ts >= 7500);
    expect(soakProblems(data(stored, { replicas: [{ replica: 'a', index: 1, sent: aSent, accepted: aAccepted }, { replica: 'b', index: 2, sent: bSent, accepted: together }] }))).toEqual([]);
  });

  it('rule 4: a replica\'s own accepted samples after its last stored one are never excused', () => {
    // a owns up to 3000 and had 4000-7000 accepted; b, owner from 3000 on, was down until 8500.
    const own: OwnershipRow[] = [{ epoch: 1, replica: 'a', fromMs: null, toMs: 3000 }, { epoch: 2, replica: 'b', fromMs: 3000, toMs: null }];
    const stored = [...st(aSent.filter((s) => s.ts <= 3000)), ...st(bSent.filter((s) => s.ts >= 8500))];
    const aAccepted = aSent.filter((s) => s.ts <= 7000);
    const bAccepted = bSent.filter((s) => s.ts < 3000 || s.ts >= 8500);
    const d = data(stored, { ownership: own, takeoverMs: 10_000, replicas: [{ replica: 'a', index: 1, sent: aSent, accepted: aAccepted }, { replica: 'b', index: 2, sent: bSent, accepted: bAccepted }] });
    expect(rules(d)).toEqual(['rule 4']);
    expect(soakProblems(d)[0].text).toContain('with 4 accepted samples inside, 4 not excused: 4000, 5000, 6000, 7000');
  });

  it('the canary: taking away one of the newest owner\'s stored samples is seen as a loss', () => {
    expect(canaryProblems(data(clean))).toEqual([]);
    // Nothing of b stored: a's newest sample is taken away instead.
    expect(canaryProblems(data(clean.filter((s) => s.ts <= 10_000)))).toEqual([]);
    expect(canaryProblems(data([]))).toEqual(['canary: no owner has an accepted sample of series 0 stored in its range']);
  });

  it('formats at most the given number of problems, every rule getting a turn', () => {
    const many = [
      ...Array.from({ length: 10 }, (_, k) => ({ rule: 'rule 3' as const, text: `lost ${k}` })),
      { rule: 'rule 4' as const, text: 'gap' },
    ];
    const lines = formatProblems(many, 3);
    expect(lines).toEqual(['rule 3: 10 problem(s)', 'rule 4: 1 problem(s)', 'rule 3: lost 0', 'rule 3: lost 1', 'rule 4: gap', '… and 8 more']);
  });
});
