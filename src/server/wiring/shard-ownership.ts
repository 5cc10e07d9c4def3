/**
 * This node following the replicated shard map. A shard the map gives this node is gained: its
 * row in PostgreSQL is raised to the map's epoch first (which waits for, and then fences, every
 * write of the previous owner), then the node routes it here and wakes every unfinished run in it
 * from the store. A shard the map takes away is lost: routing moves to the new owner and its
 * actors here passivate. Changes are handled one batch at a time, in the map's order.
 */
import type { ActorSystem } from '../../actors/index.js';
import type { ShardOwnership as Owner, ShardTable } from '../../cluster/index.js';
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
  /** For retries: a change that failed (the database away) is tried again on this clock. */
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Told how many shards this node owns after each change (a metric). */
  onOwned?(count: number): void;
  /** Told of each shard gained or lost (a metric). */
  onMoved?(shard: number, gained: boolean): void;
  /** Told how many unfinished runs a gain took over from another node (orphans reclaimed, a metric). */
  onReclaimed?(runs: number): void;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

export class ShardOwnership {
  /** Shards this node acts on, with the epoch it raised them to. */
  private readonly owned = new Map<number, number>();
  private queue: Promise<void> = Promise.resolve();
  /** The newest map followed, and a pending retry of it after a failure. */
  private latest: ReadonlyMap<number, Owner> = new Map();
  private retry: (() => void) | undefined;
  private retryMs = RETRY_FIRST_MS;
  private stopped = false;

  constructor(private readonly p: ShardOwnershipParts) {}

  /**
   * Follow a new version of the map; resolves once this node has acted on it (and on every earlier
   * one). A change that fails (the database away mid-raise) is tried again with backoff until it
   * goes through: a stable cluster may apply no new entry to prompt it.
   */
  follow(map: ReadonlyMap<number, Owner>): Promise<void> {
    this.latest = map;
    this.queue = this.queue.then(() => this.apply(map)).then(
      () => {
        this.retryMs = RETRY_FIRST_MS;
      },
      (e: Error) => {
        this.p.log.error({ err: e.message, retryInMs: this.retryMs }, 'shard ownership change failed; trying again');
        this.scheduleRetry();
      },
    );
    return this.queue;
  }

  /** No more retries; resolves once the change in hand is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.();
    await this.queue;
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry) return;
    this.retry = this.p.clock.setTimer(this.retryMs, () => {
      this.retry = undefined;
      void this.follow(this.latest);
    });
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  count(): number {
    return this.owned.size;
  }

  private async apply(map: ReadonlyMap<number, Owner>): Promise<void> {
    const { nodeId, table, system } = this.p;
    const gained: { shard: number; epoch: number }[] = [];
    const lost: number[] = [];
    for (const [shard, owner] of map) {
      if (owner.node === nodeId) {
        if (this.owned.get(shard) !== owner.epoch) gained.push({ shard, epoch: owner.epoch });
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
    // Shards another node held until now: their unfinished runs are that node's orphans.
    const taken = new Set(acting.filter((g) => this.p.table.ownerOf(g.shard)?.node !== this.p.nodeId).map((g) => g.shard));
    for (const g of acting) this.p.table.assign(g.shard, { node: this.p.nodeId, epoch: g.epoch });
    if (acting.length === 0) return;
    const runs = await this.p.store.runs.listNonTerminal({ shards: acting.map((g) => g.shard) });
    await this.p.admission.restore(admissionRuns(runs));
    // Owned only once its runs are woken: a failure before this is retried as a gain again.
    for (const g of acting) {
      this.owned.set(g.shard, g.epoch);
      this.p.onMoved?.(g.shard, true);
    }
    const reclaimed = runs.filter((r) => taken.has(r.shard)).length;
    if (reclaimed) this.p.onReclaimed?.(reclaimed);
    this.p.log.info({ shards: acting.length, runs: runs.length }, runs.length ? 'shards gained: resuming unfinished runs' : 'shards gained');
  }
}
