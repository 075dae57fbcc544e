/**
 * A quiet leader's backlog is written even when nobody leads. Replica a leads and streams; the
 * database goes away; a keeps writing into the queue for a while, then its Prometheus stops
 * before the database is back. Its elector lost its session with the database, and a is quiet,
 * so nobody leads when the database returns. Every sample a had accepted is stored all the same,
 * exactly once: a's interval is closed at its cut (the newest sample it accepted) and everything
 * up to it is a's alone, written without a lock.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { leaderRow, notStoredOnce, storedHaSamples, useHaPair, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 8;
const INTERVAL = 1000;

const ha = useHaPair({ name: 'ha-quiet-leader-backlog', prefix: 'pfhaq', throwawayServer: true });

describe('the leader goes quiet during a database outage with a backlog in its queue', () => {
  it('every sample it had accepted is stored exactly once after the database returns, with no replica leading', async () => {
    const [a] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 30_000);
    await new Promise((r) => setTimeout(r, 3_000));

    await ha.server.stop();
    // a keeps writing into the queue for 6 s, then its Prometheus stops while the database is still away.
    await new Promise((r) => setTimeout(r, 6_000));
    await a.stop();
    await new Promise((r) => setTimeout(r, 4_000));
    await ha.server.start();

    const accepted = a.accepted().length;
    expect(accepted, 'a had samples accepted').toBeGreaterThan(SERIES * 8);
    await waitFor('every accepted sample of a stored', async () => {
      const stored = await storedHaSamples(ha.db);
      return notStoredOnce(stored, a).length === 0;
    }, 60_000, 500);

    const stored = await storedHaSamples(ha.db);
    expect(notStoredOnce(stored, a)).toEqual([]);
    expect([...stored.values()].flat().length, 'nothing but a\'s accepted samples').toBe(accepted);
    const row = await leaderRow(ha.db, GROUP);
    expect(row?.leader, 'nobody leads').toBeNull();
    const own = await ha.db.query<{ replica: string; to_ms: string | null }>('SELECT replica, to_ms FROM prom.ha_ownership WHERE group_name = $1 ORDER BY epoch', [GROUP]);
    const newest = Math.max(...a.accepted().map((s) => s.ts));
    expect(own.rows.at(-1), 'a\'s interval is closed at the newest sample it accepted').toEqual({ replica: 'a', to_ms: String(newest) });
    expect(a.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), 'a\'s writes all 2xx').toEqual([]);
  }, 180_000);
});
