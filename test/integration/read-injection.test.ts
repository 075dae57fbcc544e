/**
 * SQL injection through remote_read, end to end: label values full of quotes, backslashes,
 * dollar quotes, semicolons, comments, LIKE wildcards and regex metacharacters are written
 * through /write, then every matcher type is sent through /read with those values (and with NUL,
 * which PostgreSQL cannot store). Each answer equals the JS reference's selection (or is a 400
 * for a regex promfleet cannot evaluate), and the database afterwards has exactly the tables and
 * rows it had before: nothing a client sent executed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeReadResponse, encodeReadRequest, encodeWriteRequest, snappyCompress, snappyDecompress, type Label, type LabelMatcher,
} from '../../src/protocol/index.js';
import { matchesAll } from '../../src/read/matchers.js';
import { compileRegex } from '../../src/read/regex.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { waitFor } from '../helpers/ports.js';

const HOSTILE = [
  "'", "''", "it's", '"', '\\', "\\'", "'\\", '$$', '$1', '$$; DROP TABLE prom.samples; $$', "'; DROP TABLE prom.series; --",
  "x'); CREATE TABLE pwned(x int); --", ';', '--', '/*', '*/', '%', '_', '%_%', '.*', '.+', '(', ')', '[', ']', '{', '}', '|', '^', '$',
  '?', '+', 'a|b', '(?i)', '\\x00', '\\0', 'E\'\\x41\'', 'é', '\n', ' ', '',
];
const TS = Date.now() - 60_000;
const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' };
let db: TestDatabase;
let t: TestApp;
let client: pg.Client;
const stored: Label[][] = [];
let tablesBefore: string[] = [];
let passed = 0;

function sorted(labels: Label[]): Label[] {
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function tables(): Promise<string[]> {
  const r = await client.query("SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1");
  return r.rows.map((row: { t: string }) => row.t);
}

beforeAll(async () => {
  db = await createTestDatabase('inject');
  t = await startApp('all', { pgUrl: db.url });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  HOSTILE.forEach((v, i) => {
    stored.push(sorted([{ name: '__name__', value: 'inj' }, { name: 'idx', value: String(i) }, { name: 'v', value: v }]));
    if (v !== '') stored.push(sorted([{ name: '__name__', value: v }, { name: 'idx', value: String(i) }]));
  });
  const body = snappyCompress(encodeWriteRequest({
    timeseries: stored.map((labels) => ({ labels, samples: [{ value: 1, timestamp: TS }], exemplars: [], histograms: [] })), metadata: [],
  }));
  const res = await fetch(`${t.url}/write`, { method: 'POST', headers: HEADERS, body: Buffer.from(body) });
  expect(res.status).toBe(204);
  await waitFor('hostile series written', async () => Number((await client.query('SELECT count(*) AS n FROM prom.samples')).rows[0].n) === stored.length, 30_000, 200);
  tablesBefore = await tables();
}, 60_000);
afterAll(async () => {
  await client?.end();
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  if (passed === 3) await db.drop();
});

function key(labels: readonly Label[]): string {
  return labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

async function read(matchers: LabelMatcher[]): Promise<{ status: number; text: string; keys: string[] }> {
  const q = { startTimestampMs: TS - 1000, endTimestampMs: TS + 1000, matchers };
  const res = await fetch(`${t.url}/read`, { method: 'POST', headers: HEADERS, body: Buffer.from(snappyCompress(encodeReadRequest({ queries: [q], acceptedResponseTypes: ['SAMPLES'] }))) });
  if (res.status !== 200) return { status: res.status, text: await res.text(), keys: [] };
  const [result] = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 16 << 20));
  return { status: 200, text: '', keys: result.timeseries.map((ts) => key(ts.labels)).sort() };
}

function quoteRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

