/**
 * Debian's Prometheus 2.42 and node_exporter as child processes on free loopback ports, for the
 * end-to-end tests. Each instance owns a fresh temporary directory (config + TSDB) that stop()
 * removes; stop() is bounded (SIGTERM, then SIGKILL) and idempotent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './ports.js';

export const PROMETHEUS_BIN = process.env.PROMFLEET_TEST_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const NODE_EXPORTER_BIN = process.env.PROMFLEET_TEST_NODE_EXPORTER_BIN ?? '/usr/bin/prometheus-node-exporter';

/** Keeps the last `max` characters a process wrote, for failure messages. */
class OutputTail {
  private text = '';
  constructor(private readonly max = 64 * 1024) {}
  append(chunk: Buffer): void {
    this.text += chunk.toString();
    if (this.text.length > this.max) this.text = this.text.slice(this.text.length - this.max);
  }
  toString(): string {
    return this.text;
  }
}

interface Child {
  readonly proc: ChildProcess;
  readonly output: OutputTail;
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM (or `signal`), up to `timeoutMs`, then SIGKILL; resolves with the exit code. Idempotent. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

function spawnChild(bin: string, args: string[]): Child {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new OutputTail();
  proc.stdout?.on('data', (d: Buffer) => output.append(d));
  proc.stderr?.on('data', (d: Buffer) => output.append(d));
  let done = false;
  const exit = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => { done = true; resolve(code); });
    // A binary that cannot be spawned never emits 'exit'; report it through the same promise.
    proc.once('error', (err) => { done = true; output.append(Buffer.from(`\nspawn error: ${err.message}\n`)); resolve(null); });
  });
  let stopping: Promise<number | null> | undefined;
  return {
    proc,
    output,
    exited: () => done,
    stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) {
      stopping ??= (async () => {
        if (done) return proc.exitCode;
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
        try {
          return await exit;
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}

/**
 * Starts a process on a free port and waits until `ready(port)` answers; retries on another port
 * when the process dies first (the free port may have been taken between probe and bind).
 */
async function startOnFreePort(what: string, launch: (port: number) => Promise<Child>, ready: (port: number) => Promise<boolean>): Promise<{ child: Child; port: number }> {
  let lastOutput = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = await launch(port);
    try {
      await waitFor(`${what} on 127.0.0.1:${port}`, async () => {
        if (child.exited()) throw new Error('exited early');
        return ready(port);
      }, 30_000, 100);
      return { child, port };
    } catch (err) {
      await child.stop('SIGKILL');
      lastOutput = `${(err as Error).message}\n${child.output.toString()}`;
      if (!/address already in use/i.test(lastOutput)) break;
    }
  }
  throw new Error(`${what} did not start:\n${lastOutput}`);
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.ok;
}

export interface NodeExporter {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** host:port, the way a scrape config names it. */
  readonly target: string;
  output(): string;
  stop(): Promise<void>;
}

/** node_exporter with a few cheap, stable collectors, on a free loopback port. */
export async function startNodeExporter(): Promise<NodeExporter> {
  const { child, port } = await startOnFreePort('node_exporter', async (p) => spawnChild(NODE_EXPORTER_BIN, [
    `--web.listen-address=127.0.0.1:${p}`,
    '--collector.disable-defaults',
    '--collector.cpu',
    '--collector.loadavg',
    '--collector.meminfo',
    '--collector.netdev',
    '--collector.time',
    '--log.level=warn',
  ]), (p) => httpOk(`http://127.0.0.1:${p}/metrics`));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    target: `127.0.0.1:${port}`,
    output: () => child.output.toString(),
    async stop() {
      await child.stop();
    },
  };
}

export interface PrometheusOptions {
  /** Names the remote_write/remote_read endpoints (shows in Prometheus's logs and metrics). */
  readonly name: string;
  readonly remoteWriteUrl?: string;
  readonly remoteReadUrl?: string;
  /** host:port targets, scraped as job `targetsJob`. */
  readonly scrapeTargets: readonly string[];
  /** Job name of `scrapeTargets`; default `node`. */
  readonly targetsJob?: string;
  /** Job name under which Prometheus scrapes itself; false: it does not. Default `prometheus`. */
  readonly selfJob?: string | false;
  readonly scrapeIntervalS: number;
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
  /** Merged into the remote_write entry (send_native_histograms, authorization, basic_auth, tls_config, ...). */
  readonly remoteWriteExtra?: Readonly<Record<string, unknown>>;
  /** Merged into the remote_read entry (basic_auth, tls_config, ...). */
  readonly remoteReadExtra?: Readonly<Record<string, unknown>>;
}

/** One sample as Prometheus's HTTP API returns it: [unix seconds, value as text]. */
export type ApiSample = [number, string];
/** A native histogram as the HTTP API returns it: buckets are [boundary rule, lower, upper, count]. */
export interface ApiHistogram { count: string; sum: string; buckets?: [number, string, string, string][] }
export interface VectorItem { metric: Record<string, string>; value: ApiSample }
export interface MatrixItem { metric: Record<string, string>; values: ApiSample[]; histograms?: [number, ApiHistogram][] }
export type QueryData =
  | { resultType: 'vector'; result: VectorItem[] }
  | { resultType: 'matrix'; result: MatrixItem[] }
  | { resultType: 'scalar' | 'string'; result: ApiSample };

/** A raw sample with its timestamp in milliseconds and its value as a float. */
export interface RawSample { timeMs: number; value: number }
export interface RawSeries { labels: Record<string, string>; samples: RawSample[] }

export interface PrometheusProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Temporary directory: config file and TSDB (removed by stop()). */
  readonly dir: string;
  readonly dataDir: string;
  output(): string;
  /** SIGTERM (by default), bounded wait, SIGKILL; removes the directory. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Instant query at `timeSec` (default now). */
  query(promql: string, timeSec?: number): Promise<QueryData>;
  queryRange(promql: string, startSec: number, endSec: number, stepSec: number): Promise<MatrixItem[]>;
  /** Label sets of the series matching the selectors in [startSec, endSec]. */
  series(match: readonly string[], startSec?: number, endSec?: number): Promise<Array<Record<string, string>>>;
  /** Every raw sample of the series matching `selector` with startMs <= t <= endMs, from the TSDB. */
  rawSamples(selector: string, startMs: number, endMs: number): Promise<RawSeries[]>;
}

