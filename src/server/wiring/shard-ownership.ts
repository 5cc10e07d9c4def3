/**
 * This node following the replicated shard map. A shard the map gives this node is gained: its
 * row in PostgreSQL is raised to the map's epoch first (which waits for, and then fences, every
 * write of the previous owner), then the node routes it here, wakes every unfinished run in it
 * from the store, and resumes its deliveries left `received`. A shard the map takes away is lost:
 * routing moves to the new owner and its actors here passivate. Changes are handled one batch at
 * a time, in the map's order.
 *
 * While the shard lease has lapsed (no quorum for KICI_CLUSTER_SHARD_LEASE_MS, see cluster/shard-lease.ts)
 * the node is suspended: its shards route nowhere here and their actors passivate, without any
 * change to the replicated map; gains wait. Once a quorum is back it follows the latest map as if
 * every shard it owns were gained again: raising a row to the epoch it already holds changes
 * nothing, and the runs are woken from the store.
 *
 * The owner also sweeps its shards now and then for deliveries another node accepted and left
 * `received` (it died, or its run creation was fenced off): nobody else would resume them while
 * the shard stays put.
 */
import type { ActorSystem } from '../../actors/index.js';
import { ShardLease, type ShardOwnership as Owner, type ShardTable } from '../../cluster/index.js';
import type { RunAdmission } from '../../runs/index.js';
import type { Store } from '../../store/index.js';
import type { Clock } from '../../clock/index.js';
import type { Logger } from '../logger.js';
import { admissionRuns } from './run-domain.js';

export interface ShardOwnershipParts {
  nodeId: string;
  table: ShardTable;
  system: ActorSystem;
  store: Pick<Store, 'shards' | 'runs'>;
  admission: RunAdmission;
  /** For retries, the lease and the sweep: a change that failed (the database away) is tried again on this clock. */
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * Queue the deliveries of `shards` still `received` (only those received before `receivedBefore`,
   * when given); resolves with how many. Absent: this node resumes no deliveries.
   */
  resumeDeliveries?(shards: number[], receivedBefore?: Date): Promise<number>;
  /** The shard lease; absent, the node always acts on what the map gives it (a node with no peers to lose). */
  lease?: { ms: number; checkMs: number; inQuorum(): boolean };
  /** How often the owned shards are swept for deliveries left behind, and how old "left behind" is. */
  deliverySweep?: { everyMs: number; leftBehindMs: number };
  /** Told how many shards this node owns after each change (a metric). */
  onOwned?(count: number): void;
  /** Told of each shard gained or lost (a metric). */
  onMoved?(shard: number, gained: boolean): void;
  /** Told how many unfinished runs a gain took over from another node (orphans reclaimed, a metric). */
  onReclaimed?(runs: number): void;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;
/**
 * The node that accepted a delivery normally finishes it within seconds; one still `received` after
 * half a minute was most likely left behind. Resuming one that is merely slow (a first clone of a
 * large repository) is harmless, since processing is idempotent: only the work is done twice.
 */
const DELIVERY_SWEEP = { everyMs: 10_000, leftBehindMs: 30_000 };
/**
 * The owner a suspended node routes its shards to: no node. A message sent here for one of them
 * waits in the actor links' retries until the lease is back (or the map names another owner), and
 * a peer sending here hears "moved" with no owner named, so it looks in its own map again.
 */
const UNROUTED = '';

export class ShardOwnership {
  /** Shards this node acts on, with the epoch it raised them to. */
  private readonly owned = new Map<number, number>();
  private queue: Promise<void> = Promise.resolve();
  /** The newest map followed, and a pending retry of it after a failure. */
  private latest: ReadonlyMap<number, Owner> = new Map();
  private retry: (() => void) | undefined;
  private retryMs = RETRY_FIRST_MS;
  private stopped = false;
  private readonly lease: ShardLease | undefined;
  private stopSweep: (() => void) | undefined;

