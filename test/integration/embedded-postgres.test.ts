/**
 * The embedded PostgreSQL, started through the helper the test run falls back to when no
 * PostgreSQL is named or on 127.0.0.1:5432: it listens on loopback only (no Unix socket), wants
 * its password, takes promfleet's migrations and is gone once stopped.
 */
import net from 'node:net';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, migrate } from '../../src/storage/index.js';
import { startEmbeddedTestPostgres } from '../helpers/embedded-pg.js';
import type { StartedService } from '../helpers/service-containers.js';

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, timeout: 1000 });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

describe('the embedded PostgreSQL test service', () => {
  let service: StartedService | undefined;
  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  it('listens on 127.0.0.1 only, with a password, takes the migrations, and stops', async () => {
    service = await startEmbeddedTestPostgres();
    const url = new URL(service.url);
    expect(url.hostname).toBe('127.0.0.1');
    const port = Number(url.port);
    expect(port).toBeGreaterThan(0);
    expect(url.password).not.toBe('');

    const client = new pg.Client({ connectionString: service.url });
    await client.connect();
    try {
      const settings = await client.query<{ listen: string; sockets: string }>(
        "SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets");
      expect(settings.rows[0]).toEqual({ listen: '127.0.0.1', sockets: '' });
    } finally {
      await client.end();
    }

    const noPassword = new URL(service.url);
    noPassword.password = '';
    const stranger = new pg.Client({ connectionString: noPassword.toString() });
    stranger.on('error', () => undefined);
    await expect(stranger.connect()).rejects.toThrow(/password/i);
    await stranger.end().catch(() => undefined);

    const log = pino({ level: 'silent' });
    const pool = createPool({ connectionString: service.url, max: 1, applicationName: 'embedded-test migrate' }, log);
    try {
      const result = await migrate(pool, { schema: 'prom', timescaledb: true, partitionIntervalMs: 86_400_000, log });
      expect(result.applied.length).toBeGreaterThan(0);
      expect(result.timescaledb).toBe(false);
      const again = await migrate(pool, { schema: 'prom', timescaledb: true, partitionIntervalMs: 86_400_000, log });
      expect(again.applied).toEqual([]);
    } finally {
      await pool.end();
    }

    const stopping = service;
    service = undefined;
    await stopping.stop();
    expect(await answers(port)).toBe(false);
  }, 60_000);
});
