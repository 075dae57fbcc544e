/**
 * Benchmark 2, the read path: a 1 h range read over 1,000 series through remote_read, as
 * STREAMED_XOR_CHUNKS and as SAMPLES, beside the ceiling of pulling the same rows out of
 * PostgreSQL (binary COPY TO STDOUT) and, as a peer, Prometheus 2.42 serving the same samples
 * from its own TSDB.
 */
import { once } from 'node:events';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { pino } from 'pino';
import { request } from 'undici';
import { createApp, migrateOptions } from '../src/app.js';
import { parseConfig } from '../src/config/index.js';
import {
  decodeReadResponse, encodeReadRequest, encodeWriteRequest, readChunkedFrames, snappyCompress, snappyDecompress,
  type Query, type ResponseType,
} from '../src/protocol/index.js';
import { BatchWriter, Partitions, SeriesResolver, createPool, migrate } from '../src/storage/index.js';
import { startPrometheusPeer } from './prometheus-peer.js';
import { READ_JOB, READ_METRIC, readData, timeSlices, type ReadData } from './read-data.js';
import { elapsedMs, perSecond, type Figure } from './report.js';
import { BENCH_REDIS_URL, createScratchDatabase } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

const log = pino({ level: process.env.PROMFLEET_BENCH_LOG ?? 'warn' }, pino.destination(2));
const SERIES = Number(process.env.PROMFLEET_BENCH_READ_SERIES ?? 1_000);
/** Scrape interval of the data read: 720 samples per series per hour at 5 s. */
const STEP_MS = Number(process.env.PROMFLEET_BENCH_READ_STEP_MS ?? 5_000);
const ROUNDS = 3;

interface ReadTiming { readonly ms: number; readonly bytes: number; readonly samples: number }

/** Samples in a remote-read response body (decompressed SAMPLES, or the chunk headers of frames). */
function countSamples(type: ResponseType, body: Buffer): number {
  if (type === 'SAMPLES') {
    return decodeReadResponse(snappyDecompress(body, 1 << 30)).reduce((n, r) => n + r.timeseries.reduce((m, ts) => m + ts.samples.length, 0), 0);
  }
  let n = 0;
  for (const f of readChunkedFrames(body)) for (const s of f.series) for (const c of s.chunks) n += (c.data[0] << 8) | c.data[1];
  return n;
}

/** One warm-up, then the median of ROUNDS timed reads, each until the last byte arrived. */
async function timeRead(url: string, query: Query, type: ResponseType): Promise<ReadTiming> {
  const body = Buffer.from(snappyCompress(encodeReadRequest({ queries: [query], acceptedResponseTypes: [type] })));
  const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-read-version': '0.1.0' };
  const once1 = async (): Promise<{ ms: number; body: Buffer }> => {
    const start = process.hrtime.bigint();
    const res = await request(url, { method: 'POST', body, headers, headersTimeout: 120_000, bodyTimeout: 120_000 });
    const out = Buffer.from(await res.body.arrayBuffer());
    const ms = elapsedMs(start);
    if (res.statusCode !== 200) throw new Error(`${url} ${type}: ${res.statusCode} ${out.subarray(0, 300).toString()}`);
    return { ms, body: out };
  };
  const warm = await once1();
  const samples = countSamples(type, warm.body);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push((await once1()).ms);
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, bytes: warm.body.length, samples };
}

