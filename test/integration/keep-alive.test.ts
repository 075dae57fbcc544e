/**
 * Keep-alive limits: a connection is closed after --web.keep-alive-max-requests requests, and an
 * idle one after --web.idle-timeout, so no client holds a connection for ever.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';

let t: TestApp;

beforeAll(async () => {
  t = await startApp('ingress', { args: ['--web.keep-alive-max-requests=3', '--web.idle-timeout=1s'] });
});
afterAll(async () => {
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
});

describe('keep-alive limits', () => {
  it('closes a connection after --web.keep-alive-max-requests requests', async () => {
    const socket = net.connect(t.app.server.port, '127.0.0.1');
    let received = '';
    let closed = false;
    socket.on('data', (d: Buffer) => { received += d.toString(); });
    socket.once('close', () => { closed = true; });
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      received = '';
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(`answer ${i}`, async () => received.endsWith('0\r\n\r\n'), 5_000, 10);
      answers.push(/^connection: (.*)\r$/im.exec(received)?.[1] ?? '');
    }
    await waitFor('the server to close the connection', async () => closed, 5_000, 10);
    expect(answers).toEqual(['keep-alive', 'keep-alive', 'close']);
  });

  it('closes an idle connection after --web.idle-timeout', async () => {
    const socket = net.connect(t.app.server.port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.on('data', () => undefined);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const answeredAt = Date.now();
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5_000))]);
    socket.destroy();
    expect(at).toBeGreaterThan(0);
    expect(at - answeredAt).toBeLessThan(3_000);
  });
});
