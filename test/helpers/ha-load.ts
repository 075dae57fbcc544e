/**
 * Load for HA tests: a replica writer that behaves like one Prometheus of an HA pair. Every
 * `intervalMs` it "scrapes" N series (`ha_test{series="<i>"}` with the group's `cluster` label
 * and its `__replica__` label) and posts one remote-write request with one sample per series,
 * the way Prometheus's remote write does: in order, one request at a time, retrying 5xx and
 * connection errors with the same bytes, never retrying 4xx.
 *
 * Each series has its own phase within the interval (replica phase + a per-series offset), as
 * Prometheus spreads its targets' scrapes. Values encode the replica and the tick
 * (`replicaValueBase(k) + tick`), so a test can tell which replica each stored sample came from.
 * Everything the writer sent is recorded, with the final HTTP status of its request.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { sleep } from '../../src/lib/sleep.js';
import { encodeWriteRequest, snappyCompress, type TimeSeries } from '../../src/protocol/index.js';
import { lockNamespace } from '../../src/storage/index.js';
import { deleteRedisPrefix } from './app.js';
import { queueFlags } from './queue-store.js';
import { waitFor } from './ports.js';
import { startPromfleet, type PromfleetProcess } from './promfleet.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from './services.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-pg.js';

export const HA_METRIC = 'ha_test';
/** Replica k (1-based) writes values in [k * VALUE_STEP, (k + 1) * VALUE_STEP). */
export const VALUE_STEP = 1_000_000;

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/** Value base of the k-th replica (1-based): replica a → 1_000_000, b → 2_000_000. */
export function replicaValueBase(k: number): number {
  return k * VALUE_STEP;
}

/** Which replica (1-based index) wrote a value. */
export function replicaIndexOf(value: number): number {
  return Math.floor(value / VALUE_STEP);
}

export interface ReplicaWriterOptions {
  /** Ingress base URL (http://127.0.0.1:port); requests go to `${url}/write`. */
  readonly url: string;
  readonly group: string;
  readonly replica: string;
  /** 1-based replica index: values are replicaValueBase(index) + tick. */
  readonly index: number;
  readonly series: number;
  readonly intervalMs: number;
  /** Offset of this replica's scrapes within the interval (ms). */
  readonly phaseMs: number;
  /** Per-series offsets are spread over [0, spreadMs) on top of the phase (default 0). */
  readonly spreadMs?: number;
  /** Per request attempt (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** A request that keeps failing with 5xx is given up after this long (default 60 s). */
  readonly maxRetryMs?: number;
  /** Names of the group and replica labels (default `cluster`, `__replica__`); null leaves the label out. */
  readonly clusterLabel?: string | null;
  readonly replicaLabel?: string | null;
  /** Metric name (default ha_test). */
  readonly metric?: string;
}

export interface SentSample {
  readonly series: number;
  readonly ts: number;
  readonly value: number;
}

export interface SentRequest {
  readonly tick: number;
  readonly samples: readonly SentSample[];
  /** Final HTTP status, or 0 when no answer came (connection refused, timeout, stopped). */
  status: number;
  attempts: number;
  /** Statuses of every attempt, in order (0 for a failed connection). */
  readonly statuses: number[];
  /** Wall-clock time of the first attempt and of the final answer (ms). */
  firstSentAt: number;
  answeredAt: number;
}

function isAccepted(status: number): boolean {
  return status >= 200 && status < 300;
}

