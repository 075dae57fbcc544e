/**
 * The faults, drawn from seeded generators on two lanes.
 *
 * Infrastructure lane: one fault at a time, each healed before the next, 5-15 s apart:
 * terminate the lock holder's backend; restart PostgreSQL (down 2-8 s); kill -9 a worker or an
 * ingress and start it again after 0.2-3 s; restart Redis (graceful, or kill -9: both keep
 * what they acknowledged, AOF with appendfsync always) after 0.5-4 s; silence one ingress's
 * proxy to PostgreSQL for 2-15 s; and two compound faults aimed at handoffs with a backlog:
 * both workers down for 5-20 s, then the lock holder's backend terminated as soon as the
 * leader's backlog starts to shrink (a failover during the replay), and both workers down while
 * the leader's replica goes quiet for longer than the Prometheus timeout (a leader resigns with
 * a backlog).
 * Replica lane, overlapping the other one on purpose (a Prometheus may go down during a
 * database outage): 5-20 s apart, replica a or b, or both at once (one in five), is down for
 * 2-20 s.
 * Each lane has its own generator, so its choices depend on the seed alone.
 */
import { sleep } from '../../../src/lib/sleep.js';
import { pick, randInt, weighted, type Rng } from './prng.js';
import { INGRESS, WORKERS, type ChaosWorld } from './world.js';

export type InfraFault = 'terminate-lock-holder' | 'restart-postgres' | 'kill-worker' | 'kill-ingress'
  | 'restart-redis-graceful' | 'restart-redis-kill' | 'silence-proxy' | 'replay-failover' | 'quiet-leader-backlog';

const INFRA: readonly (readonly [InfraFault, number])[] = [
  ['terminate-lock-holder', 2], ['restart-postgres', 2], ['kill-worker', 2], ['kill-ingress', 2],
  ['restart-redis-graceful', 1], ['restart-redis-kill', 1], ['silence-proxy', 2],
  ['replay-failover', 2], ['quiet-leader-backlog', 2],
];

export interface FaultEvent {
  readonly lane: 'infra' | 'replica';
  readonly kind: string;
  readonly at: number;
  detail: string;
  healedAt: number | undefined;
  error: string | undefined;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, signal);
}

/** Starts a process again; a few tries (a start may race a port or a busy machine). */
async function restart(world: ChaosWorld, name: string): Promise<string> {
  const p = world.proc(name);
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await p.start();
      return attempt === 1 ? '' : ` (started at try ${attempt})`;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  throw new Error(`${name} did not start again: ${last instanceof Error ? last.message.slice(0, 500) : String(last)}`);
}

async function terminateLockHolder(world: ChaosWorld): Promise<string> {
  const r = await world.query<{ leader: string | null; pid: number | null; epoch: string; ok: boolean | null }>(
    `SELECT leader, pid, epoch, CASE WHEN pid IS NOT NULL THEN pg_terminate_backend(pid) END AS ok
       FROM prom.ha_leaders WHERE group_name = $1`, [world.opts.group]);
  const row = r.rows[0];
  if (!row?.pid) return 'no lock holder recorded: nothing terminated';
  return `terminated pid ${row.pid} of leader ${row.leader} (epoch ${row.epoch}): ${row.ok ? 'done' : 'no such backend'}`;
}

async function killWorkers(world: ChaosWorld): Promise<void> {
  await Promise.all(WORKERS.map((w) => world.proc(w).kill9()));
}

async function restartWorkers(world: ChaosWorld): Promise<string> {
  return (await Promise.all(WORKERS.map((w) => restart(world, w)))).join('');
}

