/**
 * The load generator: node_exporter-shaped remote_write traffic from M replicas of an HA
 * Prometheus pair (or more), N series each, at a target rate of samples per second, for a
 * bounded duration. Counts status codes and reports the rate achieved and latency percentiles.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { encodeLabels } from './body.js';
import { varintSize } from '../protocol/index.js';
import { buildTemplate, fillTemplate, type BodyTemplate } from './template.js';
import { loadSeries } from './series.js';
import { RequestLog, summarize, type LatencySummary, type WindowStats } from './stats.js';

export interface LoadgenOptions {
  /** Remote-write URL, e.g. http://127.0.0.1:9201/write. */
  readonly url: string;
  /** Series per replica. */
  readonly series: number;
  /** Replicas sending the same series (each with its own replica label). */
  readonly replicas: number;
  /** Target samples per second, all replicas together. */
  readonly rate: number;
  readonly durationMs: number;
  /** Series (one sample each) per request; Prometheus 2.42 sends up to 500. */
  readonly seriesPerRequest: number;
  /** Requests in flight at most (Prometheus's shards). */
  readonly connections: number;
  /** External labels: the cluster label's name and value, the replica label's name (values r0, r1, ...). */
  readonly clusterLabel: string;
  readonly cluster: string;
  readonly replicaLabel: string;
  /** A request not answered within this many ms counts as a timeout. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface LoadgenReport {
  readonly targetSamplesPerSec: number;
  /** Samples answered 2xx per second of the run. */
  readonly achievedSamplesPerSec: number;
  readonly seconds: number;
  readonly requests: number;
  readonly samplesSent: number;
  readonly samplesAccepted: number;
  /** Status code (or error code) → requests. */
  readonly statuses: Record<string, number>;
  readonly latencyMs: LatencySummary;
  /** Per 10 s: accepted rate and p99 latency, to see whether they stay flat. */
  readonly windows: WindowStats[];
}

const HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
  'user-agent': 'promfleet-loadgen/1',
};

const MAX_DURATION_MS = 24 * 3600_000;

export function checkLoadgenOptions(o: LoadgenOptions): void {
  const bad = (what: string) => {
    throw new RangeError(what);
  };
  if (!(o.series >= 1 && Number.isSafeInteger(o.series))) bad(`series must be a whole number >= 1, got ${o.series}`);
  if (!(o.replicas >= 1 && o.replicas <= 100 && Number.isSafeInteger(o.replicas))) bad(`replicas must be 1..100, got ${o.replicas}`);
  if (!(o.rate > 0)) bad(`rate must be > 0 samples/s, got ${o.rate}`);
  if (!(o.durationMs > 0 && o.durationMs <= MAX_DURATION_MS)) bad(`duration must be > 0 and at most 24h, got ${o.durationMs} ms`);
  if (!(o.seriesPerRequest >= 1 && o.seriesPerRequest <= 100_000)) bad(`series per request must be 1..100000, got ${o.seriesPerRequest}`);
  if (!(o.connections >= 1 && o.connections <= 1024)) bad(`connections must be 1..1024, got ${o.connections}`);
}

/** Runs the load until the duration passes (or the signal aborts); never longer. */
export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenReport> {
  checkLoadgenOptions(o);
  const url = new URL(o.url);
  const path = `${url.pathname}${url.search}`;
  const replicas = Array.from({ length: o.replicas }, (_, r) =>
    loadSeries({ series: o.series, external: { [o.clusterLabel]: o.cluster, [o.replicaLabel]: `r${r}` } }).map(encodeLabels));
  const chunks = Math.ceil(o.series / o.seriesPerRequest);
  // One "scrape" is every series of every replica once; its interval follows from the rate.
  const scrapeMs = Math.max(1, (o.series * o.replicas * 1000) / o.rate);
  const requestsPerScrape = chunks * o.replicas;
  const startMs = Date.now();
  const pool = new Pool(url.origin, { connections: o.connections, pipelining: 1, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
  const log = new RequestLog();
  // One compressed template per (replica, chunk), rebuilt only if timestamps change varint length.
  const templates = new Map<number, BodyTemplate>();
  const templateFor = (replica: number, chunk: number, from: number, to: number, ts: number): BodyTemplate => {
    const key = replica * chunks + chunk;
    let t = templates.get(key);
    if (t === undefined || t.tsSize !== varintSize(ts)) {
      t = buildTemplate(replicas[replica], from, to, varintSize(ts));
      templates.set(key, t);
    }
    return t;
  };
  let next = 0;
  let sent = 0;
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  const stopped = () => o.signal?.aborted === true || performance.now() >= deadline;

  async function sender(): Promise<void> {
    while (!stopped()) {
      const j = next++;
      const scrape = Math.floor(j / requestsPerScrape);
      const within = j % requestsPerScrape;
      const chunk = Math.floor(within / o.replicas);
      const replica = within % o.replicas;
      const from = chunk * o.seriesPerRequest;
      const to = Math.min(o.series, from + o.seriesPerRequest);
      // Due when its samples are, at the target rate; a late request goes at once.
      const due = t0 + ((j * o.series) / chunks / o.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await delay(wait);
      if (stopped()) break;
      // Replicas scrape the same targets a little apart, as an HA pair does.
      const ts = Math.round(startMs + scrape * scrapeMs) + replica * 3;
      const body = fillTemplate(templateFor(replica, chunk, from, to, ts), from, ts, (s) => s * 10 + scrape * 0.5);
      const started = performance.now();
      let status: string;
      try {
        const res = await pool.request({ path, method: 'POST', headers: HEADERS, body });
        await res.body.dump();
        status = String(res.statusCode);
      } catch (err) {
        status = (err as { code?: string }).code ?? 'error';
      }
      const done = performance.now();
      sent += to - from;
      log.add(done - t0, done - started, to - from, status);
    }
  }

  try {
    await Promise.all(Array.from({ length: o.connections }, () => sender()));
  } finally {
    await pool.close();
  }
  const ms = performance.now() - t0;
  const accepted = log.accepted();
  return {
    targetSamplesPerSec: o.rate,
    achievedSamplesPerSec: (accepted * 1000) / ms,
    seconds: ms / 1000,
    requests: log.requests,
    samplesSent: sent,
    samplesAccepted: accepted,
    statuses: log.statuses,
    latencyMs: summarize(log.latencies()),
    windows: log.windows(10_000, ms),
  };
}
