import type { IncomingMessage } from 'node:http';
import { ApiFailure, adminApiRoutes, checkAdmin, VIEWER_REFUSAL, viewerMayCall } from '../../admin/index.js';
import type { FailedAuthLimit } from '../../auth-guard/index.js';
import type { AdminTokenRepository } from '../../store/index.js';
import type { Router } from '../http/router.js';
import { HttpError } from '../http/server.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';

export interface AdminGate {
  adminTokens: AdminTokenRepository;
  failures: FailedAuthLimit;
  /** The client's address (trusted proxies honoured). */
  addressOf(req: IncomingMessage): string;
  metrics: OrchestratorMetrics;
  log: Logger;
}

/**
 * The admin API under `/api/v1`, every route behind the bearer token. The token is checked before
 * the failure limit is consulted, so a valid token from a limited address still passes; a wrong
 * one past the limit is answered 429 without touching the handler. The check is one hash and one
 * indexed lookup, the same as a 401, so a limited address costs no more than it did before.
 */
export function mountAdminApi(router: Router, gate: AdminGate, deps: Parameters<typeof adminApiRoutes>[0]): void {
  for (const [method, route, handler] of adminApiRoutes(deps)) {
    router.on(method, `/api/v1${route}`, async (req, res) => {
      const check = await checkAdmin(gate.adminTokens, req.headers.authorization);
      if (!check.ok) {
        gate.metrics.authFailures.inc({ kind: 'admin' });
        const address = gate.addressOf(req.raw);
        const verdict = gate.failures.fail(address);
        const where = { address, method, path: req.path };
        if (verdict.limited) {
          gate.log.warn({ reason: 'rate limited', ...where }, 'admin request refused');
          return {
            status: 429,
            headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
            body: { error: { code: 'rate_limited', message: 'too many failed authentications from this address' } },
          };
        }
        gate.log.warn({ reason: check.reason, ...where }, 'admin request refused');
        throw new HttpError(401, 'unauthorized', check.reason);
      }
      if (check.caller.role === 'viewer' && !viewerMayCall(method, route)) {
        gate.log.warn({ reason: 'viewer token', address: gate.addressOf(req.raw), method, path: req.path }, 'admin request refused');
        throw new HttpError(403, 'forbidden', VIEWER_REFUSAL);
      }
      try {
        return await handler({ ...req, caller: check.caller }, res);
      } catch (e) {
        if (e instanceof ApiFailure) throw new HttpError(e.status, e.code, e.message);
        throw e;
      }
    });
  }
}
