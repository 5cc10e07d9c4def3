/**
 * The shard → owner map with an epoch per shard: the one shard map of a node, which the actor
 * system reads (through its ShardMap port) to route and to fence. A cluster of one owns all shards
 * at epoch 1; later the Raft-replicated map feeds it.
 */
import { SHARD_COUNT, type ShardMap, type ShardOwner } from '../actors/index.js';

export interface ShardAssignment {
  shard: number;
  node: string;
  epoch: number;
}

export class ShardTable implements ShardMap {
  private readonly owners: ShardAssignment[];

  constructor(assignments: ShardAssignment[]) {
    this.owners = new Array(SHARD_COUNT);
    for (const a of assignments) this.owners[a.shard] = { ...a };
  }

  static singleNode(node: string, epoch = 1): ShardTable {
    return new ShardTable(Array.from({ length: SHARD_COUNT }, (_, shard) => ({ shard, node, epoch })));
  }

  ownerOf(shard: number): ShardOwner | undefined {
    const a = this.owners[shard];
    return a ? { node: a.node, epoch: a.epoch } : undefined;
  }

  /**
   * The epoch a write for `shard` is fenced with. A shard with no recorded owner answers 1, the
   * epoch every shard starts at (a cluster of one seeds all shards at 1): a write made with it is
   * still fenced by the store against any newer owner, so it can never overwrite a successor.
   */
  epochOf(shard: number): number {
    return this.owners[shard]?.epoch ?? 1;
  }

  assignments(): ShardAssignment[] {
    return this.owners.filter(Boolean).map((a) => ({ ...a }));
  }

  /**
   * Record an owner decided elsewhere, at the epoch it was decided with (the replicated map is
   * the authority on epochs, so none is computed here).
   */
  assign(shard: number, owner: ShardOwner): void {
    this.owners[shard] = { shard, node: owner.node, epoch: owner.epoch };
  }
}
