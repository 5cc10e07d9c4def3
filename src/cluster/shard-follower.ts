/**
 * A node following the replicated shard map. A shard the map gives this node is gained: its fence
 * row is raised to the map's epoch first (which waits for, and then fences, every write of the
 * previous owner), then the node routes it here and wakes what it holds. A shard the map takes away
 * is lost: routing moves to the new owner and its actors here passivate. Changes are handled one
 * at a time, in the map's order; one that fails (the database away mid-raise) is tried again with
 * backoff, since a stable cluster may apply no new entry to prompt it.
 *
 * While the shard lease has lapsed (no quorum for KICI_CLUSTER_SHARD_LEASE_MS, see shard-lease.ts)
 * the node is suspended: its shards route nowhere here and their actors passivate, without any
 * change to the replicated map; gains wait. Once a quorum is back it follows the latest map as if
 * every shard it owns were gained again: raising a row to the epoch it already holds changes
 * nothing, and what the shards hold is woken again.
 *
 * The owner also sweeps its shards now and then for what other nodes left behind (they died, or
 * were fenced off, half-way): nobody else would pick it up while the shard stays put.
 *
 * What a shard holds (runs, deliveries) is not this room's business: the node supplies it as ports,
 * and the orchestrator and the cluster simulator run this same code.
 */
import type { Clock } from '../clock/index.js';
import type { ShardOwnership as Owner } from './cluster-state.js';
import { ShardLease } from './shard-lease.js';
import type { ShardTable } from './shard-table.js';

export interface ShardFollowerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ShardGain {
  shard: number;
  epoch: number;
}

export interface ShardFollowerPorts {
  nodeId: string;
  table: ShardTable;
  clock: Clock;
  log: ShardFollowerLog;
  /** Passivate the actors of a shard this node no longer acts on. */
  passivate(shard: number): Promise<void>;
  /** Raise the shards' fence rows to these epochs; resolves with the shards raised (not those already beyond). */
  raise(gains: readonly ShardGain[]): Promise<number[]>;
  /**
   * Wake what the gained shards hold (their unfinished runs); `taken` are those another node held
   * until now. Resolves with how many runs were woken and how many of them were taken over.
   */
  wake(shards: number[], taken: ReadonlySet<number>): Promise<{ runs: number; reclaimed: number }>;
  /** After a gain, once its runs are woken: pick up what else the shards hold (deliveries). Best effort. */
  afterGain?(shards: number[]): Promise<void>;
  /** Every `everyMs`, on the owned shards while the lease holds: pick up what other nodes left behind. */
  sweep?: { everyMs: number; run(shards: number[]): Promise<void> };
  /** The shard lease; absent, the node always acts on what the map gives it (a node with no peers to lose). */
  lease?: { ms: number; checkMs: number; inQuorum(): boolean };
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
 * The owner a suspended node routes its shards to: no node. A message sent here for one of them
 * waits in the actor links' retries until the lease is back (or the map names another owner), and
 * a peer sending here hears "moved" with no owner named, so it looks in its own map again.
 */
const UNROUTED = '';

export class ShardFollower {
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

  constructor(private readonly p: ShardFollowerPorts) {
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
    if (p.sweep) this.scheduleSweep(p.sweep);
  }

  /** Follow a new version of the map; resolves once this node has acted on it (and on every earlier one). */
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
    const { nodeId, table } = this.p;
    const gained: ShardGain[] = [];
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
    await Promise.all(lost.map((shard) => this.p.passivate(shard)));
    for (const shard of lost) this.p.onMoved?.(shard, false);
    if (lost.length) this.p.log.info({ shards: span(lost) }, 'shards lost to other nodes: their actors here passivated');
    if (gained.length) await this.gain(gained);
    this.p.onOwned?.(this.owned.size);
  }

  private async gain(gained: ShardGain[]): Promise<void> {
    const raised = new Set(await this.p.raise(gained));
    const acting = gained.filter((g) => raised.has(g.shard));
    const passed = gained.filter((g) => !raised.has(g.shard));
    if (passed.length) this.p.log.warn({ shards: span(passed.map((g) => g.shard)) }, 'shards the map gives this node are at a later epoch in the database: not acting on them');
    // Shards another node held until now: what they hold are that node's orphans. A shard this
    // node held through a lapse of its lease (routed nowhere meanwhile) is its own.
    const heldBefore = (shard: number) => {
      const node = this.p.table.ownerOf(shard)?.node;
      return node === this.p.nodeId || node === UNROUTED;
    };
    const taken = new Set(acting.filter((g) => !heldBefore(g.shard)).map((g) => g.shard));
    for (const g of acting) this.p.table.assign(g.shard, { node: this.p.nodeId, epoch: g.epoch });
    if (acting.length === 0) return;
    const shards = acting.map((g) => g.shard);
    const woken = await this.p.wake(shards, taken);
    // Owned only once its runs are woken: a failure before this is retried as a gain again.
    for (const g of acting) {
      this.owned.set(g.shard, g.epoch);
      this.p.onMoved?.(g.shard, true);
    }
    if (woken.reclaimed) this.p.onReclaimed?.(woken.reclaimed);
    this.p.log.info({ shards: span(shards), runs: woken.runs }, woken.runs ? 'shards gained: resuming unfinished runs' : 'shards gained');
    await this.p.afterGain?.(shards);
  }

  /** The lease lapsed: stop acting on every shard, leaving the replicated map as it is. */
  private suspend(silentMs: number): void {
    void this.enqueue(
      async () => {
        const shards = [...this.owned.keys()];
        for (const [shard, epoch] of this.owned) this.p.table.assign(shard, { node: UNROUTED, epoch });
        this.owned.clear();
        await Promise.all(shards.map((shard) => this.p.passivate(shard)));
        this.p.onOwned?.(0);
        this.p.log.warn(
          { shards: shards.length, silentMs: Math.round(silentMs), leaseMs: this.p.lease?.ms },
          'shard lease lapsed: no quorum heard from; this node stops acting on its shards until it is in touch with one again',
        );
      },
      (e) => this.p.log.error({ err: e.message }, 'suspending the shards failed'),
    );
  }

  /** A quorum again: act on what the latest map gives this node, as on a gain. */
  private reinstate(): void {
    this.p.log.info({ shards: [...this.latest.values()].filter((o) => o.node === this.p.nodeId).length }, 'shard lease renewed: in touch with a quorum again; following the latest shard map');
    void this.follow(this.latest);
  }

  /** In the queue, so a sweep never races a change of the shards it sweeps. */
  private scheduleSweep(sweep: { everyMs: number; run(shards: number[]): Promise<void> }): void {
    const tick = () => {
      if (this.stopped) return;
      const swept = async () => {
        if (this.acting()) await sweep.run([...this.owned.keys()]);
      };
      void this.enqueue(swept, (e) => this.p.log.warn({ err: e.message }, 'the sweep for what other nodes left behind failed; it comes back'))
        .finally(() => {
          if (!this.stopped) this.stopSweep = this.p.clock.setTimer(sweep.everyMs, tick);
        });
    };
    this.stopSweep = this.p.clock.setTimer(sweep.everyMs, tick);
  }
}

/** `0-3,7,9-12`: a list of shards as a reader scans it. */
export function span(shards: readonly number[]): string {
  const sorted = [...shards].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
