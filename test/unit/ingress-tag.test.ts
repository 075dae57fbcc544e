import { describe, it, expect } from 'vitest';
import { tagRequest, type HaLabels } from '../../src/ingress/tag.js';
import type { TimeSeries } from '../../src/protocol/types.js';

const ha: HaLabels = { clusterLabel: 'cluster', replicaLabel: '__replica__', defaultGroup: undefined, defaultReplica: undefined };

function series(labels: Record<string, string>, ts: number[]): TimeSeries {
  return {
    labels: Object.keys(labels).sort().map((name) => ({ name, value: labels[name] })),
    samples: ts.map((t) => ({ timestamp: t, value: t / 1000 })),
    exemplars: [],
    histograms: [],
  };
}

describe('tagging a write request by HA group and replica', () => {
  it('strips the replica label, keeps the cluster label and names the identity', () => {
    const req = { timeseries: [series({ __name__: 'up', cluster: 'demo', __replica__: 'a', job: 'x' }, [1000, 2000])], metadata: [] };
    const { batches, unchanged } = tagRequest(req, ha);
    expect(unchanged).toBe(false);
    expect(batches).toHaveLength(1);
    expect(batches[0].identity).toEqual({ group: 'demo', replica: 'a' });
    expect(batches[0].request.timeseries[0].labels.map((l) => l.name)).toEqual(['__name__', 'cluster', 'job']);
    expect(batches[0]).toMatchObject({ samples: 2, minTs: 1000, maxTs: 2000 });
    // The caller's request is not modified.
    expect(req.timeseries[0].labels.map((l) => l.name)).toContain('__replica__');
  });

  it('marks requests without a replica label unchanged so their bytes can be queued as sent', () => {
    const { batches, unchanged } = tagRequest({ timeseries: [series({ __name__: 'up' }, [5])], metadata: [] }, ha);
    expect(unchanged).toBe(true);
    expect(batches[0].identity).toEqual({ group: undefined, replica: undefined });
  });

  it('falls back to --ha.group/--ha.replica for series without the labels', () => {
    const { batches } = tagRequest({ timeseries: [series({ __name__: 'up' }, [5])], metadata: [] }, { ...ha, defaultGroup: 'g', defaultReplica: 'r1' });
    expect(batches[0].identity).toEqual({ group: 'g', replica: 'r1' });
  });

  it('splits a request that mixes groups into one batch per group', () => {
    const req = {
      timeseries: [
        series({ __name__: 'a', cluster: 'one', __replica__: 'x' }, [1]),
        series({ __name__: 'b', cluster: 'two', __replica__: 'x' }, [2]),
        series({ __name__: 'c', cluster: 'one', __replica__: 'x' }, [3]),
      ],
      metadata: [{ type: 'gauge' as const, metricFamilyName: 'a', help: 'h', unit: '' }],
    };
    const { batches } = tagRequest(req, ha);
    expect(batches.map((b) => b.identity.group)).toEqual(['one', 'two']);
    expect(batches[0].request.timeseries).toHaveLength(2);
    expect(batches[0].request.metadata).toHaveLength(1);
    expect(batches[1].request.metadata).toHaveLength(0);
  });

  it('writes a replica label without a group unconditionally, still stripped', () => {
    const { batches } = tagRequest({ timeseries: [series({ __name__: 'up', __replica__: 'a' }, [1])], metadata: [] }, ha);
    expect(batches[0].identity).toEqual({ group: undefined, replica: undefined });
    expect(batches[0].request.timeseries[0].labels.map((l) => l.name)).toEqual(['__name__']);
  });

  it('puts a metadata-only request on the default identity', () => {
    const { batches } = tagRequest({ timeseries: [], metadata: [{ type: 'counter', metricFamilyName: 'x', help: '', unit: '' }] }, ha);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ samples: 0, minTs: 0, maxTs: 0 });
    expect(batches[0].request.metadata).toHaveLength(1);
  });
});
