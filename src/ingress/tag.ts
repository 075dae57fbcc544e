import type { MetricMetadata, TimeSeries, WriteRequest } from '../protocol/index.js';
import type { QueueIdentity } from '../queue/index.js';

export interface HaLabels {
  /** Label naming the HA group; kept in storage. */
  readonly clusterLabel: string;
  /** Label naming the replica; never stored (stripped before the write). */
  readonly replicaLabel: string;
  /** Used for series without the cluster label (and for metadata-only requests). */
  readonly defaultGroup: string | undefined;
  readonly defaultReplica: string | undefined;
}

export interface TaggedBatch {
  readonly identity: QueueIdentity;
  /** The request's series as received (replica label still in place). */
  readonly series: TimeSeries[];
  readonly metadata: MetricMetadata[];
  /** Float samples and native histogram samples. */
  readonly samples: number;
  readonly minTs: number;
  readonly maxTs: number;
  /**
   * Some series took the group from --ha.group (they carry no cluster label): the worker adds
   * the cluster label with the group as its value to them, so that two groups sending one label
   * set store a series each.
   */
  readonly groupFromFlag: boolean;
}

export interface Tagged {
  readonly batches: TaggedBatch[];
  /** Some series carried the replica label (it must be stripped before storage). */
  readonly replicaLabelSeen: boolean;
}

interface Acc {
  identity: QueueIdentity;
  series: TimeSeries[];
  metadata: MetricMetadata[];
  samples: number;
  minTs: number;
  maxTs: number;
  groupFromFlag: boolean;
}

/**
 * Groups a request's series by (group, replica). Prometheus puts its external labels on every
 * series, so a request normally yields one batch; a request that mixes groups (a federating
 * sender, say) yields one batch per group. Metadata rides with the first batch, or alone on
 * the default identity when the request has no series. Nothing is copied or stripped here.
 */
export function tagRequest(req: WriteRequest, ha: HaLabels): Tagged {
  const byKey = new Map<string, Acc>();
  let replicaLabelSeen = false;
  for (const ts of req.timeseries) {
    let group = ha.defaultGroup;
    let replica = ha.defaultReplica;
    let labelled = false;
    for (const l of ts.labels) {
      if (l.name === ha.clusterLabel) {
        group = l.value;
        labelled = true;
      } else if (l.name === ha.replicaLabel) {
        replica = l.value;
        replicaLabelSeen = true;
      }
    }
    // A replica without a group has nothing to be elected in: written unconditionally.
    const identity: QueueIdentity = group === undefined ? { group: undefined, replica: undefined } : { group, replica };
    const key = `${identity.group ?? ''}\u0000${identity.replica ?? ''}\u0000${identity.group === undefined ? 0 : 1}\u0000${identity.replica === undefined ? 0 : 1}`;
    let acc = byKey.get(key);
    if (!acc) byKey.set(key, (acc = { identity, series: [], metadata: [], samples: 0, minTs: Infinity, maxTs: -Infinity, groupFromFlag: false }));
    acc.series.push(ts);
    if (!labelled && group !== undefined) acc.groupFromFlag = true;
    for (const s of ts.samples) {
      acc.samples++;
      if (s.timestamp < acc.minTs) acc.minTs = s.timestamp;
      if (s.timestamp > acc.maxTs) acc.maxTs = s.timestamp;
    }
    // Native histograms are samples too for backlog bounds and follower retention.
    for (const h of ts.histograms) {
      acc.samples++;
      if (h.timestamp < acc.minTs) acc.minTs = h.timestamp;
      if (h.timestamp > acc.maxTs) acc.maxTs = h.timestamp;
    }
  }
  if (req.metadata.length > 0) {
    const first = byKey.values().next();
    if (!first.done) first.value.metadata = req.metadata;
    else {
      const identity: QueueIdentity = ha.defaultGroup === undefined
        ? { group: undefined, replica: undefined }
        : { group: ha.defaultGroup, replica: ha.defaultReplica };
      byKey.set('metadata', { identity, series: [], metadata: req.metadata, samples: 0, minTs: 0, maxTs: 0, groupFromFlag: false });
    }
  }
  const batches = [...byKey.values()].map((a) => ({
    identity: a.identity,
    series: a.series,
    metadata: a.metadata,
    samples: a.samples,
    minTs: a.samples ? a.minTs : 0,
    maxTs: a.samples ? a.maxTs : 0,
    groupFromFlag: a.groupFromFlag,
  }));
  return { batches, replicaLabelSeen };
}
