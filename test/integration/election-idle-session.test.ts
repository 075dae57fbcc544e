/**
 * An elector with nothing to elect (no HA group has written yet, as on a fresh single-machine
 * start) keeps its session: the server's idle_session_timeout, which the session sets so that a
 * dead peer's locks go, must not end a healthy session that merely had nothing to ask.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { LockElector } from '../../src/election/index.js';
import { electionTimings } from '../../src/election/session.js';
import { Metrics } from '../../src/observability/metrics.js';
import { pgUrl } from '../helpers/services.js';

describe('an elector with no group to elect', () => {
  it('keeps one session past the idle timeout, and logs no session loss', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    const intervalMs = 100;
    const app = `promfleet test idle elector ${process.pid}`;
    const elector = new LockElector({
      connectionString: pgUrl(), schema: 'prom', applicationName: app, intervalMs, timeoutMs: 2_000,
      cuts: () => ({ acceptedMs: async () => undefined, quietMs: async () => undefined, maxSkewMs: 60_000 }),
      log: pino({ level: 'debug' }, sink), metrics: new Metrics(),
    });
    const observer = new pg.Client({ connectionString: pgUrl() });
    await observer.connect();
    const sessions = async (): Promise<number[]> =>
      (await observer.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])).rows.map((r) => r.pid);
    try {
      await elector.start();
      const deadline = Date.now() + 5_000;
      let first: number[] = [];
      while (first.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        first = await sessions();
      }
      expect(first).toHaveLength(1);
      // Twice the server's idle timeout for this interval.
      await new Promise((r) => setTimeout(r, 2 * electionTimings(intervalMs).sessionTimeoutMs));
      expect(await sessions()).toEqual(first);
      expect(lines.filter((l) => l.includes('election session lost'))).toEqual([]);
    } finally {
      await elector.stop();
      await observer.end();
    }
  });
});
