/**
 * The decoder a first version would use: protobufjs reflection over a schema of
 * prometheus.WriteRequest written here from the remote-write spec (types.proto field numbers).
 * Fields it does not declare (exemplars, histograms) are skipped by protobufjs as unknown.
 * It is the baseline promfleet's own decoder is measured against.
 */
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        MetricMetadata: {
          fields: {
            type: { type: 'int32', id: 1 },
            metricFamilyName: { type: 'string', id: 2 },
            help: { type: 'string', id: 4 },
            unit: { type: 'string', id: 5 },
          },
        },
        WriteRequest: {
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
            metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 },
          },
        },
      },
    },
  },
});

const WriteRequest = root.lookupType('prometheus.WriteRequest');

interface PbSample { value: number; timestamp: number | { toNumber(): number } }
interface PbSeries { labels: Array<{ name: string; value: string }>; samples: PbSample[] }
interface PbWriteRequest { timeseries: PbSeries[] }

/** Decodes and touches every sample (int64 timestamps to numbers); returns the sample count. */
export function decodeWithProtobufjs(buf: Uint8Array): number {
  const msg = WriteRequest.decode(buf) as unknown as PbWriteRequest;
  let n = 0;
  let check = 0;
  for (const ts of msg.timeseries) {
    for (const s of ts.samples) {
      const t = typeof s.timestamp === 'number' ? s.timestamp : s.timestamp.toNumber();
      check += t > 0 ? 1 : 0;
      n++;
    }
  }
  // `check` keeps the conversions from being optimised away.
  return check >= 0 ? n : -1;
}
