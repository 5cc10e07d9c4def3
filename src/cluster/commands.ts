/**
 * The commands of the replicated cluster state: what the coordinator (or a joining node, through
 * it) proposes to Raft. They are entries of the log, so every node decodes the same bytes and
 * applies them in the same order; a command a node cannot decode is refused the same way on every
 * node (see ClusterState.apply).
 */
import { z } from 'zod';
import { SHARD_COUNT } from '../actors/index.js';
import { isPeerAddress, PEER_ADDRESS_RULE } from '../vocabulary/index.js';

const nodeId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const raftId = z.number().int().positive();
const address = z.string().refine(isPeerAddress, PEER_ADDRESS_RULE);
export const memberRole = z.enum(['coordinator', 'worker']);
/** A member's standing in the Raft configuration (workers are never voters). */
export const memberStanding = z.enum(['learner', 'voter', 'worker']);

export const clusterCommand = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('member_added'),
      node: nodeId,
      raftId,
      /** The member's cluster port; the empty string for a worker, which is never dialled (it dials out). */
      address: z.string().refine((a) => a === '' || isPeerAddress(a), PEER_ADDRESS_RULE),
      role: memberRole,
      certificateSerial: z.string().regex(/^[0-9a-f]{1,64}$/).optional(),
    })
    .refine((c) => c.address !== '' || c.role === 'worker', { path: ['address'], message: `only a worker has no address (${PEER_ADDRESS_RULE})` }),
  z.object({ type: z.literal('member_promoted'), node: nodeId }),
  z.object({ type: z.literal('member_address'), node: nodeId, address }),
  /** Removed for good: its Raft id is never reused and its certificate is refused from now on. */
  z.object({ type: z.literal('member_removed'), node: nodeId }),
  z.object({ type: z.literal('certificate_revoked'), serial: z.string().regex(/^[0-9a-f]{1,64}$/) }),
  z.object({
    type: z.literal('shard_assigned'),
    shard: z.number().int().min(0).max(SHARD_COUNT - 1),
    node: nodeId,
    epoch: z.number().int().positive(),
  }),
  /** Several shards at once (a new cluster's first map, a dead node's shards): all or none apply. */
  z.object({
    type: z.literal('shards_assigned'),
    assignments: z
      .array(z.object({ shard: z.number().int().min(0).max(SHARD_COUNT - 1), node: nodeId, epoch: z.number().int().positive() }))
      .min(1)
      .max(SHARD_COUNT),
  }),
  z.object({
    type: z.literal('agent_placed'),
    agent: z.string().min(1).max(200),
    node: nodeId,
    labels: z.array(z.string().max(200)).max(100),
    capacity: z.number().int().min(0).max(10_000),
  }),
  z.object({ type: z.literal('agent_left'), agent: z.string().min(1).max(200), node: nodeId }),
  z.object({ type: z.literal('setting_set'), key: z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/), value: z.string().max(4096) }),
]);

export type ClusterCommand = z.infer<typeof clusterCommand>;
export type MemberRole = z.infer<typeof memberRole>;
export type MemberStanding = z.infer<typeof memberStanding>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Commands are small and rare next to runs: JSON keeps a log dump readable. */
export function encodeCommand(c: ClusterCommand): Uint8Array {
  return encoder.encode(JSON.stringify(clusterCommand.parse(c)));
}

/** The command in an entry, or why it is not one. */
export function decodeCommand(data: Uint8Array): { command: ClusterCommand } | { refused: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    return { refused: 'not JSON' };
  }
  const parsed = clusterCommand.safeParse(raw);
  if (!parsed.success) return { refused: parsed.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ') };
  return { command: parsed.data };
}
