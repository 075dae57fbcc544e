/**
 * The soak's world, all on loopback: a PostgreSQL and a Redis (AOF, appendfsync always) of its
 * own that it may stop; one TCP proxy in front of PostgreSQL per ingress process; ingress a and
 * b (each reaching PostgreSQL through its proxy) and two workers (straight to PostgreSQL), all
 * restartable, on one queue prefix; replica senders a → ingress a and b → ingress b; the test's
 * own pool to the database. destroy() takes everything down, whatever got started.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { queueName } from '../../../src/queue/names.js';
import { haArgs, type Queryable } from '../ha-load.js';
import { waitFor } from '../ports.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../throwaway-pg.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../throwaway-redis.js';
import { ReplicaSender } from './replica-sender.js';
import { RestartableProcess } from './restartable.js';
import { TcpProxy } from './tcp-proxy.js';

export interface WorldOptions {
  readonly group: string;
  readonly series: number;
  readonly intervalMs: number;
  readonly spreadMs: number;
  readonly prefix: string;
  /** How long a sender retries one request before it gives up (Prometheus keeps hours of WAL). */
  readonly maxRetryMs: number;
}

export type IngressName = 'ingress a' | 'ingress b';
export const INGRESS: readonly IngressName[] = ['ingress a', 'ingress b'];
export const WORKERS = ['worker 1', 'worker 2'] as const;

export class ChaosWorld {
  pg: ThrowawayPostgres | undefined;
  redis: ThrowawayRedis | undefined;
  readonly proxies = new Map<IngressName, TcpProxy>();
  readonly procs = new Map<string, RestartableProcess>();
  readonly senders: ReplicaSender[] = [];
  private pool: pg.Pool | undefined;
  private inspector: Redis | undefined;

  constructor(readonly opts: WorldOptions) {}

  get db(): Queryable {
    if (!this.pool) throw new Error('the chaos world has no database pool (set-up did not run or failed)');
    return this.pool;
  }

  get postgres(): ThrowawayPostgres {
    if (!this.pg) throw new Error('the chaos world has no PostgreSQL');
    return this.pg;
  }

  get redisServer(): ThrowawayRedis {
    if (!this.redis) throw new Error('the chaos world has no Redis');
    return this.redis;
  }

  proc(name: string): RestartableProcess {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  proxy(name: IngressName): TcpProxy {
    const p = this.proxies.get(name);
    if (!p) throw new Error(`no proxy for ${name}`);
    return p;
  }

  /** Starts everything (senders not yet started); on failure the caller still calls destroy(). */
  async start(): Promise<void> {
    const [server, redis] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis()]);
    this.pg = server;
    this.redis = redis;
    this.pool = new pg.Pool({ connectionString: server.url, max: 2, connectionTimeoutMillis: 5_000 });
    // A restart of the server cuts the pool's idle connections; the pool opens new ones.
    this.pool.on('error', () => undefined);
    const common = { redisUrl: redis.url, prefix: this.opts.prefix };
    for (const name of INGRESS) {
      const proxy = await TcpProxy.start(server.port);
      this.proxies.set(name, proxy);
      this.procs.set(name, new RestartableProcess(name, 'ingress', haArgs({ ...common, pgUrl: `postgres://postgres@127.0.0.1:${proxy.port}/postgres` })));
    }
    // Transactions of at most 100 samples (5 requests): at the soak's 40 samples a second, a
    // replay then spans several transactions, committed two at a time, as a real backlog does.
    const workerArgs = haArgs({ ...common, pgUrl: server.url, extra: ['--worker.batch-max-samples=100'] });
    for (const name of WORKERS) this.procs.set(name, new RestartableProcess(name, 'worker', workerArgs));
    // One first, alone: it migrates the schema; the others find it done.
    await this.proc('worker 1').start();
    await Promise.all([...this.procs.values()].map((p) => p.start()));
    for (const p of this.procs.values()) {
      await waitFor(`${p.name} ready`, async () => (await fetch(`${p.url}/readyz`)).ok, 60_000, 100);
    }
    const { group, series, intervalMs, spreadMs, maxRetryMs } = this.opts;
    ['a', 'b'].forEach((replica, k) => {
      const url = this.proc(INGRESS[k]).url;
      this.senders.push(new ReplicaSender({ url, group, replica, index: k + 1, series, intervalMs, phaseMs: k * (intervalMs / 2), spreadMs, maxRetryMs }));
    });
  }

  /** A query on the test's pool, tried again once: a restart of the server may have cut the connection it got. */
  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.db.query<R>(text, values);
    } catch {
      await new Promise((r) => setTimeout(r, 500));
      return this.db.query<R>(text, values);
    }
  }

  /** The group's leader as ha_leaders records it (undefined when none). */
  async leader(): Promise<string | undefined> {
    const r = await this.query<{ leader: string | null }>('SELECT leader FROM prom.ha_leaders WHERE group_name = $1', [this.opts.group]);
    return r.rows[0]?.leader ?? undefined;
  }

  /** Jobs of the leader's queue still to write (waiting, active, prioritized, delayed); 0 when no leader. */
  async leaderBacklog(): Promise<number> {
    const leader = await this.leader();
    return leader ? this.queueBacklog(leader) : 0;
  }

  /**
   * Jobs in flight in any replica's queue (active: taken by a worker, or left by a killed one
   * until its lock expires and it is put back), plus replay leases held (a killed worker's lasts
   * until its TTL): while any is there, the stored data may still change.
   */
  async inFlight(): Promise<number> {
    const redis = this.inspectorConnection();
    const counts = await Promise.all(this.senders.map(async ({ replica }) => {
      const key = `${this.opts.prefix}:${queueName({ group: this.opts.group, replica })}`;
      const [active, lease] = await Promise.all([redis.llen(`${key}:active`), redis.exists(`${key}:replay-lease`)]);
      return active + lease;
    }));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** One connection for every look (a fault polls this often); it reconnects after a Redis restart. */
  private inspectorConnection(): Redis {
    if (!this.inspector) {
      this.inspector = new Redis(this.redisServer.url, { maxRetriesPerRequest: 1 });
      this.inspector.on('error', () => undefined);
    }
    return this.inspector;
  }

  /** Jobs of a replica's queue still to write (waiting, active, prioritized, delayed). */
  async queueBacklog(replica: string): Promise<number> {
    const redis = this.inspectorConnection();
    const key = `${this.opts.prefix}:${queueName({ group: this.opts.group, replica })}`;
    const [wait, active, prioritized, delayed] = await Promise.all([
      redis.llen(`${key}:wait`), redis.llen(`${key}:active`), redis.zcard(`${key}:prioritized`), redis.zcard(`${key}:delayed`)]);
    return wait + active + prioritized + delayed;
  }

  /** Every process's output (each incarnation), the servers' logs. */
  async outputs(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [name, p] of this.procs) out[name] = p.output();
    out.postgres = this.pg ? await this.pg.log() : '';
    out.redis = this.redis?.output() ?? '';
    return out;
  }

  /** Stops senders, processes, proxies, pool and servers. Idempotent, never throws. */
  async destroy(): Promise<void> {
    await Promise.allSettled(this.senders.map((s) => s.pause()));
    await Promise.allSettled([...this.procs.values()].map((p) => p.stop()));
    await Promise.allSettled([...this.proxies.values()].map((p) => p.close()));
    this.inspector?.disconnect();
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
    await Promise.allSettled([this.pg?.destroy(), this.redis?.destroy()]);
  }
}