  constructor(private readonly p: ShardOwnershipParts) {
    if (p.lease) {
      this.lease = new ShardLease({
        clock: p.clock,
        leaseMs: p.lease.ms,
        checkMs: p.lease.checkMs,
        inQuorum: p.lease.inQuorum,
        onLapse: (silentMs) => this.suspend(silentMs),
        onRenew: () => this.reinstate(),
      });
      this.lease.start();
    }
    if (p.resumeDeliveries) this.scheduleSweep(p.deliverySweep ?? DELIVERY_SWEEP);
  }

  /**
   * Follow a new version of the map; resolves once this node has acted on it (and on every earlier
   * one). A change that fails (the database away mid-raise) is tried again with backoff until it
   * goes through: a stable cluster may apply no new entry to prompt it.
   */
  follow(map: ReadonlyMap<number, Owner>): Promise<void> {
    this.latest = map;
    const applied = async () => {
      await this.apply(map);
      this.retryMs = RETRY_FIRST_MS;
    };
    return this.enqueue(applied, (e) => {
      this.p.log.error({ err: e.message, retryInMs: this.retryMs }, 'shard ownership change failed; trying again');
      this.scheduleRetry();
    });
  }

  /** No more retries, lease checks or sweeps; resolves once the change in hand is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.();
    this.lease?.stop();
    this.stopSweep?.();
    await this.queue;
  }

  /** Resolves once every change queued so far is done (tests). */
  settled(): Promise<void> {
    return this.queue;
  }

  count(): number {
    return this.owned.size;
  }

  /** Does this node act on its shards now (its lease holds)? */
  acting(): boolean {
    return this.lease?.held() ?? true;
  }

  /** One change at a time, in order; a failed one is reported and never stops the ones after it. */
  private enqueue(step: () => Promise<void>, failed: (e: Error) => void): Promise<void> {
    this.queue = this.queue.then(step).catch(failed);
    return this.queue;
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry) return;
    this.retry = this.p.clock.setTimer(this.retryMs, () => {
      this.retry = undefined;
      void this.follow(this.latest);
    });
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private async apply(map: ReadonlyMap<number, Owner>): Promise<void> {
    const { nodeId, table, system } = this.p;
    const gained: { shard: number; epoch: number }[] = [];
    const lost: number[] = [];
    const acting = this.acting();
    for (const [shard, owner] of map) {
      if (owner.node === nodeId) {
        // Suspended: gains wait for the lease (the renewal follows the latest map again).
        if (acting && this.owned.get(shard) !== owner.epoch) gained.push({ shard, epoch: owner.epoch });
        continue;
      }
      table.assign(shard, owner);
      if (this.owned.delete(shard)) lost.push(shard);
    }
    // Together: one actor slow to finish its message must not hold up the rest, or the gains after.
    await Promise.all(lost.map((shard) => system.passivateShard(shard)));
    for (const shard of lost) this.p.onMoved?.(shard, false);
    if (lost.length) this.p.log.info({ shards: lost.length }, 'shards lost to other nodes: their actors here passivated');
    if (gained.length) await this.gain(gained);
    this.p.onOwned?.(this.owned.size);
  }

  private async gain(gained: { shard: number; epoch: number }[]): Promise<void> {
    const raised = new Set(await this.p.store.shards.raise(this.p.nodeId, gained));
    const acting = gained.filter((g) => raised.has(g.shard));
    const passed = gained.filter((g) => !raised.has(g.shard));
    if (passed.length) this.p.log.warn({ shards: passed.map((g) => g.shard) }, 'shards the map gives this node are at a later epoch in the database: not acting on them');
    // Shards another node held until now: their unfinished runs are that node's orphans. A shard
    // this node held through a lapse of its lease (routed nowhere meanwhile) is its own.
    const heldBefore = (shard: number) => {
      const node = this.p.table.ownerOf(shard)?.node;
      return node === this.p.nodeId || node === UNROUTED;
    };
    const taken = new Set(acting.filter((g) => !heldBefore(g.shard)).map((g) => g.shard));
    for (const g of acting) this.p.table.assign(g.shard, { node: this.p.nodeId, epoch: g.epoch });
    if (acting.length === 0) return;
    const shards = acting.map((g) => g.shard);
    const runs = await this.p.store.runs.listNonTerminal({ shards });
    await this.p.admission.restore(admissionRuns(runs));
    // Owned only once its runs are woken: a failure before this is retried as a gain again.
    for (const g of acting) {
      this.owned.set(g.shard, g.epoch);
      this.p.onMoved?.(g.shard, true);
    }
    const reclaimed = runs.filter((r) => taken.has(r.shard)).length;
    if (reclaimed) this.p.onReclaimed?.(reclaimed);
    this.p.log.info({ shards: acting.length, runs: runs.length }, runs.length ? 'shards gained: resuming unfinished runs' : 'shards gained');
    await this.resumeDeliveries(shards);
  }

