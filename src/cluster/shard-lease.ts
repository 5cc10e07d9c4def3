/**
 * The shard lease (DESIGN §4): an owner that has not been in touch with a quorum for
 * KICI_CLUSTER_SHARD_LEASE_MS stops acting on its shards. The leader will hand them to live
 * coordinators once it has judged this node dead (KICI_CLUSTER_PEER_STALE_TIMEOUT_MS without a
 * link), and the lease is configured to run out before that, so a node cut off from the majority
 * has stopped dispatching before anyone else starts. The store's fence stops its writes anyway;
 * the lease stops what the fence cannot see (frames to agents, timers firing).
 *
 * Contact is judged every check (a Raft heartbeat): the leader is in touch while its Raft lease
 * holds, a follower while it follows a leader whose link is up (`ClusterNode.unreadyReason`). Time
 * is measured on the clock between checks, never counted in checks, so a stalled event loop
 * cannot stretch the lease: the first check after a stall sees the whole silence.
 */
import type { Clock } from '../clock/index.js';

export interface ShardLeaseOptions {
  clock: Clock;
  /** How long this node may go without a quorum before it stops acting on its shards. */
  leaseMs: number;
  /** How often contact is judged. */
  checkMs: number;
  /** Is this node in touch with a quorum right now? */
  inQuorum(): boolean;
  /** No quorum for `silentMs` (≥ leaseMs): stop acting on the shards. */
  onLapse(silentMs: number): void;
  /** In touch with a quorum again after a lapse (or for the first time, for a node that started without one). */
  onRenew(): void;
}

export class ShardLease {
  private lastContact: number;
  private holds: boolean;
  private cancel: (() => void) | undefined;

  constructor(private readonly o: ShardLeaseOptions) {
    // A node that starts without a quorum (a member restarting alone) does not act until it has one.
    this.holds = o.inQuorum();
    this.lastContact = o.clock.now();
  }

  /** Does this node act on its shards now? */
  held(): boolean {
    return this.holds;
  }

  start(): void {
    if (this.cancel) return;
    const tick = () => {
      this.check();
      this.cancel = this.o.clock.setTimer(this.o.checkMs, tick);
    };
    this.cancel = this.o.clock.setTimer(this.o.checkMs, tick);
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /** Judge contact now (each check; tests may call it directly). */
  check(): void {
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
