/**
 * The leader's chores, every few heartbeats while this node leads: its own record (and whoever the
 * node admits on its behalf), the Raft configuration kept in step with the members (the
 * MembershipSteward), and the shards: placed and reclaimed at once (placeShards), then evened out
 * between live coordinators a few at a time (rebalanceShards, paced by the RebalanceBudget). A
 * member whose link went down is watched: the moment it would count as dead its shards are placed,
 * not at the next chore, so orphans wait up to a chore interval less.
 *
 * The orchestrator and the cluster simulator run this same code; the node supplies who is alive,
 * the shard rows of the store and its own admission as ports.
 */
import { SHARD_COUNT } from '../actors/index.js';
import type { Clock } from '../clock/index.js';
import type { ClusterRaft } from './cluster-raft.js';
import { MembershipSteward, type MembershipLog } from './membership.js';
import { placeShards, type StoredShard } from './shard-placement.js';
import { RebalanceBudget, rebalanceShards, shardsBalanced } from './shard-rebalance.js';

export interface CoordinatorPorts {
  nodeId: string;
  raft: ClusterRaft;
  clock: Clock;
  log: MembershipLog;
  /** Between two rounds of chores (the orchestrator: four heartbeats). */
  choreEveryMs: number;
  rebalanceShardsPerSecond: number;
  /** Is this coordinator alive, as this node sees it (itself included)? */
  alive(node: string): boolean;
  /** The shard rows of the store: where shards the map does not name yet go. */
  storedShards(): Promise<StoredShard[]>;
  /** Record this node in the cluster state if it is not there (the founder), or what changed about it. */
  admit(): Promise<void>;
  /** Members being removed: the steward leaves them alone meanwhile. */
  leaving?(node: string): boolean;
  /** How long a member whose link went down takes to count as dead (see `linkDown`). */
  staleMs: number;
  /** Is the link to this member up now? */
  linkUp(node: string): boolean;
}

export class Coordinator {
  private readonly steward: MembershipSteward;
  /** Moves between live coordinators this leader may still make; made on first use. */
  private budget: RebalanceBudget | undefined;
  private placing: Promise<void> | undefined;
  private readonly deathWatch = new Map<string, () => void>();
  private stopTimer: () => void = () => {};
  private stopped = false;

  constructor(private readonly p: CoordinatorPorts) {
    this.steward = new MembershipSteward(p.raft, p.log);
  }

  /** Run the chores now and every `choreEveryMs` after each round. */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.chores().finally(() => {
        if (!this.stopped) this.stopTimer = this.p.clock.setTimer(this.p.choreEveryMs, tick);
      });
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    this.stopTimer();
    for (const cancel of this.deathWatch.values()) cancel();
    this.deathWatch.clear();
  }

  /** A member's link went down: place its shards the moment it would count as dead. */
  linkDown(node: string): void {
    this.deathWatch.get(node)?.();
    const cancel = this.p.clock.setTimer(this.p.staleMs + 1, () => {
      this.deathWatch.delete(node);
      if (this.stopped || this.p.linkUp(node)) return;
      this.placeShards().catch((e: Error) => this.p.log.warn({ err: e.message }, 'shard placement did not complete; retrying'));
    });
    this.deathWatch.set(node, cancel);
  }

  /** The link is back before the member counted as dead: nothing to place. */
  linkUp(node: string): void {
    this.deathWatch.get(node)?.();
    this.deathWatch.delete(node);
  }

  /**
   * On the leader: give every shard the map does not name an owner, and a dead coordinator's
   * shards to live ones, at once; once every shard sits on a live node, even out the live
   * coordinators a few shards at a time. Resolves once the decision is applied here. One placement
   * at a time: a call while one is in hand waits for it.
   */
  placeShards(): Promise<void> {
    this.placing ??= this.placeShardsNow().finally(() => {
      this.placing = undefined;
    });
    return this.placing;
  }

  private async chores(): Promise<void> {
    if (this.p.raft.status().role !== 'leader') return;
    try {
      await this.p.admit();
    } catch (e) {
      this.p.log.warn({ err: (e as Error).message }, 'could not record this node in the cluster state');
    }
    await this.steward.step((node) => this.p.leaving?.(node) ?? false);
    try {
      await this.placeShards();
    } catch (e) {
      this.p.log.warn({ err: (e as Error).message }, 'shard placement did not complete; retrying');
    }
  }

  private async placeShardsNow(): Promise<void> {
    const { raft, clock } = this.p;
    if (raft.status().role !== 'leader') return;
    if (!raft.state.member(this.p.nodeId)) await this.p.admit();
    const map = raft.state.shardOwners();
    const members = raft.state.memberList();
    const alive = (node: string) => this.p.alive(node);
    const budget = (this.budget ??= new RebalanceBudget(this.p.rebalanceShardsPerSecond, clock.now()));
    // The usual case, every few heartbeats: every shard placed on a live node and spread evenly
    // (or no move allowed yet), nothing to read.
    const placed = map.size === SHARD_COUNT && [...map.values()].every((o) => alive(o.node));
    if (placed && (budget.available(clock.now()) === 0 || shardsBalanced({ map, members, alive }))) return;
    const input = { map, members, alive, stored: await this.p.storedShards() };
    // Placement and reclaim are never held back; evening out waits until they have nothing to do.
    let assignments = placeShards(input);
    const rebalancing = assignments.length === 0;
    if (rebalancing) {
      assignments = rebalanceShards({ ...input, maxMoves: budget.available(clock.now()) });
      // Spent when proposed: a proposal that fails or times out still counts against the rate.
      budget.spend(assignments.length);
    }
    if (assignments.length === 0) return;
    const outcome = await raft.propose({ type: 'shards_assigned', assignments });
    const to = [...new Set(assignments.map((a) => a.node))].sort();
    if (outcome.applied) this.p.log.info({ shards: assignments.length, to }, rebalancing ? 'shards rebalanced' : 'shards placed');
    else this.p.log.warn({ reason: outcome.reason }, 'shard placement refused; retried');
  }
}
