/**
 * The leadership port: who coordinates the cluster. Coordinator duties (stale scans, hold expiry,
 * orphan reclaim) run only while `isLeader()` and stamp `term()` on what they write. `ClusterRaft.leadership()` is
 * the real one; `SingleNodeLeadership` (always "leader, term 1") serves tests of duties alone.
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
