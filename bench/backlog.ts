/**
 * The leader's backlog during an end-to-end run, once a minute: the samples the ingress queued
 * for the replica that leads the bench's group, less the sample rows committed (the batch
 * ledger holds only the leader's). A worker that keeps up has a backlog that does not grow from
 * minute 2 on.
 */
import type pg from 'pg';
import { sleep } from '../src/lib/sleep.js';
import { queueName } from '../src/queue/index.js';
import type { Figure } from './report.js';

export interface BacklogPoint {
  /** Seconds since the load started. */
  readonly atSeconds: number;
  readonly enqueued: number;
  readonly durable: number;
  /** enqueued − durable; NaN while no replica leads. */
  readonly backlog: number;
}

/** The ingress's enqueued samples by queue, from its /metrics. */
async function enqueuedByQueue(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^promfleet_enqueued_samples_total\{queue="([^"]*)"\} (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

async function point(ingressPort: number, observer: pg.Client, group: string, durable: () => Promise<number>, atSeconds: number): Promise<BacklogPoint> {
  const leader = await observer.query<{ leader: string | null }>('SELECT leader FROM bench.ha_leaders WHERE group_name = $1', [group]);
  const replica = leader.rows[0]?.leader ?? null;
  const d = await durable();
  const enqueued = replica === null ? NaN : (await enqueuedByQueue(ingressPort)).get(queueName({ group, replica })) ?? 0;
  return { atSeconds, enqueued, durable: d, backlog: enqueued - d };
}

/**
 * Reads a point every `everyMs` from now until `signal` aborts, then one last point; a reading
 * that fails is left out (the run goes on). Resolves with the points in order.
 */
export async function sampleBacklog(
  opts: { ingressPort: number; observer: pg.Client; group: string; durable: () => Promise<number>; everyMs: number; signal: AbortSignal },
): Promise<BacklogPoint[]> {
  const points: BacklogPoint[] = [];
  const t0 = performance.now();
  const take = async (): Promise<void> => {
    const at = (performance.now() - t0) / 1000;
    try {
      points.push(await point(opts.ingressPort, opts.observer, opts.group, opts.durable, at));
    } catch {
      // A missed reading leaves a hole in the series, not a failed run.
    }
  };
  let next = opts.everyMs;
  while (!opts.signal.aborted) {
    await sleep(Math.max(0, t0 + next - performance.now()), opts.signal);
    if (opts.signal.aborted) break;
    await take();
    next += opts.everyMs;
  }
  await take();
  return points;
}

/** Whether the backlog grew from the point at or after `fromSeconds` to the last one (by more than 10 %, and by more than `slack` samples). */
export function backlogGrows(points: readonly BacklogPoint[], fromSeconds: number, slack: number): boolean {
  const from = points.find((p) => p.atSeconds >= fromSeconds - 1 && Number.isFinite(p.backlog));
  const last = points[points.length - 1];
  if (!from || !last || from === last || !Number.isFinite(last.backlog)) return false;
  return last.backlog > from.backlog * 1.1 + slack;
}

/** `e2e backlog`: the last point, against the one at minute 2 (or the first), every point as a part. */
export function backlogFigure(name: string, points: readonly BacklogPoint[], samplesPerSecond: number): Figure {
  const last = points[points.length - 1];
  const base = points.find((p) => p.atSeconds >= 119 && p !== last) ?? points[0];
  const grows = backlogGrows(points, 120, samplesPerSecond);
  return {
    name, value: last?.backlog ?? NaN, unit: 'samples',
    peers: base && base !== last ? [{ name: `at ${Math.round(base.atSeconds)} s`, value: base.backlog }] : [],
    parts: points.map((p) => ({ name: `${Math.round(p.atSeconds)} s`, value: p.backlog })),
    note: `the leader's samples queued and not yet committed, at each minute and at the end of the load; ${grows ? 'growing: the worker did not keep up' : 'not growing from minute 2'} (a second of the leader's share is ${Math.round(samplesPerSecond)} samples)`,
  };
}
