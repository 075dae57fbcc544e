/**
 * Real Prometheus 2.42 remote-read bodies (test/fixtures/prometheus-2.42): every request
 * decodes to the matchers, time span and hints in its folder's INDEX.tsv "decoded" column and
 * re-encodes to the same bytes; every recorded response is one empty QueryResult that
 * encodeReadResponse reproduces byte for byte.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES } from '../helpers/fixtures.js';
import { snappyDecompress } from '../../src/protocol/wire/snappy.js';
import { decodeReadRequest, decodeReadResponse } from '../../src/protocol/read/remote-read-decode.js';
import { encodeReadRequest, encodeReadResponse } from '../../src/protocol/read/remote-read-encode.js';
import type { LabelMatcher, MatcherType, ReadHints } from '../../src/protocol/read/remote-read-types.js';

const MAX = 32 * 1024 * 1024;
const OPS: Record<string, MatcherType> = { '=': 'EQ', '!=': 'NEQ', '=~': 'RE', '!~': 'NRE' };

interface Expected {
  file: string;
  queries: number;
  matchers: LabelMatcher[];
  spanMs: number;
  hints: ReadHints;
}

/** Reads the read rows of INDEX.tsv, locating columns by the names in its `# read:` header. */
function readIndex(dir: string): Expected[] {
  const lines = readFileSync(path.join(dir, 'INDEX.tsv'), 'utf8').split('\n');
  const header = lines.find((l) => l.startsWith('# read:'));
  if (header === undefined) throw new Error(`${dir}/INDEX.tsv has no "# read:" header`);
  const columns = header.slice('# read:'.length).trim().split('\t');
  const col = (name: string): number => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`INDEX.tsv has no ${name} column`);
    return i;
  };
  const out: Expected[] = [];
  for (const line of lines.filter((l) => l.startsWith('read-'))) {
    const cells = line.split('\t');
    const decoded = cells[col('decoded')];
    const m = /^(.*) \[(\d+)ms\] hints=(\{.*\})$/.exec(decoded);
    if (m === null) throw new Error(`cannot parse decoded column: ${decoded}`);
    const matchers: LabelMatcher[] = [];
    for (const mm of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)("(?:[^"\\]|\\.)*")/g)) {
      matchers.push({ name: mm[1], type: OPS[mm[2]], value: JSON.parse(mm[3]) as string });
    }
    const h = JSON.parse(m[3]) as Partial<ReadHints> & { step_ms?: number; start_ms?: number; end_ms?: number; range_ms?: number };
    out.push({
      file: cells[col('file')],
      queries: Number(cells[col('queries')].replace('queries:', '')),
      matchers,
      spanMs: Number(m[2]),
      hints: {
        stepMs: h.step_ms ?? 0, func: h.func ?? '', startMs: h.start_ms ?? 0, endMs: h.end_ms ?? 0,
        grouping: h.grouping ?? [], by: h.by ?? false, rangeMs: h.range_ms ?? 0,
      },
    });
  }
  return out;
}

// Both folders must be there: a missing one fails readIndex below instead of skipping.
const replicas = ['replica-a', 'replica-b'];

describe('Prometheus 2.42 remote-read fixtures', () => {
  for (const replica of replicas) {
    const dir = path.join(FIXTURES, replica);
    const rows = readIndex(dir);

    it(`${replica}: INDEX.tsv lists every read request`, () => {
      const files = readdirSync(dir).filter((f) => /^read-\d+\.bin$/.test(f)).sort();
      expect(rows.map((r) => r.file).sort()).toEqual(files);
      expect(files.length).toBeGreaterThan(0);
    });

    for (const row of rows) {
      it(`${replica}/${row.file} decodes to its INDEX.tsv matchers and re-encodes identically`, () => {
        const raw = snappyDecompress(readFileSync(path.join(dir, row.file)), MAX);
        const req = decodeReadRequest(raw);
        expect(req.queries).toHaveLength(row.queries);
        expect(req.acceptedResponseTypes).toEqual([]);
        const q = req.queries[0];
        expect(q.matchers).toEqual(row.matchers);
        expect(q.endTimestampMs - q.startTimestampMs).toBe(row.spanMs);
        expect(q.hints).toEqual(row.hints);
        expect(Buffer.from(encodeReadRequest(req)).equals(Buffer.from(raw))).toBe(true);
      });

      const response = row.file.replace(/\.bin$/, '.response.bin');
      it(`${replica}/${response} is one empty QueryResult, reproduced by encodeReadResponse`, () => {
        const raw = snappyDecompress(readFileSync(path.join(dir, response)), MAX);
        expect(decodeReadResponse(raw)).toEqual([{ timeseries: [] }]);
        expect(Array.from(encodeReadResponse([{ timeseries: [] }]))).toEqual(Array.from(raw));
      });
    }
  }
});
