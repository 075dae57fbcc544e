/**
 * The soak's verdict on one HA group, from what the writers sent and had answered 2xx, what
 * was stored, and the ownership log. Pure: a unit test feeds it synthetic data.
 *
 *   ownership  the log is one unbroken chain (see ownership.ts).
 *   rule 1     no series has two samples at one time; every stored sample is one a writer sent
 *              (answered or not: a request may be queued while its answer is lost).
 *   rule 2     replicas never interleave: walking a series in time order, the replica changes
 *              at most as often as the log changes owner; and every stored sample of replica r
 *              lies in a range r owned, widened by one scrape interval + spread at both ends
 *              (a new owner may fill in after the old one's last sample of the series).
 *   rule 3     every sample the owner of a range had accepted, with its time in the range, is
 *              stored (once: rule 1).
 *   rule 4     no gap between consecutive stored samples longer than 2 scrape intervals +
 *              spread, unless no replica had a sample of that series accepted inside the gap.
 *              Excused, with slack = takeoverMs + interval + spread: samples of a replica other
 *              than the one stored at the gap's start whose run of accepted samples (spacing at
 *              most 2 intervals + spread) ends in the gap, within the slack after its start; and
 *              samples of a replica other than the one stored at the end whose run begins in the
 *              gap, within the slack before its end. When both replicas go down within the Prometheus timeout of each
 *              other, the follower's last samples (after the owner's last) are rightly not
 *              stored: it was never live long enough to take over; likewise when both come back
 *              close together, the loser's first samples before the winner's first. A replica's
 *              own samples right after its last stored one are never excused.
 */
import { replicaIndexOf, type SentSample, type StoredSample } from '../ha-load.js';
import { describeRange, ownedRanges, ownershipChainProblems, type OwnedRange, type OwnershipRow } from './ownership.js';

export interface ReplicaRecord {
  readonly replica: string;
  /** 1-based: its values are replicaValueBase(index) + tick. */
  readonly index: number;
  readonly sent: readonly SentSample[];
  readonly accepted: readonly SentSample[];
}

export interface SoakData {
  readonly series: number;
  readonly intervalMs: number;
  readonly spreadMs: number;
  /** How long a live follower may take to lead once the owner goes quiet (Prometheus timeout + election interval). */
  readonly takeoverMs: number;
  readonly stored: ReadonlyMap<number, readonly StoredSample[]>;
  readonly replicas: readonly ReplicaRecord[];
  readonly ownership: readonly OwnershipRow[];
}

export type Rule = 'ownership' | 'rule 1' | 'rule 2' | 'rule 3' | 'rule 4';

export interface Problem {
  readonly rule: Rule;
  readonly text: string;
}

/** series → time → value, of one replica's samples. */
type ByTime = Map<number, Map<number, number>>;

function index(samples: readonly SentSample[]): ByTime {
  const out: ByTime = new Map();
  for (const s of samples) {
    let m = out.get(s.series);
    if (!m) out.set(s.series, (m = new Map()));
    m.set(s.ts, s.value);
  }
  return out;
}

/** Times as a short list: up to `max` of them, then how many more. */
export function times(ts: readonly (number | string)[], max = 4): string {
  return ts.length <= max ? ts.join(', ') : `${ts.slice(0, max).join(', ')} … (+${ts.length - max})`;
}

/** What the rules of one series look at. */
interface SeriesView {
  readonly i: number;
  /** Stored samples, ascending by time. */
  readonly got: readonly StoredSample[];
  readonly who: (s: StoredSample) => string;
  readonly ranges: readonly OwnedRange[];
  readonly add: (rule: Rule, text: string) => void;
}

