import { describe, expect, it } from 'vitest';
import { seriesCacheKey, seriesKey, seriesRow } from '../../src/storage/labels.js';
import type { Label } from '../../src/protocol/write/types.js';

const l = (...pairs: [string, string][]): Label[] => pairs.map(([name, value]) => ({ name, value }));

describe('series cache key', () => {
  const sets: [string, Label[]][] = [
    ['sorted, as Prometheus sends', l(['__name__', 'up'], ['instance', 'host:9100'], ['job', 'node'])],
    ['metric name not first', l(['instance', 'a'], ['__name__', 'up'], ['job', 'node'])],
    ['unsorted labels', l(['__name__', 'up'], ['job', 'node'], ['instance', 'a'])],
    ['multi-byte UTF-8 values and names', l(['__name__', 'température'], ['ville', 'Zürich'], ['émoji', '🌡️'])],
    ['a label named __proto__ and empty values', l(['__name__', 'm'], ['__proto__', ''], ['a', ''])],
    ['separators inside values', l(['__name__', 'm'], ['a', '1:b1:c'], ['b', '\u0000'])],
    ['only the metric name', l(['__name__', 'm'])],
    ['the metric name twice (the last wins, as in seriesKey)', l(['__name__', 'a'], ['__name__', 'b'], ['x', 'y'])],
  ];
  it.each(sets)('is the stored hash for %s', (_what, labels) => {
    expect(seriesCacheKey(labels)).toBe(seriesKey(labels).hash.toString('latin1'));
  });

  it.each(sets)('comes with the stored metric and labels for %s (seriesRow)', (_what, labels) => {
    const { metric, labelsJson } = seriesKey(labels);
    expect(seriesRow(labels)).toEqual({ metric, labelsJson });
  });

  it('tells label sets apart whose concatenations agree', () => {
    expect(seriesCacheKey(l(['__name__', 'm'], ['a', 'bc']))).not.toBe(seriesCacheKey(l(['__name__', 'm'], ['ab', 'c'])));
  });

  it('refuses what seriesKey refuses, with the same error', () => {
    const cases: [Label[], RegExp][] = [
      [l(['job', 'x']), /no metric name/],
      [l(['__name__', ''], ['a', 'b']), /no metric name/],
      [l(['__name__', 'm'], ['a', '1'], ['a', '2']), /has the label a twice/],
    ];
    for (const [bad, message] of cases) {
      expect(() => seriesKey(bad)).toThrow(message);
      expect(() => seriesCacheKey(bad)).toThrow(message);
      expect(() => seriesRow(bad)).toThrow(message);
    }
  });
});
