/**
 * node_exporter-shaped series for the load generator: the metric families a node_exporter
 * exposes (CPU seconds per cpu and mode, network bytes per device, filesystem bytes per mount,
 * ...), about 8 labels each with job, instance and the HA pair's external labels, sorted by name
 * as Prometheus sends them. Each label set is encoded once into the bytes of its Label messages.
 */
import type { Label } from '../protocol/index.js';

const CPU_MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'];
const DEVICES = ['eth0', 'eth1', 'lo', 'docker0'];
const MOUNTS: ReadonlyArray<readonly [string, string, string]> = [
  ['/dev/sda1', 'ext4', '/'], ['/dev/sda2', 'ext4', '/var'], ['tmpfs', 'tmpfs', '/run'], ['/dev/sdb1', 'xfs', '/data'],
];

/** Series per simulated host: 16 CPUs × 8 modes, then network, filesystem, memory, disk families. */
export const SERIES_PER_HOST = 16 * 8 + 4 * 4 + 4 * 3 + 24 + 16;

/** The `i`-th series of a host, without job/instance/external labels. */
function hostSeries(i: number): Record<string, string> {
  if (i < 128) return { __name__: 'node_cpu_seconds_total', cpu: String(i >> 3), mode: CPU_MODES[i & 7] };
  i -= 128;
  if (i < 16) {
    const names = ['node_network_receive_bytes_total', 'node_network_transmit_bytes_total', 'node_network_receive_packets_total', 'node_network_transmit_packets_total'];
    return { __name__: names[i >> 2], device: DEVICES[i & 3] };
  }
  i -= 16;
  if (i < 12) {
    const names = ['node_filesystem_avail_bytes', 'node_filesystem_size_bytes', 'node_filesystem_files_free'];
    const [device, fstype, mountpoint] = MOUNTS[i & 3];
    return { __name__: names[Math.floor(i / 4)], device, fstype, mountpoint };
  }
  i -= 12;
  if (i < 24) return { __name__: `node_memory_${['Active', 'Inactive', 'Buffers', 'Cached', 'MemFree', 'MemAvailable'][i % 6]}_bytes`, numa: String(Math.floor(i / 6)) };
  i -= 24;
  const names = ['node_disk_read_bytes_total', 'node_disk_written_bytes_total', 'node_disk_reads_completed_total', 'node_disk_writes_completed_total'];
  return { __name__: names[i & 3], device: ['sda', 'sdb', 'nvme0n1', 'nvme1n1'][i >> 2] };
}

export interface LoadSeriesOptions {
  readonly series: number;
  /** External labels of the sending Prometheus (e.g. cluster and __replica__). */
  readonly external: Readonly<Record<string, string>>;
}

/** The label sets, sorted by name, for `series` series spread over as many hosts as needed. */
export function loadSeries(opts: LoadSeriesOptions): Label[][] {
  const out: Label[][] = [];
  for (let s = 0; s < opts.series; s++) {
    const host = Math.floor(s / SERIES_PER_HOST);
    const labels: Record<string, string> = {
      ...hostSeries(s % SERIES_PER_HOST),
      job: 'node',
      instance: `host-${host}.example:9100`,
      ...opts.external,
    };
    out.push(Object.keys(labels).sort().map((name) => ({ name, value: labels[name] })));
  }
  return out;
}
