/**
 * A leader's ingress cut off without FIN or RST (power loss, partition): its PostgreSQL backend
 * stays idle and would keep the advisory lock for as long as TCP lets it (hours). Ingress A
 * reaches PostgreSQL through a TCP proxy that can go silent (both directions stop, no socket is
 * closed); ingress B and the worker connect directly.
 *
 * - Silence, then SIGKILL of A: the server ends A's silent session after its idle timeout and
 *   B's replica takes over within that timeout plus a few election intervals.
 * - Silence while A lives: A's elector query misses its deadline, so A stops claiming leadership
 *   (gauge 0, /admin/election/leader "false") while the server still holds its lock, i.e. before
 *   anyone else can be elected.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { electionTimings } from '../../src/election/index.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { groupLockHolders, haArgs, leaderRow, replicaWriter, saveOutputs, startAllInto, waitForLeader, type ReplicaWriter } from '../helpers/ha-load.js';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** haArgs's --election.interval. */
const ELECTION_INTERVAL = 250;
const t = electionTimings(ELECTION_INTERVAL);
const SERIES = 5;
const SCRAPE_INTERVAL = 1000;

const procs: Record<string, PromfleetProcess> = {};
const proxies: TcpProxy[] = [];
const writers: ReplicaWriter[] = [];
let db: TestDatabase | undefined;
let client: pg.Client | undefined;
let prefix = '';
let failed = false;

function args(pgUrl: string): string[] {
  return haArgs({ pgUrl, redisUrl: redisUrl(), prefix });
}

async function ready(p: PromfleetProcess): Promise<void> {
  await waitFor(`${p.url}/readyz`, async () => (await fetch(`${p.url}/readyz`)).ok, 60_000, 100);
}

/** An ingress whose every PostgreSQL connection goes through a proxy of its own. */
async function proxiedIngress(name: string): Promise<{ proc: PromfleetProcess; proxy: TcpProxy }> {
  const base = new URL(dbUrl());
  const proxy = await startTcpProxy({ host: base.hostname, port: Number(base.port || 5432) });
  proxies.push(proxy);
  base.hostname = '127.0.0.1';
  base.port = String(proxy.port);
  const proc = await startPromfleet('ingress', args(base.toString()));
  procs[name] = proc;
  await ready(proc);
  return { proc, proxy };
}

function dbUrl(): string {
  if (!db) throw new Error('no test database (set-up failed)');
  return db.url;
}

function conn(): pg.Client {
  if (!client) throw new Error('no database connection (set-up failed)');
  return client;
}

function writer(url: string, group: string, replica: 'a' | 'b'): ReplicaWriter {
  const w = replicaWriter({
    url, group, replica, index: replica === 'a' ? 1 : 2, series: SERIES, intervalMs: SCRAPE_INTERVAL,
    phaseMs: replica === 'a' ? 0 : 500, spreadMs: 400, requestTimeoutMs: 2_000,
  });
  writers.push(w);
  return w;
}

