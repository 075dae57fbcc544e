/**
 * Decode throughput (samples/s on one core): snappy block decompression + promfleet's
 * WriteRequest decoder, beside snappy alone (the bound: no decoder beats touching the bytes) and
 * protobufjs reflection (the baseline a straightforward implementation gets).
 */
import { decodeWriteRequest, snappyDecompress } from '../src/protocol/index.js';
import { decodeWithProtobufjs } from './protobufjs-baseline.js';
import { elapsedMs, perSecond } from './report.js';

const MAX_DECOMPRESSED = 64 * 1024 * 1024;

export interface DecodeFigures {
  readonly bodies: number;
  readonly samplesPerPass: number;
  readonly snappyOnly: number;
  readonly promfleet: number;
  readonly protobufjs: number;
}

/** Runs `pass` (one pass over every body, returning samples seen) for about `ms`; samples/s. */
function timed(ms: number, pass: () => number): number {
  // Warm-up so the JIT has compiled the hot loop before the clock starts.
  const warm = process.hrtime.bigint();
  while (elapsedMs(warm) < Math.min(300, ms / 4)) pass();
  let samples = 0;
  const start = process.hrtime.bigint();
  let took = 0;
  // Bounded: at most 1e6 passes even if a pass is empty.
  for (let i = 0; i < 1_000_000 && (took = elapsedMs(start)) < ms; i++) samples += pass();
  return perSecond(samples, took);
}

export function measureDecode(bodies: readonly Buffer[], msEach: number): DecodeFigures {
  const counts = bodies.map((b) => decodeWriteRequest(snappyDecompress(b, MAX_DECOMPRESSED)).timeseries.reduce((n, ts) => n + ts.samples.length, 0));
  const samplesPerPass = counts.reduce((a, b) => a + b, 0);
  if (samplesPerPass === 0) throw new Error('decode benchmark: the bodies hold no samples');

  const snappyOnly = timed(msEach, () => {
    let n = 0;
    for (let i = 0; i < bodies.length; i++) {
      if (snappyDecompress(bodies[i]!, MAX_DECOMPRESSED).byteLength > 0) n += counts[i]!;
    }
    return n;
  });
  const promfleet = timed(msEach, () => {
    let n = 0;
    for (const b of bodies) {
      for (const ts of decodeWriteRequest(snappyDecompress(b, MAX_DECOMPRESSED)).timeseries) n += ts.samples.length;
    }
    return n;
  });
  const protobufjs = timed(msEach, () => {
    let n = 0;
    for (const b of bodies) n += decodeWithProtobufjs(snappyDecompress(b, MAX_DECOMPRESSED));
    return n;
  });
  return { bodies: bodies.length, samplesPerPass, snappyOnly, promfleet, protobufjs };
}