function rule1(v: SeriesView, sent: Map<number, ByTime>): void {
  const { i, got, who } = v;
  for (let k = 1; k < got.length; k++) {
    if (got[k].ts === got[k - 1].ts && (k === 1 || got[k - 2].ts !== got[k].ts)) {
      const same = got.filter((s) => s.ts === got[k].ts);
      v.add('rule 1', `series ${i}: time ${got[k].ts} stored ${same.length} times (${same.map((s) => `${who(s)}=${s.value}`).join(', ')})`);
    }
  }
  const foreign = got.filter((s) => sent.get(replicaIndexOf(s.value))?.get(i)?.get(s.ts) !== s.value);
  if (foreign.length > 0) v.add('rule 1', `series ${i}: ${foreign.length} stored samples no writer sent: ${times(foreign.map((s) => `${s.ts}=${s.value}`))}`);
}

function rule2Interleaving(v: SeriesView): void {
  const runs: { replica: string; first: number; last: number; n: number }[] = [];
  for (const s of v.got) {
    const r = v.who(s);
    const run = runs[runs.length - 1];
    if (run && run.replica === r) {
      run.last = s.ts;
      run.n++;
    } else {
      runs.push({ replica: r, first: s.ts, last: s.ts, n: 1 });
    }
  }
  const ownerChanges = v.ranges.filter((r, k) => k > 0 && r.replica !== v.ranges[k - 1].replica).length;
  if (runs.length - 1 > ownerChanges) {
    const shown = runs.slice(0, 8).map((r) => `${r.replica}[${r.first}..${r.last}]×${r.n}`).join(' ');
    v.add('rule 2', `series ${v.i}: the replica changes ${runs.length - 1} times, the ownership log changes owner ${ownerChanges} times: ${shown}${runs.length > 8 ? ' …' : ''}`);
  }
}

/** Every stored sample lies near (± tol) a range its replica owned; strays are reported in runs. */
function rule2Strays(v: SeriesView, tol: number): void {
  let stray: { replica: string; ts: number[]; owner: OwnedRange | undefined } | undefined;
  const flush = () => {
    if (stray) {
      v.add('rule 2', `series ${v.i}: ${stray.ts.length} samples of ${stray.replica} at ${times(stray.ts)} lie outside every range it owned (±${tol} ms); owner there: ${stray.owner ? describeRange(stray.owner) : 'none'}`);
    }
    stray = undefined;
  };
  for (const s of v.got) {
    const r = v.who(s);
    if (v.ranges.some((o) => o.replica === r && o.from - tol < s.ts && s.ts <= o.to + tol)) {
      flush();
      continue;
    }
    if (stray && stray.replica !== r) flush();
    stray ??= { replica: r, ts: [], owner: v.ranges.find((o) => o.from < s.ts && s.ts <= o.to) };
    stray.ts.push(s.ts);
  }
  flush();
}

function rule3(v: SeriesView, replicas: readonly ReplicaRecord[], accepted: Map<number, ByTime>): void {
  const storedAt = new Map(v.got.map((s) => [s.ts, s.value]));
  for (const o of v.ranges) {
    const rep = replicas.find((r) => r.replica === o.replica);
    if (!rep || !(o.from < o.to)) continue;
    const mine = [...(accepted.get(rep.index)?.get(v.i) ?? new Map<number, number>()).entries()]
      .filter(([ts]) => o.from < ts && ts <= o.to).sort((x, y) => x[0] - y[0]);
    const lost = mine.filter(([ts, value]) => storedAt.get(ts) !== value).map(([ts]) => ts);
    if (lost.length > 0) v.add('rule 3', `series ${v.i}: ${lost.length} of the ${mine.length} samples ${o.replica} had accepted in its ${describeRange(o)} are not stored: ${times(lost)}`);
  }
}

/** Each accepted time of one replica → the run of accepted samples around it (spacing <= maxStep). */
function runsOf(ts: readonly number[], maxStep: number): Map<number, { start: number; end: number }> {
  const out = new Map<number, { start: number; end: number }>();
  let k = 0;
  while (k < ts.length) {
    let j = k;
    while (j + 1 < ts.length && ts[j + 1] - ts[j] <= maxStep) j++;
    const run = { start: ts[k], end: ts[j] };
    for (let m = k; m <= j; m++) out.set(ts[m], run);
    k = j + 1;
  }
  return out;
}