/** sleep(), resolving at once when the time is already up. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return ms > 0 ? sleep(ms, signal) : Promise.resolve();
}

export class ReplicaWriter {
  readonly requests: SentRequest[] = [];
  private readonly stopSignal = new AbortController();
  private readonly killSignal = new AbortController();
  private loop: Promise<void> | undefined;
  private tick = 0;
  /** Ticks due before this time are not scraped (see down()). */
  private downUntilMs = -Infinity;
  /** Aligned start of tick 0 (ms, a multiple of the interval). */
  private epochMs = 0;
  private readonly offsets: number[];
  private readonly labelSets: { name: string; value: string }[][];

  constructor(readonly opts: ReplicaWriterOptions) {
    const spread = opts.spreadMs ?? 0;
    this.offsets = Array.from({ length: opts.series }, (_, i) => opts.phaseMs + Math.floor((i * spread) / opts.series));
    this.labelSets = Array.from({ length: opts.series }, (_, i) => {
      const labels = [{ name: '__name__', value: opts.metric ?? HA_METRIC }, { name: 'series', value: String(i) }];
      if (opts.clusterLabel !== null) labels.push({ name: opts.clusterLabel ?? 'cluster', value: opts.group });
      if (opts.replicaLabel !== null) labels.push({ name: opts.replicaLabel ?? '__replica__', value: opts.replica });
      return labels.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    });
  }

  get replica(): string {
    return this.opts.replica;
  }

  /** Samples whose request was answered 2xx, in send order. */
  accepted(): SentSample[] {
    return this.requests.filter((r) => isAccepted(r.status)).flatMap((r) => r.samples);
  }

  /** Accepted samples of one series, ascending by time. */
  acceptedOf(series: number): SentSample[] {
    return this.accepted().filter((s) => s.series === series).sort((x, y) => x.ts - y.ts);
  }

  /** Requests whose final answer was not 2xx (the test says whether that is expected). */
  failed(): SentRequest[] {
    return this.requests.filter((r) => !isAccepted(r.status));
  }

  /** Newest accepted sample time of one series (undefined when none). */
  lastAcceptedTs(series: number): number | undefined {
    const a = this.acceptedOf(series);
    return a.length ? a[a.length - 1].ts : undefined;
  }

  /** Time (ms) at which the last request was answered 2xx, undefined before. */
  lastAcceptedAt(): number | undefined {
    for (let i = this.requests.length - 1; i >= 0; i--) if (isAccepted(this.requests[i].status)) return this.requests[i].answeredAt;
    return undefined;
  }

  /** When tick `n` is due: its scrapes are done, so it is sent (ms). */
  private dueAt(n: number): number {
    const spread = this.opts.spreadMs ?? 0;
    return this.epochMs + n * this.opts.intervalMs + this.opts.phaseMs + spread;
  }

  start(): void {
    if (this.loop) return;
    const iv = this.opts.intervalMs;
    // Tick 0 is the first whole interval whose scrapes are all still ahead.
    this.epochMs = Math.ceil((Date.now() + 1) / iv) * iv;
    this.loop = this.run();
  }

  private build(n: number): { samples: SentSample[]; body: Buffer } {
    const base = this.epochMs + n * this.opts.intervalMs;
    const value = replicaValueBase(this.opts.index) + n;
    const samples: SentSample[] = [];
    const timeseries: TimeSeries[] = this.labelSets.map((labels, i) => {
      const ts = base + this.offsets[i];
      samples.push({ series: i, ts, value });
      return { labels, samples: [{ value, timestamp: ts }], exemplars: [], histograms: [] };
    });
    return { samples, body: Buffer.from(snappyCompress(encodeWriteRequest({ timeseries, metadata: [] }))) };
  }

  private async run(): Promise<void> {
    const stop = this.stopSignal.signal;
    const pending: { tick: number; samples: SentSample[]; body: Buffer }[] = [];
    while (!stop.aborted) {
      await sleepUnlessAborted(this.dueAt(this.tick) - Date.now(), stop);
      if (stop.aborted) break;
      // Scrapes happen on schedule even when remote write lags: queue every tick that is due.
      for (let guard = 0; guard < 1000 && this.dueAt(this.tick) <= Date.now(); guard++) {
        // A Prometheus that is down scrapes nothing: no sample for those ticks, ever.
        if (this.dueAt(this.tick) >= this.downUntilMs) pending.push({ tick: this.tick, ...this.build(this.tick) });
        this.tick++;
      }
      while (pending.length > 0 && !stop.aborted) {
        const next = pending.shift();
        if (next) await this.send(next.tick, next.samples, next.body);
      }
    }
  }

  private async send(tick: number, samples: SentSample[], body: Buffer): Promise<void> {
    const rec: SentRequest = { tick, samples, status: 0, attempts: 0, statuses: [], firstSentAt: Date.now(), answeredAt: 0 };
    this.requests.push(rec);
    const deadline = Date.now() + (this.opts.maxRetryMs ?? 60_000);
    let backoff = 100;
    // Bounded: stops at the deadline, at stop() (after the attempt in flight), or at kill().
    for (let attempt = 0; attempt < 1000; attempt++) {
      rec.attempts++;
      let status = 0;
      try {
        const res = await fetch(`${this.opts.url}/write`, {
          method: 'POST',
          headers: REMOTE_WRITE_HEADERS,
          body: new Uint8Array(body),
          signal: AbortSignal.any([this.killSignal.signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 5_000)]),
        });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 0;
      }
      rec.statuses.push(status);
      rec.status = status;
      rec.answeredAt = Date.now();
      const retryable = status === 0 || status >= 500;
      if (!retryable || this.stopSignal.signal.aborted || Date.now() + backoff > deadline) return;
      await sleepUnlessAborted(backoff, this.stopSignal.signal);
      if (this.stopSignal.signal.aborted) return;
      backoff = Math.min(backoff * 2, 1_000);
    }
  }

  /** The Prometheus is down for `ms` from now: it scrapes and sends nothing, then goes on. */
  down(ms: number): void {
    this.downUntilMs = Date.now() + ms;
  }

  /** Stops after the attempt in flight (its answer is recorded); no more ticks, no more retries. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.loop;
  }

  /** Stops at once: the attempt in flight is cut (recorded with status 0). */
  async kill(): Promise<void> {
    this.stopSignal.abort();
    this.killSignal.abort();
    await this.loop;
  }
}

