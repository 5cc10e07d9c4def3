/**
 * The one place the simulator touches the core: the RawNode it drives. Kept behind a small
 * interface so the simulator states exactly which part of the core's API it relies on.
 */
import { RawNode } from '../index.js';
import type { ConfChange, ConfState, Message, RaftConfig, RaftStatus, Ready } from '../types.js';

export interface CoreNode {
  tick(): void;
  step(m: Message): void;
  campaign(): void;
  propose(data: Uint8Array): { index: number; term: number } | void;
  hasReady(): boolean;
  ready(): Ready;
  advance(): void;
  status(): RaftStatus;
  transferLeadership(to: number): void;
  proposeConfChange(cc: ConfChange): { index: number; term: number } | void;
  applyConfChange(cc: ConfChange): ConfState;
  hasQuorumLease(): boolean;
  /** Ask for a linearizable read point; the answer comes back in Ready.readStates. */
  readIndex(context: string): void;
}

export type CoreFactory = (config: RaftConfig) => CoreNode;

export const rawNodeFactory: CoreFactory = (config) => new RawNode(config);
