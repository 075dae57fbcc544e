/**
 * A batch whose group the ingress took from --ha.group (the job's c) is stored with the cluster
 * label set to its group: the worker adds it to every series without it, after stripping the
 * replica label, and knows the series' label bytes per group, so one label set sent by two
 * groups is two series. A batch without c is decoded and keyed exactly as before.
 */
import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../../src/worker/decode-batch.js';
import { encodeWriteRequest, snappyCompress, withLabelIfAbsent, type Label, type TimeSeries } from '../../src/protocol/index.js';
import type { QueuedBatch } from '../../src/queue/index.js';
import { RawSeriesCaches } from '../../src/storage/index.js';
import { seriesCacheKey } from '../../src/storage/labels.js';

const MAX = 1 << 20;

function series(labels: Record<string, string>, t: number): TimeSeries {
  const l: Label[] = Object.keys(labels).sort().map((name) => ({ name, value: labels[name] }));
  return { labels: l, samples: [{ timestamp: t, value: 1 }], exemplars: [], histograms: [] };
}

const SENT = [series({ __name__: 'up', __replica__: 'a', job: 'node' }, 10), series({ __name__: 'up', __replica__: 'a', job: 'db' }, 20)];

function queued(group: string | undefined, groupLabel: string | undefined, metadata = false): QueuedBatch {
  const req = { timeseries: SENT, metadata: metadata ? [{ type: 'gauge' as const, metricFamilyName: 'up', help: '', unit: '' }] : [] };
  const payload = snappyCompress(encodeWriteRequest(req));
  return { id: 'b', format: 1, group, replica: 'a', strip: '__replica__', groupLabel, samples: 2, payload };
}

/** The labels a decoded batch asks the writer to resolve (empty for series known by their bytes), and its known ids. */
function decode(q: QueuedBatch, caches: RawSeriesCaches) {
  const { batch } = decodeBatch(q, 'queue', MAX, caches);
  const flat = batch.flat;
  if (!flat?.knownIds || !flat.onResolved) throw new Error('expected the columnar shape');
  return { labels: flat.labels, known: [...flat.knownIds], resolved: flat.onResolved };
}

const names = (labels: readonly Label[]) => labels.map((l) => `${l.name}=${l.value}`);

describe('a batch whose group came from --ha.group', () => {
  it('adds the cluster label with the group, in sorted place, after stripping the replica label', () => {
    const d = decode(queued('g1', 'cluster'), new RawSeriesCaches(100));
    expect(d.labels.map(names)).toEqual([['__name__=up', 'cluster=g1', 'job=node'], ['__name__=up', 'cluster=g1', 'job=db']]);
    // The stored series is the one a sender naming the group by its label gets.
    expect(seriesCacheKey(d.labels[0])).toBe(seriesCacheKey(series({ __name__: 'up', cluster: 'g1', job: 'node' }, 0).labels));
  });

  it('knows the same label bytes per group: resolved for g1, unknown for g2 and for batches without c', () => {
    const caches = new RawSeriesCaches(100);
    const g1 = decode(queued('g1', 'cluster'), caches);
    expect(g1.known.every(Number.isNaN)).toBe(true);
    g1.resolved(0, 7);
    g1.resolved(1, 8);
    expect(decode(queued('g1', 'cluster'), caches).known).toEqual([7, 8]);
    const g2 = decode(queued('g2', 'cluster'), caches);
    expect(g2.known.every(Number.isNaN), 'g2 does not reuse g1\'s ids').toBe(true);
    expect(g2.labels.map((l) => l.find((x) => x.name === 'cluster')?.value)).toEqual(['g2', 'g2']);
    // Another label name is another label set too.
    expect(decode(queued('g1', 'site'), caches).known.every(Number.isNaN)).toBe(true);
    // A batch of g1 without c (the group from a label, or a job queued before c) keeps its own keys.
    const plain = decode(queued('g1', undefined), caches);
    expect(plain.known.every(Number.isNaN)).toBe(true);
    expect(plain.labels.map(names)).toEqual([['__name__=up', 'job=node'], ['__name__=up', 'job=db']]);
    plain.resolved(0, 1);
    expect(decode(queued('g1', undefined), caches).known).toEqual([1, NaN]);
    expect(decode(queued('g1', 'cluster'), caches).known).toEqual([7, 8]);
  });

  it('adds the label on the full decode too (bodies with metadata, histograms, 2.0)', () => {
    const { batch } = decodeBatch(queued('g1', 'cluster', true), 'queue', MAX, new RawSeriesCaches(100));
    expect(batch.flat).toBeUndefined();
    expect(batch.timeseries?.map((ts) => names(ts.labels))).toEqual([['__name__=up', 'cluster=g1', 'job=node'], ['__name__=up', 'cluster=g1', 'job=db']]);
  });
});

describe('withLabelIfAbsent', () => {
  const l = (...ns: string[]): Label[] => ns.map((n) => ({ name: n, value: 'v' }));
  it('inserts in code-unit order and leaves labels that have the name as they are', () => {
    expect(withLabelIfAbsent(l('__name__', 'job'), 'cluster', 'g').map((x) => x.name)).toEqual(['__name__', 'cluster', 'job']);
    expect(withLabelIfAbsent(l('Zone', '__name__'), 'cluster', 'g').map((x) => x.name)).toEqual(['Zone', '__name__', 'cluster']);
    expect(withLabelIfAbsent(l('zone'), 'cluster', 'g').map((x) => x.name)).toEqual(['cluster', 'zone']);
    const has = l('__name__', 'cluster');
    expect(withLabelIfAbsent(has, 'cluster', 'g')).toBe(has);
  });
});

describe('RawSeriesCaches.groupScope', () => {
  const key = (i: number) => Buffer.alloc(32, i).toString('latin1');
  it('keys the same bytes apart per group and label, in the one table of its strip rule (one bound for all groups)', () => {
    const caches = new RawSeriesCaches(1_000);
    for (let g = 0; g < 50; g++) caches.groupScope('__replica__', 'cluster', `g${g}`).set(key(1), g);
    for (let g = 0; g < 50; g++) expect(caches.groupScope('__replica__', 'cluster', `g${g}`).get(key(1))).toBe(g);
    expect(caches.groupScope('__replica__', 'site', 'g0').get(key(1))).toBeUndefined();
    expect(caches.groupScope('', 'cluster', 'g0').get(key(1))).toBeUndefined();
    expect(caches.scope('__replica__').get(key(1))).toBeUndefined();
    expect(caches.scope('__replica__').size).toBe(50);
    expect(caches.scope('').size).toBe(0);
  });
});
