import type { SimCluster } from './cluster.js';

/**
 * The lease, checked with zero tolerance: every few virtual ms, ask each running leader whether
 * it believes its quorum lease, through the host, so time elapsed since its last tick is counted
 * first (as production does before answering). A leader that believes it while a leader of a
 * later term has been elected is a violation: the lease is the promise that no such leader can
 * exist, and a coordinator acting on it would act as a deposed leader. A paused process answers
 * nothing, so it is not asked; it counts its ticks when it wakes, before it answers anything.
 *
 * `worst` is the longest such overlap seen (0 unless something is wrong).
 */
export class LeaseWatch {
  worst = 0;
  samples = 0;
  private since = -1;
  private sampling = false;
  private static readonly EVERY_MS = 10;

  constructor(private readonly cluster: SimCluster) {}

  /**
   * Sampling runs only while a deposed leader exists (a node that still leads a term older than
   * the newest elected one, running or paused): each election may create one.
   */
  start(): void {
    this.cluster.onElection.push(() => this.wake());
  }

  private wake(): void {
    if (this.sampling) return;
    this.sampling = true;
    this.cluster.queue.schedule(0, () => this.tick());
  }

  private tick(): void {
    if (!this.sample()) {
      this.sampling = false;
      this.since = -1;
      return;
    }
    this.cluster.queue.schedule(LeaseWatch.EVERY_MS, () => this.tick());
  }

  /** One sample; false when no deposed leader is left to watch. */
  private sample(): boolean {
    const c = this.cluster;
    let watched = false;
    let deposed: { node: number; term: number } | null = null;
    for (const h of c.hosts) {
      if (!h.isLeader) continue;
      const term = h.status()?.term ?? 0;
      if (term >= c.newestLeaderTerm) continue;
      watched = true;
      if (h.state !== 'up' || deposed !== null) continue;
      this.samples++;
      if (h.hasLease()) deposed = { node: h.id, term };
    }
    if (deposed === null) {
      this.since = -1;
      return watched;
    }
    const now = c.now;
    if (this.since < 0) {
      this.since = now;
      c.checker.fail(
        'lease',
        `n${deposed.node} (leader of term ${deposed.term}) believes its quorum lease, but a leader of term ${c.newestLeaderTerm} has been elected`,
      );
    }
    this.worst = Math.max(this.worst, now - this.since + LeaseWatch.EVERY_MS);
    return true;
  }
}
