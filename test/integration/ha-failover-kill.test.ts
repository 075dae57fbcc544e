/**
 * Data-time handoff when the leader's ingress process dies: `kill -9` of
 * the ingress of replica a, the leader (its Prometheus can no longer write either). Its election
 * session dies with it, so b leads within timeout + interval + 1 s; per series the stored
 * samples are a's up to some time and b's after it, with no duplicate, and b's begin with the
 * first sample b sent after a's last stored sample of that series. Replicas write at different
 * phases (a at +0 ms, b at +500 ms, each spreading its series over 800 ms).
 */
import { describe, expect, it } from 'vitest';
import { handoffProblems, leaderRow, storedHaSamples, useHaPair, waitForLastSamples, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 10;
const INTERVAL = 1000;
const TIMEOUT = 2000;
const ELECTION_INTERVAL = 250;

const ha = useHaPair({ name: 'ha-failover-kill', prefix: 'pfha3' });

describe('kill -9 of the leader\'s ingress process', () => {
  it('b leads within timeout + interval + 1 s, and per series a\'s samples are followed by b\'s from the first one b sent after a\'s last stored', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 15_000);
    b.start();
    await new Promise((r) => setTimeout(r, 4_000));

    expect((await leaderRow(ha.db, GROUP))?.leader).toBe('a');
    const killedAt = Date.now();
    ha.procs['ingress a'].proc.kill('SIGKILL');
    await a.kill();
    const took = await waitForLeader(ha.db, GROUP, 'b', 15_000).then(() => Date.now() - killedAt);
    expect(took, 'b leads within timeout + interval + 1 s of the kill').toBeLessThanOrEqual(TIMEOUT + ELECTION_INTERVAL + 1_000);

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

    expect(b.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), 'b\'s writes all 2xx').toEqual([]);
    // a's writes were all 2xx until the kill; only the request in flight at that moment got no answer.
    expect(a.requests.filter((r) => r.answeredAt < killedAt && r.status !== 204).map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`)).toEqual([]);
    expect(a.failed().length).toBeLessThanOrEqual(1);
  }, 90_000);
});
