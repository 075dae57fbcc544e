/**
 * Checks on stored series across an HA handoff, and a small reader of Prometheus's text
 * exposition format. Pure functions: the tests fetch the data, these say what is wrong with it.
 */

/** One sample: Unix milliseconds and a float value. */
export interface TimedSample { readonly timeMs: number; readonly value: number }

/**
 * A float as an exact, comparable key (same rules as the e2e tests' valueKey): equal doubles
 * give equal keys, and NaN, -0 and the infinities are told apart from everything else.
 */
function valueText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

export function sampleKey(s: TimedSample): string {
  return `${s.timeMs} ${valueText(s.value)}`;
}

function show(samples: readonly TimedSample[], max = 6): string {
  const shown = samples.slice(0, max).map(sampleKey).join(', ');
  return samples.length > max ? `${shown}, … (${samples.length})` : shown;
}

/** Where two sample lists first differ, for a failure message; undefined when they are equal. */
function firstDifference(got: readonly TimedSample[], want: readonly TimedSample[]): string | undefined {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const g = got[i];
    const w = want[i];
    if (g !== undefined && w !== undefined && sampleKey(g) === sampleKey(w)) continue;
    return `at #${i}: stored ${g === undefined ? 'nothing' : sampleKey(g)}, expected ${w === undefined ? 'nothing' : sampleKey(w)}`
      + ` (stored ${got.length}, expected ${want.length})`;
  }
  return undefined;
}

export interface HandoffInput {
  /** What storage holds for the series inside the window, ordered by time. */
  readonly stored: readonly TimedSample[];
  /** The old leader's raw samples inside the window, read from its own TSDB just before it was killed. */
  readonly first: readonly TimedSample[];
  /**
   * When the old leader was killed (ms). Its snapshot was read just before: at most one sample
   * per series scraped between the snapshot and the kill may have been shipped without being in
   * the snapshot; such a sample is accepted as the old leader's when it is newer than the
   * snapshot's newest by one scrape interval (± `tailToleranceMs`), not newer than the kill,
   * and last of the old leader's part.
   */
  readonly firstKilledAtMs: number;
  /** The old leader's scrape interval (ms). */
  readonly scrapeIntervalMs: number;
  /** How far the unverified sample may be from snapshot's newest + one interval (default 250 ms). */
  readonly tailToleranceMs?: number;
  /** The survivor's raw samples inside the window. */
  readonly second: readonly TimedSample[];
  /** Window end: stored and raw samples are compared up to here (inclusive). */
  readonly windowEndMs: number;
}

export interface HandoffReport {
  /** Empty when the series passed every check. */
  readonly problems: string[];
  /** Stored samples attributed to the old leader (verified against its snapshot). */
  readonly firstCount: number;
  /** 0 or 1: the old leader's sample from between its snapshot and its kill (see HandoffInput). */
  readonly unverifiedTail: number;
  readonly secondCount: number;
  /** The old leader's last stored sample time. */
  readonly lastFirstMs: number | undefined;
  /** The survivor's first stored sample time. */
  readonly firstSecondMs: number | undefined;
  /** firstSecondMs − lastFirstMs. */
  readonly handoffGapMs: number | undefined;
}

/**
 * One series across a failover from `first` (the old leader) to `second` (the survivor):
 * - no two stored samples share a timestamp (no overlap, no duplicate);
 * - every stored sample is a sample of the replica owning its time: a prefix of the old
 *   leader's samples, then the survivor's, never interleaved;
 * - nothing is lost: the old leader's part is every one of its raw samples up to its last
 *   stored one, and the survivor's part is every one of its raw samples after that, up to the
 *   window end (so it begins with the first sample the survivor scraped after the old leader's
 *   last stored sample).
 */
