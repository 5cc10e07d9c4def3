/**
 * The leader's chores in a simulated node, as src/server/wiring/cluster-node.ts runs them every
 * four heartbeats (the simulator cannot import the composition root): the founder records itself,
 * joiners are admitted (the simulation's stand-in for the join door: the leader proposes each
 * joiner once its join time has come), the real MembershipSteward keeps the Raft configuration in
 * step (learner added, promoted once caught up, `member_promoted`), and the real placement and
 * rebalancing decide where shards go, paced by the real RebalanceBudget and judged alive by the
 * real Liveness.
 */
import { SHARD_COUNT } from '../actors/index.js';
import {
  MembershipSteward,
  RebalanceBudget,
  placeShards,
  rebalanceShards,
  shardsBalanced,
  type ClusterCommand,
  type ClusterRaft,
  type StoredShard,
} from '../cluster/index.js';
import type { ProcessClock } from './process-clock.js';

export interface Joiner {
  node: string;
  raftId: number;
  /** Virtual ms since the start from which it asks to join. */
  at: number;
}

export interface CoordinatorParts {
  nodeId: string;
  raftId: number;
  raft: ClusterRaft;
  clock: ProcessClock;
  /** Virtual ms since the start (join times are counted in it). */
  elapsed(): number;
  heartbeatMs: number;
  joiners: readonly Joiner[];
  rebalanceShardsPerSecond: number;
  /** Is this coordinator alive, as this node sees it (Liveness over its links)? */
  alive(node: string): boolean;
  /** The shard rows of the store: where shards the map does not name yet go. */
  storedShards(): StoredShard[];
  trace(line: string): void;
}

/** Each node's cluster port, as members record it. */
export function simAddress(node: string): string {
  return `${node}.sim:4001`;
}

export class CoordinatorChores {
  private readonly steward: MembershipSteward;
  private budget: RebalanceBudget | undefined;

  constructor(private readonly p: CoordinatorParts) {
    this.steward = new MembershipSteward(p.raft, {
      info: (_fields, message) => p.trace(message),
      warn: (_fields, message) => p.trace(message),
    });
  }

  start(): void {
    const tick = () => {
      void this.chores().finally(() => this.p.clock.setTimer(this.p.heartbeatMs * 4, tick));
    };
    this.p.clock.setTimer(this.p.heartbeatMs * 4, tick);
  }

  private async chores(): Promise<void> {
    if (this.p.raft.status().role !== 'leader') return;
    try {
      await this.admit();
    } catch (e) {
      this.p.trace(`members not recorded: ${(e as Error).message}`);
    }
    await this.steward.step();
    try {
      await this.placeShards();
    } catch (e) {
      this.p.trace(`shard placement did not complete: ${(e as Error).message}`);
    }
  }

  /** This node's own record first (the founder), then every joiner whose time has come. */
  private async admit(): Promise<void> {
    const { raft } = this.p;
    if (!raft.state.member(this.p.nodeId)) await this.record({ type: 'member_added', node: this.p.nodeId, raftId: this.p.raftId, address: simAddress(this.p.nodeId), role: 'coordinator' });
    for (const j of this.p.joiners) {
      if (j.at > this.p.elapsed() || raft.state.member(j.node) || raft.state.wasRemoved(j.raftId)) continue;
      await this.record({ type: 'member_added', node: j.node, raftId: j.raftId, address: simAddress(j.node), role: 'coordinator' });
    }
  }

  private async record(command: ClusterCommand): Promise<void> {
    const outcome = await this.p.raft.propose(command);
    this.p.trace(outcome.applied ? `proposed ${describe(command)}` : `refused ${describe(command)}: ${outcome.reason}`);
  }

  /** cluster-node.ts `placeShards()`: placement and reclaim at once, evening out a few at a time. */
  private async placeShards(): Promise<void> {
    const { raft, clock } = this.p;
    if (raft.status().role !== 'leader') return;
    const map = raft.state.shardOwners();
    const members = raft.state.memberList();
    const alive = (node: string) => this.p.alive(node);
    const budget = (this.budget ??= new RebalanceBudget(this.p.rebalanceShardsPerSecond, clock.now()));
    const placed = map.size === SHARD_COUNT && [...map.values()].every((o) => alive(o.node));
    if (placed && (budget.available(clock.now()) === 0 || shardsBalanced({ map, members, alive }))) return;
    const input = { map, members, alive, stored: this.p.storedShards() };
    let assignments = placeShards(input);
    const rebalancing = assignments.length === 0;
    if (rebalancing) {
      assignments = rebalanceShards({ ...input, maxMoves: budget.available(clock.now()) });
      budget.spend(assignments.length);
    }
    if (assignments.length === 0) return;
    const outcome = await raft.propose({ type: 'shards_assigned', assignments });
    const to = [...new Set(assignments.map((a) => a.node))].sort().join(',');
    if (outcome.applied) this.p.trace(`${rebalancing ? 'rebalanced' : 'placed'} ${assignments.length} shards to ${to}`);
    else this.p.trace(`shard placement refused: ${outcome.reason}`);
  }
}

function describe(c: ClusterCommand): string {
  return 'node' in c ? `${c.type} ${c.node}` : c.type;
}