describe('hostile values through /read', () => {
  it('answers every matcher type on every hostile value exactly as the reference does', async () => {
    const values = [...HOSTILE, 'a\0b', '\0', "'\0; DROP TABLE prom.series; --"];
    let compared = 0;
    let refused = 0;
    for (const v of values) {
      const cases: LabelMatcher[][] = [
        [{ type: 'EQ', name: 'v', value: v }],
        [{ type: 'EQ', name: '__name__', value: 'inj' }, { type: 'NEQ', name: 'v', value: v }],
        [{ type: 'EQ', name: '__name__', value: v }],
        [{ type: 'RE', name: 'v', value: quoteRegex(v) }],
        [{ type: 'EQ', name: '__name__', value: 'inj' }, { type: 'NRE', name: 'v', value: quoteRegex(v) }],
        [{ type: 'RE', name: 'v', value: v }],
        [{ type: 'RE', name: '__name__', value: v }],
        [{ type: 'EQ', name: '__name__', value: 'inj' }, { type: 'NRE', name: 'v', value: v }],
        [{ type: 'EQ', name: v, value: '' }, { type: 'EQ', name: '__name__', value: 'inj' }],
        [{ type: 'NEQ', name: v, value: 'x' }, { type: 'EQ', name: 'idx', value: '3' }],
      ];
      for (const ms of cases) {
        const got = await read(ms);
        let regexOk = true;
        for (const m of ms) {
          if (m.type !== 'RE' && m.type !== 'NRE') continue;
          try {
            compileRegex(m.value);
          } catch {
            regexOk = false;
          }
        }
        if (!regexOk) {
          expect(got.status, JSON.stringify(ms)).toBe(400);
          expect(got.text).toMatch(/^BAD_REQUEST: /);
          refused++;
          continue;
        }
        expect(got.status, `${JSON.stringify(ms)}: ${got.text}`).toBe(200);
        expect(got.keys, JSON.stringify(ms)).toEqual(stored.filter((ls) => matchesAll(ls, ms)).map(key).sort());
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(5);
    passed++;
  }, 60_000);

  it('refuses a query over the series or sample limit with 413, as SAMPLES and as streamed chunks', async () => {
    const limited = await startApp('ingress', { pgUrl: db.url, args: ['--web.read-series-limit=10', '--web.read-sample-limit=20'] });
    try {
      const ask = async (matchers: LabelMatcher[], type: 'SAMPLES' | 'STREAMED_XOR_CHUNKS'): Promise<{ status: number; text: string }> => {
        const q = { startTimestampMs: TS - 1000, endTimestampMs: TS + 1000, matchers };
        const res = await fetch(`${limited.url}/read`, { method: 'POST', headers: HEADERS, body: Buffer.from(snappyCompress(encodeReadRequest({ queries: [q], acceptedResponseTypes: [type] }))) });
        return { status: res.status, text: res.status === 200 ? '' : await res.text() };
      };
      for (const type of ['SAMPLES', 'STREAMED_XOR_CHUNKS'] as const) {
        const all = await ask([{ type: 'EQ', name: '__name__', value: 'inj' }], type);
        expect(all.status).toBe(413);
        expect(all.text).toMatch(/^LIMIT_READ_SERIES: .*--web\.read-series-limit/);
        expect((await ask([{ type: 'EQ', name: '__name__', value: 'inj' }, { type: 'RE', name: 'idx', value: '[0-9]' }], type)).status).toBe(200);
      }
      const tooMany = await startApp('ingress', { pgUrl: db.url, args: ['--web.read-sample-limit=5'] });
      try {
        const q = { startTimestampMs: TS - 1000, endTimestampMs: TS + 1000, matchers: [{ type: 'RE' as const, name: 'idx', value: '[0-9]' }] };
        const res = await fetch(`${tooMany.url}/read`, { method: 'POST', headers: HEADERS, body: Buffer.from(snappyCompress(encodeReadRequest({ queries: [q], acceptedResponseTypes: ['SAMPLES'] }))) });
        expect(res.status).toBe(413);
        expect(await res.text()).toMatch(/^LIMIT_READ_SAMPLES: /);
      } finally {
        await tooMany.stop();
        await deleteRedisPrefix(tooMany.prefix);
      }
    } finally {
      await limited.stop();
      await deleteRedisPrefix(limited.prefix);
    }
    passed++;
  });

  it('left every table and row as it was: nothing executed', async () => {
    expect(await tables()).toEqual(tablesBefore);
    expect(tablesBefore).not.toContain('public.pwned');
    expect(Number((await client.query('SELECT count(*) AS n FROM prom.series')).rows[0].n)).toBe(stored.length);
    expect(Number((await client.query('SELECT count(*) AS n FROM prom.samples')).rows[0].n)).toBe(stored.length);
    passed++;
  });
});