function rule4(v: SeriesView, d: SoakData, accepted: Map<number, ByTime>): void {
  const { got, who } = v;
  const maxGap = 2 * d.intervalMs + d.spreadMs;
  const slack = d.takeoverMs + d.intervalMs + d.spreadMs;
  const acceptedTimes = d.replicas.flatMap((r) => {
    const ts = [...(accepted.get(r.index)?.get(v.i)?.keys() ?? [])].sort((x, y) => x - y);
    const runs = runsOf(ts, maxGap);
    return ts.map((t) => ({ t, r: r.replica, run: runs.get(t) ?? { start: t, end: t } }));
  }).sort((x, y) => x.t - y.t);
  for (let k = 1; k < got.length; k++) {
    const a = got[k - 1];
    const b = got[k];
    if (b.ts - a.ts <= maxGap) continue;
    const all = acceptedTimes.filter((x) => a.ts < x.t && x.t < b.ts);
    // Excused: the other replica's samples when it went down soon after the gap began (its run
    // of accepted samples ends within the slack), or came back shortly before it ended.
    const excused = (x: (typeof all)[number]) => (x.r !== who(a) && x.run.end < b.ts && x.run.end <= a.ts + slack)
      || (x.r !== who(b) && x.run.start > a.ts && x.run.start >= b.ts - slack);
    const inside = all.filter((x) => !excused(x)).map((x) => x.t);
    if (inside.length > 0) {
      const owners = v.ranges.filter((o) => o.from < b.ts && a.ts < o.to).map(describeRange).join(', ');
      v.add('rule 4', `series ${v.i}: gap of ${b.ts - a.ts} ms between ${a.ts} (${who(a)}) and ${b.ts} (${who(b)}) with ${all.length} accepted samples inside, ${inside.length} not excused: ${times(inside)}; owners: ${owners}`);
    }
  }
}

export function soakProblems(d: SoakData): Problem[] {
  const problems: Problem[] = ownershipChainProblems(d.ownership).map((text) => ({ rule: 'ownership' as const, text }));
  const ranges = ownedRanges(d.ownership);
  const nameOf = new Map(d.replicas.map((r) => [r.index, r.replica]));
  const sent = new Map(d.replicas.map((r) => [r.index, index(r.sent)]));
  const accepted = new Map(d.replicas.map((r) => [r.index, index(r.accepted)]));
  const add = (rule: Rule, text: string) => problems.push({ rule, text });
  const who = (s: StoredSample) => nameOf.get(replicaIndexOf(s.value)) ?? `replica #${replicaIndexOf(s.value)}`;
  for (let i = 0; i < d.series; i++) {
    const got = [...(d.stored.get(i) ?? [])].sort((x, y) => x.ts - y.ts);
    const v: SeriesView = { i, got, who, ranges, add };
    rule1(v, sent);
    rule2Interleaving(v);
    rule2Strays(v, d.intervalMs + d.spreadMs);
    rule3(v, d.replicas, accepted);
    rule4(v, d, accepted);
  }
  return problems;
}

/**
 * Readable lines: a count per rule, then at most `max` problems, shared fairly between the
 * rules (each rule gets its turn before any gets a second line).
 */
export function formatProblems(problems: readonly Problem[], max = 50): string[] {
  const rules = [...new Set(problems.map((p) => p.rule))];
  const byRule = rules.map((r) => problems.filter((p) => p.rule === r));
  const out = rules.map((r, k) => `${r}: ${byRule[k].length} problem(s)`);
  const picked: Problem[] = [];
  for (let turn = 0; picked.length < max && byRule.some((list) => list.length > turn); turn++) {
    for (const list of byRule) if (list.length > turn && picked.length < max) picked.push(list[turn]);
  }
  const shown = new Set(picked);
  for (const p of problems) if (shown.has(p)) out.push(`${p.rule}: ${p.text}`);
  if (problems.length > picked.length) out.push(`… and ${problems.length - picked.length} more`);
  return out;
}
