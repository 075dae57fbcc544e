/**
 * Two real Prometheus 2.42 servers of one HA group (external labels
 * `cluster: e2eha`, `__replica__: replica-a|replica-b`, scrape interval 1 s), both scraping the
 * same node_exporter and both Prometheus servers (so their series sets are identical but for the
 * replica), each remote_writing to its own `promfleet ingress` process; one `promfleet worker`.
 * After ~20 s the leader's Prometheus is killed (SIGKILL); the other replica takes over and runs
 * ~20 s more. Then, per series (node_exporter series, and `up` / `prometheus_tsdb_head_series` of
 * the Prometheus targets):
 * - no two stored samples share a timestamp;
 * - the stored samples are the old leader's raw samples (read from its TSDB just before the
 *   kill) up to some time, then the survivor's raw samples (read from its TSDB at the end),
 *   never interleaved, and none lost on either side of the handoff;
 * - no gap between consecutive stored samples around the handoff is longer than 2 scrape
 *   intervals (+ 0.5 s of scrape jitter).
 * Followers' writes were answered 2xx throughout: neither Prometheus counted a failed or retried
 * sample, and neither ingress counted a rejected request.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { startNodeExporter, startPrometheus, type NodeExporter, type PrometheusProcess, type RawSeries } from '../helpers/prometheus.js';
import { checkHandoff, maxGapAround, metricSum, type HandoffReport, type TimedSample } from '../helpers/series-checks.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, sleep, storedInWindow, tail } from './support.js';

const GROUP = 'e2eha';
const REPLICAS = ['replica-a', 'replica-b'] as const;
type Replica = (typeof REPLICAS)[number];
const SCRAPE_INTERVAL_MS = 1_000;
const PROMETHEUS_TIMEOUT_MS = 3_000;
const ELECTION_INTERVAL_MS = 500;
/** Both replicas write this long before the leader is killed, and the survivor this long after the takeover. */
const RUN_BEFORE_KILL_MS = 20_000;
const RUN_AFTER_TAKEOVER_MS = 20_000;
/** Two scrape intervals, plus scrape-timestamp jitter. */
const MAX_HANDOFF_GAP_MS = 2 * SCRAPE_INTERVAL_MS + 500;
/** The survivor's remote_write has shipped everything this old (batch_send_deadline is 1 s). */
const FLUSH_SLACK_MS = 5_000;

const PROMFLEET_FLAGS = [
  '--pg.schema=prom',
  `--leader-election.pg-advisory-lock.prometheus-timeout=${PROMETHEUS_TIMEOUT_MS}ms`,
  `--election.interval=${ELECTION_INTERVAL_MS}ms`,
  '--worker.queue-poll-interval=250ms',
  '--ha.follower-margin=10s',
  '--ha.max-clock-skew=5s',
  '--shutdown.timeout=10s',
  // Native partitions whatever the shared test server offers: a server with the TimescaleDB
  // extension installed but not preloaded fails CREATE EXTENSION, and the HA path under test
  // is the same for both storage layouts.
  '--storage.timescaledb=false',
];

interface ScrapeJob { job_name: string; static_configs: Array<{ targets: string[] }> }

function isScrapeJob(v: unknown): v is ScrapeJob {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { job_name?: unknown; static_configs?: unknown };
  return typeof o.job_name === 'string' && Array.isArray(o.static_configs);
}

/**
 * Makes Prometheus `p` scrape every one of `targets` under its self-scrape job `prometheus`:
 * rewrites the configuration the harness generated (JSON, which is YAML) and reloads it over
 * the lifecycle API. Each server's port is known only once it runs, hence the reload.
 */
async function scrapePrometheusTargets(p: PrometheusProcess, targets: readonly string[]): Promise<void> {
  const file = path.join(p.dir, 'prometheus.yml');
  const config: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (typeof config !== 'object' || config === null) throw new Error(`unexpected configuration in ${file}`);
  const jobs: unknown = (config as { scrape_configs?: unknown }).scrape_configs;
  if (!Array.isArray(jobs)) throw new Error(`no scrape_configs in ${file}`);
  const job: unknown = jobs.find((j: unknown) => isScrapeJob(j) && j.job_name === 'prometheus');
  if (!isScrapeJob(job)) throw new Error(`no job "prometheus" in ${file}`);
  job.static_configs = [{ targets: [...targets] }];
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  const res = await fetch(`${p.url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`reload of ${p.url} answered ${res.status}: ${text}`);
}

async function scalar(p: PrometheusProcess, promql: string): Promise<string | undefined> {
  const data = await p.query(promql);
  return data.resultType === 'vector' ? data.result[0]?.value[1] : undefined;
}

async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`);
  return text;
}

