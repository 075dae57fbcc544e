import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { PromfleetError, isPromfleetError } from '../errors.js';
import type { Guard, Scope } from '../auth/index.js';
import { BodyBudget } from './body-budget.js';
import { clientCertAcceptable, httpsOptions, type TlsSetup } from './tls.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

interface Route {
  readonly handler: Handler;
  readonly scope: Scope;
}

/** Slow and abusive clients: how long each phase may take, and how many at once. */
export interface ServerLimits {
  /** Time to send the request headers, ms (--web.read-header-timeout). */
  readonly headerTimeoutMs: number;
  /** Time to send the whole request, ms (--web.read-timeout). */
  readonly requestTimeoutMs: number;
  /** Idle keep-alive connection lifetime, ms (--web.idle-timeout). */
  readonly idleTimeoutMs: number;
  /** Requests per keep-alive connection, 0 for no limit (--web.keep-alive-max-requests). */
  readonly maxRequestsPerSocket: number;
  /** Open connections (--web.max-connections). */
  readonly maxConnections: number;
  /** Requests past their body, being processed (--web.max-concurrent-requests). */
  readonly maxConcurrent: number;
  /** Bytes of request bodies held at once (--web.max-inflight-body-bytes). */
  readonly maxInflightBodyBytes: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headerTimeoutMs: 10_000, requestTimeoutMs: 60_000, idleTimeoutMs: 65_000, maxRequestsPerSocket: 10_000, maxConnections: 8192, maxConcurrent: 256,
  maxInflightBodyBytes: 1024 ** 3,
};

/** A readiness check: resolves to undefined when ready, or a reason why not. */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly limits?: ServerLimits;
  /** Serve HTTPS (--web.tls-cert, or tls_server_config of --web.config.file). */
  readonly tls?: TlsSetup;
  /** Authentication in front of every route (--web.auth-file, basic_auth_users of --web.config.file). */
  readonly guard?: Guard;
  /** Headers set on every response (http_server_config.headers of --web.config.file), read per request. */
  readonly responseHeaders?: () => Readonly<Record<string, string>>;
}

/**
 * The listener every role runs: /healthz, /readyz and /metrics, plus the routes a role adds
 * (ingress adds /write). While closing, new requests get 503 with Connection: close, so a load
 * balancer moves on and Prometheus retries elsewhere or later.
 */
