import { ShardTable } from '../../cluster/index.js';
import type { Store } from '../../store/index.js';

/** A cluster of one owns every shard; shards recorded for another node id move here at a new epoch. */
export async function claimAllShards(store: Pick<Store, 'shards'>, nodeId: string): Promise<ShardTable> {
  await store.shards.seed(nodeId);
  const owners = await store.shards.list();
  for (const o of owners) {
    if (o.ownerNode !== nodeId) {
      await store.shards.assign(o.shard, nodeId, o.epoch + 1);
      o.ownerNode = nodeId;
      o.epoch += 1;
    }
  }
  return new ShardTable(owners.map((o) => ({ shard: o.shard, node: o.ownerNode, epoch: o.epoch })));
}

/** The shards as the database records them, claiming none: a node that joined owns none yet. */
export async function loadShards(store: Pick<Store, 'shards'>): Promise<ShardTable> {
  const owners = await store.shards.list();
  return new ShardTable(owners.map((o) => ({ shard: o.shard, node: o.ownerNode, epoch: o.epoch })));
}
