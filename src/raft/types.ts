/**
 * The vocabulary of the Raft core, in the etcd-raft shape. This file is the contract between the
 * core (role logic, log, progress, quorum, membership), its storage, its driver and the simulator.
 * raft/ imports nothing from the rest of kici and no npm package.
 */

/** Node ids are positive integers, never reused within a cluster. 0 means "none". */
export type NodeId = number;
export const NONE: NodeId = 0;

export type Role = 'follower' | 'pre_candidate' | 'candidate' | 'leader';

export type EntryType = 'normal' | 'conf_change';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque payload. For `conf_change` it is an encoded ConfChange (see encodeConfChange). */
  data: Uint8Array;
}

/** What must be on disk before any message of the same ready batch is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Ids removed from the cluster; they can never be added back (ids are never reused). */
  removed?: NodeId[];
}

export type ConfChangeType = 'add_voter' | 'add_learner' | 'promote' | 'remove';

/** One server at a time: every change names exactly one node. */
export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
  /** Opaque context for the application (e.g. the node's address). */
  context?: string;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export type MessageType =
  | 'prevote'
  | 'prevote_resp'
  | 'vote'
  | 'vote_resp'
  | 'append'
  | 'append_resp'
  | 'heartbeat'
  | 'heartbeat_resp'
  | 'snapshot'
  | 'timeout_now';

/** A message between nodes. Fields not used by a type are left out. */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** append: term of the entry before `entries`; votes: last log term of the candidate. */
  logTerm?: number;
  /**
   * append: index of the entry before `entries`; votes: last log index; responses: match/hint;
   * heartbeat: the leader's tick count when sent, echoed in heartbeat_resp (lease accounting).
   */
  index?: number;
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  /** On a rejected append: the follower's hint for fast back-off (an index to retry from). */
  rejectHint?: number;
  /** With rejectHint: the term of the follower's entry at rejectHint (for term-based skipping). */
  rejectHintTerm?: number;
  snapshot?: Snapshot;
  /** Opaque correlation for read-index (ReadIndex) requests carried on heartbeats. */
  context?: string;
  /**
   * On a rejected append: the follower has no configuration yet (a joiner starts empty) and must
   * be sent a snapshot, even the bootstrap one at index 0, before any entry.
   */
  needSnapshot?: boolean;
}

/** Volatile state the application may watch (who leads, what we are). */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A read-index answer: reads at or after `index` applied are linearizable for `context`. */
export interface ReadState {
  index: number;
  context: string;
}

/**
 * One batch of work the driver must do, in this order: persist `snapshot`, `entries` and
 * `hardState` (fsync), then send `messages`, then apply `committedEntries`, then call advance().
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  messages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
}

/** Read side of the stable log, as the core needs it. Implementations: memory, file. */
export interface LogStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi). Throws CompactedError if lo is below firstIndex(). */
  entries(lo: number, hi: number): Entry[];
  /** Term of entry i; for the snapshot's index, the snapshot's term. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** Write side, used by the driver (never by the core). */
export interface WritableLogStorage extends LogStorage {
  append(entries: Entry[]): void;
  setHardState(hs: HardState): void;
  applySnapshot(snap: Snapshot): void;
  /** Drop entries up to and including `index`, keeping a snapshot taken at `index`. */
  compact(index: number, snapshotData: Uint8Array, conf: ConfState): void;
  /** Durability barrier: after it returns, everything written is on stable storage. */
  sync(): void;
}

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns (randomised in [e, electionTickMax)). */
  electionTick: number;
  /** Upper bound (exclusive) of the randomised election timeout; default 2 × electionTick. */
  electionTickMax?: number;
  /** Ticks between leader heartbeats. */
  heartbeatTick: number;
  storage: LogStorage;
  /** Injected randomness: returns a float in [0, 1). */
  random: () => number;
  preVote?: boolean; // default true
  checkQuorum?: boolean; // default true
  /** Cap on in-flight append messages per follower (flow control). Default 256. */
  maxInflight?: number;
  /** Cap on entries per append message. Default 64. */
  maxEntriesPerMsg?: number;
  /** Cap on entry data per append message, in bytes (one entry always fits). Default 1 MiB. */
  maxBytesPerMsg?: number;
  /**
   * The leader refuses proposals while this many bytes of its own entries are not yet committed
   * (a follower outage must not grow the log without bound). Default 64 MiB.
   */
  maxUncommittedBytes?: number;
  /** Committed entries are handed out in pages of at most this many bytes per Ready. Default 16 MiB. */
  maxCommittedBytesPerReady?: number;
  /** Index of the last applied entry on restart (default: snapshot index). */
  applied?: number;
  /**
   * How far apart two nodes' clock rates may be, as a fraction (default 0.1: one node's election
   * timeout may pass up to 10% sooner than another's). The leader's lease keeps that margin.
   */
  maxClockDrift?: number;
}

export class CompactedError extends Error {
  constructor(index: number) {
    super(`raft log compacted below index ${index}`);
  }
}

export class ProposalDroppedError extends Error {
  constructor(reason: string) {
    super(`proposal dropped: ${reason}`);
  }
}

/**
 * The storage can no longer be trusted to hold what it acknowledged (a failed fsync, a write it
 * could not undo, a damaged log found on open). The node must stop: retrying would act as if
 * lost data were durable. A driver that sees it stops and reports it; an operator repairs.
 */
export class StorageFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageFailedError';
  }
}

/** What RawNode.status() reports. */
export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  role: Role;
  leader: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  conf: ConfState;
  /** On the leader: each member's highest index known to be replicated to it (empty elsewhere). */
  match: Record<NodeId, number>;
}
