import { z } from 'zod';
import { issueAdminToken } from '../../secrets/index.js';
import { type AdminTokenRecord, adminTokenNameProblem } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { parseBody, type RouteTable } from './http.js';
import { refusalsAsHttp } from './refusals.js';

/** The name rule is the store's (`adminTokenNameProblem`), so the API and the store refuse alike. */
export const adminTokenNameSchema = z.string().superRefine((name, ctx) => {
  const problem = adminTokenNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const newToken = z.object({ name: adminTokenNameSchema, role: z.enum(['admin', 'viewer']).default('admin') }).strict();

/** A token as the API shows it: never its hash, and its value only in the creation's answer. */
export function adminTokenView(t: AdminTokenRecord) {
  return { id: t.id, name: t.name, prefix: t.prefix, role: t.role, createdAt: t.createdAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null };
}

/**
 * Admin tokens: named, the name unique among live tokens; each creation and revocation is audited
 * with the caller's name. A token is revoked by its id or by its live name; the last live token
 * is never revoked (409), so the API cannot be locked by its own hand.
 */
export function adminTokenRoutes(deps: AdminDeps): RouteTable {
  const tokens = deps.store.adminTokens;
  return [
    ['GET', '/admin-tokens', async () => ({ status: 200, body: { tokens: (await tokens.list()).map(adminTokenView) } })],
    ['POST', '/admin-tokens', async (req) => {
      const input = await parseBody(req, newToken);
      const issued = issueAdminToken();
      const record = await refusalsAsHttp(tokens.create({ name: input.name, tokenHash: issued.hash, prefix: issued.prefix, role: input.role }, req.caller, new Date()));
      return { status: 201, body: { ...adminTokenView(record), token: issued.token } };
    }],
    ['DELETE', '/admin-tokens/:ref', async (req) => {
      const revoked = await refusalsAsHttp(tokens.revoke(req.params.ref, req.caller, new Date()));
      // `self`: the caller's own token; its next request will be refused.
      return { status: 200, body: { ...adminTokenView(revoked), self: revoked.id === req.caller.tokenId } };
    }],
  ];
}