/** Prometheus's own remote-write counters, straight from its /metrics (not a scrape that may lag). */
async function remoteWriteCounters(p: PrometheusProcess): Promise<{ sent: number | undefined; failed: number | undefined; retried: number | undefined }> {
  const text = await metricsText(p.url);
  return {
    sent: metricSum(text, 'prometheus_remote_storage_samples_total'),
    failed: metricSum(text, 'prometheus_remote_storage_samples_failed_total'),
    retried: metricSum(text, 'prometheus_remote_storage_samples_retried_total'),
  };
}

interface LeaderRow { leader: string | null; epoch: number; handoffMs: number | null }

async function leaderRow(c: pg.Client): Promise<LeaderRow | undefined> {
  const r = await c.query<{ leader: string | null; epoch: string; handoff_ms: string | null }>(
    'SELECT leader, epoch, handoff_ms FROM prom.ha_leaders WHERE group_name = $1', [GROUP]);
  const row = r.rows[0];
  if (row === undefined) return undefined;
  return { leader: row.leader, epoch: Number(row.epoch), handoffMs: row.handoff_ms === null ? null : Number(row.handoff_ms) };
}

/** Labels as stored: the API's series labels without __name__, plus the group's cluster label. */
function storedIdentity(labels: Record<string, string>): { name: string; labels: Record<string, string> } {
  const { __name__: name, ...rest } = labels;
  return { name: name ?? '', labels: { ...rest, cluster: GROUP } };
}