export function replicaWriter(opts: ReplicaWriterOptions): ReplicaWriter {
  return new ReplicaWriter(opts);
}

// ---------------------------------------------------------------------------------------------
// Reading back what was stored, and the checks the HA tests share.
// ---------------------------------------------------------------------------------------------

/** Anything pg can query (a client or a pool). */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface StoredSample {
  readonly ts: number;
  readonly value: number;
}

/** Stored samples of a metric (default ha_test) per series (the `series` label), ascending by time. */
export async function storedHaSamples(c: Queryable, metric = HA_METRIC, schema = 'prom'): Promise<Map<number, StoredSample[]>> {
  const r = await c.query<{ series: string; ms: string; value: number }>(
    `SELECT labels->>'series' AS series, (extract(epoch FROM time) * 1000)::bigint AS ms, value
       FROM ${schema}.metrics WHERE name = $1 ORDER BY 1, 2`, [metric]);
  const out = new Map<number, StoredSample[]>();
  for (const row of r.rows) {
    const k = Number(row.series);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push({ ts: Number(row.ms), value: row.value });
  }
  for (const list of out.values()) list.sort((x, y) => x.ts - y.ts);
  return out;
}

export interface LeaderRow {
  readonly leader: string | null;
  readonly epoch: number;
  readonly pid: number | null;
  readonly handoffMs: number | null;
  readonly groupId: number;
  /** `since`, as the database's clock says (ms). */
  readonly sinceMs: number | null;
}

export async function leaderRow(c: Queryable, group: string, schema = 'prom'): Promise<LeaderRow | undefined> {
  const r = await c.query<{ leader: string | null; epoch: string; pid: number | null; handoff_ms: string | null; group_id: number; since_ms: string | null }>(
    `SELECT leader, epoch, pid, handoff_ms, group_id, (extract(epoch FROM since) * 1000)::bigint AS since_ms
       FROM ${schema}.ha_leaders WHERE group_name = $1`, [group]);
  if (r.rowCount === 0) return undefined;
  const row = r.rows[0];
  return {
    leader: row.leader, epoch: Number(row.epoch), pid: row.pid, groupId: row.group_id,
    handoffMs: row.handoff_ms === null ? null : Number(row.handoff_ms),
    sinceMs: row.since_ms === null ? null : Number(row.since_ms),
  };
}

/** Polls ha_leaders (every 50 ms) until `replica` leads `group`; returns the row. */
export async function waitForLeader(c: Queryable, group: string, replica: string, timeoutMs: number): Promise<LeaderRow> {
  const deadline = Date.now() + timeoutMs;
  let last: LeaderRow | undefined;
  while (Date.now() < deadline) {
    last = await leaderRow(c, group).catch(() => undefined);
    if (last?.leader === replica) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`replica ${replica} did not lead group ${group} within ${timeoutMs} ms; last row: ${JSON.stringify(last)}`);
}