export function checkHandoff(input: HandoffInput): HandoffReport {
  const { stored, first, second } = input;
  const problems: string[] = [];
  for (let i = 1; i < stored.length; i++) {
    if (stored[i].timeMs <= stored[i - 1].timeMs) {
      problems.push(`duplicate or unordered timestamps: ${sampleKey(stored[i - 1])} then ${sampleKey(stored[i])}`);
    }
  }
  const firstKeys = new Set(first.map(sampleKey));
  const secondKeys = new Set(second.map(sampleKey));
  const firstByTime = new Map(first.map((s) => [s.timeMs, s]));
  const secondByTime = new Map(second.map((s) => [s.timeMs, s]));
  const snapshotNewest = first.length > 0 ? first[first.length - 1].timeMs : -Infinity;

  // The old leader's part: the longest prefix of its own samples…
  let k = 0;
  while (k < stored.length && firstKeys.has(sampleKey(stored[k]))) k++;
  const verified = k;
  // …plus at most one sample scraped between its snapshot and its kill (known to neither list).
  let unverifiedTail = 0;
  if (k < stored.length) {
    const s = stored[k];
    const key = sampleKey(s);
    const nextScrapeMs = snapshotNewest + input.scrapeIntervalMs;
    const onSchedule = Math.abs(s.timeMs - nextScrapeMs) <= (input.tailToleranceMs ?? 250);
    if (!firstKeys.has(key) && !secondKeys.has(key) && onSchedule && s.timeMs <= input.firstKilledAtMs) {
      unverifiedTail = 1;
      k++;
    }
  }
  for (let i = k; i < stored.length; i++) {
    const s = stored[i];
    const key = sampleKey(s);
    if (secondKeys.has(key)) continue;
    if (firstKeys.has(key)) {
      problems.push(`interleaved: the old leader's sample ${key} follows the survivor's ${sampleKey(stored[k])}`);
    } else {
      const a = firstByTime.get(s.timeMs);
      const b = secondByTime.get(s.timeMs);
      problems.push(`stored ${key} is a sample of neither replica (old leader at that time: ${a ? sampleKey(a) : 'none'}, survivor: ${b ? sampleKey(b) : 'none'})`);
    }
  }

  const firstPart = stored.slice(0, k);
  const secondPart = stored.slice(k);
  if (firstPart.length === 0) problems.push('no stored sample of the old leader in the window');
  if (secondPart.length === 0) problems.push('no stored sample of the survivor in the window');
  const lastFirstMs = firstPart.length > 0 ? firstPart[firstPart.length - 1].timeMs : undefined;
  const firstSecondMs = secondPart.length > 0 ? secondPart[0].timeMs : undefined;

  if (verified > 0) {
    const lastVerifiedMs = stored[verified - 1].timeMs;
    const want = first.filter((s) => s.timeMs <= lastVerifiedMs);
    const diff = firstDifference(stored.slice(0, verified), want);
    if (diff !== undefined) problems.push(`old leader's part is not all of its samples up to its last stored one: ${diff}`);
  }
  if (lastFirstMs !== undefined) {
    const want = second.filter((s) => s.timeMs > lastFirstMs && s.timeMs <= input.windowEndMs);
    const diff = firstDifference(secondPart, want);
    if (diff !== undefined) {
      problems.push(`survivor's part is not all of its samples after the old leader's last stored one (${lastFirstMs}): ${diff};`
        + ` survivor around the handoff: ${show(second.filter((s) => s.timeMs > lastFirstMs - 3_000 && s.timeMs <= lastFirstMs + 3_000))}`);
    }
  }
  return {
    problems,
    firstCount: verified,
    unverifiedTail,
    secondCount: secondPart.length,
    lastFirstMs,
    firstSecondMs,
    handoffGapMs: lastFirstMs !== undefined && firstSecondMs !== undefined ? firstSecondMs - lastFirstMs : undefined,
  };
}

/**
 * The longest time between consecutive stored samples among the pairs that touch
 * [fromMs, toMs]; undefined when fewer than two samples are involved.
 */
export function maxGapAround(stored: readonly TimedSample[], fromMs: number, toMs: number): { gapMs: number; afterMs: number } | undefined {
  let best: { gapMs: number; afterMs: number } | undefined;
  for (let i = 1; i < stored.length; i++) {
    const a = stored[i - 1].timeMs;
    const b = stored[i].timeMs;
    if (b < fromMs || a > toMs) continue;
    if (best === undefined || b - a > best.gapMs) best = { gapMs: b - a, afterMs: a };
  }
  return best;
}

/**
 * Sum of every sample of `name` in a Prometheus text exposition (any labels); undefined when
 * the text has no sample of it (a labelled counter that never counted shows only # lines).
 */
export function metricSum(exposition: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const raw of exposition.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || !line.startsWith(name)) continue;
    const next = line.charAt(name.length);
    let rest: string;
    if (next === '{') rest = line.slice(line.lastIndexOf('}') + 1);
    else if (next === ' ' || next === '\t') rest = line.slice(name.length);
    else continue; // another metric whose name starts with this one
    const text = rest.trim().split(/\s+/)[0] ?? '';
    const v = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
    if (Number.isNaN(v) && text !== 'NaN') throw new Error(`not a sample value in ${JSON.stringify(line)}`);
    sum = (sum ?? 0) + v;
  }
  return sum;
}
