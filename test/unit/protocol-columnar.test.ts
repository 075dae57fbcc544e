/**
 * The worker's columnar decoder agrees with decodeWriteRequest on every captured Prometheus
 * request (rows, values bit for bit, labels of every series), keeps the stale marker's bits,
 * and declines (undefined) every body outside its plain shape so the full decoder takes it.
 */
import { describe, expect, it } from 'vitest';
import { decodeColumnar, decodeWriteRequest, encodeWriteRequest, snappyDecompress, type TimeSeries } from '../../src/protocol/index.js';
import { capturedRequests } from '../helpers/fixtures.js';

function bitsAt(values: Float64Array, i: number): string {
  const dv = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return dv.getBigUint64(i * 8, true).toString(16).padStart(16, '0');
}

function bitsOf(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  return dv.getBigUint64(0, true).toString(16).padStart(16, '0');
}

const series = (name: string, samples: TimeSeries['samples']): TimeSeries => ({
  labels: [{ name: '__name__', value: name }, { name: 'job', value: 'node' }], samples, exemplars: [], histograms: [],
});

describe('decodeColumnar', () => {
  const writes = capturedRequests('write');

  it('matches decodeWriteRequest on every captured request that has no metadata', () => {
    let checked = 0;
    for (const w of writes) {
      const body = snappyDecompress(w.body, 64 << 20);
      const full = decodeWriteRequest(body);
      const col = decodeColumnar(body);
      const plain = full.metadata.length === 0 && full.timeseries.every((ts) => ts.exemplars.length === 0 && ts.histograms.length === 0);
      if (!plain) {
        expect(col, w.file).toBeUndefined();
        continue;
      }
      expect(col, w.file).toBeDefined();
      if (!col) continue;
      const withSamples = full.timeseries.filter((ts) => ts.samples.length > 0);
      expect(col.keys.length).toBe(withSamples.length);
      const want: { series: number[]; times: number[]; bits: string[] } = { series: [], times: [], bits: [] };
      const got: typeof want = { series: [], times: [], bits: [] };
      withSamples.forEach((ts, s) => {
        expect(col.labelsOf(s)).toEqual(ts.labels);
        for (const sample of ts.samples) {
          want.series.push(s);
          want.times.push(sample.timestamp);
          want.bits.push(bitsOf(sample.value));
        }
      });
      for (let row = 0; row < col.timestampsMs.length; row++) {
        got.series.push(col.seriesOfRow[row]);
        got.times.push(col.timestampsMs[row]);
        got.bits.push(bitsAt(col.values, row));
      }
      expect(got).toEqual(want);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('gives identical label bytes the same key and different labels different keys', () => {
    const body = encodeWriteRequest({
      timeseries: [series('a', [{ timestamp: 1, value: 1 }]), series('b', [{ timestamp: 2, value: 2 }]), series('a', [{ timestamp: 3, value: 3 }])],
      metadata: [],
    });
    const col = decodeColumnar(body);
    expect(col?.keys[0]).toBe(col?.keys[2]);
    expect(col?.keys[0]).not.toBe(col?.keys[1]);
    expect(col?.minTimeMs).toBe(1);
    expect(col?.maxTimeMs).toBe(3);
  });

  it('keeps the stale marker 0x7ff0000000000002 bit for bit, and negative timestamps', () => {
    const body = Buffer.from(encodeWriteRequest({ timeseries: [series('up', [{ timestamp: -5, value: 1 }])], metadata: [] }));
    // Patch the value's 8 bytes in place: no double register ever holds the marker.
    const at = body.indexOf(Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]));
    expect(at).toBeGreaterThan(0);
    body.writeUInt32LE(2, at + 1);
    body.writeUInt32LE(0x7ff00000, at + 5);
    const col = decodeColumnar(body);
    expect(col && bitsAt(col.values, 0)).toBe('7ff0000000000002');
    expect(col?.timestampsMs[0]).toBe(-5);
  });

  it('declines metadata, exemplars, histograms, truncation and unknown fields', () => {
    const withMeta = encodeWriteRequest({ timeseries: [series('a', [{ timestamp: 1, value: 1 }])], metadata: [{ type: 'counter', metricFamilyName: 'a', help: '', unit: '' }] });
    expect(decodeColumnar(withMeta)).toBeUndefined();
    const withExemplar = encodeWriteRequest({
      timeseries: [{ ...series('a', [{ timestamp: 1, value: 1 }]), exemplars: [{ labels: [], value: 1, timestamp: 1 }] }], metadata: [],
    });
    expect(decodeColumnar(withExemplar)).toBeUndefined();
    const good = encodeWriteRequest({ timeseries: [series('a', [{ timestamp: 1, value: 1 }])], metadata: [] });
    for (let cut = 1; cut < good.length; cut++) {
      const col = decodeColumnar(good.subarray(0, cut));
      // A prefix may still be well formed only at a series boundary; never a partial series.
      if (col) expect(col.timestampsMs.length).toBe(0);
    }
    expect(decodeColumnar(Buffer.concat([Buffer.from(good), Buffer.from([0x20, 0x01])]))).toBeUndefined();
  });

  it('turns a label that is not UTF-8 into INVALID_LABELS when its labels are asked for', () => {
    const body = Buffer.from(encodeWriteRequest({ timeseries: [series('a', [{ timestamp: 1, value: 1 }])], metadata: [] }));
    const at = body.indexOf(Buffer.from('node'));
    body[at] = 0xff;
    const col = decodeColumnar(body);
    expect(col).toBeDefined();
    expect(() => col?.labelsOf(0)).toThrow(/INVALID_LABELS|not valid UTF-8/);
  });
});
