import type { SimCluster } from './cluster.js';

/**
 * Samples, every few virtual ms, whether a node still holds its quorum lease while another node
 * leads a later term: the window in which a deposed coordinator could still act. It must close
 * within one election timeout (a paused node does nothing, so it is not counted while paused).
 */
export class LeaseWatch {
  worst = 0;
  private since = -1;
  private static readonly EVERY_MS = 10;

  constructor(
    private readonly cluster: SimCluster,
    private readonly bound: number,
  ) {}

  start(): void {
    const sample = (): void => {
      this.sample();
      this.cluster.queue.schedule(LeaseWatch.EVERY_MS, sample);
    };
    this.cluster.queue.schedule(LeaseWatch.EVERY_MS, sample);
  }

  private sample(): void {
    const c = this.cluster;
    const now = c.now;
    if (this.overlap()) {
      if (this.since < 0) this.since = now;
      const len = now - this.since;
      if (len > this.worst) this.worst = len;
      if (len > this.bound && len - LeaseWatch.EVERY_MS <= this.bound) {
        c.checker.fail('lease', `a deposed leader kept its quorum lease ${len} ms after a newer leader took over`);
      }
    } else {
      this.since = -1;
    }
  }

  private overlap(): boolean {
    let leaseTerm = Infinity;
    let newest = -1;
    for (const h of this.cluster.hosts) {
      if (!h.isLeader || h.state !== 'up') continue;
      const term = h.status()?.term ?? 0;
      if (term > newest) newest = term;
      if (term < leaseTerm && h.hasLease()) leaseTerm = term;
    }
    return leaseTerm < newest;
  }
}
