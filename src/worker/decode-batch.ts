import {
  decodeColumnar, decodeWriteRequest, decodeWriteRequestV2, snappyDecompress, withLabelIfAbsent, withSeriesLabel, withoutLabel, type Label,
} from '../protocol/index.js';
import type { QueuedBatch } from '../queue/index.js';
import type { Flattened, RawSeriesCaches, WriteBatch } from '../storage/index.js';

const NO_LABELS: Label[] = [];

/**
 * A queued body as the batch writer takes it. The plain shape (series with labels and samples,
 * what Prometheus sends nearly always) goes the fast way: samples straight into columns, and
 * series the worker has met before known by the bytes of their labels, whose labels are then
 * never decoded (the ingress validated them; the same bytes decode the same). Series met for the
 * first time have their labels decoded strictly, the replica label removed, and are resolved
 * by the writer, which records their ids under their bytes. Any other body (metadata, exemplars,
 * histograms, remote-write 2.0) is decoded in full.
 *
 * When the ingress took the batch's group from --ha.group (queued.groupLabel), the cluster label
 * is added with the group as its value to every series without it, after the replica label is
 * removed: the stored label set names its group, so two groups sending one label set store a
 * series each. Their bytes are then known per group (RawSeriesCaches.groupScope).
 *
 * @throws PromfleetError when the body does not decode (the batch can never be written).
 */
export function decodeBatch(
  queued: QueuedBatch, queue: string, maxDecompressedBytes: number, caches: RawSeriesCaches,
): { batch: WriteBatch; samples: number } {
  const body = snappyDecompress(queued.payload, maxDecompressedBytes);
  const group = queued.group;
  const strip = queued.strip;
  const add = queued.groupLabel !== undefined && group !== undefined ? { name: queued.groupLabel, value: group } : undefined;
  // The ingress queued only what it validated: a 2.0 payload holds valid series only.
  const v2 = queued.format === 2;
  const columns = v2 ? undefined : decodeColumnar(body);
  if (columns) {
    const cache = add === undefined ? caches.scope(strip ?? '') : caches.groupScope(strip ?? '', add.name, add.value);
    const n = columns.keys.length;
    const knownIds = new Float64Array(n);
    const labels = new Array<Label[]>(n);
    for (let i = 0; i < n; i++) {
      const id = cache.get(columns.keys[i]);
      if (id !== undefined) {
        knownIds[i] = id;
        labels[i] = NO_LABELS;
        continue;
      }
      knownIds[i] = NaN;
      const all = columns.labelsOf(i);
      const kept = strip === undefined ? all : all.filter((l) => l.name !== strip);
      labels[i] = add === undefined ? kept : withLabelIfAbsent(kept, add.name, add.value);
    }
    const flat: Flattened = {
      labels, timestampsMs: columns.timestampsMs, values: columns.values, seriesOfRow: columns.seriesOfRow,
      exemplars: [], histograms: [], created: [], minTimeMs: columns.minTimeMs, maxTimeMs: columns.maxTimeMs,
      knownIds, onResolved: (s, id) => cache.set(columns.keys[s], id),
    };
    return { batch: { id: queued.id, queue, flat, metadata: [], group }, samples: columns.timestampsMs.length };
  }
  let request = v2 ? decodeWriteRequestV2(body) : decodeWriteRequest(body);
  if (strip !== undefined) request = { ...request, timeseries: withoutLabel(request.timeseries, strip) };
  if (add !== undefined) request = { ...request, timeseries: withSeriesLabel(request.timeseries, add.name, add.value) };
  let samples = 0;
  for (const ts of request.timeseries) samples += ts.samples.length + ts.histograms.length;
  return { batch: { id: queued.id, queue, timeseries: request.timeseries, metadata: request.metadata, group }, samples };
}