/** Waits (up to 20 s) until the newest stored sample of each of the first `series` series is the last one `w` got accepted. */
export async function waitForLastSamples(c: Queryable, w: ReplicaWriter, series: number): Promise<void> {
  await waitFor(`${w.replica}'s last samples written`, async () => {
    const stored = await storedHaSamples(c);
    for (let i = 0; i < series; i++) {
      const got = stored.get(i) ?? [];
      if (got.length === 0 || got[got.length - 1].ts !== w.lastAcceptedTs(i)) return false;
    }
    return true;
  }, 20_000, 200);
}

/** Waits until the newest stored sample of each of the first `series` series is past `ms`. */
export async function waitForSeriesPast(c: Queryable, series: number, ms: number, timeoutMs: number): Promise<void> {
  await waitFor(`every series written past ${ms}`, async () => {
    const stored = await storedHaSamples(c);
    for (let i = 0; i < series; i++) {
      const list = stored.get(i) ?? [];
      if (list.length === 0 || list[list.length - 1].ts < ms) return false;
    }
    return true;
  }, timeoutMs, 500);
}

/** The span every one of the first `series` series covers: the oldest first sample and the oldest last sample. */
export function commonSpan(stored: Map<number, StoredSample[]>, series: number): { from: number; to: number } {
  let from = Infinity;
  let to = Infinity;
  for (let i = 0; i < series; i++) {
    const list = stored.get(i) ?? [];
    from = Math.min(from, list[0]?.ts ?? Infinity);
    to = Math.min(to, list[list.length - 1]?.ts ?? -Infinity);
  }
  return { from, to };
}

/** Granted advisory-lock rows of a group's election lock (namespace, group id), one per holder. */
export async function groupLockHolders(c: Queryable, groupId: number, schema = 'prom'): Promise<number[]> {
  const r = await c.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::int::oid AND objid = $2::int::oid
       AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [lockNamespace(schema), groupId]);
  return r.rows.map((row) => row.pid);
}

function fmt(samples: readonly StoredSample[]): string {
  return samples.map((s) => `${s.ts}:${replicaIndexOf(s.value)}/${s.value % VALUE_STEP}`).join(' ');
}

/**
 * The handoff check of a failover from `from` to `to`, per series: every stored sample is one a
 * writer sent and had accepted; no duplicate time; the samples are `from`'s up to some time and
 * `to`'s after it (no interleaving); `from`'s are every sample it had accepted from its first
 * stored one to its last stored one (no hole); `to`'s begin with the first sample `to` sent after
 * `from`'s last stored sample of the series (zero loss at the handoff) and are then every sample
 * it had accepted, up to its last. Returns the problems found (empty when the handoff is right).
 */
