import { z } from 'zod';
import type { AuditEvent } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, type RouteTable } from './http.js';

const MAX_PAGE = 500;

// An action is `area.verb` (`admin_token.create`); any such is taken, so later actions need no change here.
const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
    before: z.coerce.number().int().min(1).optional(),
    action: z.string().max(100).regex(/^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/, 'an action such as admin_token.create').optional(),
    actor: z.string().min(1).max(100).regex(/^[^\s\p{Cc}]+$/u, 'no spaces or control characters').optional(),
  })
  .strict();

export function auditView(e: AuditEvent) {
  return { ...e, at: e.at.toISOString() };
}

/**
 * The audit, newest first: `?limit` (1–500, 50), `?before=<id>` (the previous page's `nextBefore`),
 * `?action`, `?actor`. `nextBefore` is null on the last page.
 */
export function auditRoutes(deps: AdminDeps): RouteTable {
  return [
    ['GET', '/audit', async (req) => {
      const q = listQuery.safeParse(Object.fromEntries(req.query));
      if (!q.success) {
        const issue = q.error.issues[0]!;
        throw apiError(400, 'invalid_request', `${issue.path.join('.') || 'query'}: ${issue.message}`);
      }
      const events = await deps.store.audit.list(q.data);
      const nextBefore = events.length === q.data.limit ? events[events.length - 1]!.id : null;
      return { status: 200, body: { events: events.map(auditView), nextBefore } };
    }],
  ];
}