/** Waits for every promise; then rethrows the first failure, if any. */
async function settleAll(work: Array<Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function samplesOf(series: RawSeries[], labels: Record<string, string>): TimedSample[] | undefined {
  const key = labelKey(labels);
  return series.find((s) => labelKey(s.labels) === key)?.samples;
}

describe('HA pair of Prometheus 2.42 servers → two ingresses → one worker: leader killed', () => {
  let db: TestDatabase | undefined;
  let prefix = '';
  const ingress = new Map<Replica, PromfleetProcess>();
  let worker: PromfleetProcess | undefined;
  let exporter: NodeExporter | undefined;
  const proms = new Map<Replica, PrometheusProcess>();
  let client: pg.Client | undefined;
  let passed = false;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_ha');
    prefix = uniqueName('pfe2eha');
    const args = [`--pg.url=${db.url}`, `--queue.prefix=${prefix}`, `--redis.url=${redisUrl()}`, ...PROMFLEET_FLAGS];
    // Each process is recorded as soon as it runs, so that afterAll stops it even when another failed to start.
    await settleAll([
      ...REPLICAS.map(async (r) => { ingress.set(r, await startPromfleet('ingress', args)); }),
      (async () => { worker = await startPromfleet('worker', args); })(),
      (async () => { exporter = await startNodeExporter(); })(),
    ]);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([...proms.values()].map((p) => p.stop()));
    await exporter?.stop();
    const codes = await Promise.all([...ingress.values(), ...(worker ? [worker] : [])].map((p) => p.stop('SIGTERM', 20_000)));
    await client?.end().catch(() => undefined);
    await dropOrKeep(passed, {
      name: 'ha-prometheus', db, prefix, detail: `exit codes ${codes.map(String).join(', ')}`,
      outputs: [
        ...REPLICAS.flatMap((r) => [
          [`ingress ${r}`, tail(ingress.get(r)?.output() ?? '', 6000)],
          [`prometheus ${r}`, tail(proms.get(r)?.output() ?? '', 3000)],
        ] as const),
        ['worker', tail(worker?.output() ?? '', 6000)],
      ],
    });
  }, 90_000);

  it('per series, the old leader\'s samples then the survivor\'s, no loss, no overlap, no gap over 2 scrape intervals; all writes 2xx', async () => {
    const c = client!;
    const ne = exporter!;
    const startedAt = Date.now();
    await settleAll(REPLICAS.map(async (r) => {
      proms.set(r, await startPrometheus({
        name: r,
        remoteWriteUrl: `${ingress.get(r)!.url}/write`,
        scrapeTargets: [ne.target],
        scrapeIntervalS: SCRAPE_INTERVAL_MS / 1000,
        externalLabels: { cluster: GROUP, __replica__: r },
        extraArgs: ['--web.enable-lifecycle'],
      }));
    }));
    const pa = proms.get('replica-a')!;
    const pb = proms.get('replica-b')!;
    const promTarget = (p: PrometheusProcess): string => `127.0.0.1:${p.port}`;
    const bothTargets = [promTarget(pa), promTarget(pb)];
    await Promise.all([pa, pb].map((p) => scrapePrometheusTargets(p, bothTargets)));
    await Promise.all([pa, pb].map((p) => waitFor(`${p.url} scraping both Prometheus servers and node_exporter`, async () => (
      (await scalar(p, 'count(up{job="prometheus"} == 1)')) === '2' && (await scalar(p, 'count(up{job="node"} == 1)')) === '1'
    ), 20_000, 250)));
    // Compared from here on: every replica has scraped every target at least once by then.
    const windowStartMs = Date.now() + 3 * SCRAPE_INTERVAL_MS;

    let before: LeaderRow | undefined;
    await waitFor('a leader of the group', async () => {
      before = await leaderRow(c);
      return before?.leader === 'replica-a' || before?.leader === 'replica-b';
    }, 20_000, 250);
    const epochAtWindowStart = before!.epoch;
    // ~20 s of both replicas writing, of which at least 12 s inside the compared window.
    await sleep(Math.max(startedAt + RUN_BEFORE_KILL_MS, windowStartMs + 12_000) - Date.now());

    before = await leaderRow(c);
    const leaderName = before?.leader;
    expect(leaderName === 'replica-a' || leaderName === 'replica-b', `leader before the kill: ${String(leaderName)}`).toBe(true);
    const oldName = leaderName as Replica;
    const newName: Replica = oldName === 'replica-a' ? 'replica-b' : 'replica-a';
    expect(before?.epoch, 'leadership did not move while both replicas ran').toBe(epochAtWindowStart);
    const oldProm = proms.get(oldName)!;
    const newProm = proms.get(newName)!;

    // Series present in both replicas, each with its own scrape phase: node_exporter's, and the
    // Prometheus targets' (`up` of the one about to die goes on in the survivor, as 0).
    const selectors = [
      'up{job="node"}',
      'scrape_duration_seconds{job="node"}',
      'node_load1',
      'node_time_seconds',
      'node_memory_MemAvailable_bytes',
      'node_cpu_seconds_total{cpu="0",mode="idle"}',
      `up{job="prometheus",instance="${promTarget(newProm)}"}`,
      `up{job="prometheus",instance="${promTarget(oldProm)}"}`,
      `prometheus_tsdb_head_series{job="prometheus",instance="${promTarget(newProm)}"}`,
    ];

    // The old leader's last words: its remote-write counters, then its raw samples, then SIGKILL.
    const oldCounters = await remoteWriteCounters(oldProm);
    const snapshotEndMs = Date.now() + 60_000;
    const oldBySelector = await Promise.all(selectors.map((s) => oldProm.rawSamples(s, windowStartMs, snapshotEndMs)));
    const killedAt = Date.now();
    await oldProm.stop('SIGKILL');

    await waitFor(`${newName} to lead`, async () => (await leaderRow(c))?.leader === newName, 20_000, 100);
    const takeoverAt = Date.now();
    const after = (await leaderRow(c))!;
    const takeoverMs = takeoverAt - killedAt;
    console.info(`killed ${oldName} (leader, epoch ${before!.epoch}); ${newName} leads ${takeoverMs} ms later (epoch ${after.epoch}, handoff at ${String(after.handoffMs)}, ${after.handoffMs === null ? '?' : killedAt - after.handoffMs} ms before the kill)`);
    expect(after.epoch, 'exactly one leadership change').toBe(before!.epoch + 1);
    expect(after.handoffMs, 'the handoff time is the old leader\'s watermark').not.toBeNull();
    // The old leader's ingress resigns once its Prometheus has been quiet for the timeout; the
    // survivor's takes the lock at its next election round.
    expect(takeoverMs).toBeLessThanOrEqual(PROMETHEUS_TIMEOUT_MS + ELECTION_INTERVAL_MS + 2_000);

    await sleep(takeoverAt + RUN_AFTER_TAKEOVER_MS - Date.now());
    const windowEndMs = Date.now() - FLUSH_SLACK_MS;
    const newRaw = (await Promise.all(selectors.map((s) => newProm.rawSamples(s, windowStartMs, windowEndMs)))).flat();
    const newCounters = await remoteWriteCounters(newProm);

    // The series compared: matched by a selector in both replicas; every selector matches one.
    const oldRaw = oldBySelector.flat();
    const chosen: Array<Record<string, string>> = [];
    selectors.forEach((selector, i) => {
      const both = oldBySelector[i].map((s) => s.labels).filter((labels) => samplesOf(newRaw, labels) !== undefined);
      expect(both.length, `series of ${selector} in both replicas`).toBeGreaterThan(0);
      chosen.push(...both);
    });

    async function storedSamples(labels: Record<string, string>): Promise<TimedSample[]> {
      const id = storedIdentity(labels);
      return storedInWindow(c, id.name, id.labels, windowStartMs, windowEndMs);
    }

    interface Result { series: string; stored: TimedSample[]; report: HandoffReport }
    async function analyse(): Promise<Result[]> {
      const out: Result[] = [];
      for (const labels of chosen) {
        const stored = await storedSamples(labels);
        const report = checkHandoff({
          stored,
          first: samplesOf(oldRaw, labels) ?? [],
          firstKilledAtMs: killedAt,
          scrapeIntervalMs: SCRAPE_INTERVAL_MS,
          second: samplesOf(newRaw, labels) ?? [],
          windowEndMs,
        });
        out.push({ series: labelKey(labels), stored, report });
      }
      return out;
    }

    // The worker drains the survivor's queue: bounded wait until every series checks out (or
    // the deadline), then the assertions show what is wrong, if anything.
    let results: Result[] = [];
    await waitFor('the stored series to hold the window', async () => {
      results = await analyse();
      return results.every((r) => r.report.problems.length === 0);
    }, 30_000, 500).catch(() => undefined);

    let maxHandoffGap = 0;
    let maxGapNearKill = 0;
    for (const { series, stored, report } of results) {
      const around = maxGapAround(stored, killedAt - 5_000, takeoverAt + 5_000);
      maxHandoffGap = Math.max(maxHandoffGap, report.handoffGapMs ?? 0);
      maxGapNearKill = Math.max(maxGapNearKill, around?.gapMs ?? 0);
      console.info(`${series}: ${report.firstCount}+${report.unverifiedTail} of ${oldName} up to ${String(report.lastFirstMs)}, ${report.secondCount} of ${newName} from ${String(report.firstSecondMs)}; handoff gap ${String(report.handoffGapMs)} ms, max gap near the kill ${String(around?.gapMs)} ms`);
      expect(report.problems, series).toEqual([]);
      // The old leader's part ends at or before the group's handoff time (its watermark).
      expect(report.lastFirstMs ?? Infinity, `${series}: old leader's last stored sample vs handoff`).toBeLessThanOrEqual(after.handoffMs ?? -Infinity);
      expect(report.handoffGapMs ?? Infinity, `${series}: gap across the handoff`).toBeLessThanOrEqual(MAX_HANDOFF_GAP_MS);
      expect(around?.gapMs ?? Infinity, `${series}: longest gap near the kill`).toBeLessThanOrEqual(MAX_HANDOFF_GAP_MS);
    }
    const samples = results.reduce((n, r) => n + r.stored.length, 0);
    console.info(`checked ${results.length} series, ${samples} stored samples over ${((windowEndMs - windowStartMs) / 1000).toFixed(1)} s; max handoff gap ${maxHandoffGap} ms, max gap near the kill ${maxGapNearKill} ms`);

    // The replica label is never stored; every series of the group carries its cluster label.
    const labelsStored = await c.query<{ replica: number; group: number; total: number }>(
      `SELECT count(*) FILTER (WHERE labels ? '__replica__')::int AS replica,
              count(*) FILTER (WHERE ha_group = $1 AND labels->>'cluster' = $1)::int AS "group",
              count(*)::int AS total FROM prom.series`, [GROUP]);
    expect(labelsStored.rows[0]?.replica).toBe(0);
    expect(labelsStored.rows[0]?.group).toBe(labelsStored.rows[0]?.total);

    // 2xx throughout: Prometheus drops a batch on 4xx (failed) and resends on 5xx (retried).
    console.info(`remote write of ${oldName} before its kill: ${JSON.stringify(oldCounters)}; of ${newName} at the end: ${JSON.stringify(newCounters)}`);
    for (const [who, counters] of [[oldName, oldCounters], [newName, newCounters]] as const) {
      expect(counters.sent, `${who}: samples sent`).toBeGreaterThan(0);
      expect(counters.failed, `${who}: samples failed`).toBe(0);
      expect(counters.retried, `${who}: samples retried`).toBe(0);
    }
    for (const r of REPLICAS) {
      const text = await metricsText(ingress.get(r)!.url);
      expect(metricSum(text, 'promfleet_rejected_requests_total') ?? 0, `ingress ${r}: rejected requests`).toBe(0);
      expect(metricSum(text, 'promfleet_enqueued_batches_total') ?? 0, `ingress ${r}: batches enqueued`).toBeGreaterThan(0);
    }
    const workerText = await metricsText(worker!.url);
    expect(metricSum(workerText, 'promfleet_dead_letter_batches_total') ?? 0, 'worker: dead letters').toBe(0);
    console.info(`worker: fenced ${String(metricSum(workerText, 'promfleet_ha_fenced_batches_total') ?? 0)} batches, filtered ${String(metricSum(workerText, 'promfleet_ha_filtered_samples_total') ?? 0)} samples at the handoff`);
    passed = true;
  }, 150_000);
});
