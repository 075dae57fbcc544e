/**
 * A handoff while workers replay a backlog. Replica a leads and streams; b joins 8 s later;
 * no worker runs for 16 s, so both queues hold a backlog. Then two worker processes start
 * replaying it, each with several jobs and two transactions in flight (they commit a's jobs out
 * of order), while a's Prometheus stops and a's election session is terminated: b takes over
 * with a's backlog unwritten. Every sample a had accepted is stored exactly once (a owns every
 * time up to its cut, whatever was committed when the cut was made), and per series b's samples
 * follow a's from the first b sent after a's last, with no hole and no overlap.
 */
import { describe, expect, it } from 'vitest';
import { handoffProblems, notStoredOnce, storedHaSamples, terminateLeaderSession, useHaPair, waitForLastSamples, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 10;
const INTERVAL = 1000;
const REPLAY = ['--worker.concurrency=4', '--worker.max-transactions=2', '--worker.batch-max-samples=30'];

const ha = useHaPair({ name: 'ha-handoff-replay', prefix: 'pfhar', workers: 0 });

describe('leadership moves while two workers replay a backlog', () => {
  it('every sample the old leader accepted is stored once, and the new leader follows it per series with no hole', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    const first = await waitForLeader(ha.db, GROUP, 'a', 15_000);
    await new Promise((r) => setTimeout(r, 8_000));
    b.start();
    await new Promise((r) => setTimeout(r, 8_000));

    // a stops and its session ends while the two workers come up to replay the backlog.
    await a.stop();
    await Promise.all([ha.startWorker(REPLAY), ha.startWorker(REPLAY), terminateLeaderSession(ha.db, GROUP)]);
    const lead = await waitForLeader(ha.db, GROUP, 'b', 20_000);
    expect(lead.epoch).toBeGreaterThan(first.epoch);

    await new Promise((r) => setTimeout(r, 5_000));
    await b.stop();
    await waitForLastSamples(ha.db, b, SERIES);

    const stored = await storedHaSamples(ha.db);
    expect(notStoredOnce(stored, a), 'a\'s accepted samples stored once each').toEqual([]);
    expect(handoffProblems(stored, a, b)).toEqual([]);
    for (const w of [a, b]) expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.replica}'s writes all 2xx`).toEqual([]);
  }, 120_000);
});