export function handoffProblems(stored: Map<number, StoredSample[]>, from: ReplicaWriter, to: ReplicaWriter): string[] {
  const problems: string[] = [];
  const n = from.opts.series;
  for (let i = 0; i < n; i++) {
    const got = stored.get(i) ?? [];
    const where = `series ${i} [${fmt(got)}]`;
    const sentBy = new Map<number, Map<number, number>>();
    for (const w of [from, to]) sentBy.set(w.opts.index, new Map(w.acceptedOf(i).map((s) => [s.ts, s.value])));
    for (let k = 1; k < got.length; k++) if (got[k].ts === got[k - 1].ts) problems.push(`${where}: duplicate time ${got[k].ts}`);
    for (const s of got) {
      const sent = sentBy.get(replicaIndexOf(s.value))?.get(s.ts);
      if (sent !== s.value) problems.push(`${where}: stored ${s.ts}=${s.value} was not accepted from any replica`);
    }
    const owners = got.map((s) => replicaIndexOf(s.value));
    const firstTo = owners.indexOf(to.opts.index);
    if (firstTo < 0) {
      problems.push(`${where}: nothing of ${to.replica} stored`);
      continue;
    }
    if (owners.slice(0, firstTo).some((o) => o !== from.opts.index) || owners.slice(firstTo).some((o) => o !== to.opts.index)) {
      problems.push(`${where}: not ${from.replica}'s samples then ${to.replica}'s (interleaved)`);
      continue;
    }
    const mine = got.slice(0, firstTo);
    const theirs = got.slice(firstTo);
    if (mine.length > 0) {
      const expected = from.acceptedOf(i).filter((s) => s.ts >= mine[0].ts && s.ts <= mine[mine.length - 1].ts).map((s) => s.ts);
      if (expected.join() !== mine.map((s) => s.ts).join()) problems.push(`${where}: ${from.replica}'s stored samples have a hole`);
    }
    const lastFrom = mine.length > 0 ? mine[mine.length - 1].ts : -Infinity;
    const toSent = to.acceptedOf(i);
    const firstAfter = toSent.find((s) => s.ts > lastFrom);
    if (firstAfter === undefined || theirs[0].ts !== firstAfter.ts) {
      problems.push(`${where}: ${to.replica}'s first stored sample is ${theirs[0].ts}, expected ${firstAfter?.ts} (first it sent after ${from.replica}'s last stored ${lastFrom})`);
    }
    const expectedTo = toSent.filter((s) => s.ts >= theirs[0].ts).map((s) => s.ts);
    if (expectedTo.join() !== theirs.map((s) => s.ts).join()) {
      problems.push(`${where}: ${to.replica}'s stored samples are not every sample it had accepted from ${theirs[0].ts} on (${expectedTo.length} expected, ${theirs.length} stored)`);
    }
  }
  return problems;
}

/**
 * Continuity of each stored series within [fromMs, toMs]: consecutive samples at most
 * `maxGapMs` apart (no gap) and at least `minStepMs` apart (no overlap of two replicas' samples,
 * no duplicate). Returns the problems found.
 */
export function continuityProblems(stored: Map<number, StoredSample[]>, series: number, fromMs: number, toMs: number, maxGapMs: number, minStepMs: number): string[] {
  const problems: string[] = [];
  for (let i = 0; i < series; i++) {
    const got = (stored.get(i) ?? []).filter((s) => s.ts >= fromMs && s.ts <= toMs);
    if (got.length === 0) {
      problems.push(`series ${i}: nothing stored in [${fromMs}, ${toMs}]`);
      continue;
    }
    for (let k = 1; k < got.length; k++) {
      const d = got[k].ts - got[k - 1].ts;
      const around = fmt(got.slice(Math.max(0, k - 3), k + 3));
      if (d > maxGapMs) problems.push(`series ${i}: gap of ${d} ms after ${got[k - 1].ts} (… ${around} …)`);
      if (d < minStepMs) problems.push(`series ${i}: overlap: ${d} ms between ${got[k - 1].ts} and ${got[k].ts} (… ${around} …)`);
    }
  }
  return problems;
}

/**
 * Flags shared by the HA tests' promfleet processes: short election timings, one queue prefix.
 * Native partitions: the HA semantics do not depend on the storage flavour, and the machine's
 * PostgreSQL may offer the timescaledb package without having it preloaded.
 */
export function haArgs(opts: { pgUrl: string; redisUrl: string; prefix: string; extra?: readonly string[] }): string[] {
  return [
    `--pg.url=${opts.pgUrl}`,
    ...queueFlags(opts.redisUrl),
    `--queue.prefix=${opts.prefix}`,
    '--leader-election.pg-advisory-lock.prometheus-timeout=2s',
    '--election.interval=250ms',
    '--worker.queue-poll-interval=250ms',
    '--ha.follower-margin=5s',
    '--ha.max-clock-skew=2s',
    '--shutdown.timeout=5s',
    '--log.level=info',
    '--storage.timescaledb=false',
    ...(opts.extra ?? []),
  ];
}

/** Writes the processes' output to a file under the temp dir (for a failed test) and returns its path. */
export function saveOutputs(name: string, outputs: Readonly<Record<string, string>>): string {
  const file = path.join(os.tmpdir(), `${name}-${Date.now().toString(36)}.log`);
  writeFileSync(file, Object.entries(outputs).map(([k, v]) => `===== ${k} =====\n${v}\n`).join('\n'));
  return file;
}

