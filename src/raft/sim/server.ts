/**
 * What the cluster needs of one simulated server, whichever way it drives the core: SimHost
 * (RawNode under the simulator's own ready loop, with fsync latency) or DriverHost (the
 * production RaftDriver on the server's own clock).
 */
import type { ConfChange, Message, NodeId, RaftStatus } from '../types.js';
import type { HostStorage } from './store.js';

/**
 * 'crashed' covers a process that is down for any reason; `failure` tells a server that stays
 * down (its storage refused to open or failed while running) from one that will be restarted.
 */
export type HostState = 'up' | 'paused' | 'crashed';

/** How a read-index request ended: the index it may read at, or undefined when it was refused. */
export type ReadDone = (index: number | undefined) => void;

export interface SimServer {
  readonly id: NodeId;
  readonly state: HostState;
  /** Why the server stopped for good (its storage failed), or null. */
  readonly failure: string | null;
  /** The storage the running (or last) process opened. */
  readonly storage: HostStorage;
  readonly isLeader: boolean;
  /** Status of the running core, or null while down (or not started yet). */
  status(): RaftStatus | null;
  receive(msg: Message): void;
  /** A client hands this node a proposal; false when the node is down. */
  propose(id: string, data: Uint8Array): boolean;
  transfer(to: NodeId): void;
  /** Ask this node, if it leads, to propose a membership change (dropped otherwise). */
  proposeConfChange(cc: ConfChange): void;
  /**
   * Does this node, running and leading, hold a quorum lease right now? Time elapsed since its
   * last tick is counted first, as production does before answering.
   */
  hasLease(): boolean;
  /** A linearizable read point, answered through `done`; false when the node is down. */
  readIndex(done: ReadDone): boolean;
  pause(): void;
  resume(): void;
  crash(): void;
  restart(): void;
}
