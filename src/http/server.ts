import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PromfleetError, isPromfleetError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** A readiness check: resolves to undefined when ready, or a reason why not. */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/**
 * The listener every role runs: /healthz, /readyz and /metrics, plus the routes a role adds
 * (ingress adds /write). While closing, new requests get 503 with Connection: close, so a load
 * balancer moves on and Prometheus retries elsewhere or later.
 */
export class HttpServer {
  private readonly routes = new Map<string, Map<string, Handler>>();
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly server: http.Server;
  private closing = false;
  private started: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: HttpServerOptions) {
    this.server = http.createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 30_000;
    this.server.requestTimeout = 120_000;
    this.route('GET', '/healthz', async (_req, res) => sendText(res, 200, 'ok\n'));
    this.route('GET', '/readyz', (req, res) => this.ready(req, res));
    this.route('GET', '/metrics', async (_req, res) => {
      const body = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': opts.metrics.registry.contentType }).end(body);
    });
  }

  route(method: string, path: string, handler: Handler): void {
    let byMethod = this.routes.get(path);
    if (!byMethod) this.routes.set(path, (byMethod = new Map()));
    byMethod.set(method, handler);
  }

  readiness(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  start(): Promise<void> {
    this.started ??= new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        this.opts.log.info({ address: `${this.opts.host}:${this.port}` }, 'listening');
        resolve();
      });
    });
    return this.started;
  }

  /** From now on requests get 503 + Connection: close; the listener stays until stop(). */
  beginClosing(): void {
    this.closing = true;
  }

  stop(): Promise<void> {
    this.stopped ??= new Promise((resolve) => {
      this.closing = true;
      if (!this.started) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Whatever is still open after the drain deadline is the caller's to cut: closeAllConnections.
    });
    return this.stopped;
  }

  closeAllConnections(): void {
    this.server.closeAllConnections();
  }

  private async ready(_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.closing) return sendText(res, 503, 'shutting down\n');
    const reasons: string[] = [];
    for (const [name, check] of this.checks) {
      const why = await check().catch((err: unknown) => String(err));
      if (why !== undefined) reasons.push(`${name}: ${why}`);
    }
    sendText(res, reasons.length ? 503 : 200, reasons.length ? `${reasons.join('\n')}\n` : 'ready\n');
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const byMethod = this.routes.get(path);
    try {
      if (!byMethod) throw new PromfleetError('NOT_FOUND', `no route for ${path}`);
      const handler = byMethod.get(req.method ?? 'GET');
      if (!handler) {
        res.setHeader('Allow', [...byMethod.keys()].join(', '));
        throw new PromfleetError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      }
      await handler(req, res);
    } catch (err) {
      this.fail(req, res, err);
    }
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
    const e = isPromfleetError(err) ? err : undefined;
    if (!e) this.opts.log.error({ err, path: req.url }, 'unhandled error in request');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, e ?? new PromfleetError('INTERNAL', 'internal error'), this.closing);
  }
}

export function sendText(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(body);
}

/** A 4xx/5xx with a one-line body: "<CODE>: <reason>". Retryable errors carry Retry-After. */
export function sendError(res: http.ServerResponse, err: PromfleetError, closing: boolean): void {
  const headers: http.OutgoingHttpHeaders = {};
  if (err.retryable) headers['Retry-After'] = String(err.retryAfterSeconds);
  if (closing || err.status === 413) headers.Connection = 'close';
  sendText(res, err.status, `${err.code}: ${err.message.replace(/[\r\n]+/g, ' ')}\n`, headers);
}
