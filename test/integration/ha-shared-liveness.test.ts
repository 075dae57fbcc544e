/**
 * Liveness is shared between ingress processes. Replica a leads through ingress a (whose
 * elector holds the group's lock); then a load balancer moves a's connection to ingress b. Ingress
 * a no longer sees a's writes, yet a stays leader, with no leadership change, for several
 * prometheus timeouts, because every ingress records its replicas' writes in Redis. Then a
 * writes alternately through both: still no change. Once a stops altogether, b takes over.
 */
import { describe, expect, it } from 'vitest';
import { leaderRow, replicaWriter, useHaPair, waitForLeader, type ReplicaWriter } from '../helpers/ha-load.js';
import { waitFor } from '../helpers/ports.js';

const GROUP = 'g';
const SERIES = 5;
const INTERVAL = 1000;
/** haArgs's --leader-election.pg-advisory-lock.prometheus-timeout. */
const TIMEOUT = 2_000;

const ha = useHaPair({ name: 'ha-shared-liveness', database: 'ha_shared_liveness', prefix: 'pfshared' });

async function leaderGauge(url: string, replica: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^promfleet_ha_leader\\{[^}]*replica="${replica}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Fails at the first round where `replica` does not lead `group` at `epoch` with the same holder. */
async function expectSteadyLeader(replica: string, epoch: number, pid: number | null, forMs: number, what: string): Promise<void> {
  const until = Date.now() + forMs;
  for (let i = 0; i < 1000 && Date.now() < until; i++) {
    const row = await leaderRow(ha.db, GROUP);
    expect({ leader: row?.leader, epoch: row?.epoch, pid: row?.pid }, `${what}, ${forMs - (until - Date.now())} ms in`).toEqual({ leader: replica, epoch, pid });
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a replica moved to another ingress', () => {
  it('stays leader, held by the first ingress, for longer than the timeout; leadership moves only once it stops', async () => {
    const viaA = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 400 })[0];
    const extra: ReplicaWriter[] = [];
    const aThrough = (url: string): ReplicaWriter => {
      const w = replicaWriter({ url, group: GROUP, replica: 'a', index: 1, series: SERIES, intervalMs: INTERVAL, phaseMs: 0, spreadMs: 400 });
      extra.push(w);
      return w;
    };
    // The move happens right after a request was answered, as a Prometheus whose connection was
    // moved sends its next request, one interval later, on the new one.
    const move = async (from: ReplicaWriter, url: string): Promise<ReplicaWriter> => {
      const sent = from.requests.length;
      await waitFor('a\'s next request answered', async () => from.requests.length > sent && (from.requests.at(-1)?.answeredAt ?? 0) > 0, 5_000, 10);
      await from.stop();
      const w = aThrough(url);
      w.start();
      return w;
    };
    const b = replicaWriter({ url: ha.procs['ingress b'].url, group: GROUP, replica: 'b', index: 2, series: SERIES, intervalMs: INTERVAL, phaseMs: 500, spreadMs: 400 });
    extra.push(b);
    try {
      viaA.start();
      const before = await waitForLeader(ha.db, GROUP, 'a', 15_000);
      const holder = await ha.db.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [before.pid]);
      expect(holder.rows[0]?.application_name, 'ingress a holds the lock').toContain(`pid ${ha.procs['ingress a'].proc.pid}`);
      b.start();
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await leaderGauge(ha.procs['ingress a'].url, 'a')).toBe(1);

      // The connection moves: a now writes only through ingress b.
      const viaB = await move(viaA, ha.procs['ingress b'].url);
      await expectSteadyLeader('a', before.epoch, before.pid, 3 * TIMEOUT, 'a writing through ingress b only');
      expect(await leaderGauge(ha.procs['ingress a'].url, 'a'), 'ingress a still claims a').toBe(1);

      // Alternately through both (a new connection every couple of seconds).
      let w = viaB;
      for (let round = 0; round < 2; round++) {
        for (const url of [ha.procs['ingress a'].url, ha.procs['ingress b'].url]) {
          w = await move(w, url);
          await expectSteadyLeader('a', before.epoch, before.pid, 2_200, `a writing through ${url}`);
        }
      }
      await w.stop();
      for (const w of [...extra, viaA].filter((x) => x !== b)) {
        expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), 'a\'s writes all 2xx').toEqual([]);
      }

      // a stops everywhere: after the timeout it leaves the election and b leads.
      const after = await waitForLeader(ha.db, GROUP, 'b', 3 * TIMEOUT + 5_000);
      expect(after.epoch).toBe(before.epoch + 1);
    } finally {
      await Promise.allSettled(extra.map((w) => w.kill()));
    }
  }, 90_000);
});
