import type pg from 'pg';

/** Runs `body` between BEGIN and COMMIT on `c`, rolling back (and rethrowing) when it throws. */
export async function inTransaction<T>(c: pg.PoolClient | pg.Client, body: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const out = await body();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
