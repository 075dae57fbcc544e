/**
 * Data-time handoff when the leader's Prometheus stops (see docs/ha.md).
 * Replicas a and b of group g write through their own ingress processes at different phases
 * (a at +0 ms, b at +500 ms, each spreading its series over 800 ms as Prometheus spreads its
 * targets). a leads; then a's writes stop. Within timeout + interval + 1 s b leads, and per
 * series the stored samples are a's up to some time and b's after it, with no duplicate, and
 * b's begin with the first sample b sent after a's last stored sample of that series.
 */
import { describe, expect, it } from 'vitest';
import { handoffProblems, leaderRow, storedHaSamples, useHaPair, waitForLastSamples, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 10;
const INTERVAL = 1000;
const TIMEOUT = 2000;
const ELECTION_INTERVAL = 250;

const ha = useHaPair({ name: 'ha-failover-quiet', prefix: 'pfha2' });

describe('the leader\'s Prometheus stops writing', () => {
  it('b leads within timeout + interval + 1 s, and per series a\'s samples are followed by b\'s from the first one b sent after a\'s last stored', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 15_000);
    b.start();
    await new Promise((r) => setTimeout(r, 4_000));

    await a.stop();
    const lastWriteOfA = a.lastAcceptedAt() ?? Date.now();
    const took = await waitForLeader(ha.db, GROUP, 'b', 15_000).then(() => Date.now() - lastWriteOfA);
    expect(took, 'b leads within timeout + interval + 1 s of a\'s last write').toBeLessThanOrEqual(TIMEOUT + ELECTION_INTERVAL + 1_000);

    await new Promise((r) => setTimeout(r, 4_000));
    await b.stop();
    await waitForLastSamples(ha.db, b, SERIES);

    const stored = await storedHaSamples(ha.db);
    expect(handoffProblems(stored, a, b)).toEqual([]);

    // The handoff took place where a's data ended, and the ownership log says so.
    const row = await leaderRow(ha.db, GROUP);
    const aLast = Math.max(...[...stored.values()].flatMap((list) => list.filter((s) => s.value < 2_000_000).map((s) => s.ts)));
    expect(row?.handoffMs).toBe(aLast);
    const own = await ha.db.query<{ replica: string; from_ms: string | null; to_ms: string | null }>(
      'SELECT replica, from_ms, to_ms FROM prom.ha_ownership WHERE group_name = $1 ORDER BY epoch', [GROUP]);
    expect(own.rows).toEqual([{ replica: 'a', from_ms: null, to_ms: String(aLast) }, { replica: 'b', from_ms: String(aLast), to_ms: null }]);

    for (const w of [a, b]) expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.replica}'s writes all 2xx`).toEqual([]);
  }, 90_000);
});
