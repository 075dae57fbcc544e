/**
 * remote_read against Prometheus 2.42 itself. Prometheus W scrapes itself and node_exporter every
 * 250 ms and remote_writes through promfleet for over 60 s. Then:
 * - the same STREAMED_XOR_CHUNKS read, sent to W's own /api/v1/read and to promfleet's /read,
 *   returns byte-identical chunks per series (cut as W's head cut them, trimmed to the query);
 * - a second, empty Prometheus R whose only data source is promfleet's remote_read answers
 *   instant and range PromQL queries exactly as W answers them from its own TSDB.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeReadRequest, readChunkedFrames, snappyCompress, type ChunkedReadResponse, type LabelMatcher, type Query,
} from '../../src/protocol/index.js';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { expectSamePromql } from '../helpers/promql-compare.js';
import { startNodeExporter, startPrometheus, type NodeExporter, type PrometheusProcess } from '../helpers/prometheus.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, sleep, tail } from './support.js';

const RUN_MS = 65_000;
const EXTERNAL = { cluster: 'e2e-read', __replica__: 'w' };
const CHUNK_METRICS = 'up|scrape_duration_seconds|scrape_samples_scraped|prometheus_tsdb_head_series|node_load1|node_cpu_seconds_total|node_memory_MemAvailable_bytes';

/** Per series (labels without the replica label): its chunks as comparable text. */
type ChunkMap = Map<string, string[]>;

