/**
 * A loopback TCP proxy that can play a silent network partition: silence() stops forwarding in
 * both directions without closing any socket, so neither end hears a FIN or RST, as when a
 * machine loses power or a link drops packets. Data arriving after that is read and dropped;
 * connections made after that are accepted and never forwarded; a side that closes is not
 * passed on. close() destroys every socket and the listener.
 */
import net from 'node:net';

export interface TcpProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  silence(): void;
  readonly silenced: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number } = { host: '127.0.0.1', port: 5432 }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let silenced = false;
  let accepted = 0;
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    track(client);
    if (silenced) {
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    track(upstream);
    const pipe = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (d: Buffer) => {
        if (!silenced) to.write(d);
      });
      from.on('end', () => {
        if (!silenced) to.end();
      });
      from.on('close', () => {
        if (!silenced) to.destroy();
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');
  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    get connections() { return accepted; },
    get silenced() { return silenced; },
    silence() {
      silenced = true;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
