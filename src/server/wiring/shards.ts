import { ShardTable } from '../../cluster/index.js';
import type { Store } from '../../store/index.js';

/** The shards as the database records them, claiming none: a node that joined owns none yet. */
export async function loadShards(store: Pick<Store, 'shards'>): Promise<ShardTable> {
  const owners = await store.shards.list();
  return new ShardTable(owners.map((o) => ({ shard: o.shard, node: o.ownerNode, epoch: o.epoch })));
}
