/**
 * Agents across the mesh: each node tells its peers the free slots of the agents whose sockets it
 * holds (`agents.slots`, sent on change and every few seconds), a run's owner offers a job to one
 * chosen agent on the node that holds it (`agents.offer`, answered at once: taken or refused), and
 * asks that node to stop a job or drop a silent agent (`agents.command`); a revoked agent token is
 * told to every node, which closes the sockets using it (`agents.token_revoked`).
 */
import { z } from 'zod';
import { jobDispatchMessage } from '../agent-protocol/index.js';
import type { PeerKinds, PeerMessageKind, PeerRequestKind } from './kinds.js';

const id = z.string().min(1).max(200);
const labelMatcher = z.union([z.string().min(1).max(200), z.strictObject({ regex: z.string().min(1).max(500), flags: z.string().max(10).optional() })]);

export const agentSlotsBody = z.strictObject({
  agents: z
    .array(
      z.strictObject({
        agentId: id,
        labels: z.array(z.string().max(200)).max(100),
        maxConcurrency: z.number().int().min(1).max(10_000),
        active: z.number().int().min(0).max(10_000),
        // For operators (the web view's agents page), not for placement: what the agent said of
        // itself, and when its node connected it and last heard from it (ms since the epoch).
        version: z.string().max(200).optional(),
        hostname: z.string().max(300).optional(),
        connectedAt: z.number().int().min(0).optional(),
        lastSeenAt: z.number().int().min(0).optional(),
      }),
    )
    .max(10_000),
});
export type AgentSlotsBody = z.infer<typeof agentSlotsBody>;

/** The job.dispatch frame without its envelope: what the chosen agent is sent. */
const dispatchFrame = jobDispatchMessage.omit({ type: true, messageId: true, timestamp: true });

export const jobOfferBody = z.strictObject({
  agentId: id,
  runId: id,
  jobId: id,
  attempt: z.number().int().min(1),
  runsOn: z.array(labelMatcher).max(100).optional(),
  frame: dispatchFrame,
});
export type JobOfferBody = z.infer<typeof jobOfferBody>;

export const jobOfferAnswer = z.discriminatedUnion('status', [
  /** The job is on its way to `agentId` (the one asked for, or the agent that already holds it). */
  z.strictObject({ status: z.literal('taken'), agentId: id }),
  z.strictObject({ status: z.literal('refused'), reason: z.string().max(1000) }),
]);
export type JobOfferAnswer = z.infer<typeof jobOfferAnswer>;

export const agentCommandBody = z.discriminatedUnion('command', [
  z.strictObject({ command: z.literal('cancel'), agentId: id, runId: id, jobId: id, reason: z.string().max(1000), force: z.boolean(), epoch: z.number().int().min(0) }),
  z.strictObject({ command: z.literal('close_silent'), agentId: id, jobId: id }),
  z.strictObject({ command: z.literal('refused'), agentId: id, runId: id, jobId: id, message: z.string().max(100), reason: z.string().max(1000) }),
]);
export type AgentCommandBody = z.infer<typeof agentCommandBody>;

/** Whether the node held a session of the agent the command named. */
export const agentCommandAnswer = z.strictObject({ reached: z.boolean() });

/** A revoked agent token, told to every node (edge workers included) so each closes the sockets that use it. */
export const tokenRevokedBody = z.strictObject({ tokenId: id });
export const tokenRevokedAnswer = z.strictObject({ disconnected: z.number().int().min(0) });

export interface AgentMeshKinds {
  slots: PeerMessageKind<AgentSlotsBody>;
  offer: PeerRequestKind<JobOfferBody, JobOfferAnswer>;
  command: PeerRequestKind<AgentCommandBody, z.infer<typeof agentCommandAnswer>>;
  tokenRevoked: PeerRequestKind<z.infer<typeof tokenRevokedBody>, z.infer<typeof tokenRevokedAnswer>>;
}

/** Register the agent-mesh kinds on a node's registry (once, before its links start). */
export function registerAgentMeshKinds(kinds: PeerKinds): AgentMeshKinds {
  return {
    slots: kinds.message('agents.slots', agentSlotsBody),
    offer: kinds.request('agents.offer', jobOfferBody, jobOfferAnswer),
    command: kinds.request('agents.command', agentCommandBody, agentCommandAnswer),
    tokenRevoked: kinds.request('agents.token_revoked', tokenRevokedBody, tokenRevokedAnswer),
  };
}
