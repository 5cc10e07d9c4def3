import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BodyTooLargeError } from './body.js';
import type { HttpReply, HttpRequest, Router } from './router.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** An error a handler throws to answer with a specific status and code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The one HTTP listener, and how it is given its routes once the orchestrator is assembled. */
export interface HttpServer {
  server: http.Server;
  /** From now on requests go through the router and upgrades to their path's handler. */
  serve(router: Router, upgrades: Map<string, UpgradeHandler>, basePath: string): void;
}

/**
 * The one HTTP listener: routes requests through the router, answers every error as
 * `{"error":{"code","message"}}`, and hands WebSocket upgrades to the path's handler. A handler
 * that throws never takes the process down. It can listen before it has routes (the port is taken
 * before anything else is touched): until `serve`, every request and upgrade is a 503 `starting`.
 */
export function createHttpServer(log: Logger): HttpServer {
  let routes: { router: Router; upgrades: Map<string, UpgradeHandler>; basePath: string } | undefined;
  const server = http.createServer((req, res) => {
    if (!routes) return send(res, STARTING);
    void handle(routes.router, req, res, log);
  });
  server.on('upgrade', (req, socket, head) => {
    if (!routes) return void socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\r\n');
    const { upgrades, basePath } = routes;
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    // With a base path, an upgrade outside it is unknown, like any other route (no bare /ws).
    const local = !basePath ? pathname : pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
    const handler = local === undefined ? undefined : upgrades.get(local);
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    handler(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  // Keep-alive sockets must not hold shutdown hostage.
  server.keepAliveTimeout = 5000;
  return { server, serve: (router, upgrades, basePath) => void (routes = { router, upgrades, basePath }) };
}

const STARTING: HttpReply = {
  status: 503,
  headers: { 'retry-after': '1' },
  body: { error: { code: 'starting', message: 'the orchestrator is starting' } },
};

async function handle(router: Router, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const method = req.method ?? 'GET';
  const found = router.match(method, req.url ?? '/');
  if (!found) return send(res, { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } });
  if (found === 'method_not_allowed') {
    return send(res, { status: 405, body: { error: { code: 'method_not_allowed', message: `${method} is not allowed here` } } });
  }
  const request: HttpRequest = { method, path: found.path, params: found.params, query: found.query, headers: req.headers, raw: req };
  try {
    const reply = await found.handler(request, res);
    if (reply) send(res, reply);
  } catch (e) {
    send(res, errorReply(e, log, method, found.path));
  }
}

function errorReply(e: unknown, log: Logger, method: string, path: string): HttpReply {
  if (e instanceof HttpError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
  if (e instanceof BodyTooLargeError) return { status: 413, body: { error: { code: 'payload_too_large', message: e.message } } };
  if (e instanceof SyntaxError) return { status: 400, body: { error: { code: 'bad_request', message: 'body is not valid JSON' } } };
  if (isUnreachable(e)) {
    log.warn({ err: (e as Error).message, method, path }, 'request failed: a service it needs is unreachable');
    return { status: 503, headers: { 'retry-after': '5' }, body: { error: { code: 'unavailable', message: 'the database (or another service this request needs) cannot be reached; try again shortly' } } };
  }
  log.error({ err: e, method, path }, 'request failed');
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };
}

export function send(res: ServerResponse, reply: HttpReply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** Connection-level failures (PostgreSQL restarting, a peer gone): worth a retry, not a 500. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P03']);

function isUnreachable(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  if (typeof err?.code === 'string' && UNREACHABLE_CODES.has(err.code)) return true;
  return typeof err?.message === 'string' && /^Connection terminated( unexpectedly)?/.test(err.message);
}
