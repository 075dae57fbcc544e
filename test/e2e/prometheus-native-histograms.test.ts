/**
 * Debian's Prometheus 2.42 with `--enable-feature=native-histograms`
 * scrapes a target that exposes native histograms in the protobuf exposition format (served by
 * the test), and remote_writes them with `send_native_histograms: true` to `promfleet all`.
 * Over a window that has been fully flushed, every histogram PostgreSQL holds equals the one
 * Prometheus's HTTP API returns for the same series and timestamp: count, sum, and every
 * bucket's boundaries and count, as the SQL views `histogram_samples` and `histogram_buckets`
 * render the stored spans and deltas. A counter's exemplars (exemplar storage on,
 * `send_exemplars: true`) are stored as Prometheus's exemplar API returns them.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { close, type Bucket } from '../helpers/histogram-buckets.js';
import { encodeCounterFamily, NativeHistogram, startHistogramTarget, type HistogramTarget } from '../helpers/native-histogram-target.js';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { startPrometheus, type ApiHistogram, type PrometheusProcess } from '../helpers/prometheus.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, sleep, tail } from './support.js';

const RUN_MS = 30_000;
const NAME = 'demo_request_seconds';
const COUNTER = 'demo_requests_total';

interface Point { timeMs: number; count: number; sum: number; buckets: Bucket[] }

function fromApi(h: ApiHistogram): Omit<Point, 'timeMs'> {
  return {
    count: Number(h.count),
    sum: Number(h.sum),
    buckets: (h.buckets ?? []).map(([rule, lo, hi, c]) => [rule, Number(lo), Number(hi), Number(c)] as Bucket),
  };
}

function sameBuckets(a: readonly Bucket[], b: readonly Bucket[]): boolean {
  const key = (x: Bucket) => x[1];
  const as = [...a].sort((x, y) => key(x) - key(y));
  const bs = [...b].sort((x, y) => key(x) - key(y));
  return as.length === bs.length && as.every((x, i) => x[0] === bs[i][0] && close(x[1], bs[i][1]) && close(x[2], bs[i][2]) && x[3] === bs[i][3]);
}

/** A deterministic stream of observations spread over many buckets, both signs for /b. */
function observations(seed: number): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < 7; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(0.001 * 2 ** ((x % 1700) / 100));
  }
  return out;
}

