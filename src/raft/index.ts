/**
 * The raft room's door. Stands alone: imports only `node:` built-ins and its own files.
 *
 * Shape (etcd-raft's): RawNode is a pure state machine (tick/step in, Ready batches out);
 * RaftDriver owns its clock, its storage and the Ready order (persist + fsync, send, apply,
 * advance); MemoryStorage and FileStorage are the two WritableLogStorage implementations.
 *
 * Membership: a new cluster's storage is created with its initial ConfState (the voters). A node
 * joining later is created with the membership as it will be once its addition is applied
 * (current voters, itself as learner or voter); it then learns the log (or a snapshot) from the
 * leader. Changes are proposed one at a time and take effect when applied (applyConfChange;
 * RaftDriver does this itself). Removed ids are remembered in ConfState.removed and never return.
 */
export * from './types.js';
export { RawNode } from './raw-node.js';
export { MemoryStorage } from './storage-memory.js';
export { FileStorage, type FileStorageOptions, type Recovery } from './storage-file.js';
export { RaftDriver, type RaftDriverOptions, type DriverClock, type Committed } from './driver.js';
export { encodeConfChange, decodeConfChange } from './membership.js';