/** Prometheus's text form of a float ("NaN", "+Inf", "-Inf", or a Go float) as a number. */
export function parsePromValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const v = Number(text);
  if (Number.isNaN(v)) throw new Error(`not a Prometheus value: ${JSON.stringify(text)}`);
  return v;
}

function prometheusConfig(opts: PrometheusOptions, port: number): unknown {
  // Prometheus durations take integers only: 0.25 s is written 250ms.
  const interval = Number.isInteger(opts.scrapeIntervalS) ? `${opts.scrapeIntervalS}s` : `${Math.round(opts.scrapeIntervalS * 1000)}ms`;
  const scrapeConfigs: unknown[] = [];
  if (opts.selfJob !== false) {
    scrapeConfigs.push({ job_name: opts.selfJob ?? 'prometheus', static_configs: [{ targets: [`127.0.0.1:${port}`] }] });
  }
  if (opts.scrapeTargets.length > 0) {
    scrapeConfigs.push({ job_name: opts.targetsJob ?? 'node', static_configs: [{ targets: [...opts.scrapeTargets] }] });
  }
  // JSON is YAML: no YAML writer needed, and no quoting surprises in label values.
  return {
    global: {
      scrape_interval: interval,
      scrape_timeout: interval,
      evaluation_interval: interval,
      external_labels: { ...(opts.externalLabels ?? {}) },
    },
    scrape_configs: scrapeConfigs,
    remote_write: opts.remoteWriteUrl === undefined ? [] : [{
      url: opts.remoteWriteUrl,
      name: opts.name,
      send_exemplars: false,
      queue_config: { batch_send_deadline: '1s', max_samples_per_send: 500 },
      metadata_config: { send: true, send_interval: '5s' },
      ...(opts.remoteWriteExtra ?? {}),
    }],
    remote_read: opts.remoteReadUrl === undefined ? [] : [{ url: opts.remoteReadUrl, name: opts.name, read_recent: true, ...(opts.remoteReadExtra ?? {}) }],
  };
}