/** Performs one fault and heals it; returns what was done. */
async function infraFault(world: ChaosWorld, kind: InfraFault, rng: Rng, signal: AbortSignal): Promise<string> {
  switch (kind) {
    case 'terminate-lock-holder':
      return terminateLockHolder(world);
    case 'replay-failover': {
      const down = randInt(rng, 5_000, 20_000);
      await killWorkers(world);
      await pause(down, signal);
      const leader = await world.leader().catch(() => undefined);
      const before = leader ? await world.queueBacklog(leader).catch(() => 0) : 0;
      const started = restartWorkers(world);
      // Terminate as soon as the replay is under way: the leader's backlog shrank (bounded: 15 s).
      let now = before;
      const until = Date.now() + 15_000;
      while (leader && now >= before && now > 0 && Date.now() < until && !signal.aborted) {
        await pause(5, signal);
        now = await world.queueBacklog(leader).catch(() => before);
      }
      const what = await terminateLockHolder(world);
      const note = await started;
      return `workers down ${down} ms${note}; with ${now} of ${before} jobs of the leader's backlog left, ${what}`;
    }
    case 'quiet-leader-backlog': {
      const before = randInt(rng, 2_000, 5_000);
      const quiet = randInt(rng, 3_000, 10_000);
      const after = randInt(rng, 2_000, 8_000);
      const current = await world.leader();
      const leader = world.senders.find((s) => s.replica === current);
      await killWorkers(world);
      await pause(before, signal);
      await leader?.pause();
      await pause(quiet, signal);
      const note = await restartWorkers(world);
      await pause(after, signal);
      leader?.resume();
      return `workers down, ${before} ms later leader ${leader?.replica ?? '(none)'} quiet; workers back ${quiet} ms later${note}, the replica ${after} ms after that`;
    }
    case 'restart-postgres': {
      const down = randInt(rng, 2_000, 8_000);
      await world.postgres.stop();
      await pause(down, signal);
      await world.postgres.start();
      return `down ${down} ms`;
    }
    case 'kill-worker':
    case 'kill-ingress': {
      const name = pick(rng, kind === 'kill-worker' ? WORKERS : INGRESS);
      const down = randInt(rng, 200, 3_000);
      const p = world.proc(name);
      const pid = p.pids[p.pids.length - 1];
      await p.kill9();
      await pause(down, signal);
      const note = await restart(world, name);
      return `${name} (pid ${pid}) killed, restarted after ${down} ms as pid ${p.pids[p.pids.length - 1]}${note}`;
    }
    case 'restart-redis-graceful':
    case 'restart-redis-kill': {
      const down = randInt(rng, 500, 4_000);
      await world.redisServer.stop(kind === 'restart-redis-kill' ? 'kill' : 'graceful');
      await pause(down, signal);
      await world.redisServer.start();
      return `down ${down} ms`;
    }
    case 'silence-proxy': {
      const name = pick(rng, INGRESS);
      const silent = randInt(rng, 2_000, 15_000);
      const proxy = world.proxy(name);
      proxy.silence();
      await pause(silent, signal);
      proxy.resume();
      return `${name}'s connections to PostgreSQL silent for ${silent} ms (${proxy.open} open)`;
    }
  }
}

async function record(log: FaultEvent[], ev: Omit<FaultEvent, 'detail' | 'healedAt' | 'error'>, run: () => Promise<string>): Promise<void> {
  const e: FaultEvent = { ...ev, detail: '', healedAt: undefined, error: undefined };
  log.push(e);
  try {
    e.detail = await run();
  } catch (err) {
    e.error = err instanceof Error ? err.message : String(err);
  }
  e.healedAt = Date.now();
}

/** Infrastructure faults until `deadline` (wall clock, ms); each one healed before the next. */
export async function infraLane(world: ChaosWorld, rng: Rng, deadline: number, log: FaultEvent[], signal: AbortSignal): Promise<void> {
  for (let n = 0; n < 10_000 && !signal.aborted; n++) {
    const gap = randInt(rng, 5_000, 15_000);
    const kind = weighted(rng, INFRA);
    if (Date.now() + gap >= deadline) break;
    await pause(gap, signal);
    if (signal.aborted) break;
    await record(log, { lane: 'infra', kind, at: Date.now() }, () => infraFault(world, kind, rng, signal));
  }
}

/** Replica outages until `deadline`: a, b or both stop sending for a while. */
export async function replicaLane(world: ChaosWorld, rng: Rng, deadline: number, log: FaultEvent[], signal: AbortSignal): Promise<void> {
  for (let n = 0; n < 10_000 && !signal.aborted; n++) {
    const gap = randInt(rng, 5_000, 20_000);
    const which = weighted(rng, [['a', 2], ['b', 2], ['both', 1]] as const);
    const down = randInt(rng, 2_000, 20_000);
    if (Date.now() + gap >= deadline) break;
    await pause(gap, signal);
    if (signal.aborted) break;
    const senders = world.senders.filter((s) => which === 'both' || s.replica === which);
    await record(log, { lane: 'replica', kind: `replica-down ${which}`, at: Date.now() }, async () => {
      await Promise.all(senders.map((s) => s.pause()));
      await pause(down, signal);
      for (const s of senders) s.resume();
      return `down ${down} ms`;
    });
  }
}

/** Undoes whatever a lane cut short: servers up, proxies forwarding, processes and senders running. */
export async function healAll(world: ChaosWorld): Promise<void> {
  await world.postgres.start();
  await world.redisServer.start();
  for (const p of world.proxies.values()) p.resume();
  for (const name of world.procs.keys()) await restart(world, name);
  for (const s of world.senders) s.heal();
}

export function describeEvent(e: FaultEvent, t0: number): string {
  const at = ((e.at - t0) / 1000).toFixed(1);
  const took = e.healedAt === undefined ? 'not healed' : `${((e.healedAt - e.at) / 1000).toFixed(1)} s`;
  const wall = new Date(e.at).toISOString().slice(11, 23);
  return `+${at} s (${wall}) ${e.lane} ${e.kind}: ${e.error ? `ERROR ${e.error}` : e.detail} [${took}]`;
}