/** The ceiling: the same rows out of PostgreSQL as binary COPY, nothing done with them. */
async function timeCopyOut(url: string, data: { startMs: number; endMs: number }): Promise<ReadTiming> {
  const client = new pg.Client({ connectionString: url, application_name: 'promfleet bench copy-out' });
  await client.connect();
  try {
    const ids = (await client.query<{ id: string }>(
      `SELECT id FROM prom.series WHERE metric = $1 AND labels @> $2::jsonb`, [READ_METRIC, JSON.stringify({ job: READ_JOB })],
    )).rows.map((r) => Number(r.id));
    const sql = `COPY (SELECT series_id, time, value FROM prom.samples WHERE series_id IN (${ids.join(',')})
      AND time >= to_timestamp(${data.startMs / 1000}) AND time <= to_timestamp(${data.endMs / 1000}) ORDER BY series_id, time)
      TO STDOUT (FORMAT binary)`;
    const run = async (): Promise<{ ms: number; bytes: number }> => {
      const start = process.hrtime.bigint();
      const stream = client.query(copyTo(sql));
      let bytes = 0;
      stream.on('data', (c: Buffer) => { bytes += c.length; });
      await once(stream, 'end');
      return { ms: elapsedMs(start), bytes };
    };
    const warm = await run();
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) times.push((await run()).ms);
    times.sort((a, b) => a - b);
    const rows = Number((await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM prom.samples WHERE series_id = ANY($1::bigint[])`, [ids],
    )).rows[0]?.n);
    return { ms: times[Math.floor(times.length / 2)]!, bytes: warm.bytes, samples: rows };
  } finally {
    await client.end();
  }
}

async function load(url: string, data: ReadData): Promise<number> {
  const start = process.hrtime.bigint();
  const pool = createPool({ connectionString: url, max: 2, applicationName: 'promfleet bench load' }, log);
  try {
    const config = parseConfig(['--pg.schema=prom'], {});
    await migrate(pool, migrateOptions(config.storage, log));
    const writer = new BatchWriter({
      pool, schema: 'prom', log,
      partitions: new Partitions({ pool, schema: 'prom', intervalMs: config.storage.migration.partitionIntervalMs, log }),
      series: new SeriesResolver({ schema: 'prom' }),
    });
    for (let i = 0; i < data.timeseries.length; i += 100) {
      await writer.write({ id: `read-bench-${i}`, queue: '{default}', metadata: [], timeseries: data.timeseries.slice(i, i + 100) });
    }
    await pool.query('ANALYZE prom.samples');
  } finally {
    await pool.end();
  }
  return elapsedMs(start);
}

/** Prometheus given the same samples through its remote-write receiver, then read the same way. */
async function timePrometheus(data: ReadData, query: Query): Promise<{ version: string; chunks: ReadTiming; samples: ReadTiming } | string> {
  const peer = await startPrometheusPeer();
  if (peer === null) return 'peer not installed (Debian package prometheus)';
  try {
    for (const slice of timeSlices(data, 300_000)) {
      const body = Buffer.from(snappyCompress(encodeWriteRequest({ timeseries: slice, metadata: [] })));
      const res = await request(`${peer.url}/api/v1/write`, {
        method: 'POST', body,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`prometheus /api/v1/write: ${res.statusCode} ${text}`);
    }
    return {
      version: peer.version,
      chunks: await timeRead(`${peer.url}/api/v1/read`, query, 'STREAMED_XOR_CHUNKS'),
      samples: await timeRead(`${peer.url}/api/v1/read`, query, 'SAMPLES'),
    };
  } finally {
    await peer.stop();
  }
}

export async function readPathBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const errors: string[] = [];
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  // Made again for the peer: held across the timed reads, its 720k objects would make every
  // garbage collection of the reader's process slower than it is in a real ingress.
  let data: ReadData | undefined = readData(SERIES, STEP_MS, endMs);
  const expected = data.series * data.samplesPerSeries;
  const shape = { startMs: data.startMs, endMs: data.endMs, series: data.series, samplesPerSeries: data.samplesPerSeries };
  const query: Query = {
    startTimestampMs: data.startMs, endTimestampMs: data.endMs,
    matchers: [{ type: 'EQ', name: '__name__', value: READ_METRIC }, { type: 'EQ', name: 'job', value: READ_JOB }],
  };
  const db = await createScratchDatabase();
  try {
    const loadMs = await load(db.url, data);
    data = undefined;
    say(`  loaded ${shape.series} series × ${shape.samplesPerSeries} samples in ${(loadMs / 1000).toFixed(1)} s`);
    const copyOut = await timeCopyOut(db.url, shape);
    const app = createApp('ingress', parseConfig([
      '--web.listen-address=127.0.0.1:0', '--read-only', `--pg.url=${db.url}`, '--pg.schema=prom',
      `--redis.url=${BENCH_REDIS_URL}`, '--log.level=warn',
    ], {}), log);
    await app.start();
    let chunks: ReadTiming;
    let samples: ReadTiming;
    try {
      const url = `http://127.0.0.1:${app.server.port}/read`;
      chunks = await timeRead(url, query, 'STREAMED_XOR_CHUNKS');
      samples = await timeRead(url, query, 'SAMPLES');
    } finally {
      await app.stop();
    }
    for (const [what, t] of [['chunks', chunks], ['samples', samples], ['copy out', copyOut]] as const) {
      if (t.samples !== expected) errors.push(`read ${what}: ${t.samples} samples returned, expected ${expected}`);
    }
    const prom = await timePrometheus(readData(SERIES, STEP_MS, endMs), query).catch((err: unknown) => `peer failed: ${(err as Error).message}`);
    if (typeof prom === 'string') say(`  prometheus: ${prom}`);
    const ceiling = { name: 'raw COPY out', value: perSecond(copyOut.samples, copyOut.ms) };
    const peer = (t: ReadTiming | undefined) => (t === undefined ? [] : [{ name: 'prometheus', value: perSecond(t.samples, t.ms) }]);
    const figures: Figure[] = [
      {
        name: 'read/chunks', value: perSecond(chunks.samples, chunks.ms), unit: 'samples/s', ceiling,
        peers: [...peer(typeof prom === 'string' ? undefined : prom.chunks), { name: 'target 1M', value: 1_000_000 }],
      },
      { name: 'read/samples', value: perSecond(samples.samples, samples.ms), unit: 'samples/s', ceiling, peers: peer(typeof prom === 'string' ? undefined : prom.samples) },
    ];
    return {
      figures,
      details: { ...shape, stepMs: STEP_MS, loadMs, rounds: ROUNDS, chunks, samples, copyOut, prometheus: prom },
      errors,
    };
  } finally {
    await db.drop();
  }
}
