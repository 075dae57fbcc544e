/**
 * One future-stamped sample (a clock three minutes fast) does not cost the follower its copy.
 * Replicas a (leader) and b (follower) stream; a also sends one sample three minutes ahead of
 * the clock. The group watermark never passes the database clock plus --ha.max-clock-skew, so
 * the follower's batches are not taken for covered and dropped, and when a stops, b's retained
 * batches fill in after a's last sample per series: no hole, no overlap.
 */
import { describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { REMOTE_WRITE_HEADERS, handoffProblems, storedHaSamples, useHaPair, waitForLastSamples, waitForLeader } from '../helpers/ha-load.js';

const GROUP = 'g';
const SERIES = 8;
const INTERVAL = 1000;
const SKEW_MS = 2_000; // haArgs' --ha.max-clock-skew

const ha = useHaPair({ name: 'ha-future-sample', prefix: 'pfhafs' });

describe('one sample three minutes in the future from the leader', () => {
  it('moves the group watermark no further than the clock plus the skew, and the follower still fills in at the failover', async () => {
    const [a, b] = ha.writers({ group: GROUP, series: SERIES, intervalMs: INTERVAL, spreadMs: 800 });
    a.start();
    await waitForLeader(ha.db, GROUP, 'a', 15_000);
    b.start();
    await new Promise((r) => setTimeout(r, 3_000));

    const body = Buffer.from(snappyCompress(encodeWriteRequest({
      timeseries: [{
        labels: [{ name: '__name__', value: 'ha_future' }, { name: '__replica__', value: 'a' }, { name: 'cluster', value: GROUP }],
        samples: [{ value: 1, timestamp: Date.now() + 180_000 }], exemplars: [], histograms: [],
      }],
      metadata: [],
    })));
    const res = await fetch(`${ha.procs['ingress a'].url}/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body });
    expect(res.status).toBe(204);
    // Several worker scans with that sample committed: a follower sweep would drop b's copy now.
    await new Promise((r) => setTimeout(r, 4_000));
    const wm = await ha.db.query<{ max_ms: string }>('SELECT max_ms FROM prom.ha_watermarks WHERE group_name = $1', [GROUP]);
    expect(Number(wm.rows[0].max_ms), 'the watermark is bounded by the clock plus the skew').toBeLessThanOrEqual(Date.now() + SKEW_MS);

    await a.stop();
    await waitForLeader(ha.db, GROUP, 'b', 15_000);
    await new Promise((r) => setTimeout(r, 4_000));
    await b.stop();
    await waitForLastSamples(ha.db, b, SERIES);
    expect(handoffProblems(await storedHaSamples(ha.db), a, b)).toEqual([]);
  }, 120_000);
});
