import { describe, it, expect } from 'vitest';
import { tagRequest, type HaLabels } from '../../src/ingress/tag.js';
import type { TimeSeries } from '../../src/protocol/write/types.js';
import { withoutLabel } from '../../src/protocol/index.js';

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
  it('names the identity from the cluster and replica labels and says the replica label must go', () => {
    const req = { timeseries: [series({ __name__: 'up', cluster: 'demo', __replica__: 'a', job: 'x' }, [1000, 2000])], metadata: [] };
    const { batches, replicaLabelSeen } = tagRequest(req, ha);
    expect(replicaLabelSeen).toBe(true);
    expect(batches).toHaveLength(1);
    expect(batches[0].identity).toEqual({ group: 'demo', replica: 'a' });
    expect(batches[0]).toMatchObject({ samples: 2, minTs: 1000, maxTs: 2000 });
    // Tagging copies nothing: the series are the request's own.
    expect(batches[0].series[0]).toBe(req.timeseries[0]);
  });

  it('strips the replica label (and only it) with withoutLabel, leaving the input untouched', () => {
    const req = { timeseries: [series({ __name__: 'up', cluster: 'demo', __replica__: 'a', job: 'x' }, [1]), series({ __name__: 'up' }, [2])], metadata: [] };
    const out = withoutLabel(req.timeseries, '__replica__');
    expect(out[0].labels.map((l) => l.name)).toEqual(['__name__', 'cluster', 'job']);
    expect(out[1]).toBe(req.timeseries[1]);
    expect(req.timeseries[0].labels.map((l) => l.name)).toContain('__replica__');
  });

  it('sees no replica label in requests without one', () => {
    const { batches, replicaLabelSeen } = tagRequest({ timeseries: [series({ __name__: 'up' }, [5])], metadata: [] }, ha);
    expect(replicaLabelSeen).toBe(false);
    expect(batches[0].identity).toEqual({ group: undefined, replica: undefined });
  });

  it('falls back to --ha.group/--ha.replica for series without the labels', () => {
    const { batches } = tagRequest({ timeseries: [series({ __name__: 'up' }, [5])], metadata: [] }, { ...ha, defaultGroup: 'g', defaultReplica: 'r1' });
    expect(batches[0].identity).toEqual({ group: 'g', replica: 'r1' });
    expect(batches[0].groupFromFlag).toBe(true);
  });

  it('says which batches have series whose group is --ha.group\'s, not a label\'s', () => {
    const flags = { ...ha, defaultGroup: 'g', defaultReplica: 'r1' };
    const labelled = (c: string) => series({ __name__: 'up', cluster: c }, [1]);
    const unlabelled = series({ __name__: 'down' }, [2]);
    const byGroup = (ts: TimeSeries[]) => Object.fromEntries(tagRequest({ timeseries: ts, metadata: [] }, flags).batches.map((b) => [b.identity.group, b.groupFromFlag]));
    expect(byGroup([labelled('g')])).toEqual({ g: false });
    expect(byGroup([labelled('other'), unlabelled])).toEqual({ other: false, g: true });
    // A label naming the flag's group shares its batch: the batch has series from the flag.
    expect(byGroup([labelled('g'), unlabelled])).toEqual({ g: true });
    // No group at all: nothing to add.
    expect(tagRequest({ timeseries: [unlabelled], metadata: [] }, ha).batches[0].groupFromFlag).toBe(false);
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
    expect(batches[0].series).toHaveLength(2);
    expect(batches[0].metadata).toHaveLength(1);
    expect(batches[1].metadata).toHaveLength(0);
  });

  it('writes a replica label without a group unconditionally, still marked for stripping', () => {
    const { batches, replicaLabelSeen } = tagRequest({ timeseries: [series({ __name__: 'up', __replica__: 'a' }, [1])], metadata: [] }, ha);
    expect(batches[0].identity).toEqual({ group: undefined, replica: undefined });
    expect(replicaLabelSeen).toBe(true);
  });

  it('puts a metadata-only request on the default identity', () => {
    const { batches } = tagRequest({ timeseries: [], metadata: [{ type: 'counter', metricFamilyName: 'x', help: '', unit: '' }] }, ha);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ samples: 0, minTs: 0, maxTs: 0 });
    expect(batches[0].metadata).toHaveLength(1);
  });
});
