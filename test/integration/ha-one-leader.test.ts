/**
 * One writer per group (see docs/ha.md): two ingress processes, one per
 * replica of group g, and one worker process; both replicas write every second. Exactly one
 * replica leads (one row, one lock holder, no flapping), every stored sample comes from it (all
 * of its samples, once), and every write of both replicas, the follower's included, is answered 2xx.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { groupLockHolders, leaderRow, replicaIndexOf, storedHaSamples, useHaPair } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 10;
const INTERVAL = 1000;

const ha = useHaPair({ name: 'ha-one-leader', prefix: 'pfha1' });

describe('two replicas of one HA group writing at once', () => {
  it('have exactly one leader, whose samples (all of them) are the only ones stored; every write is answered 2xx', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 300 });
    a.start();
    b.start();

    // Watch the election for ~8 s: once someone leads, the row, the lock and the epoch never move.
    let first: { leader: string; epoch: number; groupId: number } | undefined;
    const observations: string[] = [];
    const until = Date.now() + 8_000;
    for (let i = 0; i < 400 && Date.now() < until; i++) {
      const row = await leaderRow(ha.db, GROUP);
      if (row?.leader) {
        first ??= { leader: row.leader, epoch: row.epoch, groupId: row.groupId };
        const holders = await groupLockHolders(ha.db, row.groupId);
        const seen = `${row.leader}@${row.epoch} pid ${row.pid} holders [${holders.join(',')}]`;
        if (observations[observations.length - 1] !== seen) observations.push(seen);
        expect(row.leader, observations.join(' → ')).toBe(first.leader);
        expect(row.epoch, observations.join(' → ')).toBe(first.epoch);
        expect(holders, observations.join(' → ')).toEqual([row.pid]);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(first, 'nobody took the leadership within 8 s').toBeDefined();
    const leaderName = first?.leader as string;
    expect(['a', 'b']).toContain(leaderName);
    expect(first?.epoch).toBe(1);

    await Promise.all([a.stop(), b.stop()]);
    const leader = leaderName === 'a' ? a : b;
    const follower = leaderName === 'a' ? b : a;

    // Drain: everything the leader had accepted reaches the database.
    const expected = leader.accepted().length;
    expect(expected).toBeGreaterThanOrEqual(SERIES * 6);
    await waitFor('the leader\'s samples written', async () => {
      const r = await ha.db.query<{ n: string }>(`SELECT count(*) AS n FROM prom.metrics WHERE name = 'ha_test'`);
      return Number(r.rows[0].n) >= expected;
    }, 20_000, 200);

    const stored = await storedHaSamples(ha.db);
    for (let i = 0; i < SERIES; i++) {
      const got = stored.get(i) ?? [];
      const owners = new Set(got.map((s) => replicaIndexOf(s.value)));
      expect([...owners], `series ${i}: stored samples come from the leader only`).toEqual([leader.opts.index]);
      expect(got.map((s) => `${s.ts}=${s.value}`), `series ${i}: every sample of the leader, once`)
        .toEqual(leader.acceptedOf(i).map((s) => `${s.ts}=${s.value}`));
    }

    // The follower was never written, and its writes were accepted all the same.
    for (const w of [leader, follower]) {
      expect(w.requests.length).toBeGreaterThanOrEqual(7);
      expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.replica}'s writes all 2xx`).toEqual([]);
    }
    const own = await ha.db.query<{ replica: string; from_ms: string | null; to_ms: string | null }>(
      'SELECT replica, from_ms, to_ms FROM prom.ha_ownership WHERE group_name = $1 ORDER BY epoch', [GROUP]);
    expect(own.rows).toEqual([{ replica: leaderName, from_ms: null, to_ms: null }]);
  }, 60_000);
});