async function streamedRead(url: string, queries: Query[]): Promise<ChunkedReadResponse[]> {
  const body = snappyCompress(encodeReadRequest({ queries, acceptedResponseTypes: ['STREAMED_XOR_CHUNKS'] }));
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Read-Version': '0.1.0',
    },
    body: Buffer.from(body),
    signal: AbortSignal.timeout(30_000),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${Buffer.from(bytes).toString()}`);
  expect(res.headers.get('content-type')).toBe('application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse');
  return readChunkedFrames(bytes);
}

function chunkMap(frames: readonly ChunkedReadResponse[]): ChunkMap {
  const out: ChunkMap = new Map();
  for (const f of frames) {
    for (const s of f.series) {
      const key = `${f.queryIndex}:${s.labels.filter((l) => l.name !== EXTERNAL.__replica__ && l.name !== '__replica__').map((l) => `${l.name}=${l.value}`).join(',')}`;
      const chunks = out.get(key) ?? [];
      for (const c of s.chunks) chunks.push(`${c.type} ${c.minTimeMs}..${c.maxTimeMs} ${Buffer.from(c.data).toString('hex')}`);
      out.set(key, chunks);
    }
  }
  return out;
}

describe('remote_read: chunks as Prometheus 2.42 cuts them, and PromQL through a reading Prometheus', () => {
  let db: TestDatabase | undefined;
  let prefix = '';
  let promfleet: PromfleetProcess | undefined;
  let exporter: NodeExporter | undefined;
  let w: PrometheusProcess | undefined;
  let r: PrometheusProcess | undefined;
  let client: pg.Client | undefined;
  let startedAt = 0;
  let windowEnd = 0;
  let passed = 0;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_read');
    prefix = uniqueName('pfe2eread');
    promfleet = await startPromfleet('all', [
      `--pg.url=${db.url}`, `--queue.prefix=${prefix}`, '--pg.schema=prom', `--redis.url=${redisUrl()}`,
    ]);
    exporter = await startNodeExporter();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    startedAt = Date.now();
    w = await startPrometheus({
      name: 'writer', remoteWriteUrl: `${promfleet.url}/write`, scrapeTargets: [exporter.target],
      scrapeIntervalS: 0.25, externalLabels: EXTERNAL,
    });
    r = await startPrometheus({
      name: 'reader', remoteReadUrl: `${promfleet.url}/read`, scrapeTargets: [], selfJob: false,
      scrapeIntervalS: 1, externalLabels: EXTERNAL,
    });
    await sleep(startedAt + RUN_MS - Date.now());
    // Everything up to here has been scraped; W ships within a second or two (batch_send_deadline 1 s).
    windowEnd = Date.now() - 5_000;
    const c = client;
    await waitFor('promfleet to hold the window', async () => {
      const res = await c.query<{ t: Date | null }>(
        `SELECT max(s.time) AS t FROM prom.samples s JOIN prom.series r ON r.id = s.series_id WHERE r.metric = 'up'`,
      );
      const t = res.rows[0]?.t;
      return t !== null && t !== undefined && t.getTime() >= windowEnd + 2_000;
    }, 30_000, 250);
  }, 180_000);

  afterAll(async () => {
    await r?.stop();
    await w?.stop();
    await exporter?.stop();
    const code = await promfleet?.stop('SIGTERM');
    await client?.end();
    await dropOrKeep(passed === 2, {
      name: 'remote-read-prometheus', db, prefix,
      outputs: [[`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')], ['prometheus W', tail(w?.output() ?? '')], ['prometheus R', tail(r?.output() ?? '')]],
    });
  }, 60_000);

  it('streams chunks byte-identical to the ones Prometheus streams for the same series and samples', async () => {
    const matchers: LabelMatcher[] = [
      { type: 'RE', name: '__name__', value: CHUNK_METRICS },
      { type: 'EQ', name: 'cluster', value: EXTERNAL.cluster },
      { type: 'EQ', name: '__replica__', value: EXTERNAL.__replica__ },
    ];
    const queries: Query[] = [
      // From before the first sample: whole head chunks, as W cut them, the last one trimmed.
      { startTimestampMs: startedAt - 60_000, endTimestampMs: windowEnd, matchers },
      // From the middle, off the scrape grid: the first chunk is trimmed too.
      { startTimestampMs: startedAt + 20_123, endTimestampMs: windowEnd - 7_777, matchers },
    ];
    const theirs = chunkMap(await streamedRead(`${w!.url}/api/v1/read`, queries));
    const ours = chunkMap(await streamedRead(`${promfleet!.url}/read`, queries));

    expect(theirs.size).toBeGreaterThanOrEqual(10);
    let chunks = 0;
    let multi = 0;
    for (const v of theirs.values()) {
      chunks += v.length;
      if (v.length >= 2) multi += 1;
    }
    // 60 s at 4 samples a second: every series has been cut at least once.
    expect(multi).toBeGreaterThanOrEqual(5);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [series, want] of theirs) expect(ours.get(series), series).toEqual(want);
    console.info(`compared ${theirs.size} series, ${chunks} chunks: byte-identical`);
    passed += 1;
  }, 60_000);

  it('a Prometheus reading only through promfleet answers PromQL as the writing Prometheus does', async () => {
    const end = Math.floor(windowEnd / 1000);
    const start = Math.ceil(startedAt / 1000) + 35;
    expect(end - start).toBeGreaterThanOrEqual(20);
    const mid = Math.floor((start + end) / 2) + 0.5;
    const instant = [
      'up',
      'node_cpu_seconds_total{mode="idle"}',
      'count(node_cpu_seconds_total{mode!="idle"})',
      'node_memory_MemAvailable_bytes{instance=~"127\\\\.0\\\\.0\\\\.1:[0-9]+"}',
      'count by (job) (up{job!~"prom.*"})',
      // Absent-label selectors: `=""` selects series without the label, `!=` keeps them.
      '{__name__=~"node_load.*|node_memory_MemAvailable_bytes", cpu=""}',
      'sum(up{cpu!="0"})',
      'absent(no_such_metric_anywhere)',
    ];
    const range = [
      'rate(node_cpu_seconds_total{mode="user"}[30s])',
      'sum by (mode) (rate(node_cpu_seconds_total[30s]))',
      'rate(prometheus_tsdb_head_samples_appended_total[20s])',
      'scrape_samples_scraped{job!="node"}',
      'count({__name__=~"node_(load|memory)_.*"})',
    ];
    const compared = await expectSamePromql(w!, r!, { instant, at: [mid, end], range, start, end, step: 2 });
    console.info(`${compared} PromQL evaluations equal on W (own TSDB) and R (promfleet remote_read)`);
    passed += 1;
  }, 120_000);
});
