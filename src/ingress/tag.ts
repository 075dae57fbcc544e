import type { Label, MetricMetadata, TimeSeries, WriteRequest } from '../protocol/index.js';
import type { QueueIdentity } from '../queue/index.js';

export interface HaLabels {
  /** Label naming the HA group; kept in storage. */
  readonly clusterLabel: string;
  /** Label naming the replica; stripped here, never stored. */
  readonly replicaLabel: string;
  /** Used for series without the cluster label (and for metadata-only requests). */
  readonly defaultGroup: string | undefined;
  readonly defaultReplica: string | undefined;
}

export interface TaggedBatch {
  readonly identity: QueueIdentity;
  readonly request: WriteRequest;
  readonly samples: number;
  readonly minTs: number;
  readonly maxTs: number;
}

export interface Tagged {
  readonly batches: TaggedBatch[];
  /** True when no series carried the replica label, so the original bytes can be queued as they are. */
  readonly unchanged: boolean;
}

interface Acc {
  identity: QueueIdentity;
  series: TimeSeries[];
  metadata: MetricMetadata[];
  samples: number;
  minTs: number;
  maxTs: number;
}

/**
 * Splits a request by (group, replica) and strips the replica label. Prometheus puts its
 * external labels on every series, so a request normally yields one batch; a request that mixes
 * groups (a federating sender, say) yields one batch per group. Metadata rides with the first
 * batch, or alone on the default identity when the request has no series.
 */
export function tagRequest(req: WriteRequest, ha: HaLabels): Tagged {
  const byKey = new Map<string, Acc>();
  let unchanged = true;
  for (const ts of req.timeseries) {
    let group = ha.defaultGroup;
    let replica = ha.defaultReplica;
    let replicaAt = -1;
    const labels = ts.labels;
    for (let i = 0; i < labels.length; i++) {
      const name = labels[i].name;
      if (name === ha.clusterLabel) group = labels[i].value;
      else if (name === ha.replicaLabel) {
        replica = labels[i].value;
        replicaAt = i;
      }
    }
    let series = ts;
    if (replicaAt >= 0) {
      unchanged = false;
      const stripped: Label[] = labels.slice(0, replicaAt).concat(labels.slice(replicaAt + 1));
      series = { ...ts, labels: stripped };
    }
    // A replica without a group has nothing to be elected in: written unconditionally.
    const identity: QueueIdentity = group === undefined ? { group: undefined, replica: undefined } : { group, replica };
    const key = `${identity.group ?? ''}\u0000${identity.replica ?? ''}\u0000${identity.group === undefined ? 0 : 1}`;
    let acc = byKey.get(key);
    if (!acc) byKey.set(key, (acc = { identity, series: [], metadata: [], samples: 0, minTs: Infinity, maxTs: -Infinity }));
    acc.series.push(series);
    for (const s of ts.samples) {
      acc.samples++;
      if (s.timestamp < acc.minTs) acc.minTs = s.timestamp;
      if (s.timestamp > acc.maxTs) acc.maxTs = s.timestamp;
    }
  }
  if (req.metadata.length > 0) {
    const first = byKey.values().next();
    if (!first.done) first.value.metadata = req.metadata;
    else {
      const identity: QueueIdentity = ha.defaultGroup === undefined
        ? { group: undefined, replica: undefined }
        : { group: ha.defaultGroup, replica: ha.defaultReplica };
      byKey.set('metadata', { identity, series: [], metadata: req.metadata, samples: 0, minTs: 0, maxTs: 0 });
    }
  }
  const batches = [...byKey.values()].map((a) => ({
    identity: a.identity,
    request: { timeseries: a.series, metadata: a.metadata },
    samples: a.samples,
    minTs: a.samples ? a.minTs : 0,
    maxTs: a.samples ? a.maxTs : 0,
  }));
  return { batches, unchanged: unchanged && batches.length <= 1 };
}
