/**
 * A read streamed out of PostgreSQL (two COPYs on two connections, for this many series): series
 * handed over as they arrive, in no particular order,
 * with every sample and its value bits; the sample limit stops the read at the series that passes
 * it; a callback that throws while PostgreSQL is still sending ends the read with its error; the
 * pool serves the next read after either.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BatchWriter, Partitions, SampleReader, SeriesResolver, compareLabelSets, migrate } from '../../src/storage/index.js';
import { PROMETHEUS_MATCHING } from '../../src/read/index.js';
import type { Label, TimeSeries } from '../../src/protocol/write/types.js';
import { useTestDatabase } from '../helpers/database.js';
import { fromBits, toBits } from '../helpers/float-bits.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const SCHEMA = 'r_stream';
const T0 = Date.parse('2024-05-01T10:00:00.000Z');
/** Enough series that a read runs as two COPYs, enough samples that each spans many socket chunks. */
const PER_SERIES = 4_000;
const SERIES = 70;

const db = useTestDatabase('storage_read_stream', { max: 4, applicationName: 'storage-read-stream-test', log });

function labels(i: number): Label[] {
  return [{ name: '__name__', value: 'stream_test' }, { name: 'i', value: String(1000 - i) }];
}

function valueOf(i: number, k: number): number {
  return k % 1000 === 999 ? fromBits('7ff0000000000002') : i * 1e6 + k * 0.5;
}

let reader: SampleReader;

beforeAll(async () => {
  await migrate(db.pool, { schema: SCHEMA, timescaledb: false, partitionIntervalMs: HOUR, log });
  const writer = new BatchWriter({
    pool: db.pool, schema: SCHEMA, log,
    partitions: new Partitions({ pool: db.pool, schema: SCHEMA, intervalMs: HOUR, log }),
    series: new SeriesResolver({ schema: SCHEMA }),
  });
  const timeseries: TimeSeries[] = Array.from({ length: SERIES }, (_, i) => ({
    labels: labels(i),
    samples: Array.from({ length: PER_SERIES }, (_, k) => ({ timestamp: T0 + k * 100, value: valueOf(i, k) })),
    exemplars: [], histograms: [],
  }));
  await writer.write({ id: 'stream-corpus', queue: 'q:g:r1', timeseries, metadata: [] });
  reader = new SampleReader({ pool: db.pool, schema: SCHEMA, matching: PROMETHEUS_MATCHING });
}, 120_000);

const query = { startMs: T0, endMs: T0 + HOUR, matchers: [{ type: 'EQ' as const, name: '__name__', value: 'stream_test' }] };

describe('SampleReader.eachSeries', () => {
  it('hands over every series with every sample and its exact bits', async () => {
    const got: { labels: Label[]; times: number[]; bits: string[] }[] = [];
    await reader.eachSeries(query, (s) => {
      got.push({ labels: s.labels, times: [...s.times], bits: [...s.values].map(toBits) });
    });
    got.sort((a, b) => compareLabelSets(a.labels, b.labels));
    expect(got.map((s) => s.labels)).toEqual(Array.from({ length: SERIES }, (_, i) => labels(i)).sort(compareLabelSets));
    for (const s of got) {
      const i = 1000 - Number(s.labels[1].value);
      expect(s.times).toEqual(Array.from({ length: PER_SERIES }, (_, k) => T0 + k * 100));
      expect(s.bits).toEqual(Array.from({ length: PER_SERIES }, (_, k) => toBits(valueOf(i, k))));
    }
  });

  it('stops with LIMIT_READ_SAMPLES at the series that passes the limit, and the pool serves the next read', async () => {
    let seen = 0;
    await expect(reader.eachSeries({ ...query, maxSamples: PER_SERIES + 10 }, () => { seen++; }))
      .rejects.toMatchObject({ code: 'LIMIT_READ_SAMPLES' });
    expect(seen).toBe(1);
    for (let i = 0; i < 6; i++) {
      const all = await reader.readColumns({ ...query, maxSamples: SERIES * PER_SERIES });
      expect(all.reduce((n, s) => n + s.times.length, 0)).toBe(SERIES * PER_SERIES);
    }
  });

  it('ends the read with an exception thrown by the callback while PostgreSQL is still sending, and the pool serves the next read', async () => {
    await expect(reader.eachSeries(query, () => { throw new Error('encoder failed'); })).rejects.toThrow('encoder failed');
    expect((await reader.read({ ...query, endMs: T0 + 250 })).map((s) => s.samples.length)).toEqual(Array(SERIES).fill(3));
  });
});
