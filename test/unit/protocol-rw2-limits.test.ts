/** Remote-write 2.0 bodies are held to the same count and length limits as 1.0 bodies. */
import { describe, expect, it } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import { checkDecodedLimits, decodeWriteRequestV2, encodeWriteRequestV2, type Label, type TimeSeries } from '../../src/protocol/index.js';
import { DEFAULT_DECODE_LIMITS } from '../helpers/limits.js';

const TIGHT = { maxSeriesPerRequest: 2, maxSamplesPerRequest: 6, maxSamplesPerSeries: 3, maxLabelsPerSeries: 4, maxLabelNameBytes: 8, maxLabelValueBytes: 8 };

function series(labels: Record<string, string>, samples = 1): TimeSeries {
  const ls: Label[] = Object.entries(labels).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
  return { labels: ls, samples: Array.from({ length: samples }, (_, i) => ({ value: i, timestamp: 1_700_000_000_000 + i })), exemplars: [], histograms: [] };
}

function codeOf(timeseries: TimeSeries[]): string | undefined {
  const decoded = decodeWriteRequestV2(encodeWriteRequestV2({ timeseries, metadata: [] }));
  try {
    checkDecodedLimits(decoded, TIGHT);
    return undefined;
  } catch (err) {
    if (!(err instanceof PromfleetError)) throw err;
    expect(err.message).toMatch(/--web\./);
    return err.code;
  }
}

describe('remote-write 2.0 limits', () => {
  it('passes what is within every limit', () => {
    expect(codeOf([series({ __name__: 'm', a: 'x' }, 3), series({ __name__: 'n' }, 3)])).toBeUndefined();
    expect(() => checkDecodedLimits(decodeWriteRequestV2(encodeWriteRequestV2({ timeseries: [series({ __name__: 'm' })], metadata: [] })), DEFAULT_DECODE_LIMITS)).not.toThrow();
  });

  it('refuses each limit with its code', () => {
    expect(codeOf([series({ __name__: 'a' }), series({ __name__: 'b' }), series({ __name__: 'c' })])).toBe('LIMIT_SERIES_PER_REQUEST');
    expect(codeOf([series({ __name__: 'm' }, 4)])).toBe('LIMIT_SAMPLES_PER_SERIES');
    expect(codeOf([series({ __name__: 'm', a: '1', b: '2', c: '3', d: '4' })])).toBe('LIMIT_LABELS_PER_SERIES');
    expect(codeOf([series({ __name__: 'm', longername: '1' })])).toBe('LIMIT_LABEL_NAME_LENGTH');
    expect(codeOf([series({ __name__: 'm', a: 'a-long-value' })])).toBe('LIMIT_LABEL_VALUE_LENGTH');
  });

  it('counts points across the request', () => {
    expect(() => checkDecodedLimits(
      decodeWriteRequestV2(encodeWriteRequestV2({ timeseries: [series({ __name__: 'm' }, 3), series({ __name__: 'n' }, 3)], metadata: [] })),
      { ...TIGHT, maxSamplesPerRequest: 5 },
    )).toThrow(/--web.max-samples-per-request/);
  });
});
