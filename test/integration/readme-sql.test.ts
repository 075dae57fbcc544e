/**
 * The SQL examples of docs/storage-and-sql.md ("Examples") and the README's first query, run as written
 * against data of known answer: latest value per series (lookback and stale markers), the rate
 * of a counter (resets and stale markers), series by label.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Label, TimeSeries } from '../../src/protocol/write/types.js';
import { BatchWriter, Partitions, SeriesResolver, migrate } from '../../src/storage/index.js';
import { useTestDatabase } from '../helpers/database.js';
import { fromBits } from '../helpers/float-bits.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SQL_DOC = path.join(ROOT, 'docs/storage-and-sql.md');
const README = path.join(ROOT, 'README.md');
const STALE = fromBits('7ff0000000000002');

const db = useTestDatabase('readme_sql', { max: 2, log });

/** The SQL block right under `heading` in `file` (the first one when heading is undefined). */
function sqlBlock(file: string, heading?: string): string {
  const text = readFileSync(file, 'utf8');
  const at = heading === undefined ? 0 : text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`${path.relative(ROOT, file)}: no "${heading}" heading`);
  const block = /```sql\n([\s\S]*?)```/.exec(text.slice(at))?.[1];
  if (block === undefined) throw new Error(`${path.relative(ROOT, file)}: no \`\`\`sql block${heading === undefined ? '' : ` under "${heading}"`}`);
  return block;
}

/** The SQL examples of docs/storage-and-sql.md, each keyed by its leading `-- ` comment line. */
function exampleQueries(): Map<string, string> {
  const block = sqlBlock(SQL_DOC, '### Examples');
  const out = new Map<string, string>();
  for (const query of block.split(/\n\s*\n/)) {
    const title = /^-- (.*)$/m.exec(query)?.[1];
    if (title !== undefined) out.set(title, query);
  }
  return out;
}

function query(titleStart: string): string {
  const all = exampleQueries();
  const found = [...all.entries()].find(([title]) => title.startsWith(titleStart));
  if (found === undefined) throw new Error(`docs/storage-and-sql.md: no SQL example titled "${titleStart}…" (have: ${[...all.keys()].join(' | ')})`);
  return found[1];
}

function series(o: Record<string, string>, samples: [agoS: number, value: number][], now: number): TimeSeries {
  const labels: Label[] = Object.entries(o).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
  return { labels, samples: samples.map(([ago, value]) => ({ timestamp: now - ago * 1000, value })), exemplars: [], histograms: [] };
}

beforeAll(async () => {
  await migrate(db.pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: HOUR, log });
  const writer = new BatchWriter({
    pool: db.pool, schema: 'prom', log,
    partitions: new Partitions({ pool: db.pool, schema: 'prom', intervalMs: HOUR, log }),
    series: new SeriesResolver({ schema: 'prom' }),
  });
  const now = Math.floor(Date.now() / 1000) * 1000;
  const cpu = { __name__: 'node_cpu_seconds_total', job: 'node', mode: 'idle' };
  const load = { __name__: 'node_load1', job: 'node' };
  await writer.write({
    id: 'readme-sql', queue: '{default}', metadata: [],
    timeseries: [
      // 10 → 20 → reset to 5 → 15, then a stale marker: 25 over 180 s.
      series({ ...cpu, cpu: '0' }, [[240, 10], [180, 20], [120, 5], [60, 15], [30, STALE]], now),
      // 60 over 180 s; its sample of 10 minutes ago is outside the window.
      series({ ...cpu, cpu: '1' }, [[600, 1], [240, 100], [60, 160]], now),
      series({ ...load, instance: 'a' }, [[120, 1.5], [60, 2.5]], now),
      // Stale at its last sample: no latest value.
      series({ ...load, instance: 'b' }, [[120, 3], [60, STALE]], now),
      // Last seen 20 minutes ago: outside the lookback.
      series({ ...load, instance: 'c' }, [[1200, 7]], now),
      series({ __name__: 'up', job: 'other' }, [[60, 1]], now),
    ],
  });
});

describe('SQL examples of docs/storage-and-sql.md and the README', () => {
  it('latest value per series: within the lookback, stale series left out', async () => {
    const res = await db.pool.query<{ labels: Record<string, string>; value: number }>(query('latest value per series'));
    expect(res.rows.map((r) => [r.labels.instance, r.value])).toEqual([['a', 2.5]]);
  });

  it('rate of a counter: resets counted as PromQL counts them, stale markers skipped', async () => {
    const res = await db.pool.query<{ labels: Record<string, string>; per_second: number }>(query('per-second rate of a counter'));
    const byCpu = Object.fromEntries(res.rows.map((r) => [r.labels.cpu, r.per_second]));
    expect(Object.keys(byCpu).sort()).toEqual(['0', '1']);
    expect(byCpu['0']).toBeCloseTo(25 / 180, 12);
    expect(byCpu['1']).toBeCloseTo(60 / 180, 12);
  });

  it('every example in the block runs on the migrated schema', async () => {
    const all = exampleQueries();
    expect(all.size).toBeGreaterThanOrEqual(3);
    for (const [title, sql] of all) await expect(db.pool.query(sql), title).resolves.toBeDefined();
  });

  it('series by label: every series of the job, none of another', async () => {
    const res = await db.pool.query<{ metric: string; labels: Record<string, string> }>(query('series by label'));
    expect(res.rows.map((r) => `${r.metric}/${r.labels.cpu ?? r.labels.instance}`)).toEqual([
      'node_cpu_seconds_total/0', 'node_cpu_seconds_total/1', 'node_load1/a', 'node_load1/b', 'node_load1/c',
    ]);
  });

  it('the README\'s first query: the newest samples of `up`', async () => {
    const res = await db.pool.query<{ value: number; labels: Record<string, string> }>(sqlBlock(README));
    expect(res.rows.map((r) => [r.labels.job, r.value])).toEqual([['other', 1]]);
  });
});
