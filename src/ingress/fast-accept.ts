import { DigestCache, checkDecodedLimits, decodeColumnar, validateWriteRequest, type DecodeLimits, type Label, type ValidateOptions } from '../protocol/index.js';
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
 * The cache holds at most `maxEntries` label sets (two generations; see DigestCache), each as
 * the index of its interned tag: no object or string per label set.
 */
export class FastAccept {
  private readonly known: DigestCache;
  private readonly identities = new Map<string, number>();
  private readonly infos: SeriesInfo[] = [];

  constructor(private readonly ha: HaLabels, maxEntries = 1_000_000) {
    this.known = new DigestCache(maxEntries);
  }

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
      const at = this.known.get(key);
      let info = at >= 0 ? this.infos[at] : undefined;
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
        const tagged = this.tag(labels);
        this.known.set(key, tagged);
        info = this.infos[tagged];
      }
      // Interned: one object per identity, so one comparison per series.
      if (first === undefined) first = info;
      else if (info !== first) return undefined;
    }
    if (!first) return undefined;
    return { ...first, samples: cols.timestampsMs.length, minTs: cols.minTimeMs, maxTs: cols.maxTimeMs };
  }

  /** The index in `infos` of the labels' interned tag. */
  private tag(labels: readonly Label[]): number {
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
    let at = this.identities.get(k);
    if (at === undefined) {
      // Bounded against a sender inventing groups: forgetting only costs re-interning, and the
      // known label sets, which hold indexes into the interned tags, are forgotten with them.
      if (this.infos.length >= 10_000) {
        this.identities.clear();
        this.infos.length = 0;
        this.known.clear();
      }
      at = this.infos.length;
      this.infos.push({ identity, replicaLabelSeen: seen });
      this.identities.set(k, at);
    }
    return at;
  }
}