  /**
   * The deliveries of `shards` left `received`. Best effort: the shards are this node's whatever
   * happens here, and the sweep comes back for whatever a failure leaves.
   */
  private async resumeDeliveries(shards: number[], receivedBefore?: Date): Promise<void> {
    if (!this.p.resumeDeliveries || shards.length === 0) return;
    try {
      const resumed = await this.p.resumeDeliveries(shards, receivedBefore);
      if (resumed) this.p.log.info({ deliveries: resumed, shards: shards.length }, receivedBefore ? 'resuming deliveries other nodes left unprocessed' : 'resuming deliveries left unprocessed');
    } catch (e) {
      this.p.log.warn({ err: (e as Error).message }, 'deliveries left unprocessed could not be listed; the sweep tries again');
    }
  }

  /** The lease lapsed: stop acting on every shard, leaving the replicated map as it is. */
  private suspend(silentMs: number): void {
    void this.enqueue(
      async () => {
        const shards = [...this.owned.keys()];
        for (const [shard, epoch] of this.owned) this.p.table.assign(shard, { node: UNROUTED, epoch });
        this.owned.clear();
        await Promise.all(shards.map((shard) => this.p.system.passivateShard(shard)));
        this.p.onOwned?.(0);
        this.p.log.warn({ shards: shards.length, silentMs, leaseMs: this.p.lease?.ms }, 'shard lease lapsed: no quorum heard from; this node stops acting on its shards until it is in touch with one again');
      },
      (e) => this.p.log.error({ err: e.message }, 'suspending the shards failed'),
    );
  }

  /** A quorum again: act on what the latest map gives this node, as on a gain. */
  private reinstate(): void {
    this.p.log.info({ shards: [...this.latest.values()].filter((o) => o.node === this.p.nodeId).length }, 'shard lease renewed: in touch with a quorum again; following the latest shard map');
    void this.follow(this.latest);
  }

  private scheduleSweep(sweep: { everyMs: number; leftBehindMs: number }): void {
    const tick = () => {
      if (this.stopped) return;
      void this.sweep(sweep.leftBehindMs).finally(() => {
        if (!this.stopped) this.stopSweep = this.p.clock.setTimer(sweep.everyMs, tick);
      });
    };
    this.stopSweep = this.p.clock.setTimer(sweep.everyMs, tick);
  }

  /**
   * What other nodes left behind in the owned shards, older than `leftBehindMs`: deliveries still
   * `received`, and runs still `pending` (their creator recorded them, then died before its `start`
   * reached this node; nothing else would start them while the shard stays put).
   */
  private async sweep(leftBehindMs: number): Promise<void> {
    if (!this.acting()) return;
    const shards = [...this.owned.keys()];
    const before = this.p.clock.now() - leftBehindMs;
    await this.resumeDeliveries(shards, new Date(before));
    const pending = (await this.p.store.runs.listNonTerminal({ shards })).filter((r) => r.status === 'pending' && r.createdAt.getTime() < before);
    if (pending.length === 0) return;
    this.p.log.info({ runs: pending.length }, 'starting runs other nodes created and left pending');
    // Idempotent: a start that was only late finds the run started; a grouped run is admitted once.
    await this.p.admission.restore(admissionRuns(pending));
  }
}