/**
 * Starts several things at once and records each one that started in `into` (under its name),
 * so that afterAll stops them even when another one failed to start; then rethrows the first failure.
 */
export async function startAllInto<T>(into: Record<string, T>, starters: Readonly<Record<string, () => Promise<T>>>): Promise<void> {
  const names = Object.keys(starters);
  const results = await Promise.allSettled(names.map((n) => starters[n]()));
  let failure: unknown;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') into[names[i]] = r.value;
    else failure ??= r.reason;
  });
  if (failure !== undefined) throw failure;
}

// ---------------------------------------------------------------------------------------------
// The set-up the HA tests share: two ingress processes and one worker on one database and one
// queue prefix, the test's own connection to that database, and replica writers a and b.
// ---------------------------------------------------------------------------------------------

export interface HaPairOptions {
  /** The test's name: names its database and the file its processes' output is saved to when it failed. */
  readonly name: string;
  /** Stem of the queue prefix (a unique suffix is added). */
  readonly prefix: string;
  /** Database name stem (default: the name with `-` as `_`). */
  readonly database?: string;
  /**
   * A PostgreSQL server of the test's own (startThrowawayPostgres) that the test may stop and
   * start, reached through a pool (an outage cuts a client for good); default false: a database
   * of its own on the test server, reached through one client.
   */
  readonly throwawayServer?: boolean;
  /** Worker processes started with the ingresses (default 1); more can be started with startWorker. */
  readonly workers?: number;
  /** Flags added to every process's (after haArgs). */
  readonly extra?: readonly string[];
  /** Flags added to one ingress's only. */
  readonly ingressExtra?: { readonly a?: readonly string[]; readonly b?: readonly string[] };
}

export interface HaPair {
  /** `ingress a`, `ingress b` and `worker`. */
  readonly procs: Record<string, PromfleetProcess>;
  /** The test's connection to the database (a client, or a pool with a throwaway server). */
  readonly db: Queryable;
  readonly dbUrl: string;
  /** The throwaway server (throwawayServer only). */
  readonly server: ThrowawayPostgres;
  /** Starts one more worker process, `worker <n>`, with extra flags; stopped after the file. */
  startWorker(extra?: readonly string[]): Promise<PromfleetProcess>;
  /** Writers of replicas a (phase 0) and b (phase 500 ms) of `group`, through ingress a and b; not started. Killed after the file. */
  writers(w: { group: string; series: number; intervalMs: number; spreadMs: number }): [ReplicaWriter, ReplicaWriter];
}

/**
 * Registers the file's hooks: before its tests the database, the three processes (flags from
 * haArgs) and the connection; after them the writers are killed, the processes stopped (their
 * output saved when a test failed), the queue prefix removed, and the database dropped when
 * every test passed (kept for inspection otherwise) or the throwaway server destroyed.
 */
