import { checkLabelRun, decodeColumnar, sameSpan, type DecodeLimits, type HaLabelSpans, type ValidateOptions } from '../protocol/index.js';
import type { QueueIdentity } from '../queue/index.js';
import type { HaLabels } from './tag.js';

/** What the write path needs of a request that takes the fast way. */
export interface Accepted {
  readonly identity: QueueIdentity;
  readonly replicaLabelSeen: boolean;
  readonly samples: number;
  readonly minTs: number;
  readonly maxTs: number;
  /** The series carry no cluster label and the group is --ha.group's (see TaggedBatch.groupFromFlag). */
  readonly groupFromFlag: boolean;
}

interface SeriesInfo {
  readonly identity: QueueIdentity;
  readonly replicaLabelSeen: boolean;
  readonly groupFromFlag: boolean;
}

const NO_GROUP: QueueIdentity = { group: undefined, replica: undefined };
/** Interned identities kept at most; a sender inventing groups only costs re-interning. */
const MAX_IDENTITIES = 10_000;

/**
 * The ingress's fast way for the usual request: every series valid, all of one (group,
 * replica), samples inside the accepted window. Each series' labels are checked where they lie
 * in the body, byte by byte (protocol/label-bytes.ts): no label is decoded into a string, no
 * label set hashed or remembered, so the ingress's memory does not grow with the series it
 * sees. Anything else (metadata, exemplars, histograms, several groups, an invalid label set, a
 * label of 128 bytes or more, a sample outside the window, a count or length past a limit)
 * returns undefined and takes the full decode, which says precisely what is wrong.
 */
export class FastAccept {
  private readonly names: { cluster: Buffer; replica: Buffer };
  private readonly identities = new Map<string, SeriesInfo>();
  private readonly first: HaLabelSpans = { clusterFrom: -1, clusterTo: -1, replicaFrom: -1, replicaTo: -1 };
  private readonly spans: HaLabelSpans = { clusterFrom: -1, clusterTo: -1, replicaFrom: -1, replicaTo: -1 };

  constructor(private readonly ha: HaLabels) {
    this.names = { cluster: Buffer.from(ha.clusterLabel, 'utf8'), replica: Buffer.from(ha.replicaLabel, 'utf8') };
  }

  accept(body: Uint8Array, window: ValidateOptions, limits: DecodeLimits): Accepted | undefined {
    const cols = decodeColumnar(body, false);
    if (!cols || cols.series === 0) return undefined;
    // Within every count limit whatever the split of samples between series; else the full decode decides.
    const rows = cols.timestampsMs.length;
    if (cols.series > limits.maxSeriesPerRequest || rows > limits.maxSamplesPerRequest || rows > limits.maxSamplesPerSeries) return undefined;
    const minMs = window.maxAgeMs > 0 ? window.nowMs - window.maxAgeMs : -Infinity;
    const maxMs = window.maxFutureMs > 0 ? window.nowMs + window.maxFutureMs : Infinity;
    if (cols.minTimeMs < minMs || cols.maxTimeMs > maxMs) return undefined;
    const f = this.first;
    const s = this.spans;
    for (let i = 0; i < cols.series; i++) {
      const spans = i === 0 ? f : s;
      if (!checkLabelRun(body, cols.labelStarts[i], cols.labelEnds[i], limits, this.names, spans)) return undefined;
      // Every series names the first one's group and replica, byte for byte.
      if (i > 0 && !(sameSpan(body, f.clusterFrom, f.clusterTo, s.clusterFrom, s.clusterTo)
        && sameSpan(body, f.replicaFrom, f.replicaTo, s.replicaFrom, s.replicaTo))) return undefined;
    }
    const info = this.identityOf(body, f);
    return { ...info, samples: rows, minTs: cols.minTimeMs, maxTs: cols.maxTimeMs };
  }

  /** The interned identity the HA labels at `spans` name (the flags' defaults where absent). */
  private identityOf(body: Uint8Array, spans: HaLabelSpans): SeriesInfo {
    const text = (from: number, to: number) => Buffer.from(body.buffer, body.byteOffset + from, to - from).toString('utf8');
    const group = spans.clusterFrom >= 0 ? text(spans.clusterFrom, spans.clusterTo) : this.ha.defaultGroup;
    const seen = spans.replicaFrom >= 0;
    const replica = seen ? text(spans.replicaFrom, spans.replicaTo) : this.ha.defaultReplica;
    const identity = group === undefined ? NO_GROUP : { group, replica };
    const groupFromFlag = spans.clusterFrom < 0 && group !== undefined;
    const k = JSON.stringify([identity.group ?? null, identity.replica ?? null, seen, groupFromFlag]);
    let info = this.identities.get(k);
    if (info === undefined) {
      if (this.identities.size >= MAX_IDENTITIES) this.identities.clear();
      info = { identity, replicaLabelSeen: seen, groupFromFlag };
      this.identities.set(k, info);
    }
    return info;
  }
}
