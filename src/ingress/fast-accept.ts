import { checkDecodedLimits, decodeColumnar, validateWriteRequest, type DecodeLimits, type Label, type ValidateOptions } from '../protocol/index.js';
import type { QueueIdentity } from '../queue/index.js';
import type { HaLabels } from './tag.js';

/** What the write path needs of a request that takes the fast way. */
export interface Accepted {
  readonly identity: QueueIdentity;
  readonly replicaLabelSeen: boolean;
  readonly samples: number;
  readonly minTs: number;
  readonly maxTs: number;
}

interface SeriesInfo {
  readonly identity: QueueIdentity;
  readonly replicaLabelSeen: boolean;
}

const NO_GROUP: QueueIdentity = { group: undefined, replica: undefined };

/**
 * The ingress's fast way for the usual request: every series valid, all of one (group,
 * replica), samples inside the accepted window. A series is known by the bytes of its labels
 * (see protocol/columnar-decode.ts): one whose bytes this process has validated and tagged
 * before costs a Map lookup; a new one is decoded, validated and tagged once. Anything else
 * (metadata, exemplars, histograms, several groups, an invalid label set, a sample outside the
 * window, a count or length past a limit) returns undefined and takes the full decode, which
 * says precisely what is wrong.
 *
 * The cache holds at most `maxEntries` label sets (two generations; see RawSeriesCache).
 */
export class FastAccept {
  private current = new Map<string, SeriesInfo>();
  private previous = new Map<string, SeriesInfo>();
  private readonly identities = new Map<string, SeriesInfo>();

  constructor(private readonly ha: HaLabels, private readonly maxEntries = 1_000_000) {}

  accept(body: Uint8Array, window: ValidateOptions, limits: DecodeLimits): Accepted | undefined {
    const cols = decodeColumnar(body);
    if (!cols || cols.keys.length === 0) return undefined;
    // Within every count limit whatever the split of samples between series; else the full decode decides.
    const rows = cols.timestampsMs.length;
    if (cols.keys.length > limits.maxSeriesPerRequest || rows > limits.maxSamplesPerRequest || rows > limits.maxSamplesPerSeries) return undefined;
    const minMs = window.maxAgeMs > 0 ? window.nowMs - window.maxAgeMs : -Infinity;
    const maxMs = window.maxFutureMs > 0 ? window.nowMs + window.maxFutureMs : Infinity;
    if (cols.minTimeMs < minMs || cols.maxTimeMs > maxMs) return undefined;
    let first: SeriesInfo | undefined;
    for (let i = 0; i < cols.keys.length; i++) {
      const key = cols.keys[i];
      let info = this.current.get(key) ?? this.promote(key);
      if (info === undefined) {
        let labels: Label[];
        try {
          labels = cols.labelsOf(i);
          const one = { timeseries: [{ labels, samples: [], exemplars: [], histograms: [] }], metadata: [] };
          checkDecodedLimits(one, limits);
          validateWriteRequest(one, window);
        } catch {
          return undefined;
        }
        info = this.tag(labels);
        this.remember(key, info);
      }
      // Interned: one object per identity, so one comparison per series.
      if (first === undefined) first = info;
      else if (info !== first) return undefined;
    }
    if (!first) return undefined;
    return { ...first, samples: cols.timestampsMs.length, minTs: cols.minTimeMs, maxTs: cols.maxTimeMs };
  }

  private tag(labels: readonly Label[]): SeriesInfo {
    let group = this.ha.defaultGroup;
    let replica = this.ha.defaultReplica;
    let seen = false;
    for (const l of labels) {
      if (l.name === this.ha.clusterLabel) group = l.value;
      else if (l.name === this.ha.replicaLabel) {
        replica = l.value;
        seen = true;
      }
    }
    const identity = group === undefined ? NO_GROUP : { group, replica };
    const k = JSON.stringify([identity.group ?? null, identity.replica ?? null, seen]);
    let info = this.identities.get(k);
    if (!info) {
      // Bounded against a sender inventing groups: forgetting only costs re-interning.
      if (this.identities.size >= 10_000) this.identities.clear();
      info = { identity, replicaLabelSeen: seen };
      this.identities.set(k, info);
    }
    return info;
  }

  private promote(key: string): SeriesInfo | undefined {
    const info = this.previous.get(key);
    if (info !== undefined) this.remember(key, info);
    return info;
  }

  private remember(key: string, info: SeriesInfo): void {
    this.current.set(key, info);
    if (this.current.size >= this.maxEntries / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
  }
}