export function useHaPair(opts: HaPairOptions): HaPair {
  const procs: Record<string, PromfleetProcess> = {};
  const writers: ReplicaWriter[] = [];
  let testDb: TestDatabase | undefined;
  let server: ThrowawayPostgres | undefined;
  let url: string | undefined;
  let prefix: string | undefined;
  let client: pg.Client | undefined;
  let pool: pg.Pool | undefined;
  let failed = false;
  /**
   * Worker processes named so far. startWorker takes its name before the process starts, so
   * workers started together get a name (and a place in procs, stopped after the file) each.
   */
  let workersNamed = opts.workers ?? 1;

  beforeAll(async () => {
    try {
      if (opts.throwawayServer) {
        server = await startThrowawayPostgres();
        url = server.url;
      } else {
        testDb = await createTestDatabase(opts.database ?? opts.name.replace(/-/g, '_'));
        url = testDb.url;
      }
      prefix = uniqueName(opts.prefix);
      const args = haArgs({ pgUrl: url, redisUrl: redisUrl(), prefix, extra: opts.extra });
      const starters: Record<string, () => Promise<PromfleetProcess>> = {
        'ingress a': () => startPromfleet('ingress', [...args, ...(opts.ingressExtra?.a ?? [])]),
        'ingress b': () => startPromfleet('ingress', [...args, ...(opts.ingressExtra?.b ?? [])]),
      };
      const workers = opts.workers ?? 1;
      if (workers >= 1) starters.worker = () => startPromfleet('worker', args);
      for (let k = 2; k <= workers; k++) starters[`worker ${k}`] = () => startPromfleet('worker', args);
      await startAllInto(procs, starters);
      // Healthy is not ready: wait until each process has its schema (tests query it at once).
      for (const p of Object.values(procs)) {
        await waitFor(`${p.url}/readyz`, async () => (await fetch(`${p.url}/readyz`)).ok, 60_000, 100);
      }
      if (opts.throwawayServer) {
        // A pool, not a client: the outage cuts its connections, and a pool just opens new ones.
        pool = new pg.Pool({ connectionString: url, max: 2 });
        pool.on('error', () => undefined);
      } else {
        client = new pg.Client({ connectionString: url });
        await client.connect();
      }
    } catch (err) {
      failed = true;
      throw err;
    }
  }, opts.throwawayServer ? 120_000 : undefined);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    await Promise.allSettled(writers.map((w) => w.kill()));
    await client?.end().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    if (failed && Object.keys(procs).length > 0) {
      const outputs = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.output()]));
      if (opts.throwawayServer) outputs.postgres = server ? await server.log() : '';
      console.error(`${opts.name} failed; process output in ${saveOutputs(opts.name, outputs)}`);
    }
    await Promise.allSettled(Object.values(procs).map((p) => p.stop('SIGTERM', 15_000)));
    if (prefix) await deleteRedisPrefix(prefix);
    if (!failed) await testDb?.drop();
    await server?.destroy();
  }, opts.throwawayServer ? 60_000 : undefined);

  function ready<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`${opts.name}: no ${what} (set-up did not run or failed)`);
    return v;
  }

  return {
    procs,
    get db(): Queryable { return ready<Queryable>(client ?? pool, 'database connection'); },
    get dbUrl() { return ready(url, 'database'); },
    get server() { return ready(server, 'throwaway server'); },
    async startWorker(extra = []) {
      const args = haArgs({ pgUrl: ready(url, 'database'), redisUrl: redisUrl(), prefix: ready(prefix, 'queue prefix'), extra: [...(opts.extra ?? []), ...extra] });
      const name = `worker ${++workersNamed}`;
      const p = await startPromfleet('worker', args);
      procs[name] = p;
      await waitFor(`${p.url}/readyz`, async () => (await fetch(`${p.url}/readyz`)).ok, 60_000, 100);
      return p;
    },
    writers({ group, series, intervalMs, spreadMs }) {
      const a = replicaWriter({ url: procs['ingress a'].url, group, replica: 'a', index: 1, series, intervalMs, phaseMs: 0, spreadMs });
      const b = replicaWriter({ url: procs['ingress b'].url, group, replica: 'b', index: 2, series, intervalMs, phaseMs: 500, spreadMs });
      writers.push(a, b);
      return [a, b];
    },
  };
}

/** Ends the backend of the group's recorded lock holder (its election session); returns its pid. */
export async function terminateLeaderSession(c: Queryable, group: string, schema = 'prom'): Promise<number> {
  const r = await c.query<{ pid: number }>(`SELECT pid, pg_terminate_backend(pid) FROM ${schema}.ha_leaders WHERE group_name = $1 AND pid IS NOT NULL`, [group]);
  if (r.rowCount === 0) throw new Error(`group ${group} has no recorded lock holder`);
  return r.rows[0].pid;
}

/**
 * Accepted samples of `w` (those with `keepTs`, default all) that are not stored exactly once,
 * with that value, as readable lines.
 */
export function notStoredOnce(stored: Map<number, StoredSample[]>, w: ReplicaWriter, keepTs: (series: number, ts: number) => boolean = () => true): string[] {
  const problems: string[] = [];
  for (let i = 0; i < w.opts.series; i++) {
    const got = stored.get(i) ?? [];
    for (const s of w.acceptedOf(i)) {
      if (!keepTs(i, s.ts)) continue;
      const n = got.filter((x) => x.ts === s.ts && x.value === s.value).length;
      if (n !== 1) problems.push(`series ${i}: ${w.replica}'s accepted sample at ${s.ts} stored ${n} times`);
    }
  }
  return problems;
}
