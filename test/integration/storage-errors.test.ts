import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { PromfleetError } from '../../src/errors.js';
import { classifyPgError, createPool, toPromfleetError } from '../../src/storage/index.js';
import { pgErrorClassLabel } from '../../src/storage/pg-error-class.js';
import { useTestDatabase } from '../helpers/database.js';
import { freePort, waitFor } from '../helpers/ports.js';

const silent = pino({ level: 'silent' });

const db = useTestDatabase('storage_errors', { max: 4, applicationName: 'storage-errors-test', log: silent });

async function serverError(sql: string): Promise<unknown> {
  try {
    await db.pool.query(sql);
  } catch (err) {
    return err;
  }
  throw new Error(`expected ${sql} to fail`);
}

function capture(): { log: pino.Logger; lines: { msg: string }[] } {
  const lines: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('classifyPgError', () => {
  it('calls a real unique violation (23505) and a bad input syntax (22P02) data errors', async () => {
    await db.pool.query('CREATE TABLE uniq (k int PRIMARY KEY)');
    await db.pool.query('INSERT INTO uniq VALUES (1)');
    const dup = await serverError('INSERT INTO uniq VALUES (1)');
    expect((dup as { code?: string }).code).toBe('23505');
    expect(classifyPgError(dup)).toBe('data');
    const syntax = await serverError(`SELECT 'x'::int`);
    expect((syntax as { code?: string }).code).toBe('22P02');
    expect(classifyPgError(syntax)).toBe('data');
    const mapped = toPromfleetError(dup);
    expect(mapped).toBeInstanceOf(PromfleetError);
    expect(mapped).toMatchObject({ code: 'DB_REJECTED', retryable: false, cause: dup });
    expect(pgErrorClassLabel(dup)).toBe('23');
  });

  it('calls syntax and missing-table errors (42xxx) other, not data', async () => {
    const missing = await serverError('SELECT * FROM no_such_table');
    expect((missing as { code?: string }).code).toBe('42P01');
    expect(classifyPgError(missing)).toBe('other');
    expect(toPromfleetError(missing).code).toBe('INTERNAL');
  });

  it('calls a refused connection retryable', async () => {
    const port = await freePort();
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    const err = await client.connect().then(() => new Error('connected to a closed port'), (e: unknown) => e);
    await client.end().catch(() => undefined);
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classifyPgError(err)).toBe('retryable');
    expect(toPromfleetError(err)).toMatchObject({ code: 'DB_UNAVAILABLE', retryable: true, cause: err });
    expect(pgErrorClassLabel(err)).toBe('connection');

    const refusing = createPool({ connectionString: `postgres://postgres@localhost:${port}/postgres`, max: 1 }, silent);
    try {
      const viaPool = await refusing.query('SELECT 1').then(() => undefined, (e: unknown) => e);
      expect(classifyPgError(viaPool)).toBe('retryable');
    } finally {
      await refusing.end();
    }
  });

  it('knows the retryable SQLSTATEs and node-postgres connection messages', () => {
    for (const code of ['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '08006', '08001', '53300', '53100']) {
      expect(classifyPgError(Object.assign(new Error('x'), { code })), code).toBe('retryable');
    }
    for (const code of ['22003', '23502', '23514']) expect(classifyPgError(Object.assign(new Error('x'), { code })), code).toBe('data');
    for (const code of ['42601', '42703', 'XX000', '25P02']) expect(classifyPgError(Object.assign(new Error('x'), { code })), code).toBe('other');
    expect(classifyPgError(new Error('Connection terminated unexpectedly'))).toBe('retryable');
    expect(classifyPgError(new Error('Connection terminated due to connection timeout'))).toBe('retryable');
    expect(classifyPgError(new Error('something else'))).toBe('other');
    expect(classifyPgError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe('retryable');
    expect(pgErrorClassLabel(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe('connection');
    expect(classifyPgError(undefined)).toBe('other');
    expect(classifyPgError(new PromfleetError('DB_UNAVAILABLE', 'down'))).toBe('retryable');
    expect(classifyPgError(new PromfleetError('INVALID_SAMPLE', 'year 10000'))).toBe('data');
    expect(classifyPgError(new PromfleetError('SHUTTING_DOWN', 'bye'))).toBe('other');
  });

  it('a server-side kill of idle and checked-out connections is logged, not a crash, and the pool recovers', async () => {
    const { log, lines } = capture();
    const p = createPool({ connectionString: db.url, max: 2, applicationName: 'killed-pool' }, log);
    const held = await p.connect();
    let released = false;
    try {
      const idle = await p.connect();
      idle.release();
      const pids = await db.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'killed-pool'`);
      expect(pids.rows).toHaveLength(2);
      await db.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', ['killed-pool']);
      await waitFor('both errors logged', async () => lines.length >= 2, 5000, 20);
      const err = await held.query('SELECT 1').then(() => undefined, (e: unknown) => e);
      expect(classifyPgError(err)).toBe('retryable');
      held.release();
      released = true;
      // Each failure logged once, although the in-use session reports two errors.
      expect(lines.map((l) => l.msg).sort()).toEqual([
        'PostgreSQL connection in use failed',
        'idle PostgreSQL connection failed; it was removed from the pool',
      ]);
      const r = await p.query<{ one: number }>('SELECT 1 AS one');
      expect(r.rows[0].one).toBe(1);
    } finally {
      if (!released) held.release();
      await p.end();
    }
  });
});
