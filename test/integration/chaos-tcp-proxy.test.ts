/**
 * The soak's TCP proxy: it forwards both ways; silence() stops forwarding without closing
 * anything (nothing arrives, no socket ends) and holds new connections; resume() delivers what
 * was held, in order; close() ends every connection.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../helpers/chaos/tcp-proxy.js';

let echo: net.Server;
let proxy: TcpProxy;

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  const addr = echo.address();
  proxy = await TcpProxy.start(typeof addr === 'object' && addr ? addr.port : 0);
});

afterAll(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

/** A client through the proxy that collects what comes back and whether it closed. */
async function client(): Promise<{ socket: net.Socket; got: () => string; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  let got = '';
  let closed = false;
  socket.on('data', (d: Buffer) => { got += d.toString(); });
  socket.on('close', () => { closed = true; });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, got: () => got, closed: () => closed };
}

async function until(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the chaos TCP proxy', () => {
  it('forwards, goes silent without closing, delivers the held bytes on resume, and closes', async () => {
    const c = await client();
    c.socket.write('one;');
    await until('the echo of one', () => c.got() === 'one;');

    proxy.silence();
    c.socket.write('two;');
    const late = await client();
    late.socket.write('late;');
    await new Promise((r) => setTimeout(r, 500));
    expect(c.got(), 'nothing forwarded while silent').toBe('one;');
    expect(late.got()).toBe('');
    expect(c.closed() || late.closed(), 'no socket closed by the silence').toBe(false);

    proxy.resume();
    c.socket.write('three;');
    await until('the held and new bytes', () => c.got() === 'one;two;three;');
    await until('the late connection served', () => late.got() === 'late;');
    expect(proxy.stats.connections).toBe(2);
    expect(proxy.stats.bytesUp).toBe('one;two;three;late;'.length);
    expect(proxy.stats.bytesDown).toBe('one;two;three;late;'.length);

    await proxy.close();
    await until('both clients closed', () => c.closed() && late.closed());
  });
});
