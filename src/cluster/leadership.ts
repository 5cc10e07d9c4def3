/**
 * The leadership port: who coordinates the cluster. Coordinator duties (stale scans, hold expiry,
 * orphan reclaim) run only while `isLeader()` and stamp `term()` on what they write. A cluster of
 * one always answers "leader, term 1"; the Raft-backed implementation replaces it later.
 */
export interface Leadership {
  isLeader(): boolean;
  term(): number;
  /** Called with the new state whenever leadership changes; returns an unsubscribe function. */
  onChange(listener: (leader: boolean, term: number) => void): () => void;
}

export class SingleNodeLeadership implements Leadership {
  isLeader(): boolean {
    return true;
  }

  term(): number {
    return 1;
  }

  onChange(): () => void {
    return () => {};
  }
}
