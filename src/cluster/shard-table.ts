/** The shard → owner map with an epoch per shard. A cluster of one owns all shards at epoch 1. */
export const SHARD_COUNT = 256;

export interface ShardAssignment {
  shard: number;
  node: string;
  epoch: number;
}

export class ShardTable {
  private readonly owners: ShardAssignment[];

  constructor(assignments: ShardAssignment[]) {
    this.owners = new Array(SHARD_COUNT);
    for (const a of assignments) this.owners[a.shard] = { ...a };
  }

  static singleNode(node: string, epoch = 1): ShardTable {
    return new ShardTable(Array.from({ length: SHARD_COUNT }, (_, shard) => ({ shard, node, epoch })));
  }

  ownerOf(shard: number): { node: string; epoch: number } | undefined {
    const a = this.owners[shard];
    return a ? { node: a.node, epoch: a.epoch } : undefined;
  }

  assignments(): ShardAssignment[] {
    return this.owners.filter(Boolean).map((a) => ({ ...a }));
  }

  /** Move a shard to a new owner; the epoch always grows so the old owner's writes are fenced. */
  reassign(shard: number, node: string): ShardAssignment {
    const prev = this.owners[shard];
    const next = { shard, node, epoch: (prev?.epoch ?? 0) + 1 };
    this.owners[shard] = next;
    return { ...next };
  }
}
