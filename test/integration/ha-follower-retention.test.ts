/**
 * Follower batches are kept by data time, never by age, while no live leader covers them.
 * Replica a leads through ingress a; replica b writes through ingress b, whose elector is an
 * external (REST) one that nobody has told to lead yet, so b stays a follower. Then a's
 * Prometheus stops and ingress a is killed (kill -9): the leadership record still names a's dead
 * session, and nobody leads. b keeps writing for several times the old age bound
 * (--ha.follower-retention, accepted and ignored now). When b is made leader, its retained
 * batches fill in after a's last sample per series: no hole, no overlap.
 */
import { describe, expect, it } from 'vitest';
import { handoffProblems, leaderRow, notStoredOnce, storedHaSamples, useHaPair, waitForLastSamples, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 8;
const INTERVAL = 1000;

const ha = useHaPair({
  name: 'ha-follower-retention', prefix: 'pfhaf',
  extra: ['--ha.follower-retention=2s'],
  ingressExtra: { b: ['--leader-election.rest'] },
});

describe('a follower\'s batches while the leader is dead and nobody leads', () => {
  it('are all kept past the old age bound and fill in after the old leader\'s last sample once the follower leads', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 15_000);
    b.start();
    await new Promise((r) => setTimeout(r, 4_000));

    await a.stop();
    await ha.procs['ingress a'].stop('SIGKILL');
    // Six times the old age bound with no live leader.
    await new Promise((r) => setTimeout(r, 12_000));
    const row = await leaderRow(ha.db, GROUP);
    expect(row?.leader ?? null, 'nobody took over').not.toBe('b');

    const put = await fetch(`${ha.procs['ingress b'].url}/admin/election/leader`, { method: 'PUT', body: '1' });
    expect(put.status).toBe(200);
    await waitForLeader(ha.db, GROUP, 'b', 10_000);
    await new Promise((r) => setTimeout(r, 3_000));
    await b.stop();
    await waitForLastSamples(ha.db, b, SERIES);

    const stored = await storedHaSamples(ha.db);
    expect(notStoredOnce(stored, a), 'a\'s accepted samples stored once each').toEqual([]);
    expect(handoffProblems(stored, a, b)).toEqual([]);
    for (const w of [a, b]) expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.replica}'s writes all 2xx`).toEqual([]);
  }, 120_000);
});
