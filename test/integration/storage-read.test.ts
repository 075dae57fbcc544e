import { beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  BatchWriter, Partitions, SampleReader, SeriesResolver, compareLabelSets, selectSeries, migrate,
} from '../../src/storage/index.js';
import type { Label, LabelMatcher, MatcherType, TimeSeries } from '../../src/protocol/index.js';
import { PROMETHEUS_MATCHING, matchesAll } from '../../src/read/matchers.js';
import { compileRegex } from '../../src/read/regex.js';
import { useTestDatabase } from '../helpers/database.js';
import { fromBits, toBits } from '../helpers/float-bits.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const SCHEMA = 'r_read';
const T0 = Date.parse('2024-05-01T12:00:00.250Z');

const db = useTestDatabase('storage_read', { max: 4, applicationName: 'storage-read-test', log });

function ls(o: Record<string, string>): Label[] {
  return Object.entries(o).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Label sets written, each with samples at T0 … T0+4 ms (the last one out of range for every query but the bounds test). */
const CORPUS: Label[][] = [
  ls({ __name__: 'up', job: 'api', env: 'prod', cluster: 'c1' }),
  ls({ __name__: 'up', job: 'db', cluster: 'c1' }),
  ls({ __name__: 'up', job: 'db', cluster: 'c2' }),
  ls({ __name__: 'http_total', job: 'api', path: '/a%b_c', env: '' }),
  ls({ __name__: 'weird', q: `it's "quoted"`, bs: 'back\\slash', dollar: '$$x$$', semi: "a;b'; DROP TABLE r_read.series; --" }),
  ls({ __name__: 'ba', job: 'a\nb' }),
  ls({ __name__: 'abc', job: 'ABC', uni: 'héllo' }),
  ls({ __name__: "x'); DROP TABLE r_read.samples; --", "we'ird\\name$$": 'v;1' }),
];
/** Written with samples only far outside every query range. */
const EMPTY_IN_RANGE = ls({ __name__: 'up', job: 'old' });

const m = (type: MatcherType, name: string, value: string): LabelMatcher => ({ type, name, value });

const MATCHERS: LabelMatcher[][] = [
  [],
  [m('EQ', 'job', 'api')],
  [m('EQ', '__name__', 'up')],
  [m('EQ', '__name__', '')],
  [m('NEQ', '__name__', 'up')],
  [m('RE', '__name__', 'a.*')],
  [m('RE', '__name__', 'b.*')],
  [m('NRE', '__name__', 'up|ba')],
  [m('EQ', 'env', '')],
  [m('EQ', 'missing', '')],
  [m('EQ', 'missing', 'x')],
  [m('NEQ', 'env', 'prod')],
  [m('NEQ', 'env', '')],
  [m('NEQ', 'missing', '')],
  [m('RE', 'job', '.*')],
  [m('RE', 'job', '.+')],
  [m('RE', 'job', '(?s).*')],
  [m('NRE', 'job', '(?s).*')],
  [m('RE', 'job', '(?s).+')],
  [m('RE', 'job', 'api|db')],
  [m('RE', 'job', 'ap|d')],
  [m('RE', 'job', '')],
  [m('NRE', 'job', 'api|db')],
  [m('NRE', 'missing', '.*')],
  [m('NRE', 'missing', 'x')],
  [m('RE', 'path', '/a%b_c')],
  [m('RE', 'path', '/a.b.c')],
  [m('EQ', 'path', '/a_b%c')],
  [m('RE', 'path', '/a_b%c')],
  [m('RE', 'path', '/a%.*')],
  [m('EQ', 'q', `it's "quoted"`)],
  [m('RE', 'q', `it's ".*"`)],
  [m('EQ', 'bs', 'back\\slash')],
  [m('RE', 'bs', 'back\\\\slash')],
  [m('RE', 'bs', 'back\\\\\\\\slash')],
  [m('EQ', 'dollar', '$$x$$')],
  [m('RE', 'dollar', '\\$\\$x\\$\\$')],
  [m('RE', 'dollar', '$$x$$')],
  [m('EQ', 'semi', "a;b'; DROP TABLE r_read.series; --")],
  [m('EQ', 'semi', "a;b'; DROP TABLE r_read.series; -- ")],
  [m('NEQ', 'semi', "'; DROP TABLE r_read.series; --")],
  [m('RE', 'semi', ".*'; DROP TABLE.*")],
  [m('EQ', "x'); DROP TABLE r_read.series; --", '')],
  [m('EQ', "we'ird\\name$$", 'v;1')],
  [m('RE', "we'ird\\name$$", 'v;.')],
  [m('EQ', '__name__', "x'); DROP TABLE r_read.samples; --")],
  [m('EQ', 'job', 'a\0b')],
  [m('NEQ', 'job', 'a\0b')],
  [m('EQ', 'j\0ob', '')],
  [m('NEQ', 'j\0ob', '')],
  [m('RE', 'job', 'a\\x00b|db')],
  [m('NRE', 'job', 'a\\x00b|db')],
  [m('RE', 'job', '[a-c][^a-c]+')],
  [m('RE', 'job', '[^x]+')],
  [m('RE', 'job', '[]a-]pi')],
  [m('RE', 'job', '[[:upper:]]+')],
  [m('RE', 'job', '\\w{2,3}')],
  [m('RE', 'job', '\\d*')],
  [m('RE', 'job', '(?i)abc')],
  [m('NRE', 'job', '(?i)abc')],
  [m('RE', 'job', 'a\\nb')],
  [m('RE', 'job', 'a\\sb')],
  [m('RE', 'job', '\\bapi\\b')],
  [m('RE', 'uni', 'h.llo')],
  [m('RE', 'uni', 'h\\pLllo')],
  [m('RE', 'uni', 'h[à-ï]llo')],
  [m('RE', 'job', '(?P<x>a)pi')],
  [m('RE', 'job', 'a{')],
  [m('RE', 'job', 'a{2,300}')],
  [m('RE', 'job', '\\Qa.i\\E|api')],
  [m('RE', 'job', '^api$')],
  [m('RE', 'job', 'api$|^db')],
  [m('EQ', '__name__', 'up'), m('NEQ', 'job', 'api')],
  [m('EQ', '__name__', 'up'), m('EQ', 'cluster', 'c1'), m('RE', 'job', 'd.')],
  [m('RE', 'job', '.+'), m('RE', 'job', '\\bdb\\b')],
];

function range(): { startMs: number; endMs: number } {
  return { startMs: T0 - 10_000, endMs: T0 + 3 };
}

function seriesOf(labels: Label[], samples: [number, number][]): TimeSeries {
  return { labels, samples: samples.map(([timestamp, value]) => ({ timestamp, value })), exemplars: [], histograms: [] };
}

let reader: SampleReader;

beforeAll(async () => {
  await migrate(db.pool, { schema: SCHEMA, timescaledb: false, partitionIntervalMs: HOUR, log });
  const writer = new BatchWriter({
    pool: db.pool, schema: SCHEMA, log,
    partitions: new Partitions({ pool: db.pool, schema: SCHEMA, intervalMs: HOUR, log }),
    series: new SeriesResolver({ schema: SCHEMA }),
  });
  const timeseries = CORPUS.map((labels, i) => seriesOf(labels, [0, 1, 2, 3, 4].map((k): [number, number] => [T0 + k, i * 10 + k])));
  timeseries.push(seriesOf(EMPTY_IN_RANGE, [[T0 - 2 * HOUR, 1]]));
  // The stale marker on the first series, at T0 + 2.
  timeseries[0].samples[2] = { timestamp: T0 + 2, value: fromBits('7ff0000000000002') };
  await writer.write({ id: 'read-corpus', queue: 'q:g:r1', timeseries, metadata: [] });
  reader = new SampleReader({ pool: db.pool, schema: SCHEMA, matching: PROMETHEUS_MATCHING });
});

describe('SampleReader', () => {
  it.each(MATCHERS.map((ms) => [ms.map((x) => `${x.name}${x.type}${JSON.stringify(x.value)}`).join(',') || '(none)', ms] as const))(
    'selects what Prometheus selects: %s', async (_name, ms) => {
      const got = await reader.read({ ...range(), matchers: ms });
      const want = CORPUS.filter((labels) => matchesAll(labels, ms)).sort(compareLabelSets);
      expect(got.map((s) => s.labels)).toEqual(want);
      for (const s of got) expect(s.samples.map((x) => x.timestamp)).toEqual([T0, T0 + 1, T0 + 2, T0 + 3]);
    });

  it('PostgreSQL and re2js agree on every translated regex, value by value', async () => {
    const values = [...new Set(['', ...CORPUS.flatMap((labels) => labels.map((l) => l.value)), 'a\nb\n', '\n', 'API', 'db\n'])];
    let translated = 0;
    for (const ms of MATCHERS) {
      for (const x of ms) {
        if (x.type !== 'RE' && x.type !== 'NRE') continue;
        const re = compileRegex(x.value);
        if (re.sql === null) continue;
        translated++;
        const r = await db.pool.query<{ ok: boolean[] }>('SELECT array_agg(v ~ $2 ORDER BY i) AS ok FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i)', [values, re.sql]);
        expect(r.rows[0].ok, `${x.value} → ${re.sql}`).toEqual(values.map((v) => re.matches(v)));
      }
    }
    expect(translated).toBeGreaterThan(30);
  });

  it('sends regexes PostgreSQL reads differently to the JS filter, never to SQL', () => {
    for (const re of ['\\bapi\\b', '(?i)abc', 'h\\pLllo', 'h[à-ï]llo', 'a{2,300}', 'a\\x00b|db']) {
      const sel = selectSeries([m('RE', 'job', re)], PROMETHEUS_MATCHING);
      expect(sel).toEqual({ where: 'TRUE', params: [], jsFilter: [m('RE', 'job', re)], none: false });
    }
    const sel = selectSeries([m('EQ', 'job', "x'"), m('RE', '__name__', 'a|b'), m('EQ', 'env', ''), m('NEQ', 'q', '$$')], PROMETHEUS_MATCHING);
    expect(sel.where).toBe("labels @> jsonb_build_object($1::text, $2::text) AND metric ~ $3 AND coalesce(labels->>$4, '') = '' AND coalesce(labels->>$5, '') <> $6");
    expect(sel.params).toEqual(['job', "x'", '^(?:a|b)$', 'env', 'q', '$$']);
  });

  it('left every table in place', async () => {
    const r = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SCHEMA}.series`);
    expect(r.rows[0].n).toBe(CORPUS.length + 1);
    const s = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SCHEMA}.samples`);
    expect(s.rows[0].n).toBe(CORPUS.length * 5 + 1);
  });

  it('takes both millisecond bounds inclusive', async () => {
    const ms = [m('EQ', 'job', 'db'), m('EQ', 'cluster', 'c2')];
    const got = await reader.read({ startMs: T0 + 1, endMs: T0 + 3, matchers: ms });
    expect(got).toHaveLength(1);
    expect(got[0].samples).toEqual([{ timestamp: T0 + 1, value: 21 }, { timestamp: T0 + 2, value: 22 }, { timestamp: T0 + 3, value: 23 }]);
    expect(await reader.read({ startMs: T0 + 4, endMs: T0 + 4, matchers: ms })).toEqual([
      { labels: CORPUS[2], samples: [{ timestamp: T0 + 4, value: 24 }], exemplars: [], histograms: [] },
    ]);
    expect(await reader.read({ startMs: T0 + 5, endMs: T0 + 100, matchers: ms })).toEqual([]);
    expect(await reader.read({ startMs: T0 + 3, endMs: T0 + 1, matchers: ms })).toEqual([]);
  });

  it('returns no series without samples in the range', async () => {
    const got = await reader.read({ ...range(), matchers: [m('EQ', 'job', 'old')] });
    expect(got).toEqual([]);
    const old = await reader.read({ startMs: T0 - 3 * HOUR, endMs: T0 - HOUR, matchers: [m('EQ', '__name__', 'up')] });
    expect(old.map((s) => s.labels)).toEqual([EMPTY_IN_RANGE]);
  });

  it('keeps the stale marker bit for bit', async () => {
    const got = await reader.read({ ...range(), matchers: [m('EQ', 'job', 'api'), m('EQ', 'env', 'prod')] });
    expect(got).toHaveLength(1);
    expect(got[0].samples.map((s) => toBits(s.value))).toEqual([
      toBits(0), toBits(1), '7ff0000000000002', toBits(3),
    ]);
  });

  it('drops matchers on ignored labels (the replica label) and honours the cluster matcher', async () => {
    const got = await reader.read({
      ...range(), ignoreLabels: ['__replica__'],
      matchers: [m('EQ', '__name__', 'up'), m('EQ', 'cluster', 'c1'), m('EQ', '__replica__', 'r1')],
    });
    expect(got.map((s) => s.labels)).toEqual([CORPUS[0], CORPUS[1]]);
    const without = await reader.read({ ...range(), matchers: [m('EQ', '__replica__', 'r1')] });
    expect(without).toEqual([]);
  });

  it('refuses regular expressions it cannot evaluate', async () => {
    await expect(reader.read({ ...range(), matchers: [m('RE', 'job', 'a(?=b)')] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(reader.read({ ...range(), matchers: [m('RE', 'job', '(a)\\1')] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
