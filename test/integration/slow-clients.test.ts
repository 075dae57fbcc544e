/**
 * 1,000 slow clients on loopback, one byte a second each — half trickling their headers
 * (slowloris), half trickling a declared body — while a normal sender writes every 250 ms: every
 * normal write gets 204 promptly, and the slow connections are cut by --web.read-header-timeout
 * and --web.read-timeout.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';

const SLOW = 1_000;
const HEADER_TIMEOUT_S = 3;
const READ_TIMEOUT_S = 6;
let t: TestApp;

beforeAll(async () => {
  t = await startApp('ingress', { args: [`--web.read-header-timeout=${HEADER_TIMEOUT_S}s`, `--web.read-timeout=${READ_TIMEOUT_S}s`] });
});
afterAll(async () => {
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
});

interface Slow {
  socket: net.Socket;
  pending: Buffer;
  closedAt: number | undefined;
}

function openSlow(port: number, kind: 'headers' | 'body'): Promise<Slow> {
  const start = kind === 'headers'
    ? 'POST /write HTTP/1.1\r\nHost: x\r\n'
    : 'POST /write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n';
  const rest = kind === 'headers' ? 'X-Slow: ' + 'a'.repeat(200) : 'b'.repeat(200);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.write(start);
      resolve(s);
    });
    const s: Slow = { socket, pending: Buffer.from(rest), closedAt: undefined };
    socket.on('data', () => undefined);
    socket.on('error', () => undefined); // a reset after the server cut the connection is the expected end
    socket.once('close', () => { s.closedAt = Date.now(); });
    socket.once('error', reject);
  });
}

function normalBody(): Uint8Array {
  return snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'normal' }], samples: [{ value: 1, timestamp: Date.now() }], exemplars: [], histograms: [] }],
    metadata: [],
  }));
}

describe('slow clients', () => {
  it(`${SLOW} clients at one byte a second do not stop a normal Prometheus, and are cut by the timeouts`, async () => {
    const slow: Slow[] = [];
    for (let i = 0; i < SLOW; i += 50) {
      slow.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => openSlow(t.app.server.port, (i + k) % 2 === 0 ? 'headers' : 'body')))));
    }
    const openedAt = Date.now();
    const drip = setInterval(() => {
      for (const s of slow) {
        if (s.closedAt !== undefined || s.pending.length === 0 || s.socket.destroyed) continue;
        s.socket.write(s.pending.subarray(0, 1));
        s.pending = s.pending.subarray(1);
      }
    }, 1000);
    try {
      const latencies: number[] = [];
      const statuses: number[] = [];
      while (Date.now() - openedAt < (READ_TIMEOUT_S + 3) * 1000) {
        const started = performance.now();
        const res = await fetch(`${t.url}/write`, {
          method: 'POST', body: Buffer.from(normalBody()), signal: AbortSignal.timeout(5_000),
          headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
        });
        await res.arrayBuffer();
        statuses.push(res.status);
        latencies.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(statuses.length).toBeGreaterThan(20);
      expect(statuses.every((s) => s === 204)).toBe(true);
      latencies.sort((a, b) => a - b);
      expect(latencies[Math.floor(latencies.length * 0.95)]).toBeLessThan(1_000);
      // Every slow connection was cut by the server (header timeout, or read timeout for bodies).
      const deadline = openedAt + (READ_TIMEOUT_S + 5) * 1000;
      while (slow.some((s) => s.closedAt === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const open = slow.filter((s) => s.closedAt === undefined).length;
      expect(open).toBe(0);
      const headerCuts = slow.filter((_, i) => i % 2 === 0).map((s) => (s.closedAt ?? Infinity) - openedAt);
      expect(Math.max(...headerCuts)).toBeLessThan((HEADER_TIMEOUT_S + 3) * 1000);
    } finally {
      clearInterval(drip);
      for (const s of slow) s.socket.destroy();
    }
  }, 60_000);
});
