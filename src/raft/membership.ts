/**
 * Single-server membership changes. A change is an ordinary log entry (`conf_change`); it takes
 * effect on a node when that node applies the entry (the application calls applyConfChange), as in
 * etcd-raft. Ids are never reused: a removed id stays in `removed` and cannot come back.
 */
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.js';

const CHANGE_TYPES: readonly ConfChangeType[] = ['add_voter', 'add_learner', 'promote', 'remove'];

export function emptyConf(): ConfState {
  return { voters: [], learners: [], removed: [] };
}

export function copyConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners], removed: [...(c.removed ?? [])] };
}

export function isVoter(c: ConfState, id: NodeId): boolean {
  return c.voters.includes(id);
}

export function isLearner(c: ConfState, id: NodeId): boolean {
  return c.learners.includes(id);
}

export function isMember(c: ConfState, id: NodeId): boolean {
  return isVoter(c, id) || isLearner(c, id);
}

export function wasRemoved(c: ConfState, id: NodeId): boolean {
  return (c.removed ?? []).includes(id);
}

/** Why `cc` cannot be applied to `c`, or undefined when it can. */
export function refusal(c: ConfState, cc: ConfChange): string | undefined {
  if (!Number.isInteger(cc.node) || cc.node <= 0) return `invalid node id ${cc.node}`;
  if (wasRemoved(c, cc.node)) return `node ${cc.node} was removed; ids are never reused`;
  switch (cc.type) {
    case 'add_voter':
      return isVoter(c, cc.node) ? `node ${cc.node} is already a voter` : undefined;
    case 'add_learner':
      return isMember(c, cc.node) ? `node ${cc.node} is already a member` : undefined;
    case 'promote':
      return isLearner(c, cc.node) ? undefined : `node ${cc.node} is not a learner`;
    case 'remove':
      if (!isMember(c, cc.node)) return `node ${cc.node} is not a member`;
      if (isVoter(c, cc.node) && c.voters.length === 1) return 'cannot remove the last voter';
      return undefined;
  }
}

/**
 * The configuration after `cc`. A refused change leaves the configuration as it is: every node
 * applies the same entries in the same order, so every node refuses the same changes.
 */
export function applyChange(c: ConfState, cc: ConfChange): ConfState {
  if (refusal(c, cc) !== undefined) return copyConf(c);
  const next = copyConf(c);
  const id = cc.node;
  const without = (ids: NodeId[]) => ids.filter((x) => x !== id);
  switch (cc.type) {
    case 'add_voter':
    case 'promote':
      next.learners = without(next.learners);
      next.voters.push(id);
      break;
    case 'add_learner':
      next.learners.push(id);
      break;
    case 'remove':
      next.voters = without(next.voters);
      next.learners = without(next.learners);
      next.removed!.push(id);
      break;
  }
  return next;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Conf changes are rare and tiny: JSON text is plenty, and readable in a log dump. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const plain: ConfChange = { type: cc.type, node: cc.node };
  if (cc.context !== undefined) plain.context = cc.context;
  return encoder.encode(JSON.stringify(plain));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    throw new Error('conf change: not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new Error('conf change: not an object');
  const o = raw as Record<string, unknown>;
  if (!CHANGE_TYPES.includes(o.type as ConfChangeType)) throw new Error('conf change: unknown type');
  if (typeof o.node !== 'number' || !Number.isInteger(o.node) || o.node <= 0) {
    throw new Error('conf change: node must be a positive integer');
  }
  if (o.context !== undefined && typeof o.context !== 'string') {
    throw new Error('conf change: context must be a string');
  }
  const cc: ConfChange = { type: o.type as ConfChangeType, node: o.node };
  if (o.context !== undefined) cc.context = o.context as string;
  return cc;
}
