import { randomBytes } from 'node:crypto';
import type { QueueDb } from './db.js';
import type { BacklogStore, LivenessStore, QueueLease, QueueRegistryStore, ReadyJobsStore } from '../backend.js';
import { DB_NOW_MS, type QueueTables } from './schema.js';

/** The write queues there are, one row each (the set only grows). */
export class PgQueueRegistry implements QueueRegistryStore {
  private readonly known = new Set<string>();

  constructor(private readonly pool: QueueDb, private readonly t: QueueTables) {}

  async register(name: string): Promise<void> {
    if (this.known.has(name)) return;
    await this.pool.query(`INSERT INTO ${this.t.queues} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
    this.known.add(name);
  }

  async list(): Promise<string[]> {
    const r = await this.pool.query<{ name: string }>(`SELECT name FROM ${this.t.queues} ORDER BY name`);
    return r.rows.map((row) => row.name);
  }
}

/** Samples waiting per queue, one counter row each (see backlog.ts for what they mean). */
export class PgBacklogCounters implements BacklogStore {
  constructor(private readonly pool: QueueDb, private readonly t: QueueTables) {}

  async add(queue: string, samples: number): Promise<void> {
    if (samples <= 0) return;
    await this.pool.query(`INSERT INTO ${this.t.backlog} (queue, samples) VALUES ($1, $2)
      ON CONFLICT (queue) DO UPDATE SET samples = ${this.t.backlog}.samples + EXCLUDED.samples`, [queue, samples]);
  }

  async remove(queue: string, samples: number): Promise<void> {
    if (samples <= 0) return;
    await this.pool.query(`UPDATE ${this.t.backlog} SET samples = GREATEST(0, samples - $2) WHERE queue = $1`, [queue, samples]);
  }

  async reset(queue: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.t.backlog} SET samples = 0 WHERE queue = $1`, [queue]);
  }

  async total(queues: readonly string[]): Promise<number> {
    if (queues.length === 0) return 0;
    const r = await this.pool.query<{ n: string | null }>(`SELECT sum(samples) AS n FROM ${this.t.backlog} WHERE queue = ANY($1::text[])`, [queues]);
    return Number(r.rows[0]?.n ?? 0);
  }
}

/** One holder per queue for a while, on the database's clock. */
export class PgQueueLease implements QueueLease {
  constructor(private readonly pool: QueueDb, private readonly t: QueueTables) {}

  async acquire(queue: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(8).toString('hex');
    const r = await this.pool.query(`INSERT INTO ${this.t.leases} (queue, token, until_ms) VALUES ($1, $2, ${DB_NOW_MS} + $3)
      ON CONFLICT (queue) DO UPDATE SET token = EXCLUDED.token, until_ms = EXCLUDED.until_ms
      WHERE ${this.t.leases}.until_ms <= ${DB_NOW_MS}`, [queue, token, Math.trunc(ttlMs)]);
    return r.rowCount === 1 ? token : undefined;
  }

  async release(queue: string, token: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.t.leases} WHERE queue = $1 AND token = $2`, [queue, token]);
  }
}

/**
 * When each replica last wrote, on the database's clock (see liveness.ts): a group's rows older
 * than the ttl are dropped when one of them is written, and a group whose newest write is older
 * than the ttl reads as absent, as the Redis hash expires.
 */
export class PgLivenessStore implements LivenessStore {
  constructor(private readonly pool: QueueDb, private readonly t: QueueTables) {}

  async record(group: string, replica: string, ttlMs: number): Promise<void> {
    await this.pool.query(`WITH gone AS (DELETE FROM ${this.t.liveness} WHERE grp = $1 AND replica <> $2 AND seen_ms < ${DB_NOW_MS} - $3)
      INSERT INTO ${this.t.liveness} (grp, replica, seen_ms, ttl_ms) VALUES ($1, $2, ${DB_NOW_MS}, $3)
      ON CONFLICT (grp, replica) DO UPDATE SET seen_ms = EXCLUDED.seen_ms, ttl_ms = EXCLUDED.ttl_ms`, [group, replica, Math.trunc(ttlMs)]);
  }

  async ages(groups: readonly string[]): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    if (groups.length === 0) return out;
    const r = await this.pool.query<{ grp: string; replica: string; age: string }>(`
      SELECT l.grp, l.replica, GREATEST(0, ${DB_NOW_MS} - l.seen_ms) AS age
        FROM ${this.t.liveness} l
        JOIN (SELECT grp, max(seen_ms) AS newest, max(ttl_ms) AS ttl FROM ${this.t.liveness} WHERE grp = ANY($1::text[]) GROUP BY grp) g
          ON g.grp = l.grp AND g.newest > ${DB_NOW_MS} - g.ttl`, [groups]);
    for (const row of r.rows) {
      let m = out.get(row.grp);
      if (!m) out.set(row.grp, (m = new Map()));
      m.set(row.replica, Number(row.age));
    }
    return out;
  }
}

/**
 * The jobs ready to write as one number an autoscaler reads: rows of queue → share, refreshed by
 * whoever leads; shares nobody refreshed for staleMs are removed. KEDA's `postgresql` scaler
 * reads `SELECT coalesce(sum(n), 0) FROM <schema>.promfleet_ready_jobs`.
 */
export class PgReadyJobs implements ReadyJobsStore {
  constructor(private readonly pool: QueueDb, private readonly t: QueueTables, readonly max: number) {}

  async waiting(queues: readonly string[]): Promise<Map<string, number>> {
    const r = await this.pool.query<{ queue: string; n: number }>(`SELECT queue, count(*)::int AS n FROM ${this.t.job}
      WHERE queue = ANY($1::text[]) AND state = 'waiting' GROUP BY queue`, [queues]);
    const found = new Map(r.rows.map((row) => [row.queue, row.n]));
    return new Map(queues.map((q) => [q, found.get(q) ?? 0]));
  }

  async publish(shares: ReadonlyMap<string, number>, nowMs: number, staleMs: number): Promise<number> {
    const qs = [...shares.keys()];
    const ns = qs.map((q) => Math.max(0, Math.min(this.max, Math.floor(shares.get(q) ?? 0))));
    return this.pool.transaction(async (client) => {
      await client.query(`INSERT INTO ${this.t.readyJobs} (queue, n, at_ms) SELECT q, n, $3 FROM unnest($1::text[], $2::int[]) AS s(q, n)
        ON CONFLICT (queue) DO UPDATE SET n = EXCLUDED.n, at_ms = EXCLUDED.at_ms`, [qs, ns, Math.floor(nowMs)]);
      await client.query(`DELETE FROM ${this.t.readyJobs} WHERE n = 0 OR at_ms < $1`, [Math.floor(nowMs - staleMs)]);
      const r = await client.query<{ n: string | null }>(`SELECT sum(n) AS n FROM ${this.t.readyJobs}`);
      return Number(r.rows[0]?.n ?? 0);
    });
  }

  async size(): Promise<number> {
    const r = await this.pool.query<{ n: string | null }>(`SELECT sum(n) AS n FROM ${this.t.readyJobs}`);
    return Number(r.rows[0]?.n ?? 0);
  }
}
