import type { QueueDb } from './db.js';
import type { TimeIndexStore } from '../backend.js';
import { queueName } from '../names.js';
import { SWEEP_PAGE, type QueueCuts } from '../time-index.js';
import { clampMs, type QueueTables } from './schema.js';

/**
 * The data times of an HA queue's jobs in PostgreSQL, beside BullMQ's job table: the same
 * contract as the Redis time index (see time-index.ts). Rows of `promfleet_job_times` play the
 * sorted sets t0 and t1; `promfleet_accepted` and `promfleet_quiet` the watermark and the
 * silences. What BullMQ keeps as lists and lock keys is one row of its `job` table here: a
 * job is held while it is active with an unexpired lock (BullMQ's clock is the process's).
 */
export class PgTimeIndex implements TimeIndexStore {
  constructor(private readonly pool: QueueDb, private readonly t: QueueTables, private readonly now: () => number = Date.now) {}

  async index(queue: string, jobId: string, t0: number, t1: number): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t.jobTimes} (queue, job_id, t0, t1) VALUES ($1, $2, $3, $4)
      ON CONFLICT (queue, job_id) DO UPDATE SET t0 = EXCLUDED.t0, t1 = EXCLUDED.t1`, [queue, jobId, clampMs(t0), clampMs(t1)]);
  }

  async unindex(queue: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.pool.query(`DELETE FROM ${this.t.jobTimes} WHERE queue = $1 AND job_id = ANY($2::text[])`, [queue, jobIds]);
  }

  async writtenThrough(queue: string, jobId: string, writtenThroughMs: number): Promise<void> {
    if (!Number.isFinite(writtenThroughMs)) return;
    await this.pool.query(`UPDATE ${this.t.jobTimes} SET t0 = $3 WHERE queue = $1 AND job_id = $2 AND t0 < $3`, [queue, jobId, clampMs(writtenThroughMs + 1)]);
  }

  /**
   * Raises the watermark; when the job's oldest sample comes more than quietAfterMs after what
   * was accepted before, that earlier watermark is a silence (the last 100 are kept). The row
   * lock taken by the first step orders concurrent ingresses as Redis's script does.
   */
  async raiseAccepted(queue: string, oldestMs: number, newestMs: number, quietAfterMs: number): Promise<void> {
    const first = await this.pool.query(`INSERT INTO ${this.t.accepted} (queue, accepted_ms) VALUES ($1, $2) ON CONFLICT (queue) DO NOTHING`, [queue, clampMs(newestMs)]);
    if (first.rowCount === 1) return;
    const r = await this.pool.query<{ quiet: boolean }>(`
      WITH old AS (SELECT accepted_ms FROM ${this.t.accepted} WHERE queue = $1 FOR UPDATE),
      q AS (INSERT INTO ${this.t.quiet} (queue, at_ms) SELECT $1, accepted_ms FROM old WHERE $3::bigint - accepted_ms > $4::bigint
            ON CONFLICT DO NOTHING RETURNING 1),
      u AS (UPDATE ${this.t.accepted} SET accepted_ms = GREATEST(accepted_ms, $2::bigint) WHERE queue = $1)
      SELECT EXISTS (SELECT 1 FROM q) AS quiet`, [queue, clampMs(newestMs), clampMs(oldestMs), Math.trunc(quietAfterMs)]);
    if (r.rows[0]?.quiet) {
      await this.pool.query(`DELETE FROM ${this.t.quiet} WHERE queue = $1 AND at_ms < (
        SELECT at_ms FROM ${this.t.quiet} WHERE queue = $1 ORDER BY at_ms DESC OFFSET 99 LIMIT 1)`, [queue]);
    }
  }

  async accepted(queue: string): Promise<number | undefined> {
    const r = await this.pool.query<{ accepted_ms: string }>(`SELECT accepted_ms FROM ${this.t.accepted} WHERE queue = $1`, [queue]);
    return r.rows.length === 0 ? undefined : Number(r.rows[0].accepted_ms);
  }

  async quietAfter(queue: string, afterMs: number | null): Promise<number | undefined> {
    const r = await this.pool.query<{ at_ms: string }>(`SELECT at_ms FROM ${this.t.quiet} WHERE queue = $1 AND ($2::bigint IS NULL OR at_ms > $2::bigint)
      ORDER BY at_ms LIMIT 1`, [queue, afterMs === null ? null : clampMs(afterMs)]);
    return r.rows.length === 0 ? undefined : Number(r.rows[0].at_ms);
  }

  cuts(group: string, maxSkewMs: number): QueueCuts {
    return {
      acceptedMs: (replica) => this.accepted(queueName({ group, replica })),
      quietMs: (replica, afterMs) => this.quietAfter(queueName({ group, replica }), afterMs),
      maxSkewMs,
    };
  }

  /** Live jobs with an unwritten part at or before cutMs; entries whose job is gone or dead-lettered are removed. */
  async pending(queue: string, cutMs: number, limit: number): Promise<string[]> {
    if (cutMs === -Infinity) return [];
    const r = await this.pool.query<{ job_id: string; live: boolean }>(`
      SELECT i.job_id, (j.id IS NOT NULL AND j.state NOT IN ('failed', 'completed')) AS live
        FROM ${this.t.jobTimes} i LEFT JOIN ${this.t.job} j ON j.queue = i.queue AND j.id = i.job_id
       WHERE i.queue = $1 AND i.t0 <= $2 ORDER BY i.t0, i.job_id LIMIT $3`, [queue, clampMs(cutMs), limit]);
    const gone = r.rows.filter((row) => !row.live).map((row) => row.job_id);
    await this.unindex(queue, gone);
    return r.rows.filter((row) => row.live).map((row) => row.job_id);
  }

  /**
   * Follower retention in bulk (see DROP in time-index.ts): pages of SWEEP_PAGE entries whose
   * newest sample is at or before coveredThroughMs; those starting after undecidedFromMs go,
   * unless a worker holds them. The delete re-checks the job's state under its row lock, so a
   * worker taking the job at the same moment keeps it.
   */
  async dropRedundant(queue: string, coveredThroughMs: number, undecidedFromMs: number, maxCalls = 20): Promise<{ jobs: number; samples: number; calls: number }> {
    let jobs = 0;
    let samples = 0;
    let kept = 0;
    let calls = 0;
    while (calls < maxCalls) {
      calls++;
      const page = await this.dropPage(queue, coveredThroughMs, undecidedFromMs, kept);
      jobs += page.removed;
      samples += page.samples;
      kept += page.seen - page.removed;
      if (page.seen < SWEEP_PAGE) break;
    }
    return { jobs, samples, calls };
  }

  private async dropPage(queue: string, coveredThroughMs: number, undecidedFromMs: number, offset: number): Promise<{ removed: number; samples: number; seen: number }> {
    return this.pool.transaction(async (client) => {
      const seen = await client.query<{ job_id: string; t0: string; state: string | null }>(`
        SELECT i.job_id, i.t0, j.state::text AS state
          FROM ${this.t.jobTimes} i LEFT JOIN ${this.t.job} j ON j.queue = i.queue AND j.id = i.job_id
         WHERE i.queue = $1 AND i.t1 <= $2 ORDER BY i.t1, i.job_id LIMIT $3 OFFSET $4`, [queue, clampMs(coveredThroughMs), SWEEP_PAGE, offset]);
      const failed = seen.rows.filter((r) => r.state === 'failed').map((r) => r.job_id);
      const after = seen.rows.filter((r) => r.state !== 'failed' && Number(r.t0) > undecidedFromMs);
      const missing = after.filter((r) => r.state === null || r.state === 'completed').map((r) => r.job_id);
      const present = after.filter((r) => r.state !== null && r.state !== 'completed').map((r) => r.job_id);
      const deleted = present.length === 0 ? [] : (await client.query<{ id: string; n: string | null }>(`
        DELETE FROM ${this.t.job} WHERE queue = $1 AND id = ANY($2::text[]) AND state <> 'failed'
           AND NOT (state = 'active' AND locked_until_ms IS NOT NULL AND locked_until_ms > $3)
        RETURNING id, data->>'n' AS n`, [queue, present, this.now()])).rows;
      const removed = [...missing, ...deleted.map((d) => d.id)];
      const samples = deleted.reduce((s, d) => s + (Number(d.n) || 0), 0);
      await client.query(`DELETE FROM ${this.t.jobTimes} WHERE queue = $1 AND job_id = ANY($2::text[])`, [queue, [...failed, ...removed]]);
      if (samples > 0) {
        await client.query(`UPDATE ${this.t.backlog} SET samples = GREATEST(0, samples - $2) WHERE queue = $1`, [queue, samples]);
      }
      return { removed: removed.length, samples, seen: seen.rows.length };
    });
  }

  /**
   * Active jobs whose lock expired go back to wait, ahead of the others (negative seq), the one
   * taken first before the others as on Redis, and a worker is woken. The numbers are drawn
   * newest-taken first from an ordered subquery: an UPDATE's own row order is unspecified.
   */
  async recoverActive(queue: string): Promise<number> {
    const r = await this.pool.query(`
      WITH stale AS (SELECT id, processed_at_ms, seq FROM ${this.t.job}
                      WHERE queue = $1 AND state = 'active' AND (locked_until_ms IS NULL OR locked_until_ms < $2)
                      ORDER BY processed_at_ms, seq LIMIT $3 FOR UPDATE SKIP LOCKED),
      numbered AS (SELECT id, -nextval('${this.t.schema.replace(/'/g, "''")}.job_seq') AS seq
                     FROM (SELECT id FROM stale ORDER BY processed_at_ms DESC NULLS LAST, seq DESC) newest_first),
      moved AS (UPDATE ${this.t.job} j SET state = 'waiting', lock_token = NULL, locked_until_ms = NULL, stalled_marked = false, seq = numbered.seq
                  FROM numbered WHERE j.queue = $1 AND j.id = numbered.id AND j.state = 'active' RETURNING j.id)
      SELECT count(*)::int AS n, pg_notify('bullmq_jobs', $1) FROM moved`, [queue, this.now(), SWEEP_PAGE]);
    return Number((r.rows[0] as { n: number } | undefined)?.n ?? 0);
  }

  async size(queue: string): Promise<number> {
    const r = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t.jobTimes} WHERE queue = $1`, [queue]);
    return r.rows[0]?.n ?? 0;
  }

  async isLocked(queue: string, jobId: string): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM ${this.t.job} WHERE queue = $1 AND id = $2 AND state = 'active' AND locked_until_ms > $3`, [queue, jobId, this.now()]);
    return r.rows.length > 0;
  }
}
