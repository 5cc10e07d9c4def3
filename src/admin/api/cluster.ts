import { z } from 'zod';
import type { AdminDeps, ClusterAdmin, RevokedMember } from './deps.js';
import { ApiFailure, apiError, parseBody, type RouteTable } from './http.js';
import { asApiFailure, refusalsAsHttp } from './refusals.js';

/** A node id as certificates and the peer protocol name it: it sits in a URI and a URL path unescaped. */
export const clusterNodeId = z
  .string({ error: (issue) => (issue.input === undefined ? 'required: the node to act on' : 'must be a node id') })
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a node id is 1–64 letters, digits, dots, dashes or underscores');

/** Revoking every other member at once is not undoable: the body must say so in as many words. */
export const revokeAllRequest = z.strictObject({
  confirm: z.literal(true, { error: 'must be true: this revokes every member but the node answering, for good' }),
});

export const FAULT_DIRECTIONS = ['inbound', 'outbound', 'both'] as const;

/** A cut names its peer and direction; a heal lifts every rule of one peer, or of all of them. */
export const faultRequest = z.discriminatedUnion(
  'action',
  [
    z.strictObject({
      action: z.literal('cut'),
      peer: clusterNodeId,
      direction: z.enum(FAULT_DIRECTIONS, { error: 'must be inbound, outbound or both' }).default('both'),
    }),
    z.strictObject({ action: z.literal('heal'), peer: clusterNodeId.optional() }),
  ],
  { error: 'must be cut or heal' },
);

export interface RevokeFailure {
  nodeId: string;
  /** The refusal as the API would have answered it alone. */
  error: { code: string; message: string };
}

/** A node built without a cluster (tests that build the API alone) answers as one that cannot reach it. */
function clusterOf(deps: Pick<AdminDeps, 'cluster'>): ClusterAdmin {
  if (!deps.cluster) throw apiError(503, 'cluster_unavailable', 'this node has no cluster to answer for');
  return deps.cluster;
}

/**
 * The cluster's members and their revocation, as this node sees them; and the fault hook, which
 * is a route only where fault injection is on (otherwise 404, as if it did not exist).
 */
export function clusterRoutes(deps: Pick<AdminDeps, 'cluster'>): RouteTable {
  return [
    ['GET', '/peers', async () => {
      const status = await clusterOf(deps).status();
      return { status: 200, body: { members: status.members, leader: status.leader, clusterId: status.clusterId } };
    }],
    ['DELETE', '/peers/:nodeId', async (req) => {
      const id = clusterNodeId.safeParse(req.params.nodeId);
      if (!id.success) throw apiError(400, 'invalid_request', `nodeId: ${id.error.issues[0]!.message}`);
      const revoked = await refusalsAsHttp(clusterOf(deps).revoke(id.data));
      return { status: 200, body: { nodeId: revoked.nodeId, revoked: revoked.newlyRevoked, serials: revoked.serials } };
    }],
    ['POST', '/peers/revoke-all', async (req) => {
      await parseBody(req, revokeAllRequest);
      const cluster = clusterOf(deps);
      const others = (await cluster.status()).members.filter((m) => !m.self);
      const revoked: RevokedMember[] = [];
      const failed: RevokeFailure[] = [];
      // One at a time: each revocation is a proposal that removes a vote, and the next one needs
      // the quorum the previous left. A refusal is reported and the rest still tried; anything
      // else (the database failing) is a 500 the server logs, as a single revocation would be.
      for (const member of others) {
        try {
          revoked.push(await cluster.revoke(member.node));
        } catch (e) {
          const refusal = asApiFailure(e);
          if (!(refusal instanceof ApiFailure)) throw refusal;
          failed.push({ nodeId: member.node, error: { code: refusal.code, message: refusal.message } });
        }
      }
      return { status: 200, body: { revoked, failed } };
    }],
    ['GET', '/cluster/status', async () => ({ status: 200, body: await clusterOf(deps).status() })],
    ['POST', '/cluster/faults', async (req) => {
      const faults = deps.cluster?.faults;
      if (!faults) throw apiError(404, 'not_found', 'fault injection is off on this node');
      const input = await parseBody(req, faultRequest);
      if (input.action === 'cut') faults.cut(input.peer, input.direction);
      else faults.heal(input.peer);
      return { status: 200, body: { ok: true } };
    }],
  ];
}
