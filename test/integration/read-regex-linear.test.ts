/**
 * Regex matchers through remote_read, end to end on the real PostgreSQL: a pattern a
 * backtracking engine takes exponential time on (`(a|aa)+b`) against a 10,000-character label
 * value is answered correctly within a second, whether PostgreSQL evaluates it or re2js does
 * (`(?i)`, `\b`: no SQL form); and --read.regex-dot-matches-newline gives `.` Prometheus 3's
 * meaning (it matches a newline) in both engines, Prometheus 2's without it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeReadResponse, encodeReadRequest, encodeWriteRequest, snappyCompress, snappyDecompress, type Label, type LabelMatcher,
} from '../../src/protocol/index.js';
import { compileRegex } from '../../src/read/regex.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { waitFor } from '../helpers/ports.js';

const TS = Date.now() - 60_000;
const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' };
const LONG = 'a'.repeat(10_000);
/** Series by name: `v` holds the value under test. */
const SERIES: Record<string, string> = { long: LONG, longB: `${'a'.repeat(9_999)}b`, newline: 'a\nb', plain: 'axb' };

let db: TestDatabase;
let writer: TestApp;
let dotAll: TestApp;
let passed = 0;

beforeAll(async () => {
  db = await createTestDatabase('regex_linear');
  writer = await startApp('all', { pgUrl: db.url, args: ['--web.max-label-value-length=20000'] });
  const timeseries = Object.entries(SERIES).map(([id, v]) => ({
    labels: [{ name: '__name__', value: 're' }, { name: 'id', value: id }, { name: 'v', value: v }] as Label[],
    samples: [{ value: 1, timestamp: TS }], exemplars: [], histograms: [],
  }));
  const res = await fetch(`${writer.url}/write`, { method: 'POST', headers: HEADERS, body: Buffer.from(snappyCompress(encodeWriteRequest({ timeseries, metadata: [] }))) });
  expect(res.status).toBe(204);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await waitFor('series written', async () => Number((await client.query('SELECT count(*) AS n FROM prom.samples')).rows[0].n) === timeseries.length, 30_000, 200);
  } finally {
    await client.end();
  }
  dotAll = await startApp('ingress', { pgUrl: db.url, args: ['--read-only', '--read.regex-dot-matches-newline'] });
}, 60_000);
afterAll(async () => {
  await dotAll?.stop();
  await writer?.stop();
  if (writer) await deleteRedisPrefix(writer.prefix);
  if (dotAll) await deleteRedisPrefix(dotAll.prefix);
  if (passed === 2) await db.drop();
});

/** The ids of the series a read selects, and how long it took to answer. */
async function read(app: TestApp, matcher: LabelMatcher): Promise<{ ids: string[]; ms: number }> {
  const q = { startTimestampMs: TS - 1000, endTimestampMs: TS + 1000, matchers: [{ type: 'EQ' as const, name: '__name__', value: 're' }, matcher] };
  const body = Buffer.from(snappyCompress(encodeReadRequest({ queries: [q], acceptedResponseTypes: ['SAMPLES'] })));
  const started = performance.now();
  const res = await fetch(`${app.url}/read`, { method: 'POST', headers: HEADERS, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const ms = performance.now() - started;
  expect(res.status, Buffer.from(bytes).toString()).toBe(200);
  const [result] = decodeReadResponse(snappyDecompress(bytes, 16 << 20));
  const ids = result.timeseries.map((ts) => ts.labels.find((l) => l.name === 'id')?.value ?? '').sort();
  return { ids, ms };
}

describe('regex matchers through /read', () => {
  it('answers (a|aa)+b against a 10,000-character value correctly within a second, in PostgreSQL and in re2js', async () => {
    // [pattern, whether PostgreSQL evaluates it]
    const patterns: [string, boolean][] = [['(a|aa)+b', true], ['(?i)(a|aa)+b', false], ['\\b(a|aa)+b', false]];
    for (const [re, inSql] of patterns) {
      expect(compileRegex(re).sql !== null, re).toBe(inSql);
      const matched = await read(writer, { type: 'RE', name: 'v', value: re });
      expect(matched.ids, re).toEqual(['longB']);
      expect(matched.ms, re).toBeLessThan(1000);
      const notMatched = await read(writer, { type: 'NRE', name: 'v', value: re });
      expect(notMatched.ids, re).toEqual(['long', 'newline', 'plain']);
      expect(notMatched.ms, re).toBeLessThan(1000);
    }
    const all = await read(writer, { type: 'RE', name: 'v', value: '(a|aa)+' });
    expect(all.ids).toEqual(['long']);
    expect(all.ms).toBeLessThan(1000);
    passed++;
  });

  it('reads `.` as Prometheus 2 does by default and as Prometheus 3 does with --read.regex-dot-matches-newline', async () => {
    for (const re of ['a.b', '(?i)A.B']) {
      expect((await read(writer, { type: 'RE', name: 'v', value: re })).ids, re).toEqual(['plain']);
      expect((await read(dotAll, { type: 'RE', name: 'v', value: re })).ids, re).toEqual(['newline', 'plain']);
      expect((await read(dotAll, { type: 'NRE', name: 'v', value: re })).ids, re).toEqual(['long', 'longB']);
    }
    expect((await read(writer, { type: 'RE', name: 'v', value: '.*' })).ids).toEqual(['long', 'longB', 'plain']);
    expect((await read(dotAll, { type: 'RE', name: 'v', value: '.*' })).ids).toEqual(['long', 'longB', 'newline', 'plain']);
    expect((await read(dotAll, { type: 'NRE', name: 'v', value: '.*' })).ids).toEqual([]);
    expect((await read(dotAll, { type: 'RE', name: 'v', value: '(?-s)a.b' })).ids).toEqual(['plain']);
    passed++;
  });
});
