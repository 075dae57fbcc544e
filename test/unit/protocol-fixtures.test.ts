/**
 * Real Prometheus 2.42 remote-write bodies (test/fixtures/prometheus-2.42): every one
 * decompresses, decodes and validates, matches the counts in its folder's INDEX.tsv, and
 * survives encode → decode unchanged, stale-marker bits included.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  decodeWriteRequest, encodeWriteRequest, snappyCompress, snappyDecompress, validateWriteRequest,
} from '../../src/protocol/index.js';
import type { WriteRequest } from '../../src/protocol/index.js';
import { FIXTURES } from '../helpers/fixtures.js';

const MAX_DECOMPRESSED = 32 * 1024 * 1024;
const STALE_NAN = 0x7ff0000000000002n;

function float64Bits(v: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  return view.getBigUint64(0, true);
}

interface IndexRow {
  file: string;
  receivedAt: number;
  series: number;
  samples: number;
  metadata: number;
  staleNan: number;
}

/** Reads the write rows of INDEX.tsv, locating columns by the names in its `# write:` header. */
function readIndex(dir: string): IndexRow[] {
  const lines = readFileSync(path.join(dir, 'INDEX.tsv'), 'utf8').split('\n');
  const header = lines.find((l) => l.startsWith('# write:'));
  if (header === undefined) throw new Error(`${dir}/INDEX.tsv has no "# write:" header`);
  const columns = header.slice('# write:'.length).trim().split('\t');
  const col = (name: string): number => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`INDEX.tsv has no column ${name}: ${columns.join(',')}`);
    return i;
  };
  const [file, receivedAt, series, samples, metadata, staleNan] =
    ['file', 'received_at', 'series', 'samples', 'metadata', 'stale_nan'].map(col);
  return lines
    .filter((l) => l.startsWith('write-'))
    .map((l) => {
      const f = l.split('\t');
      return {
        file: f[file],
        receivedAt: Date.parse(f[receivedAt]),
        series: Number(f[series]),
        samples: Number(f[samples]),
        metadata: Number(f[metadata]),
        staleNan: Number(f[staleNan]),
      };
    });
}

function counts(req: WriteRequest): { series: number; samples: number; metadata: number; staleNan: number } {
  let samples = 0;
  let staleNan = 0;
  for (const ts of req.timeseries) {
    samples += ts.samples.length;
    for (const s of ts.samples) if (float64Bits(s.value) === STALE_NAN) staleNan++;
  }
  return { series: req.timeseries.length, samples, metadata: req.metadata.length, staleNan };
}

function load(dir: string, file: string): { body: Uint8Array; raw: Uint8Array; req: WriteRequest } {
  const body = readFileSync(path.join(dir, file));
  const raw = snappyDecompress(body, MAX_DECOMPRESSED);
  return { body, raw, req: decodeWriteRequest(raw) };
}

for (const replica of ['replica-a', 'replica-b']) {
  const dir = path.join(FIXTURES, replica);

  describe(`Prometheus 2.42 fixtures, ${replica}`, () => {
    const rows = readIndex(dir);

    it('INDEX.tsv lists exactly the write-*.bin files of the folder', () => {
      const files = readdirSync(dir).filter((f) => /^write-\d+\.bin$/.test(f)).sort();
      expect(files.length).toBeGreaterThan(0);
      expect(rows.map((r) => r.file).sort()).toEqual(files);
    });

    it('every body decompresses, decodes, validates and matches its INDEX.tsv counts', () => {
      for (const row of rows) {
        const { req } = load(dir, row.file);
        expect({ file: row.file, ...counts(req) }).toEqual({
          file: row.file, series: row.series, samples: row.samples, metadata: row.metadata, staleNan: row.staleNan,
        });
        // The capture server's clock is "now"; Prometheus sends nothing older than its WAL.
        expect(() => validateWriteRequest(req, { nowMs: row.receivedAt, maxAgeMs: 3_600_000, maxFutureMs: 600_000 }))
          .not.toThrow();
      }
    });

    it('encode → decode yields deep-equal requests, NaN bit patterns included', () => {
      for (const row of rows) {
        const { raw, req } = load(dir, row.file);
        const encoded = encodeWriteRequest(req);
        const again = decodeWriteRequest(encoded);
        expect(again, row.file).toEqual(req);
        const before = req.timeseries.flatMap((ts) => ts.samples.map((s) => float64Bits(s.value)));
        const after = again.timeseries.flatMap((ts) => ts.samples.map((s) => float64Bits(s.value)));
        expect(after, row.file).toEqual(before);
        // Prometheus's encoder and ours agree byte for byte on these bodies.
        expect(Buffer.from(encoded).equals(Buffer.from(raw)), row.file).toBe(true);
        // And the block codec round-trips them too.
        expect(Buffer.from(snappyDecompress(snappyCompress(encoded), MAX_DECOMPRESSED)).equals(Buffer.from(encoded))).toBe(true);
      }
    });
  });
}

describe('stale markers', () => {
  it('replica-a/write-0149.bin carries 429 samples with bits exactly 0x7ff0000000000002', () => {
    const { req } = load(path.join(FIXTURES, 'replica-a'), 'write-0149.bin');
    // Filter the Sample objects, not an array of their values: V8 stores a number[] of doubles
    // unboxed and sets the quiet bit of every NaN it stores there (0x7ff8000000000002).
    const stale = req.timeseries.flatMap((ts) => ts.samples).filter((s) => float64Bits(s.value) === STALE_NAN);
    expect(stale).toHaveLength(429);
    // The stale marker is not the NaN JavaScript produces by itself (0x7ff8000000000000).
    expect(float64Bits(Number.NaN)).not.toBe(STALE_NAN);

    const again = decodeWriteRequest(encodeWriteRequest(req));
    const staleAgain = again.timeseries.flatMap((ts) => ts.samples).filter((s) => float64Bits(s.value) === STALE_NAN);
    expect(staleAgain).toHaveLength(429);
  });
});
