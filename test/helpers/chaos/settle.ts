/**
 * Waits (bounded) until the group's stored data stops changing and the leader's queue is empty:
 * the same count and value sum of stored samples on 4 polls in a row, 2 s apart, with nothing
 * left in the leader's queue and nothing in flight in any queue of the group (a job a killed
 * worker held stays active until its lock expires, and can hold a handoff back until then).
 */
import { HA_METRIC } from '../ha-load.js';
import type { ChaosWorld } from './world.js';

export async function settle(world: ChaosWorld, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let same = 0;
  while (Date.now() < deadline) {
    try {
      const r = await world.db.query<{ n: string; s: string }>(
        'SELECT count(*) AS n, coalesce(sum(value), 0)::text AS s FROM prom.metrics WHERE name = $1', [HA_METRIC]);
      const backlog = await world.leaderBacklog() + await world.inFlight();
      const now = `${r.rows[0].n}/${r.rows[0].s}`;
      same = now === last && backlog === 0 ? same + 1 : 0;
      last = now;
      if (same >= 3) return true;
    } catch {
      same = 0;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  return false;
}
