/**
 * Two HA groups named by --ha.group, not by a label: ingress g1 runs with --ha.group=g1, ingress
 * g2 with --ha.group=g2, one worker writes both, and the writers of both groups send the same
 * label set without any cluster label (replica label only). Each group gets series of its own,
 * stored with the cluster label set to the group: g1's replica a writes throughout; g2's replica
 * a leads, then stops, and g2's replica b takes over. g1's series hold exactly g1's samples and
 * the failover in g2 touches none of them; g2's series hold a's then b's samples, handed off
 * without loss or duplicate. remote_read and the metrics view select a group by its label.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { decodeReadResponse, encodeReadRequest, snappyCompress, snappyDecompress } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import {
  haArgs, handoffProblems, replicaIndexOf, replicaWriter, saveOutputs, startAllInto, waitForLeader,
  type ReplicaWriter, type StoredSample,
} from '../helpers/ha-load.js';

const METRIC = 'ha_flag_shared';
const SERIES = 6;
const INTERVAL = 1000;

const procs: Record<string, PromfleetProcess> = {};
const writers: ReplicaWriter[] = [];
let db: TestDatabase;
let client: pg.Client;
let prefix: string;
let failed = false;

beforeAll(async () => {
  try {
    db = await createTestDatabase('ha_flag_groups');
    prefix = uniqueName('pfhaflag');
    const args = (extra: string[]) => haArgs({ pgUrl: db.url, redisUrl: redisUrl(), prefix, extra });
    await startAllInto(procs, {
      'ingress g1': () => startPromfleet('ingress', args(['--ha.group=g1'])),
      'ingress g2': () => startPromfleet('ingress', args(['--ha.group=g2'])),
      worker: () => startPromfleet('worker', args([])),
    });
    for (const p of Object.values(procs)) {
      await waitFor(`${p.url}/readyz`, async () => (await fetch(`${p.url}/readyz`)).ok, 60_000, 100);
    }
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  } catch (err) {
    failed = true;
    throw err;
  }
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  await Promise.allSettled(writers.map((w) => w.kill()));
  await client?.end().catch(() => undefined);
  if (failed && Object.keys(procs).length > 0) {
    const outputs = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.output()]));
    console.error(`ha-flag-groups failed; process output in ${saveOutputs('ha-flag-groups', outputs)}`);
  }
  await Promise.allSettled(Object.values(procs).map((p) => p.stop('SIGTERM', 15_000)));
  if (prefix) await deleteRedisPrefix(prefix);
  if (!failed) await db?.drop();
});

interface SeriesRow {
  readonly id: string;
  readonly group: string | null;
  readonly labels: Record<string, string>;
}

async function seriesRows(): Promise<SeriesRow[]> {
  const r = await client.query<{ id: string; ha_group: string | null; labels: Record<string, string> }>(
    'SELECT id, ha_group, labels FROM prom.series WHERE metric = $1 ORDER BY id', [METRIC]);
  return r.rows.map((row) => ({ id: row.id, group: row.ha_group, labels: row.labels }));
}

/** Stored samples of the series rows recorded with `group`, per `series` label, ascending by time. */
async function samplesOfGroup(group: string): Promise<Map<number, StoredSample[]>> {
  const r = await client.query<{ series: string; ms: string; value: number }>(
    `SELECT se.labels->>'series' AS series, (extract(epoch FROM sa.time) * 1000)::bigint AS ms, sa.value
       FROM prom.samples sa JOIN prom.series se ON se.id = sa.series_id
      WHERE se.metric = $1 AND se.ha_group = $2 ORDER BY 1, 2`, [METRIC, group]);
  const out = new Map<number, StoredSample[]>();
  for (const row of r.rows) {
    const k = Number(row.series);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push({ ts: Number(row.ms), value: row.value });
  }
  return out;
}

function writer(ingress: string, group: string, replica: string, index: number, phaseMs: number): ReplicaWriter {
  const w = replicaWriter({
    url: procs[ingress].url, group, replica, index, series: SERIES, intervalMs: INTERVAL, phaseMs, spreadMs: 300,
    clusterLabel: null, metric: METRIC,
  });
  writers.push(w);
  return w;
}

