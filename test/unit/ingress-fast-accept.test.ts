/**
 * The ingress's fast way takes only what the full path would accept as one batch: valid label
 * sets of one (group, replica), samples inside the window; everything else is left (undefined)
 * to the full decode, which refuses or splits it with its precise message.
 */
import { describe, expect, it } from 'vitest';
import { FastAccept } from '../../src/ingress/fast-accept.js';
import { encodeWriteRequest, type Label, type TimeSeries } from '../../src/protocol/index.js';
import { DEFAULT_DECODE_LIMITS } from '../helpers/limits.js';

const ha = { clusterLabel: 'cluster', replicaLabel: '__replica__', defaultGroup: undefined, defaultReplica: undefined };
const window = { nowMs: 1_000_000, maxAgeMs: 0, maxFutureMs: 3_600_000 };

function series(labels: Record<string, string>, t = 1000): TimeSeries {
  const l: Label[] = Object.keys(labels).sort().map((name) => ({ name, value: labels[name] }));
  return { labels: l, samples: [{ timestamp: t, value: 1 }], exemplars: [], histograms: [] };
}

const body = (...ts: TimeSeries[]) => encodeWriteRequest({ timeseries: ts, metadata: [] });

describe('FastAccept', () => {
  it('tags a request of one group and replica, the same again from its cache', () => {
    const f = new FastAccept(ha);
    const b = body(series({ __name__: 'up', cluster: 'g', __replica__: 'r1' }, 10), series({ __name__: 'x', cluster: 'g', __replica__: 'r1' }, 20));
    const first = f.accept(b, window, DEFAULT_DECODE_LIMITS);
    expect(first).toEqual({ identity: { group: 'g', replica: 'r1' }, replicaLabelSeen: true, samples: 2, minTs: 10, maxTs: 20, groupFromFlag: false });
    expect(f.accept(b, window, DEFAULT_DECODE_LIMITS)).toEqual(first);
  });

  it('leaves to the full path: several groups, invalid labels, samples outside the window, metadata', () => {
    const f = new FastAccept(ha);
    expect(f.accept(body(series({ __name__: 'up', cluster: 'a' }), series({ __name__: 'up', cluster: 'b' })), window, DEFAULT_DECODE_LIMITS)).toBeUndefined();
    expect(f.accept(body(series({ __name__: 'up', 'bad-name': 'v' })), window, DEFAULT_DECODE_LIMITS)).toBeUndefined();
    expect(f.accept(body(series({ job: 'no metric name' })), window, DEFAULT_DECODE_LIMITS)).toBeUndefined();
    expect(f.accept(body(series({ __name__: 'up' }, window.nowMs + 2 * 3_600_000)), window, DEFAULT_DECODE_LIMITS)).toBeUndefined();
    const withMeta = encodeWriteRequest({ timeseries: [series({ __name__: 'up' })], metadata: [{ type: 'gauge', metricFamilyName: 'up', help: '', unit: '' }] });
    expect(f.accept(withMeta, window, DEFAULT_DECODE_LIMITS)).toBeUndefined();
  });

  it('takes series without a group as the ungrouped queue, and the flags\' default group', () => {
    expect(new FastAccept(ha).accept(body(series({ __name__: 'up' })), window, DEFAULT_DECODE_LIMITS)?.identity).toEqual({ group: undefined, replica: undefined });
    const withDefault = new FastAccept({ ...ha, defaultGroup: 'd', defaultReplica: 'r9' });
    expect(withDefault.accept(body(series({ __name__: 'up' })), window, DEFAULT_DECODE_LIMITS)).toMatchObject({ identity: { group: 'd', replica: 'r9' }, replicaLabelSeen: false });
  });

  it('says when the group is the flag\'s (no cluster label), also for a label naming the same group, in either order', () => {
    const f = new FastAccept({ ...ha, defaultGroup: 'd', defaultReplica: 'r9' });
    const unlabelled = body(series({ __name__: 'up', __replica__: 'r9' }));
    const labelled = body(series({ __name__: 'up', cluster: 'd', __replica__: 'r9' }));
    for (let round = 0; round < 2; round++) {
      expect(f.accept(unlabelled, window, DEFAULT_DECODE_LIMITS)).toMatchObject({ identity: { group: 'd', replica: 'r9' }, groupFromFlag: true });
      expect(f.accept(labelled, window, DEFAULT_DECODE_LIMITS)).toMatchObject({ identity: { group: 'd', replica: 'r9' }, groupFromFlag: false });
    }
    expect(new FastAccept(ha).accept(unlabelled, window, DEFAULT_DECODE_LIMITS)).toMatchObject({ identity: { group: undefined }, groupFromFlag: false });
  });

  it('leaves a request past a count or length limit to the full decode, even for known series', () => {
    const f = new FastAccept(ha);
    const b = body(series({ __name__: 'up', job: 'j' }), series({ __name__: 'up', job: 'k' }));
    expect(f.accept(b, window, DEFAULT_DECODE_LIMITS)).toBeDefined();
    expect(f.accept(b, window, { ...DEFAULT_DECODE_LIMITS, maxSeriesPerRequest: 1 })).toBeUndefined();
    expect(f.accept(b, window, { ...DEFAULT_DECODE_LIMITS, maxSamplesPerRequest: 1 })).toBeUndefined();
    const g = new FastAccept(ha);
    expect(g.accept(body(series({ __name__: 'up', job: 'a-long-value' })), window, { ...DEFAULT_DECODE_LIMITS, maxLabelValueBytes: 4 })).toBeUndefined();
  });

  it('tags known series right after the interned tags were dropped for too many groups', () => {
    const f = new FastAccept(ha);
    const of = (g: number) => body(series({ __name__: 'up', cluster: `g${g}`, __replica__: 'r1' }));
    // 10,000 tags are kept; the next one drops them all, with the series that pointed at them.
    for (let g = 0; g <= 10_000; g++) expect(f.accept(of(g), window, DEFAULT_DECODE_LIMITS)?.identity).toEqual({ group: `g${g}`, replica: 'r1' });
    for (const g of [0, 9_999, 10_000, 3]) expect(f.accept(of(g), window, DEFAULT_DECODE_LIMITS)?.identity).toEqual({ group: `g${g}`, replica: 'r1' });
  });
});
