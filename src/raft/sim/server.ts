/**
 * What the cluster needs of one simulated server, whichever way it drives the core: SimHost
 * (RawNode under the simulator's own ready loop, with fsync latency) or DriverHost (the
 * production RaftDriver on the virtual clock).
 */
import type { ConfChange, Message, NodeId, RaftStatus } from '../types.js';
import type { SimStorage } from './storage.js';

export type HostState = 'up' | 'paused' | 'crashed';

export interface SimServer {
  readonly id: NodeId;
  readonly state: HostState;
  readonly storage: SimStorage;
  readonly isLeader: boolean;
  /** Status of the running core, or null while crashed (or not started yet). */
  status(): RaftStatus | null;
  /** One clock tick from the cluster; a server that owns its timers ignores it. */
  tick(): void;
  receive(msg: Message): void;
  /** A client hands this node a proposal; false when the node is down. */
  propose(id: string, data: Uint8Array): boolean;
  transfer(to: NodeId): void;
  /** Ask this node, if it leads, to propose a membership change (dropped otherwise). */
  proposeConfChange(cc: ConfChange): void;
  hasLease(): boolean;
  pause(): void;
  resume(): void;
  crash(): void;
  restart(): void;
}
