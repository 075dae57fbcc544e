/**
 * The load generator's compressed templates: a filled template decompresses (with promfleet's
 * strict Snappy decoder and with snappyjs) to exactly the bytes of encodeRequest's
 * encode-then-compress, for every value, including NaN payloads and timestamps of every varint
 * length; and it stays within a few bytes per sample of a full Snappy pass.
 */
import { describe, expect, it } from 'vitest';
import snappy from 'snappyjs';
import { snappyDecompress, varintSize } from '../../src/protocol/index.js';
import { encodeLabels, encodeRequest } from '../../src/loadgen/body.js';
import { loadSeries } from '../../src/loadgen/series.js';
import { buildTemplate, fillTemplate } from '../../src/loadgen/template.js';

const labels = loadSeries({ series: 1200, external: { cluster: 'c', __replica__: 'r0' } }).map(encodeLabels);
const raw = (body: Uint8Array) => Buffer.from(snappyDecompress(body, 64 << 20));

describe('load generator body templates', () => {
  it('decompress to the same WriteRequest as encodeRequest, for any values and timestamps', () => {
    const values = [0, -0, 1.5, -1e300, Infinity, NaN, Buffer.from('0200000000f07f7f', 'hex').readDoubleLE(0)];
    for (const ts of [0, 127, 128, 1_700_000_000_000, 2 ** 53 - 1]) {
      const t = buildTemplate(labels, 100, 600, varintSize(ts));
      for (let round = 0; round < 3; round++) {
        const value = (s: number) => values[(s + round) % values.length];
        const filled = fillTemplate(t, 100, ts, value);
        const plain = encodeRequest(labels, 100, 600, ts, value);
        expect(raw(filled).equals(raw(plain))).toBe(true);
        expect(Buffer.from(snappy.uncompress(filled)).equals(raw(plain))).toBe(true);
      }
    }
  });

  it('leaves the template untouched and refuses a timestamp of another varint length', () => {
    const t = buildTemplate(labels, 0, 500, varintSize(1_700_000_000_000));
    const before = Buffer.from(t.compressed);
    fillTemplate(t, 0, 1_700_000_000_000, (s) => s);
    expect(t.compressed.equals(before)).toBe(true);
    expect(() => fillTemplate(t, 0, 1000, (s) => s)).toThrow(RangeError);
  });

  it('compresses node_exporter-shaped requests about as well as a full Snappy pass', () => {
    const ts = 1_700_000_000_000;
    const value = (s: number) => s * 10 + 0.5;
    const filled = fillTemplate(buildTemplate(labels, 0, 500, varintSize(ts)), 0, ts, value);
    const plain = encodeRequest(labels, 0, 500, ts, value);
    const extraPerSample = (filled.length - plain.length) / 500;
    expect(extraPerSample).toBeLessThan(10);
    expect(filled.length).toBeLessThan(raw(plain).length / 3);
  });
});