describe('Prometheus 2.42 native histograms → promfleet all → PostgreSQL', () => {
  let db: TestDatabase | undefined;
  let prefix = '';
  let promfleet: PromfleetProcess | undefined;
  let target: HistogramTarget | undefined;
  let prom: PrometheusProcess | undefined;
  let client: pg.Client | undefined;
  let passed = false;
  const a = new NativeHistogram({ path: '/a' }, 3);
  const b = new NativeHistogram({ path: '/b' }, -1);

  beforeAll(async () => {
    db = await createTestDatabase('e2e_nh');
    prefix = uniqueName('pfe2enh');
    promfleet = await startPromfleet('all', [`--pg.url=${db.url}`, `--queue.prefix=${prefix}`, '--pg.schema=prom', `--redis.url=${redisUrl()}`]);
    target = await startHistogramTarget({ name: NAME, help: 'Request latency.', series: [a, b] }, (scrape) => {
      for (const v of observations(scrape)) a.observe(v);
      for (const v of observations(scrape * 7 + 1)) b.observe(scrape % 2 === 0 ? v : -v);
      if (scrape % 3 === 0) b.observe(0);
    }, (scrape) => encodeCounterFamily(COUNTER, 'Requests.', scrape * 3, {
      labels: { trace_id: `trace-${scrape}` }, value: scrape / 8, timestampMs: Date.now() - 250,
    }));
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await target?.stop();
    const code = await promfleet?.stop('SIGTERM');
    await client?.end();
    await dropOrKeep(passed, {
      name: 'prometheus-native-histograms', db, prefix,
      outputs: [[`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')], ['prometheus', tail(prom?.output() ?? '')]],
    });
  }, 60_000);

  it('stores every native histogram as Prometheus has it (count, sum, bucket boundaries and counts), and every exemplar', async () => {
    const c = client!;
    const startedAt = Date.now();
    prom = await startPrometheus({
      name: 'promfleet-e2e-nh',
      remoteWriteUrl: `${promfleet!.url}/write`,
      scrapeTargets: [target!.target],
      targetsJob: 'demo',
      selfJob: false,
      scrapeIntervalS: 1,
      externalLabels: { cluster: 'e2e', __replica__: 'a' },
      extraArgs: ['--enable-feature=native-histograms', '--enable-feature=exemplar-storage'],
      remoteWriteExtra: { send_native_histograms: true, send_exemplars: true },
    });
    const p = prom;
    await sleep(startedAt + RUN_MS - Date.now());
    const windowStart = startedAt + 4_000;
    const windowEnd = Date.now() - 8_000;
    expect(target!.scrapes()).toBeGreaterThanOrEqual(20);

    const range = await p.query(`${NAME}[${windowEnd - windowStart}ms]`, windowEnd / 1000);
    expect(range.resultType).toBe('matrix');
    const expected = new Map<string, Point[]>();
    if (range.resultType === 'matrix') {
      for (const item of range.result) {
        const points = (item.histograms ?? []).map(([t, h]) => ({ timeMs: Math.round(t * 1000), ...fromApi(h) }));
        expected.set(item.metric.path, points);
      }
    }
    expect([...expected.keys()].sort()).toEqual(['/a', '/b']);
    for (const [path, points] of expected) expect(points.length, `histograms of ${path} in the window`).toBeGreaterThanOrEqual(15);

    /** What PostgreSQL holds, count and sum from histogram_samples, buckets from the histogram_buckets view. */
    async function stored(path: string): Promise<Point[]> {
      const where = `name = $1 AND labels = $2::jsonb AND time > to_timestamp($3::float8 / 1000) AND time <= to_timestamp($4::float8 / 1000)`;
      const params = [NAME, JSON.stringify({ cluster: 'e2e', instance: target!.target, job: 'demo', path }), windowStart, windowEnd];
      const r = await c.query<{ ms: string; count: number; sum: number }>(
        `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, count, sum FROM prom.histogram_samples WHERE ${where} ORDER BY time`, params);
      const b = await c.query<{ ms: string; lower: number; upper: number; count: number; kind: string }>(
        `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, lower, upper, count, kind FROM prom.histogram_buckets WHERE ${where} AND count <> 0`, params);
      const buckets = new Map<string, Bucket[]>();
      for (const row of b.rows) {
        const list = buckets.get(row.ms) ?? [];
        list.push([row.kind === 'negative' ? 1 : row.kind === 'zero' ? 3 : 0, row.lower, row.upper, row.count]);
        buckets.set(row.ms, list);
      }
      return r.rows.map((row) => ({ timeMs: Number(row.ms), count: row.count, sum: row.sum, buckets: buckets.get(row.ms) ?? [] }));
    }

    let mismatch = '';
    await waitFor('PostgreSQL to hold every histogram of the window', async () => {
      mismatch = '';
      for (const [path, want] of expected) {
        const got = await stored(path);
        if (got.length !== want.length) {
          mismatch = `${path}: ${got.length} stored, ${want.length} in Prometheus`;
          return false;
        }
        for (let i = 0; i < want.length; i++) {
          const g = got[i];
          const w = want[i];
          if (g.timeMs !== w.timeMs || g.count !== w.count || !close(g.sum, w.sum) || !sameBuckets(g.buckets, w.buckets)) {
            mismatch = `${path} @${w.timeMs}: stored ${JSON.stringify(g)}, Prometheus ${JSON.stringify(w)}`;
            return false;
          }
        }
      }
      return true;
    }, 30_000, 500).catch(() => undefined);
    expect(mismatch).toBe('');
    const compared = [...expected.values()].reduce((n, s) => n + s.length, 0);
    const buckets = [...expected.values()].flat().reduce((n, s) => n + s.buckets.length, 0);
    expect(buckets).toBeGreaterThan(10 * compared);
    console.info(`compared ${compared} native histograms (${buckets} buckets) of 2 series: equal`);

    const failed = await p.query('sum(prometheus_remote_storage_histograms_failed_total) or vector(0)');
    expect(failed.resultType === 'vector' ? failed.result[0]?.value[1] : undefined).toBe('0');

    // Exemplars: what Prometheus's exemplar storage holds for the window is what PostgreSQL holds.
    const api = await fetch(`${p.url}/api/v1/query_exemplars?${new URLSearchParams({ query: COUNTER, start: String(windowStart / 1000), end: String(windowEnd / 1000) })}`);
    const body = (await api.json()) as { data: { exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[] };
    const wantExemplars = body.data.flatMap((d) => d.exemplars)
      .map((e) => `${Math.round(e.timestamp * 1000)} ${e.labels.trace_id} ${Number(e.value)}`)
      .filter((e) => Number(e.split(' ')[0]) > windowStart && Number(e.split(' ')[0]) <= windowEnd).sort();
    expect(wantExemplars.length).toBeGreaterThanOrEqual(15);
    let gotExemplars: string[] = [];
    await waitFor('PostgreSQL to hold the exemplars of the window', async () => {
      const r = await c.query<{ ms: string; trace: string; value: number }>(
        `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, exemplar_labels->>'trace_id' AS trace, value FROM prom.exemplar_samples
         WHERE name = $1 AND labels->>'cluster' = 'e2e' AND time > to_timestamp($2::float8 / 1000) AND time <= to_timestamp($3::float8 / 1000)`,
        [COUNTER, windowStart, windowEnd]);
      gotExemplars = r.rows.map((row) => `${row.ms} ${row.trace} ${row.value}`).sort();
      return JSON.stringify(gotExemplars) === JSON.stringify(wantExemplars);
    }, 30_000, 500).catch(() => undefined);
    expect(gotExemplars).toEqual(wantExemplars);
    console.info(`compared ${wantExemplars.length} exemplars: equal`);
    passed = true;
  }, 120_000);
});
