import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { FailedAuthLimit } from '../auth-guard/index.js';
import type { Clock } from '../clock/index.js';
import { hashToken, tokensEqual } from '../secrets/index.js';
import type { AdminTokenRepository, UiSession, UiSessionRepository } from '../store/index.js';
import { jsonReply, readJsonBody, UiRefusal, type UiReply, type UiRequest } from './http.js';
import { cameOverHttps, refuseCrossOrigin } from './request-origin.js';
import { clearedSessionCookie, type CookieScope, sessionCookie, sessionSecretOf } from './session-cookie.js';

export interface SessionGateDeps {
  sessions: UiSessionRepository;
  adminTokens: AdminTokenRepository;
  /** The clock sessions expire by: the database's time, which every coordinator shares. */
  clock: Clock;
  sessionTtlMs: number;
  /** The failed-authentication limit the admin API and agent socket share. */
  failures: FailedAuthLimit;
  /** The client's address (trusted proxies honoured). */
  addressOf(req: IncomingMessage): string;
  trustedProxies: ReadonlySet<string>;
  basePath: string;
  /** Counted like the admin API's bearer-token failures. */
  onAuthFailure?: () => void;
  log: Logger;
}

const signInBody = z.strictObject({ token: z.string().min(1).max(512) });

/** The header the page echoes its session's csrf value in, on every change. */
export const CSRF_HEADER = 'x-csrf-token';

const isChange = (method: string) => method !== 'GET' && method !== 'HEAD';

/**
 * Sign-in, sign-out and who a request is. An admin token is exchanged once for a session cookie and
 * never travels again; every later request is the session's, and the session is the token's: it
 * ends with the token's revocation, at its expiry, or at sign-out.
 */
export class SessionGate {
  constructor(private readonly deps: SessionGateDeps) {}

  /** `POST /ui/api/session`: a wrong token counts in the failed-auth limit (401, then 429 past it). */
  async signIn(req: UiRequest): Promise<UiReply> {
    const { deps } = this;
    refuseCrossOrigin(req.raw, deps.trustedProxies);
    const { token } = await readJsonBody(req.raw, signInBody);
    const record = await deps.adminTokens.findActive(hashToken(token));
    const address = deps.addressOf(req.raw);
    if (!record) {
      deps.onAuthFailure?.();
      const verdict = deps.failures.fail(address);
      if (verdict.limited) {
        deps.log.warn({ reason: 'rate limited', address }, 'web view sign-in refused');
        throw new UiRefusal(429, 'rate_limited', 'too many failed authentications from this address', { 'retry-after': String(verdict.retryAfterSeconds) });
      }
      deps.log.warn({ reason: 'admin token is invalid or revoked', address }, 'web view sign-in refused');
      throw new UiRefusal(401, 'unauthorized', 'admin token is invalid or revoked');
    }
    const now = new Date(deps.clock.now());
    // Expired sessions go here rather than on a timer: sign-ins are rare and the sweep is one indexed delete.
    await deps.sessions.sweep(now);
    const opened = await deps.sessions.open(record.id, deps.sessionTtlMs, now);
    deps.log.info({ name: record.name, role: record.role, address }, 'web view signed in');
    return jsonReply(
      200,
      { name: record.name, role: record.role, csrf: opened.csrf, expiresAt: opened.expiresAt.toISOString() },
      { 'set-cookie': sessionCookie(opened.secret, deps.sessionTtlMs / 1000, this.scope(req.raw)) },
    );
  }

  /** `GET /ui/api/session`: the page asks at load whether it is signed in. */
  async current(req: UiRequest): Promise<UiReply> {
    const session = await this.sessionOf(req);
    return jsonReply(200, view(session));
  }

  /** `DELETE /ui/api/session`: 204 and a cleared cookie, also when the session had already ended. */
  async signOut(req: UiRequest): Promise<UiReply> {
    refuseCrossOrigin(req.raw, this.deps.trustedProxies);
    const secret = sessionSecretOf(req.raw);
    const cleared = { 'set-cookie': clearedSessionCookie(this.scope(req.raw)), 'cache-control': 'no-store' };
    const session = secret ? await this.deps.sessions.find(secret, new Date(this.deps.clock.now())) : null;
    if (!secret || !session) return { status: 204, headers: cleared };
    this.refuseWithoutCsrf(req, session);
    await this.deps.sessions.close(secret);
    return { status: 204, headers: cleared };
  }

  /**
   * The session a request belongs to; a change (anything but GET and HEAD) must also come from the
   * page's own origin and carry the session's csrf value. 401 `signed_out`, 403 `cross_origin` or `csrf`.
   */
  async sessionOf(req: UiRequest): Promise<UiSession> {
    if (isChange(req.method)) refuseCrossOrigin(req.raw, this.deps.trustedProxies);
    const secret = sessionSecretOf(req.raw);
    const session = secret ? await this.deps.sessions.find(secret, new Date(this.deps.clock.now())) : null;
    if (!session) throw new UiRefusal(401, 'signed_out', 'not signed in, or the session ended; sign in again');
    if (isChange(req.method)) this.refuseWithoutCsrf(req, session);
    return session;
  }

  private refuseWithoutCsrf(req: UiRequest, session: UiSession): void {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !tokensEqual(sent, session.csrf)) throw new UiRefusal(403, 'csrf', `the ${CSRF_HEADER} header is missing or does not match this session`);
  }

  private scope(req: IncomingMessage): CookieScope {
    return { path: `${this.deps.basePath}/ui`, secure: cameOverHttps(req, this.deps.trustedProxies) };
  }
}

const view = (s: UiSession) => ({ name: s.name, role: s.role, csrf: s.csrf, expiresAt: s.expiresAt.toISOString() });