export class HttpServer {
  private readonly routes = new Map<string, Map<string, Route>>();
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly server: http.Server | https.Server;
  private readonly limits: ServerLimits;
  private readonly bodies: BodyBudget;
  private processing = 0;
  private closing = false;
  private started: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: HttpServerOptions) {
    const l = (this.limits = opts.limits ?? DEFAULT_SERVER_LIMITS);
    this.bodies = new BodyBudget(l.maxInflightBodyBytes, (used) => opts.metrics.inflightBodyBytes.set(used));
    // Node checks the header and request deadlines every connectionsCheckingInterval: at the
    // default 30 s a slowloris client would outlive a 10 s header timeout by up to 30 s.
    const options: http.ServerOptions = {
      headersTimeout: l.headerTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.idleTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, l.headerTimeoutMs),
    };
    const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.dispatch(req, res);
    const tlsSetup = opts.tls;
    if (tlsSetup) {
      const server = https.createServer({ ...options, ...httpsOptions(tlsSetup) }, listener);
      // A connection that does not meet the client-certificate policy is closed before any request.
      server.on('secureConnection', (socket: tls.TLSSocket) => {
        if (!clientCertAcceptable(tlsSetup.clientAuth, socket)) socket.destroy();
      });
      this.server = server;
    } else {
      this.server = http.createServer(options, listener);
    }
    this.server.maxRequestsPerSocket = l.maxRequestsPerSocket;
    this.server.maxConnections = l.maxConnections;
    this.route('GET', '/healthz', async (_req, res) => sendText(res, 200, 'ok\n'), 'metrics');
    this.route('GET', '/readyz', (req, res) => this.ready(req, res), 'metrics');
    opts.metrics.readiness(async () => (await this.notReady()).length === 0);
    this.route('GET', '/metrics', async (_req, res) => {
      const body = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': opts.metrics.registry.contentType }).end(body);
    }, 'metrics');
  }

  /** Adds a route; with --web.auth-file its callers need a credential with `scope` (default admin). */
  route(method: string, path: string, handler: Handler, scope: Scope = 'admin'): void {
    let byMethod = this.routes.get(path);
    if (!byMethod) this.routes.set(path, (byMethod = new Map()));
    byMethod.set(method, { handler, scope });
  }

  /**
   * Admits a request whose body has been read into processing, or throws TOO_BUSY. Call the
   * returned function when done. Requests still sending their body are not counted, so slow
   * senders cannot fill the slots a normal Prometheus needs.
   */
  admit(): () => void {
    if (this.processing >= this.limits.maxConcurrent) {
      this.opts.metrics.rateLimited.inc({ limit: 'concurrency' });
      throw new PromfleetError('TOO_BUSY', `more than ${this.limits.maxConcurrent} requests in progress (--web.max-concurrent-requests)`);
    }
    this.opts.metrics.processingRequests.set(++this.processing);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.opts.metrics.processingRequests.set(--this.processing);
    };
  }

  /** Re-reads the TLS certificate and key (SIGHUP); a failure keeps the pair in use. Returns whether it loaded. */
  reloadTls(): boolean {
    if (!this.opts.tls || !(this.server instanceof https.Server)) return false;
    try {
      this.server.setSecureContext(this.opts.tls.context());
      this.opts.log.info({ cert: this.opts.tls.certFile }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      this.opts.log.error({ cert: this.opts.tls.certFile, err }, 'TLS certificate not reloaded; the previous one stays in use');
      return false;
    }
  }

  readiness(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Bytes of request bodies held now (bounded by --web.max-inflight-body-bytes). */
  get bodyBytesInUse(): number {
    return this.bodies.inUse;
  }

  /** Whether the listener serves HTTPS. */
  get secure(): boolean {
    return this.server instanceof https.Server;
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
        this.opts.log.info({ address: `${this.opts.host}:${this.port}`, tls: this.opts.tls !== undefined, auth: this.opts.guard !== undefined }, 'listening');
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

  /** Why the process is not ready (empty when it is): what GET /readyz and promfleet_ready report. */
  private async notReady(): Promise<string[]> {
    if (this.closing) return ['shutting down'];
    const reasons: string[] = [];
    for (const [name, check] of this.checks) {
      const why = await check().catch((err: unknown) => String(err));
      if (why !== undefined) reasons.push(`${name}: ${why}`);
    }
    return reasons;
  }

  private async ready(_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reasons = await this.notReady();
    sendText(res, reasons.length ? 503 : 200, reasons.length ? `${reasons.join('\n')}\n` : 'ready\n');
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const byMethod = this.routes.get(path);
    const headers = this.opts.responseHeaders?.();
    if (headers) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    try {
      if (!byMethod) throw new PromfleetError('NOT_FOUND', `no route for ${path}`);
      const route = byMethod.get(req.method ?? 'GET');
      if (!route) {
        res.setHeader('Allow', [...byMethod.keys()].join(', '));
        throw new PromfleetError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      }
      await this.opts.guard?.check(req, path, route.scope);
      this.bodies.open(req, res);
      await route.handler(req, res);
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
    // A body not read to its end cannot be followed by another request on this connection.
    sendError(res, e ?? new PromfleetError('INTERNAL', 'internal error'), this.closing || !req.complete);
  }
}

export function sendText(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(body);
}

/** A 4xx/5xx with a one-line body: "<CODE>: <reason>". Retryable errors carry Retry-After. */
export function sendError(res: http.ServerResponse, err: PromfleetError, closing: boolean): void {
  const headers: http.OutgoingHttpHeaders = {};
  if (err.retryable) headers['Retry-After'] = String(err.retryAfterSeconds);
  // 413: the rest of the body is not worth reading; 401/403: a stranger's connection is not kept.
  if (closing || err.status === 413 || err.status === 401 || err.status === 403) headers.Connection = 'close';
  if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="promfleet", Basic realm="promfleet"';
  sendText(res, err.status, `${err.code}: ${err.message.replace(/[\r\n]+/g, ' ')}\n`, headers);
}
