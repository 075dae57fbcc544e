/**
 * The same data sent as a remote-write 1.0 body to one promfleet and as a 2.0 body to another
 * ends up as the same rows: samples (value bits, stale markers included), native histograms
 * (integer, float, custom buckets, stale), exemplars and metadata, with the replica label
 * stripped from both. Created timestamps, which only 2.0 carries, are stored once per series and
 * start time. In an HA pair, a follower's 2.0 write is answered 204 with the counts it accepted
 * (retained for failover), and nothing of it is written while the leader writes.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import type { Histogram, TimeSeries, WriteRequest } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';
import { postWrite, RW1_HEADERS, rw2Body, testHistogram } from '../helpers/rw2.js';
import { close, render, type Bucket } from '../helpers/histogram-buckets.js';
import { createTestDatabase } from '../helpers/services.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
const STALE_NAN = (() => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, 0x7ff0000000000002n);
  return dv.getFloat64(0);
})();

function labels(name: string, extra: Record<string, string>, replica: string): TimeSeries['labels'] {
  const all: Record<string, string> = { __name__: name, __replica__: replica, cluster: 'rt', ...extra };
  return Object.keys(all).sort().map((k) => ({ name: k, value: all[k] }));
}

function data(replica: string, base: number): WriteRequest {
  const floatHist: Histogram = {
    countFloat: 10.5, sum: -3.25, schema: -2, zeroThreshold: 0.001, zeroCountFloat: 0.5, negativeSpans: [{ offset: -1, length: 1 }],
    negativeDeltas: [], negativeCounts: [2], positiveSpans: [{ offset: 1, length: 2 }], positiveDeltas: [], positiveCounts: [3, 5], resetHint: 3, timestamp: T0 + 1000,
  };
  const staleHist: Histogram = { ...testHistogram(0, {}, T0 + 2000), sum: STALE_NAN };
  return {
    timeseries: [
      {
        labels: labels('requests_total', { job: 'api' }, replica),
        samples: [{ value: base + 1, timestamp: T0 }, { value: base + 2, timestamp: T0 + 1000 }, { value: STALE_NAN, timestamp: T0 + 2000 }],
        exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: base + 1, timestamp: T0 - 500 }],
        histograms: [],
        createdTimestamp: T0 - 60_000,
      },
      {
        labels: labels('latency_seconds', { job: 'api' }, replica),
        samples: [],
        exemplars: [{ labels: [{ name: 'span_id', value: 's1' }, { name: 'trace_id', value: 'def' }], value: 0.25, timestamp: T0 }],
        histograms: [testHistogram(base, { positive: true, negative: true, zero: true }, T0), floatHist, staleHist],
        createdTimestamp: T0 - 120_000,
      },
      {
        labels: labels('size_bytes', { job: 'api' }, replica),
        samples: [],
        exemplars: [],
        histograms: [testHistogram(base, { custom: true }, T0)],
      },
      { labels: labels('only_exemplars', {}, replica), samples: [], histograms: [], exemplars: [{ labels: [], value: 7, timestamp: T0 }] },
    ],
    metadata: [
      { type: 'counter', metricFamilyName: 'requests_total', help: 'Requests.', unit: '' },
      { type: 'histogram', metricFamilyName: 'latency_seconds', help: 'Latency.', unit: 'seconds' },
    ],
  };
}

interface Dump {
  samples: unknown[]; histograms: unknown[]; exemplars: unknown[]; metadata: unknown[]; created: unknown[]; replicaLabels: number;
  /** Non-empty buckets of each histogram from the histogram_buckets view, by "name@ms". */
  buckets: Map<string, Bucket[]>;
}

async function dump(c: pg.Client): Promise<Dump> {
  const q = async (sql: string): Promise<unknown[]> => (await c.query(sql)).rows;
  return {
    samples: await q(`SELECT s.metric, s.labels, (extract(epoch FROM p.time) * 1000)::bigint AS ms, encode(float8send(p.value), 'hex') AS bits
      FROM prom.samples p JOIN prom.series s ON s.id = p.series_id ORDER BY 1, 3`),
    histograms: await q(`SELECT name, labels, (extract(epoch FROM time) * 1000)::bigint AS ms, histogram, count, sum, schema, is_float
      FROM prom.histogram_samples ORDER BY 1, 3`),
    exemplars: await q(`SELECT name, labels, (extract(epoch FROM time) * 1000)::bigint AS ms, exemplar_labels, value FROM prom.exemplar_samples ORDER BY 1, 3`),
    metadata: await q('SELECT metric_family, type, help, unit FROM prom.metadata ORDER BY 1'),
    created: await q(`SELECT name, labels, (extract(epoch FROM created) * 1000)::bigint AS created, (extract(epoch FROM first_seen) * 1000)::bigint AS seen
      FROM prom.series_created ORDER BY 1`),
    replicaLabels: Number((await c.query(`SELECT count(*) AS n FROM prom.series WHERE labels ? '__replica__'`)).rows[0].n),
    buckets: await bucketsOf(c),
  };
}

async function bucketsOf(c: pg.Client): Promise<Map<string, Bucket[]>> {
  const r = await c.query<{ name: string; ms: string; lower: number; upper: number; count: number; kind: string }>(
    `SELECT name, (extract(epoch FROM time) * 1000)::bigint AS ms, lower, upper, count, kind FROM prom.histogram_buckets WHERE count <> 0`);
  const out = new Map<string, Bucket[]>();
  for (const row of r.rows) {
    const k = `${row.name}@${row.ms}`;
    const list = out.get(k) ?? [];
    list.push([row.kind === 'negative' ? 1 : row.kind === 'zero' ? 3 : 0, row.lower, row.upper, row.count]);
    out.set(k, list);
  }
  for (const list of out.values()) list.sort((a, b) => a[1] - b[1]);
  return out;
}

