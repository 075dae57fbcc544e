import pg from 'pg';
import { runMigrations } from 'bullmq';
import { queueDdl, queueTables, type QueueTables } from './schema.js';

/** Serialises the creation of a queue schema's tables across processes (with hashtext of the schema). */
const DDL_LOCK = 0x70665155; // "pfQU"

/**
 * The queue schema's connection pool. Nothing is asked of it before the schema exists: the first
 * query (and the first after a failure to create it, e.g. while the database is down) runs
 * BullMQ's migrations and creates promfleet's tables, under advisory locks.
 */
export class QueueDb {
  readonly tables: QueueTables;
  private ensured: Promise<void> | undefined;

  constructor(readonly pool: pg.Pool, readonly schema: string) {
    this.tables = queueTables(schema);
  }

  ready(): Promise<void> {
    this.ensured ??= this.ensure().catch((err: unknown) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    await this.ready();
    return this.pool.query<R>(text, values);
  }

  /** Runs fn in one transaction on one connection. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async ensure(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await runMigrations(client, this.schema);
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DDL_LOCK, this.schema]);
      await client.query(queueDdl(this.tables));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