async function leaderGauge(url: string, group: string, replica: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^promfleet_ha_leader\\{(?=[^}]*group="${group}")(?=[^}]*replica="${replica}")[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function claimsLeadership(url: string): Promise<string> {
  return (await fetch(`${url}/admin/election/leader`)).text();
}

async function backendAlive(pid: number): Promise<boolean> {
  const r = await conn().query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
  return (r.rowCount ?? 0) > 0;
}

beforeAll(async () => {
  try {
    db = await createTestDatabase('ha_silent');
    prefix = uniqueName('pfsilent');
    await startAllInto(procs, {
      'ingress b': () => startPromfleet('ingress', args(dbUrl())),
      worker: () => startPromfleet('worker', args(dbUrl())),
    });
    for (const p of Object.values(procs)) await ready(p);
    client = new pg.Client({ connectionString: dbUrl() });
    await client.connect();
  } catch (err) {
    failed = true;
    throw err;
  }
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  await Promise.allSettled(writers.map((w) => w.kill()));
  await client?.end().catch(() => undefined);
  if (failed && Object.keys(procs).length > 0) {
    console.error(`ha-silent-partition failed; process output in ${saveOutputs('ha-silent-partition', Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.output()])))}`);
  }
  await Promise.allSettled(proxies.map((p) => p.close()));
  await Promise.allSettled(Object.values(procs).map((p) => p.stop('SIGTERM', 15_000)));
  if (prefix) await deleteRedisPrefix(prefix);
  if (!failed) await db?.drop();
}, 60_000);

describe('a leader cut off without FIN or RST', () => {
  it('silenced then killed: the server frees its lock and the other replica leads within the idle timeout and a few intervals', async () => {
    const group = 'gk';
    const { proc: ingressA, proxy } = await proxiedIngress('ingress a (killed)');
    const a = writer(ingressA.url, group, 'a');
    a.start();
    const before = await waitForLeader(conn(), group, 'a', 15_000);
    const b = writer(procs['ingress b'].url, group, 'b');
    b.start();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await leaderGauge(ingressA.url, group, 'a')).toBe(1);
    const pid = before.pid ?? -1;
    expect(await groupLockHolders(conn(), before.groupId)).toEqual([pid]);

    proxy.silence();
    await ingressA.stop('SIGKILL');
    const cutAt = Date.now();
    await a.kill();

    // The bound: the server ends the silent session after idle_session_timeout (counted from its
    // last message, at most one election interval before the cut), then B's elector takes the
    // lock at its next round; one more interval and 500 ms of slack for scheduling.
    const bound = t.sessionTimeoutMs + 3 * ELECTION_INTERVAL + 500;
    const after = await waitForLeader(conn(), group, 'b', bound + 10_000);
    const took = Date.now() - cutAt;
    expect(took, `b leads ${took} ms after the cut; bound ${bound} ms`).toBeLessThanOrEqual(bound);
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.pid).not.toBe(pid);
    expect(await backendAlive(pid), 'the silent session was ended by the server').toBe(false);
    expect(await groupLockHolders(conn(), after.groupId)).toEqual([after.pid]);
    await b.stop();
    expect(b.failed().map((r) => `tick ${r.tick}: ${r.statuses.join(',')}`), 'b\'s writes all 2xx').toEqual([]);
  }, 60_000);

  it('silenced while alive: the elector\'s query misses its deadline and it stops claiming before the server frees the lock', async () => {
    const group = 'gh';
    const { proc: ingressA, proxy } = await proxiedIngress('ingress a (silenced)');
    const a = writer(ingressA.url, group, 'a');
    a.start();
    const before = await waitForLeader(conn(), group, 'a', 15_000);
    const b = writer(procs['ingress b'].url, group, 'b');
    b.start();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await leaderGauge(ingressA.url, group, 'a')).toBe(1);
    expect(await claimsLeadership(ingressA.url)).toBe('true');
    const pid = before.pid ?? -1;

    proxy.silence();
    const cutAt = Date.now();
    // The holder checks its lock every interval; that query misses its deadline at the latest
    // one interval + one deadline after the cut.
    const stepDownBound = ELECTION_INTERVAL + t.queryDeadlineMs + 300;
    let steppedDownAt = 0;
    let lockHeldAtStepDown = false;
    // Polled through the election endpoint alone: a scrape of /metrics also evaluates readiness,
    // which waits up to a second on a queue store behind the same silent path (the postgres queue).
    for (let i = 0; i < 400 && Date.now() - cutAt < stepDownBound + 5_000; i++) {
      if ((await claimsLeadership(ingressA.url)) === 'false') {
        steppedDownAt = Date.now();
        lockHeldAtStepDown = (await groupLockHolders(conn(), before.groupId)).includes(pid);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(steppedDownAt, 'ingress a stepped down').toBeGreaterThan(0);
    expect(await leaderGauge(ingressA.url, group, 'a'), 'and its leader gauge says so').toBe(0);
    const took = steppedDownAt - cutAt;
    expect(took, `stepped down ${took} ms after the cut; bound ${stepDownBound} ms`).toBeLessThanOrEqual(stepDownBound);
    expect(lockHeldAtStepDown, 'the server still held the silent session\'s lock when it stepped down').toBe(true);

    // Later the server ends the silent session and the group gets a new leader (whichever
    // replica B's elector finds newest: both keep writing).
    await waitFor('the server to end the silent session', async () => !(await backendAlive(pid)), t.sessionTimeoutMs + 5_000, 50);
    const freedAt = Date.now();
    expect(freedAt - cutAt, 'the server kept the lock at least until the step-down').toBeGreaterThan(took);
    await waitFor('a new leader', async () => {
      const row = await leaderRow(conn(), group);
      return row !== undefined && row.leader !== null && row.epoch === before.epoch + 1;
    }, 10_000, 50);
    expect((await leaderRow(conn(), group))?.pid).not.toBe(pid);
    expect(await claimsLeadership(ingressA.url), 'a\'s ingress, still cut off, claims nothing').toBe('false');
    await Promise.all([a.stop(), b.stop()]);
  }, 60_000);
});