/**
 * Runs `post` against a fresh `promfleet all`, waits until what PostgreSQL holds satisfies
 * `ready`, then runs `after` (given a fresh dump function) and returns the last dump.
 */
async function storeWith(
  name: string, post: (url: string) => Promise<void>, ready: (d: Dump) => boolean,
  after?: (url: string, dumpNow: () => Promise<Dump>) => Promise<Dump>,
): Promise<Dump> {
  const db = await createTestDatabase(name);
  const t = await startApp('all', { pgUrl: db.url });
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  let passed = false;
  try {
    await post(t.url);
    let last: Dump | undefined;
    await waitFor(`${name}: everything written`, async () => ready((last = await dump(c))), 30_000, 200);
    if (after) last = await after(t.url, () => dump(c));
    passed = true;
    return last!;
  } finally {
    await c.end();
    await t.stop();
    await deleteRedisPrefix(t.prefix);
    if (passed) await db.drop();
  }
}

const complete = (d: Dump): boolean => d.samples.length === 3 && d.histograms.length === 4 && d.exemplars.length === 3 && d.metadata.length === 2;

describe('remote-write 2.0 and 1.0 store the same rows', () => {
  it('samples, histograms, exemplars and metadata are identical; created timestamps come with 2.0', async () => {
    const v1 = await storeWith('rt_v1', async (url) => {
      const a = await postWrite(url, Buffer.from(snappyCompress(encodeWriteRequest(data('a', 0)))), RW1_HEADERS);
      expect(a.status, a.text).toBe(204);
    }, complete);
    const v2 = await storeWith('rt_v2', async (url) => {
      const a = await postWrite(url, rw2Body(data('a', 0)));
      expect(a.status, a.text).toBe(204);
      expect(a.written).toEqual({ samples: 3, histograms: 4, exemplars: 3 });
    }, (d) => complete(d) && d.created.length === 2);

    expect(v2.samples).toEqual(v1.samples);
    expect(v2.histograms).toEqual(v1.histograms);
    expect(v2.exemplars).toEqual(v1.exemplars);
    expect(v2.metadata).toEqual(v1.metadata);
    // The SQL bucket view renders every stored histogram as Prometheus's API would.
    for (const h of v2.histograms as { name: string; ms: string; histogram: Record<string, unknown> }[]) {
      const want = render(h.histogram).buckets.sort((a, b) => a[1] - b[1]);
      const got = v2.buckets.get(`${h.name}@${h.ms}`) ?? [];
      expect(got.length, `${h.name}@${h.ms}`).toBe(want.length);
      got.forEach((b, i) => {
        expect([b[0], b[3]]).toEqual([want[i][0], want[i][3]]);
        expect(close(b[1], want[i][1]) && close(b[2], want[i][2]), `${h.name}@${h.ms} bucket ${i}: ${JSON.stringify(b)} vs ${JSON.stringify(want[i])}`).toBe(true);
      });
    }
    expect([...v2.buckets.values()].flat().length).toBeGreaterThan(15);
    expect(v1.created).toEqual([]);
    expect(v2.created).toEqual([
      { name: 'latency_seconds', labels: { cluster: 'rt', job: 'api' }, created: String(T0 - 120_000), seen: String(T0 + 2000) },
      { name: 'requests_total', labels: { cluster: 'rt', job: 'api' }, created: String(T0 - 60_000), seen: String(T0 + 2000) },
    ]);
    expect(v2.replicaLabels).toBe(0);
    expect(v1.samples.map((s) => (s as { bits: string }).bits)).toContain('7ff0000000000002');
    const stale = v2.histograms.find((h) => (h as { ms: string }).ms === String(T0 + 2000) && (h as { name: string }).name === 'latency_seconds') as { histogram: { sum: unknown } };
    expect(stale.histogram.sum).toBe('StaleNaN');
    const custom = v2.histograms.find((h) => (h as { name: string }).name === 'size_bytes') as { histogram: { customValues: number[] }; schema: number };
    expect(custom.schema).toBe(-53);
    expect(custom.histogram.customValues).toEqual([0.1, 0.5, 1, 2.5, 5, 10]);
  }, 90_000);

  it('a follower\'s 2.0 write is answered 204 with the counts it accepted, and only the leader\'s data is written', async () => {
    let followerAnswer: Awaited<ReturnType<typeof postWrite>> | undefined;
    const stored = await storeWith('rt_ha', async (url) => {
      const leader = await postWrite(url, rw2Body(data('a', 0)));
      expect(leader.status, leader.text).toBe(204);
    }, complete, async (url, dumpNow) => {
      // Replica a leads (its data is in); b's write is retained in b's paused queue.
      followerAnswer = await postWrite(url, rw2Body(data('b', 1000)));
      await new Promise((r) => setTimeout(r, 3000));
      return dumpNow();
    });
    expect(followerAnswer?.status).toBe(204);
    expect(followerAnswer?.written).toEqual({ samples: 3, histograms: 4, exemplars: 3 });
    // The follower's values are 1000 above the leader's: none of them is stored.
    const values = stored.samples.map((s) => (s as { bits: string }).bits);
    expect(values).toContain('3ff0000000000000'); // 1, from the leader
    expect(values).not.toContain('408f480000000000'); // 1001, from the follower
    const sums = stored.histograms.map((h) => (h as { histogram: { sum: unknown } }).histogram.sum);
    expect(sums).not.toContain(1000);
  }, 90_000);
});