/** Prometheus 2.42 with a generated config, in a fresh temporary directory, on a free loopback port. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `promfleet-prom-${opts.name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  const dataDir = path.join(dir, 'data');
  const configFile = path.join(dir, 'prometheus.yml');
  let started: { child: Child; port: number };
  try {
    started = await startOnFreePort('prometheus', async (port) => {
      // The config names the port (self-scrape), so it is written again for each attempt.
      await writeFile(configFile, `${JSON.stringify(prometheusConfig(opts, port), null, 2)}\n`);
      return spawnChild(PROMETHEUS_BIN, [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
        ...(opts.extraArgs ?? []),
      ]);
    }, (port) => httpOk(`http://127.0.0.1:${port}/-/ready`));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return prometheusHandle(started.child, started.port, dir, dataDir);
}

/** The running Prometheus: its HTTP API, and a stop() that also removes its directory. */
function prometheusHandle(child: Child, port: number, tmp: string, data: string): PrometheusProcess {
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  async function api<T>(pathAndQuery: string, params: Record<string, string | string[]>): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      for (const one of Array.isArray(v) ? v : [v]) qs.append(k, one);
    }
    const res = await fetch(`${url}${pathAndQuery}?${qs.toString()}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data?: T; error?: string; errorType?: string };
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`prometheus ${pathAndQuery} ${JSON.stringify(params)}: ${res.status} ${body.errorType ?? ''} ${body.error ?? ''}`);
    }
    return body.data;
  }
  const self: PrometheusProcess = {
    url, port, dir: tmp, dataDir: data,
    output: () => child.output.toString(),
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      stopping ??= (async () => {
        await child.stop(signal);
        await rm(tmp, { recursive: true, force: true });
      })();
      return stopping;
    },
    query(promql, timeSec) {
      return api<QueryData>('/api/v1/query', { query: promql, ...(timeSec === undefined ? {} : { time: String(timeSec) }) });
    },
    queryRange(promql, startSec, endSec, stepSec) {
      return api<{ resultType: 'matrix'; result: MatrixItem[] }>('/api/v1/query_range', {
        query: promql, start: String(startSec), end: String(endSec), step: String(stepSec),
      }).then((d) => d.result);
    },
    series(match, startSec, endSec) {
      return api<Array<Record<string, string>>>('/api/v1/series', {
        'match[]': [...match],
        ...(startSec === undefined ? {} : { start: String(startSec) }),
        ...(endSec === undefined ? {} : { end: String(endSec) }),
      });
    },
    async rawSamples(selector, startMs, endMs) {
      // A range selector evaluated at the window's end returns the raw samples of the range.
      const rangeMs = Math.max(1, endMs - startMs + 1);
      const data = await self.query(`${selector}[${rangeMs}ms]`, endMs / 1000);
      if (data.resultType !== 'matrix') throw new Error(`expected a matrix for ${selector}, got ${data.resultType}`);
      return data.result.map((item) => ({
        labels: item.metric,
        samples: item.values
          .map(([t, v]) => ({ timeMs: Math.round(t * 1000), value: parsePromValue(v) }))
          .filter((s) => s.timeMs >= startMs && s.timeMs <= endMs),
      }));
    },
  };
  return self;
}
