import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { issueAgentToken } from '../../secrets/index.js';
import type { AgentTokenRecord } from '../../store/index.js';
import { MAX_AGENT_SLOT_CAP } from '../../vocabulary/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, parseBody, type RouteTable } from './http.js';

const label = z.string().min(1).max(256);

const newToken = z.object({
  name: z.string().min(1).max(100).default('agent'),
  labels: z.array(label).max(256).optional(),
  /** The most slots an agent may declare with the token; absent or null: the default cap. */
  maxConcurrency: z.number().int().min(1).max(MAX_AGENT_SLOT_CAP).nullable().optional(),
});

function tokenView(t: AgentTokenRecord) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    labels: t.labels,
    maxConcurrency: t.maxConcurrency,
    createdAt: t.createdAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
    expiresAt: t.expiresAt?.toISOString() ?? null,
  };
}

/** Agent tokens: the plaintext is returned once, at creation; the store keeps only its hash. */
export function agentTokenRoutes(deps: AdminDeps): RouteTable {
  return [
    ['GET', '/agent-tokens', async () => ({ status: 200, body: { tokens: (await deps.store.agents.listTokens()).map(tokenView) } })],
    ['POST', '/agent-tokens', async (req) => {
      const input = await parseBody(req, newToken);
      const issued = issueAgentToken();
      const id = `tok_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const record = await deps.store.agents.insertToken(
        { id, name: input.name, tokenHash: issued.hash, prefix: issued.prefix, labels: input.labels ?? null, maxConcurrency: input.maxConcurrency ?? null },
        new Date(),
      );
      return { status: 201, body: { ...tokenView(record), token: issued.token } };
    }],
    ['POST', '/agent-tokens/:id/revoke', async (req) => {
      const existing = await deps.store.agents.getToken(req.params.id);
      if (!existing) throw apiError(404, 'not_found', `no agent token ${req.params.id}`);
      await deps.store.agents.revokeToken(existing.id, new Date());
      const disconnected = await deps.disconnectToken(existing.id);
      const after = (await deps.store.agents.getToken(existing.id)) ?? existing;
      return { status: 200, body: { ...tokenView(after), disconnected } };
    }],
  ];
}
