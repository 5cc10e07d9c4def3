import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { type AdminDeps, adminApiRoutes } from '../admin/index.js';
import type { FailedAuthLimit } from '../auth-guard/index.js';
import type { Clock } from '../clock/index.js';
import type { AdminTokenRepository, UiSession, UiSessionRepository } from '../store/index.js';
import { AdminRoutes } from './admin-routes.js';
import { assetPath, Assets } from './assets.js';
import { OpenFeeds, PING_MS } from './event-stream.js';
import { errorReply, UiRefusal, type UiHandler, type UiReply, type UiRequest, type UiRoute, type ServerResponse } from './http.js';
import { LiveFeeds, POLL_MS } from './live-feeds.js';
import { downloadLogs } from './run-logs.js';
import { applySecurityHeaders } from './security-headers.js';
import { SessionGate } from './sessions.js';

export interface UiDeps {
  /** KICI_BASE_PATH: the cookie's path and the redirect's target start with it. */
  basePath: string;
  sessions: UiSessionRepository;
  adminTokens: AdminTokenRepository;
  /** What the admin API is built from: the web view calls the same handlers. */
  admin: AdminDeps;
  /** The clock sessions are opened and expire by (the database's time on an orchestrator). */
  clock: Clock;
  sessionTtlMs: number;
  failures: FailedAuthLimit;
  addressOf(req: IncomingMessage): string;
  trustedProxies: ReadonlySet<string>;
  /** Folders the page's files are looked up in, in order (`packageAssetRoots()`). */
  assetRoots: readonly string[];
  onAuthFailure?: () => void;
  log: Logger;
  /** Feed pacing; the defaults are the contract's (500 ms polls, a ping every 15 s). */
  pollMs?: number;
  pingMs?: number;
}

export interface UiRoom {
  /** Every `/ui` route, relative to the base path, for the composition root's router. */
  routes: UiRoute[];
  /** How many live feeds are open on this node. */
  openFeeds(): number;
  /** Ends every open live feed at once (the listener could not close while one is open). */
  stop(): void;
}

/**
 * The web view, server side: the page's files, sign-in sessions, the admin API behind the session
 * cookie, live feeds and log downloads, all under `/ui`. Every answer carries the security headers;
 * every refusal is `{"error":{"code","message"}}`.
 */
export function openUiRoom(deps: UiDeps): UiRoom {
  const assets = new Assets(deps.assetRoots);
  const gate = new SessionGate(deps);
  const admin = new AdminRoutes(adminApiRoutes(deps.admin));
  const feeds = new OpenFeeds(deps.pingMs ?? PING_MS);
  const stillSignedIn = (req: UiRequest) => gate.sessionOf(req).then(
    () => true,
    (e) => (e instanceof UiRefusal ? false : Promise.reject(e)),
  );
  const live = new LiveFeeds({ feeds, admin, logs: deps.admin, pollMs: deps.pollMs ?? POLL_MS, stillSignedIn, log: deps.log });
  const signedIn = (fn: (req: UiRequest, res: ServerResponse, session: UiSession) => Promise<UiReply | undefined>): UiHandler => async (req, res) => fn(req, res, await gate.sessionOf(req));

  const routes: UiRoute[] = [
    // `/ui` and `/ui/` reach the same route (the router ignores a trailing slash): the page's URLs
    // are relative to `/ui/`, so the bare form is sent there first.
    ['GET', '/ui', async (req, res) => (req.path.endsWith('/') ? assets.serve('index.html', res, validator(req)) : { status: 308, headers: { location: `${deps.basePath}/ui/` } })],
    ['GET', '/ui/assets/:name', async (req, res) => assets.serve(assetPath(req.params.name), res, validator(req))],
    ['GET', '/ui/assets/:folder/:name', async (req, res) => assets.serve(assetPath(req.params.name, req.params.folder), res, validator(req))],
    ['POST', '/ui/api/session', (req) => gate.signIn(req)],
    ['GET', '/ui/api/session', (req) => gate.current(req)],
    ['DELETE', '/ui/api/session', (req) => gate.signOut(req)],
    ['GET', '/ui/api/live/runs', signedIn((req, res, s) => live.runs(req, res, s))],
    ['GET', '/ui/api/live/runs/:id', signedIn((req, res, s) => live.run(req, res, s))],
    ['GET', '/ui/api/live/runs/:id/logs', signedIn((req, res, s) => live.logLines(req, res, s))],
    ['GET', '/ui/api/live/agents', signedIn((req, res, s) => live.agents(req, res, s))],
    ['GET', '/ui/api/download/runs/:id/logs', signedIn((req, res, s) => downloadLogs(deps.admin, req, res, s))],
    ...admin.mounted(gate),
  ];

  return {
    routes: routes.map(([method, path, handler]) => [method, path, guarded(handler)]),
    openFeeds: () => feeds.count,
    stop: () => feeds.stop(),
  };
}

/** The browser's `If-None-Match`: the validator of the copy it holds. */
const validator = (req: UiRequest): string | undefined => {
  const value = req.headers['if-none-match'];
  return typeof value === 'string' ? value : undefined;
};

/**
 * The security headers go on before the handler runs, and the room's refusals become answers here.
 * Anything else is thrown on to the server, which answers it (500, or 503 when the database is
 * away) with the headers already set.
 */
function guarded(handler: UiHandler): UiHandler {
  return async (req, res) => {
    applySecurityHeaders(res);
    try {
      return await handler(req, res);
    } catch (e) {
      if (e instanceof UiRefusal) return errorReply(e.status, e.code, e.message, e.headers);
      throw e;
    }
  };
}
