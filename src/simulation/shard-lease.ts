/**
 * The shard lease (DESIGN §4), as src/server/wiring/shard-lease.ts keeps it: a node that has not
 * been in touch with a quorum for `leaseMs` stops acting on its shards, and takes them up again
 * once it is. The lease runs out before the leader judges the node dead, so a node cut off from
 * the majority has stopped dispatching before anyone else starts. Time is measured between checks,
 * never counted in checks.
 */
import type { Clock } from '../clock/index.js';

export interface ShardLeaseOptions {
  clock: Clock;
  leaseMs: number;
  checkMs: number;
  inQuorum(): boolean;
  onLapse(silentMs: number): void;
  onRenew(): void;
}

export class ShardLease {
  private lastContact: number;
  private holds: boolean;

  constructor(private readonly o: ShardLeaseOptions) {
    // A node that starts without a quorum (a member restarting alone) does not act until it has one.
    this.holds = o.inQuorum();
    this.lastContact = o.clock.now();
  }

  held(): boolean {
    return this.holds;
  }

  start(): void {
    const tick = () => {
      this.check();
      this.o.clock.setTimer(this.o.checkMs, tick);
    };
    this.o.clock.setTimer(this.o.checkMs, tick);
  }

  private check(): void {
    const now = this.o.clock.now();
    if (this.o.inQuorum()) {
      this.lastContact = now;
      if (this.holds) return;
      this.holds = true;
      this.o.onRenew();
      return;
    }
    const silentMs = now - this.lastContact;
    if (!this.holds || silentMs < this.o.leaseMs) return;
    this.holds = false;
    this.o.onLapse(silentMs);
  }
}
