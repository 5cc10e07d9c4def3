/**
 * Raft's messages on a peer link: the `raft` kind carries every message but snapshots, which go as
 * `raft.snapshot_chunk` frames (raft's own chunk codec) so that a large snapshot never becomes one
 * frame. Both are checked here after decoding; the core then sees only well-formed messages.
 */
import { z } from 'zod';
import { validateSnapshotChunk, type Message, type SnapshotChunk } from '../../raft/index.js';
import type { PeerKinds, PeerMessageKind } from './kinds.js';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const nodeId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const bytes = z.instanceof(Uint8Array);

const entry = z.strictObject({
  term: count,
  index: count,
  type: z.enum(['normal', 'conf_change']),
  data: bytes,
});

/** Every Message field but `snapshot`: a snapshot travels in chunks. */
export const raftMessageBody = z.strictObject({
  type: z.enum(['prevote', 'prevote_resp', 'vote', 'vote_resp', 'append', 'append_resp', 'heartbeat', 'heartbeat_resp', 'timeout_now']),
  from: nodeId,
  to: nodeId,
  term: count,
  logTerm: count.optional(),
  index: count.optional(),
  entries: z.array(entry).max(100_000).optional(),
  commit: count.optional(),
  reject: z.boolean().optional(),
  rejectHint: count.optional(),
  rejectHintTerm: count.optional(),
  context: z.string().max(256).optional(),
  needSnapshot: z.boolean().optional(),
}) satisfies z.ZodType<Omit<Message, 'snapshot'>>;

export const raftSnapshotChunkBody = z.custom<SnapshotChunk>((x) => {
  try {
    validateSnapshotChunk(x);
    return true;
  } catch {
    return false;
  }
}, 'not a snapshot chunk');

export const RAFT_KIND = 'raft';
export const RAFT_SNAPSHOT_CHUNK_KIND = 'raft.snapshot_chunk';

export interface RaftKinds {
  message: PeerMessageKind<z.output<typeof raftMessageBody>>;
  snapshotChunk: PeerMessageKind<SnapshotChunk>;
}

/** Register Raft's two kinds on a node's registry (once, before its links start). */
export function registerRaftKinds(kinds: PeerKinds): RaftKinds {
  return {
    message: kinds.message(RAFT_KIND, raftMessageBody),
    snapshotChunk: kinds.message(RAFT_SNAPSHOT_CHUNK_KIND, raftSnapshotChunkBody),
  };
}
