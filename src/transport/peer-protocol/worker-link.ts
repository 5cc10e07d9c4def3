/**
 * Coordinators and their edge workers. A worker has no database: each coordinator it reaches tells
 * it the cluster as the coordinator sees it (`worker.view`: the members, the shard map, the agent
 * tokens' hashes), on link up and whenever it changes. The worker forwards the webhooks it is sent
 * (`worker.webhook`), records its agents (`worker.agent_registered`), asks after an agent token its
 * view does not hold yet (`worker.agent_token`), asks which jobs the store
 * gives an agent (`worker.jobs_held`), and reports what it holds while cut off (`worker.status`).
 */
import { z } from 'zod';
import { MAX_AGENT_SLOT_CAP } from '../../vocabulary/index.js';
import type { PeerKinds, PeerMessageKind, PeerRequestKind } from './kinds.js';

const id = z.string().min(1).max(200);
const nodeId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const serial = z.string().regex(/^[0-9a-f]{1,64}$/);
/**
 * A token's slot cap; null: the default cap. A view kept on disk by an earlier release has none,
 * and its tokens read as the default, until the next view replaces it.
 */
const slotCap = z.number().int().min(1).max(MAX_AGENT_SLOT_CAP).nullable().default(null);

export const workerViewBody = z.strictObject({
  /**
   * The sender's Raft applied index when it made the view: a worker keeps the newest, so a
   * coordinator that lags behind cannot roll its shard map or revocations back.
   */
  appliedIndex: z.number().int().min(0).optional(),
  /** The coordinators (with their cluster ports) and workers, and each one's certificate serial. */
  members: z.array(z.strictObject({ node: nodeId, address: z.string().max(300), role: z.enum(['coordinator', 'worker']), serial })).max(1_000),
  revokedSerials: z.array(serial).max(100_000),
  shards: z.array(z.strictObject({ shard: z.number().int().min(0).max(255), node: nodeId, epoch: z.number().int().positive() })).max(256),
  /** Valid agent tokens: id, SHA-256 of the token (hex), label allowlist, slot cap, expiry (ms). */
  agentTokens: z
    .array(
      z.strictObject({
        id,
        hash: z.string().regex(/^[0-9a-f]{64}$/),
        labels: z.array(z.string().max(200)).max(100).nullable(),
        maxConcurrency: slotCap,
        expiresAt: z.number().int().nullable(),
      }),
    )
    .max(100_000),
});
export type WorkerViewBody = z.infer<typeof workerViewBody>;

/** A webhook as the worker received it; the body is base64 (a peer frame is at most 16 MiB). */
export const forwardedWebhookBody = z.strictObject({
  route: z.enum(['github', 'git', 'generic']),
  orgId: z.string().min(1).max(200),
  sourceId: z.string().min(1).max(200).optional(),
  headers: z.record(z.string(), z.union([z.string().max(16_384), z.array(z.string().max(16_384)).max(100)])),
  body: z.string(),
});
export type ForwardedWebhookBody = z.infer<typeof forwardedWebhookBody>;

export const forwardedWebhookAnswer = z.strictObject({
  status: z.number().int().min(100).max(599),
  body: z.unknown(),
  headers: z.record(z.string(), z.string()).optional(),
});
export type ForwardedWebhookAnswer = z.infer<typeof forwardedWebhookAnswer>;

/** A token the worker's view does not hold yet (made since the last view): the store's word on it. */
export const agentTokenBody = z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/) });
export const agentTokenAnswer = z.strictObject({
  token: z.strictObject({ id, labels: z.array(z.string().max(200)).max(100).nullable(), maxConcurrency: slotCap, expiresAt: z.number().int().nullable() }).nullable(),
});

export const workerAgentBody = z.strictObject({ agentId: id, tokenId: id, labels: z.array(z.string().max(200)).max(100), hostname: z.string().max(300).optional() });
export type WorkerAgentBody = z.infer<typeof workerAgentBody>;

export const jobsHeldBody = z.strictObject({ agentId: id });
export const jobsHeldAnswer = z.strictObject({ jobs: z.array(z.strictObject({ runId: id, jobId: id })).max(10_000) });

export const workerStatusBody = z.strictObject({
  outboxDepth: z.number().int().min(0),
  outboxBytes: z.number().int().min(0),
  agents: z.number().int().min(0),
});
export type WorkerStatusBody = z.infer<typeof workerStatusBody>;

export interface WorkerLinkKinds {
  view: PeerMessageKind<WorkerViewBody>;
  webhook: PeerRequestKind<ForwardedWebhookBody, ForwardedWebhookAnswer>;
  agentRegistered: PeerMessageKind<WorkerAgentBody>;
  agentToken: PeerRequestKind<z.infer<typeof agentTokenBody>, z.infer<typeof agentTokenAnswer>>;
  jobsHeld: PeerRequestKind<z.infer<typeof jobsHeldBody>, z.infer<typeof jobsHeldAnswer>>;
  status: PeerMessageKind<WorkerStatusBody>;
}

/** Register the worker-link kinds on a node's registry (coordinators and workers alike). */
export function registerWorkerLinkKinds(kinds: PeerKinds): WorkerLinkKinds {
  return {
    view: kinds.message('worker.view', workerViewBody),
    webhook: kinds.request('worker.webhook', forwardedWebhookBody, forwardedWebhookAnswer),
    agentRegistered: kinds.message('worker.agent_registered', workerAgentBody),
    agentToken: kinds.request('worker.agent_token', agentTokenBody, agentTokenAnswer),
    jobsHeld: kinds.request('worker.jobs_held', jobsHeldBody, jobsHeldAnswer),
    status: kinds.message('worker.status', workerStatusBody),
  };
}
