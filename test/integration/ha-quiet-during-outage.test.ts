/**
 * The leader's Prometheus is down for a while during a database outage and back before the
 * database: nobody could take over while it was quiet, yet the follower kept writing. When the
 * database returns, the leader's interval is closed where it fell quiet (the newest sample it
 * had accepted then), not after it came back, so the follower's retained batches fill the
 * silence: every series is continuous across it, with no overlap and no duplicate.
 */
import { describe, expect, it } from 'vitest';
import { commonSpan, continuityProblems, leaderRow, storedHaSamples, useHaPair, waitForLeader, waitForSeriesPast } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 8;
const INTERVAL = 1000;

const ha = useHaPair({ name: 'ha-quiet-during-outage', prefix: 'pfhaqo', throwawayServer: true });

describe('the leader falls quiet and comes back while the database is away', () => {
  it('loses its ownership where it fell quiet, and the follower fills the silence: no gap, no overlap', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 30_000);
    b.start();
    await new Promise((r) => setTimeout(r, 4_000));

    await ha.server.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    a.down(5_000);
    await new Promise((r) => setTimeout(r, 7_000));
    const outageStart = Date.now() - 8_000;
    await ha.server.start();

    await waitForLeader(ha.db, GROUP, 'b', 30_000);
    const outageEnd = Date.now();
    await waitForSeriesPast(ha.db, SERIES, outageEnd + 3 * INTERVAL, 60_000);
    await Promise.all([a.stop(), b.stop()]);

    const stored = await storedHaSamples(ha.db);
    const { from, to } = commonSpan(stored, SERIES);
    expect(from).toBeLessThan(outageStart);
    const row = await leaderRow(ha.db, GROUP);
    expect(continuityProblems(stored, SERIES, from, to, 1.5 * INTERVAL, INTERVAL / 4), `leader ${row?.leader} (epoch ${row?.epoch})`).toEqual([]);
    for (const w of [a, b]) expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.replica}'s writes all 2xx`).toEqual([]);
  }, 180_000);
});
