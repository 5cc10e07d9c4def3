/**
 * Majority arithmetic over the voters only (learners never count).
 */
import type { NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

// Reused between calls: the leader computes its commit index after every acknowledgement.
const scratch: number[] = [];

/** The highest index that a majority of voters have: the quorum's committed index. */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  const n = voters.length;
  if (n === 0) return 0;
  scratch.length = n;
  for (let i = 0; i < n; i++) scratch[i] = matchOf(voters[i]);
  scratch.sort((a, b) => b - a);
  return scratch[majority(n) - 1];
}

/** Tally of granted and rejected votes. `votes` holds only the answers received so far. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}

/** Whether a majority of voters satisfy `ok` (check-quorum, leases, read-index acks). */
export function hasQuorum(voters: readonly NodeId[], ok: (id: NodeId) => boolean): boolean {
  let count = 0;
  for (const id of voters) if (ok(id)) count++;
  return voters.length > 0 && count >= majority(voters.length);
}