describe('two HA groups named by --ha.group sending one label set', () => {
  it('get a series each, stored with the cluster label, and a failover in one leaves the other\'s series alone', async () => {
    const g1 = writer('ingress g1', 'g1', 'a', 1, 0);
    const g2a = writer('ingress g2', 'g2', 'a', 2, 250);
    const g2b = writer('ingress g2', 'g2', 'b', 3, 500);
    g1.start();
    g2a.start();
    await waitForLeader(client, 'g1', 'a', 15_000);
    await waitForLeader(client, 'g2', 'a', 15_000);
    g2b.start();
    await new Promise((r) => setTimeout(r, 4_000));
    await g2a.stop();
    await waitForLeader(client, 'g2', 'b', 15_000);
    await new Promise((r) => setTimeout(r, 4_000));
    await Promise.all([g1.stop(), g2b.stop()]);
    for (const w of [g1, g2a, g2b]) {
      expect(w.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), `${w.opts.group}/${w.replica}: writes all 2xx`).toEqual([]);
    }

    // Everything accepted of g1 and of g2's last leader is written (if not, the checks below say what is missing).
    await waitFor('last samples written', async () => {
      const [s1, s2] = [await samplesOfGroup('g1'), await samplesOfGroup('g2')];
      for (let i = 0; i < SERIES; i++) {
        const l1 = s1.get(i) ?? [];
        const l2 = s2.get(i) ?? [];
        if (l1.length === 0 || l1[l1.length - 1].ts !== g1.lastAcceptedTs(i)) return false;
        if (l2.length === 0 || l2[l2.length - 1].ts !== g2b.lastAcceptedTs(i)) return false;
      }
      return true;
    }, 20_000, 200).catch(() => undefined);

    // Two series rows per label set, one per group, each labelled with its group.
    const rows = await seriesRows();
    const order = (x: { group: string | null; labels: Record<string, string> }): string => `${x.group}/${x.labels.series.padStart(3, '0')}`;
    const got = rows.map((r) => ({ group: r.group, labels: r.labels })).sort((x, y) => (order(x) < order(y) ? -1 : 1));
    const want = ['g1', 'g2'].flatMap((g) => Array.from({ length: SERIES }, (_, i) => ({ group: g, labels: { cluster: g, series: String(i) } })));
    expect(got).toEqual(want);

    // g1's series: exactly every sample g1 had accepted, nothing of g2, through g2's failover.
    const s1 = await samplesOfGroup('g1');
    for (let i = 0; i < SERIES; i++) {
      const got = s1.get(i) ?? [];
      expect(got.filter((s) => replicaIndexOf(s.value) !== 1).length, `g1 series ${i}: no sample of g2`).toBe(0);
      expect(got.map((s) => `${s.ts}=${s.value}`), `g1 series ${i}: every accepted sample, once`)
        .toEqual(g1.acceptedOf(i).map((s) => `${s.ts}=${s.value}`));
    }

    // g2's series: a's samples, then b's from the first it sent after a's last stored one.
    const s2 = await samplesOfGroup('g2');
    expect(handoffProblems(s2, g2a, g2b)).toEqual([]);

    // The handoff marks of g2's current epoch name exactly g2's series (series.ha_group = 'g2').
    const g2Ids = rows.filter((r) => r.group === 'g2').map((r) => r.id).sort();
    const marks = await client.query<{ series_id: string }>(
      `SELECT series_id FROM prom.ha_series_marks
        WHERE group_name = 'g2' AND epoch = (SELECT epoch FROM prom.ha_leaders WHERE group_name = 'g2')`);
    expect(marks.rows.map((m) => m.series_id).sort(), 'series marked at g2\'s handoff').toEqual(g2Ids);

    // Readers tell the groups apart by the cluster label: the metrics view and remote_read.
    const view = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM prom.metrics WHERE name = $1 AND labels->>'cluster' = 'g1'", [METRIC]);
    expect(Number(view.rows[0].n)).toBe(g1.accepted().length);
    const body = snappyCompress(encodeReadRequest({
      queries: [{
        startTimestampMs: 0, endTimestampMs: Date.now() + 60_000,
        matchers: [{ type: 'EQ', name: '__name__', value: METRIC }, { type: 'EQ', name: 'cluster', value: 'g2' }],
      }],
      acceptedResponseTypes: ['SAMPLES'],
    }));
    const res = await fetch(`${procs['ingress g1'].url}/read`, {
      method: 'POST', body: new Uint8Array(body),
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Read-Version': '0.1.0' },
    });
    expect(res.status).toBe(200);
    const [result] = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 64 << 20));
    expect(result.timeseries).toHaveLength(SERIES);
    for (const ts of result.timeseries) {
      expect(ts.labels.find((l) => l.name === 'cluster')?.value).toBe('g2');
      expect(ts.samples.every((s) => replicaIndexOf(s.value) !== 1), 'remote_read of g2: no sample of g1').toBe(true);
    }
  }, 90_000);
});
