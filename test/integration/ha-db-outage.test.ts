/**
 * A database outage under an HA pair. Two ingress processes (replicas a
 * and b of group g, at different phases) and one worker write to a PostgreSQL of the test's own;
 * it is stopped for 20 s while both replicas keep writing, then started again. Every write is
 * answered 2xx throughout (the queue holds the data), and once the backlog is drained, whichever
 * replica leads afterwards, every stored series is continuous across the outage: consecutive
 * samples at most 1.5 scrape intervals apart (no gap) and never closer than a quarter interval
 * (no overlap of the two replicas, no duplicate).
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { commonSpan, continuityProblems, leaderRow, replicaIndexOf, storedHaSamples, useHaPair, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 8;
const INTERVAL = 1000;
const OUTAGE_MS = 20_000;

const ha = useHaPair({ name: 'ha-db-outage', prefix: 'pfha7', throwawayServer: true });

describe('the database goes away for 20 s under an HA pair', () => {
  it('every write is answered 2xx, and afterwards every series is continuous across the outage: no gap, no overlap', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 30_000);
    b.start();
    await new Promise((r) => setTimeout(r, 4_000));

    const outageStart = Date.now();
    await ha.server.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await ha.server.start();
    const outageEnd = Date.now();

    // Someone leads again, and the group's series are written past the outage.
    await waitFor('a leader and the backlog written', async () => {
      const row = await leaderRow(ha.db, GROUP);
      if (!row?.leader) return false;
      const stored = await storedHaSamples(ha.db);
      for (let i = 0; i < SERIES; i++) {
        const list = stored.get(i) ?? [];
        if (list.length === 0 || list[list.length - 1].ts < outageEnd + 3 * INTERVAL) return false;
      }
      return true;
    }, 90_000, 500);
    await Promise.all([a.stop(), b.stop()]);

    const row = await leaderRow(ha.db, GROUP);
    const stored = await storedHaSamples(ha.db);
    const { from, to } = commonSpan(stored, SERIES);
    expect(from, 'stored data begins before the outage').toBeLessThan(outageStart - 2 * INTERVAL);
    expect(to, 'stored data goes on after the outage').toBeGreaterThan(outageEnd + 2 * INTERVAL);
    const problems = continuityProblems(stored, SERIES, from, to, 1.5 * INTERVAL, INTERVAL / 4);
    expect(problems, `leader after the outage: ${row?.leader} (epoch ${row?.epoch})`).toEqual([]);

    // Every stored sample is one a replica had accepted.
    for (let i = 0; i < SERIES; i++) {
      const sent = new Set([...a.acceptedOf(i), ...b.acceptedOf(i)].map((s) => `${s.ts}=${s.value}`));
      const foreign = (stored.get(i) ?? []).filter((s) => !sent.has(`${s.ts}=${s.value}`));
      expect(foreign, `series ${i}: stored samples nobody sent`).toEqual([]);
      expect((stored.get(i) ?? []).every((s) => [1, 2].includes(replicaIndexOf(s.value)))).toBe(true);
    }

    // The ownership log is one unbroken chain of data-time ranges: one range when a took its own
    // lock back after the outage (no handoff, same epoch), more when a worker closed a's range
    // first (its session was gone) or b took over.
    const own = await ha.db.query<{ replica: string; from_ms: string | null; to_ms: string | null }>(
      'SELECT replica, from_ms, to_ms FROM prom.ha_ownership WHERE group_name = $1 ORDER BY epoch', [GROUP]);
    expect(own.rows.length).toBeGreaterThanOrEqual(1);
    expect(own.rows[0].from_ms).toBeNull();
    expect(own.rows[own.rows.length - 1].to_ms).toBeNull();
    for (let k = 1; k < own.rows.length; k++) expect(own.rows[k].from_ms, JSON.stringify(own.rows)).toBe(own.rows[k - 1].to_ms);

    for (const w of [a, b]) expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.replica}'s writes all 2xx`).toEqual([]);
  }, 180_000);
});
