/**
 * The raft room's door. Stands alone: imports only `node:` built-ins and its own files.
 *
 * Shape (etcd-raft's): RawNode is a pure state machine (tick/step in, Ready batches out);
 * RaftDriver owns its clock, its storage and the Ready order (persist + fsync, send, apply,
 * advance); MemoryStorage and FileStorage are the two WritableLogStorage implementations.
 *
 * Membership: a new cluster's storage is created with its initial ConfState (the voters). A node
 * joining later is created EMPTY (no ConfState: it neither campaigns nor accepts entries) and is
 * added on the leader (add_learner, then promote); the leader sends it a snapshot first (the
 * index-0 bootstrap one if nothing is compacted), from which it learns the configuration,
 * removed ids included, and then the log. Never hand a joiner a configuration yourself: one
 * built by its caller loses `removed` and replays old changes over a newer membership. Changes
 * are proposed one at a time and take effect when applied (applyConfChange; RaftDriver does this
 * itself). Removed ids are remembered in ConfState.removed and never return.
 *
 * Time: RaftDriver ticks from its clock's elapsed time. The leader's lease (leaseValid) lasts
 * floor((electionTick - 1) / (1 + maxClockDrift)) ticks from the heartbeat a quorum answered, and
 * is given up for the rest of a term once a leadership transfer starts.
 */
export * from './types.js';
export { nodeDisk, type Disk, type FileHandle } from './disk.js';
export { RawNode } from './raw-node.js';
export { MemoryStorage } from './storage-memory.js';
export { FileStorage, type FileStorageOptions, type Recovery } from './storage-file.js';
export { RaftDriver, ProposalTooLargeError, type RaftDriverOptions, type DriverClock, type Committed } from './driver.js';
export { encodeConfChange, decodeConfChange } from './membership.js';
export { MAX_ENTRY_DATA_BYTES } from './record.js';
export { splitSnapshot, SnapshotAssembly, validateSnapshotChunk, SnapshotChunkError, DEFAULT_MAX_SNAPSHOT_BYTES, type SnapshotChunk, type SnapshotChunkProblem, type SnapshotAssemblyOptions } from './snapshot-chunks.js';
// The simulator's seeded random streams and event queue: the cluster simulator (src/simulation)
// runs on the same virtual time.
export { SimRandom } from './sim/random.js';
export { EventQueue, type SimEvent } from './sim/events.js';

/**
 * The Raft simulator's command line (`npm run sim -- --layer raft`), loaded when called: the
 * simulator is large, and a process that imports this room for its Raft never needs it.
 */
export async function runRaftSimulator(argv: string[]): Promise<number> {
  const { main } = await import('./sim/command.js');
  return main(argv);
}
