import { z } from 'zod';
import { createJoinToken, NODE_ROLES } from '../../certificates/index.js';
import { type JoinTokenRecord, joinTokenState } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, parseBody, type RouteTable } from './http.js';

/** How long a join token may live: at least an hour, at most thirty days. */
export const JOIN_TOKEN_EXPIRY_HOURS = { min: 1, max: 720, default: 1 } as const;
/** The role a token grants when none is asked for: the one that can do least. */
export const DEFAULT_JOIN_ROLE = 'worker';

export const joinTokenRequest = z.strictObject({
  role: z.enum(NODE_ROLES, { error: 'must be coordinator or worker' }).default(DEFAULT_JOIN_ROLE),
  expiryHours: z
    .number({ error: 'must be a whole number of hours' })
    .int('must be a whole number of hours')
    .min(JOIN_TOKEN_EXPIRY_HOURS.min, `must be at least ${JOIN_TOKEN_EXPIRY_HOURS.min} hour`)
    .max(JOIN_TOKEN_EXPIRY_HOURS.max, `must be at most ${JOIN_TOKEN_EXPIRY_HOURS.max} hours (30 days)`)
    .default(JOIN_TOKEN_EXPIRY_HOURS.default),
});

/** A join token's id: 16 hex digits (the second-to-last part of the token). */
export const joinTokenId = z
  .string()
  .regex(/^[0-9a-fA-F]{16}$/, 'a join token id is 16 hex digits')
  .transform((id) => id.toLowerCase());

/** A join token as listings show it: never the secret, nor its hash. */
export function joinTokenView(t: JoinTokenRecord, now: Date) {
  return {
    id: t.id,
    role: t.role,
    state: joinTokenState(t, now),
    caFingerprint: t.caFingerprint,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    usedAt: t.usedAt?.toISOString() ?? null,
    usedBy: t.usedBy,
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Join tokens for new peers. The whole token is in the create reply and nowhere else: the store
 * keeps the SHA-256 of its secret, and every other reply (lists, revocations, errors) shows the id.
 */
export function peerRoutes(deps: AdminDeps): RouteTable {
  const tokens = deps.store.cluster;
  return [
    ['GET', '/peers/tokens', async () => {
      const now = new Date();
      return { status: 200, body: { tokens: (await tokens.listJoinTokens()).map((t) => joinTokenView(t, now)) } };
    }],
    ['POST', '/peers/tokens', async (req) => {
      const input = await parseBody(req, joinTokenRequest);
      const cluster = await tokens.identity();
      if (!cluster) throw apiError(409, 'no_cluster', 'this node has no cluster identity yet');
      const now = new Date();
      const issued = createJoinToken({
        caFingerprint: cluster.caFingerprint as `sha256:${string}`,
        role: input.role,
        expiresAt: new Date(now.getTime() + input.expiryHours * 3_600_000),
      });
      const record = await tokens.insertJoinToken(
        { id: issued.id, secretHash: issued.secretHash, role: issued.role, caFingerprint: issued.caFingerprint, expiresAt: issued.expiresAt },
        now,
      );
      return { status: 201, body: { ...joinTokenView(record, now), clusterId: cluster.clusterId, token: issued.token } };
    }],
    ['DELETE', '/peers/tokens/:id', async (req) => {
      const id = joinTokenId.safeParse(req.params.id);
      if (!id.success) throw apiError(400, 'invalid_request', `id: ${id.error.issues[0]!.message}`);
      const now = new Date();
      const result = await tokens.revokeJoinToken(id.data, now);
      if (result.outcome === 'not_found') throw apiError(404, 'not_found', `no join token ${id.data}`);
      if (result.outcome === 'used') {
        const by = result.token.usedBy ? ` by node ${result.token.usedBy}` : '';
        throw apiError(409, 'token_used', `join token ${id.data} was already used${by}; revoke the node instead`);
      }
      return { status: 200, body: { ...joinTokenView(result.token, now), revoked: result.outcome === 'revoked' } };
    }],
  ];
}
