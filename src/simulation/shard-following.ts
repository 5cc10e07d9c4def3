/**
 * A simulated node following the replicated shard map, as src/server/wiring/shard-ownership.ts
 * does in the orchestrator (the simulator cannot import the composition root): a shard the map
 * gives this node is raised in the store to the map's epoch first, then routed here, and its
 * unfinished runs are woken through the run admission; a shard the map takes away is routed to its
 * new owner and its actors here passivate. One change at a time, in the map's order. While the
 * shard lease has lapsed the node routes its shards nowhere and passivates their actors; once in
 * touch with a quorum again it follows the latest map as if every shard it owns were gained again.
 *
 * Its sweep, like the orchestrator's, starts runs of owned shards left pending by a node that died
 * before its start arrived; the in-memory store keeps no creation time, so "left behind" is a run
 * seen pending by two sweeps in a row. Not here: the sweep's deliveries (the simulation has none)
 * and retries after a failed raise (the in-memory store does not fail).
 */
import type { ActorSystem } from '../actors/index.js';
import type { ShardOwnership as Owner, ShardTable } from '../cluster/index.js';
import type { MemoryRunStore, RunAdmission } from '../runs/index.js';
import type { ProcessClock } from './process-clock.js';
import { ShardLease } from '../cluster/index.js';

export interface ShardFollowingParts {
  nodeId: string;
  table: ShardTable;
  system: ActorSystem;
  store: Pick<MemoryRunStore, 'raise' | 'unfinishedRuns'>;
  admission: RunAdmission;
  clock: ProcessClock;
  lease: { ms: number; checkMs: number; inQuorum(): boolean };
  trace(line: string): void;
}

/** The owner a suspended node routes its shards to: no node. */
const UNROUTED = '';
/** As the orchestrator's sweep of what other nodes left behind (shard-ownership.ts). */
const SWEEP_EVERY_MS = 10_000;

export class ShardFollowing {
  private readonly owned = new Map<number, number>();
  private queue: Promise<void> = Promise.resolve();
  private latest: ReadonlyMap<number, Owner> = new Map();
  private readonly lease: ShardLease;
  /** Runs of owned shards the last sweep saw pending. */
  private pendingSeen = new Set<string>();

  constructor(private readonly p: ShardFollowingParts) {
    this.lease = new ShardLease({
      clock: p.clock,
      leaseMs: p.lease.ms,
      checkMs: p.lease.checkMs,
      inQuorum: p.lease.inQuorum,
      onLapse: (silentMs) => this.suspend(silentMs),
      onRenew: () => this.reinstate(),
    });
    this.lease.start();
    this.scheduleSweep();
  }

  private scheduleSweep(): void {
    this.p.clock.setTimer(SWEEP_EVERY_MS, () => {
      void this.enqueue(() => this.sweep()).finally(() => this.scheduleSweep());
    });
  }

  /** Start the owned shards' runs that two sweeps in a row have seen pending. */
  private async sweep(): Promise<void> {
    if (!this.lease.held()) return;
    const pending = this.p.store.unfinishedRuns([...this.owned.keys()]).filter((r) => r.status === 'pending');
    const left = pending.filter((r) => this.pendingSeen.has(r.id));
    this.pendingSeen = new Set(pending.map((r) => r.id));
    if (left.length === 0) return;
    this.p.trace(`starting ${left.length} runs left pending: ${left.map((r) => r.id).join(',')}`);
    await this.p.admission.restore(left.map((r) => ({ runId: r.id, status: r.status, sourceId: r.sourceId, workflowName: r.workflowName, concurrency: r.concurrency })));
  }

  follow(map: ReadonlyMap<number, Owner>): Promise<void> {
    this.latest = map;
    return this.enqueue(() => this.apply(map));
  }

  /** Shards this node acts on now. */
  count(): number {
    return this.owned.size;
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step).catch((e: Error) => this.p.trace(`shard change failed: ${e.message}`));
    return this.queue;
  }

  private async apply(map: ReadonlyMap<number, Owner>): Promise<void> {
    const { nodeId, table, system } = this.p;
    const gained: { shard: number; epoch: number }[] = [];
    const lost: number[] = [];
    const acting = this.lease.held();
    for (const [shard, owner] of map) {
      if (owner.node === nodeId) {
        if (acting && this.owned.get(shard) !== owner.epoch) gained.push({ shard, epoch: owner.epoch });
        continue;
      }
      table.assign(shard, owner);
      if (this.owned.delete(shard)) lost.push(shard);
    }
    await Promise.all(lost.map((shard) => system.passivateShard(shard)));
    if (lost.length) this.p.trace(`lost ${lost.length} shards: ${span(lost)}`);
    if (gained.length) await this.gain(gained);
  }

  private async gain(gained: { shard: number; epoch: number }[]): Promise<void> {
    const raised = new Set(this.p.store.raise(this.p.nodeId, gained));
    const acting = gained.filter((g) => raised.has(g.shard));
    const passed = gained.filter((g) => !raised.has(g.shard));
    if (passed.length) this.p.trace(`not acting on ${passed.length} shards at a later epoch in the store: ${span(passed.map((g) => g.shard))}`);
    for (const g of acting) this.p.table.assign(g.shard, { node: this.p.nodeId, epoch: g.epoch });
    if (acting.length === 0) return;
    const shards = acting.map((g) => g.shard);
    const runs = this.p.store.unfinishedRuns(shards);
    await this.p.admission.restore(runs.map((r) => ({ runId: r.id, status: r.status, sourceId: r.sourceId, workflowName: r.workflowName, concurrency: r.concurrency })));
    for (const g of acting) this.owned.set(g.shard, g.epoch);
    this.p.trace(`gained ${acting.length} shards (${span(shards)}), woke ${runs.length} runs`);
  }

  private suspend(silentMs: number): void {
    void this.enqueue(async () => {
      const shards = [...this.owned.keys()];
      for (const [shard, epoch] of this.owned) this.p.table.assign(shard, { node: UNROUTED, epoch });
      this.owned.clear();
      await Promise.all(shards.map((shard) => this.p.system.passivateShard(shard)));
      this.p.trace(`shard lease lapsed after ${Math.round(silentMs)} ms without a quorum: ${shards.length} shards suspended`);
    });
  }

  private reinstate(): void {
    this.p.trace('shard lease renewed');
    void this.follow(this.latest);
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
