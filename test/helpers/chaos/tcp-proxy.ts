/**
 * A loopback TCP proxy for network faults. It listens on 127.0.0.1 (a free port) and forwards
 * every connection to a target port. silence() stops forwarding in both directions without
 * closing anything: bytes already read are held, the sockets stop reading (so the kernel's
 * buffers fill and the peers' writes stall) and new connections are accepted but not connected
 * upstream: a silent partition, as a dropped route looks to both ends. resume() delivers what
 * was held, in order, and forwarding goes on where it stopped; close() ends everything.
 */
import net from 'node:net';

export interface ProxyStats {
  /** Connections accepted so far. */
  connections: number;
  /** Bytes forwarded client → target and target → client. */
  bytesUp: number;
  bytesDown: number;
}

interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** Chunks read during a silence, per direction, delivered by resume(). */
  readonly heldUp: Buffer[];
  readonly heldDown: Buffer[];
}

export class TcpProxy {
  readonly stats: ProxyStats = { connections: 0, bytesUp: 0, bytesDown: 0 };
  private readonly pairs = new Set<Pair>();
  private silenced = false;
  private closed = false;

  private constructor(private readonly server: net.Server, readonly targetPort: number, readonly targetHost: string) {}

  /** Listens on 127.0.0.1:0 and forwards to targetHost:targetPort. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer({ pauseOnConnect: true });
    const proxy = new TcpProxy(server, targetPort, targetHost);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  get isSilenced(): boolean {
    return this.silenced;
  }

  /** Connections open right now. */
  get open(): number {
    return this.pairs.size;
  }

  silence(): void {
    if (this.silenced || this.closed) return;
    this.silenced = true;
    for (const p of this.pairs) {
      p.client.pause();
      p.upstream?.pause();
    }
  }

  resume(): void {
    if (!this.silenced || this.closed) return;
    this.silenced = false;
    for (const p of [...this.pairs]) {
      if (!p.upstream) {
        this.connect(p);
        continue;
      }
      this.flush(p.heldUp, p.upstream, 'bytesUp');
      this.flush(p.heldDown, p.client, 'bytesDown');
      p.client.resume();
      p.upstream.resume();
    }
  }

  /** Stops listening and destroys every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    this.stats.connections++;
    const pair: Pair = { client, upstream: undefined, heldUp: [], heldDown: [] };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.once('close', () => {
      this.pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (!this.silenced) this.connect(pair);
  }

  private connect(pair: Pair): void {
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    pair.upstream = upstream;
    upstream.pause();
    upstream.on('error', () => undefined);
    upstream.once('close', () => pair.client.destroy());
    upstream.once('connect', () => {
      this.pipe(pair.client, upstream, pair.heldUp, 'bytesUp');
      this.pipe(upstream, pair.client, pair.heldDown, 'bytesDown');
      if (!this.silenced) {
        pair.client.resume();
        upstream.resume();
      }
    });
  }

  /** Forwards src → dst with backpressure; during a silence, chunks are held instead. */
  private pipe(src: net.Socket, dst: net.Socket, held: Buffer[], counter: 'bytesUp' | 'bytesDown'): void {
    src.on('data', (chunk: Buffer) => {
      if (this.silenced) {
        held.push(chunk);
        src.pause();
        return;
      }
      this.stats[counter] += chunk.length;
      if (!dst.write(chunk)) {
        src.pause();
        dst.once('drain', () => {
          if (!this.silenced) src.resume();
        });
      }
    });
    src.once('end', () => dst.end());
  }

  private flush(held: Buffer[], dst: net.Socket, counter: 'bytesUp' | 'bytesDown'): void {
    for (const chunk of held.splice(0)) {
      this.stats[counter] += chunk.length;
      dst.write(chunk);
    }
  }
}
