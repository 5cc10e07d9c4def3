/**
 * The shard map as stored in PostgreSQL. In a cluster of one the caller seeds every shard to this
 * node at epoch 1; later the Raft-replicated map is authoritative and this table mirrors it.
 */
import type { Db } from './database.js';

export const SHARD_COUNT = 256;

export interface ShardOwner {
  shard: number;
  ownerNode: string;
  epoch: number;
}

/**
 * Give every shard that has no row yet to `nodeId` at `epoch`; rows that exist are left alone
 * (a restart must not reset epochs). Returns how many rows were created.
 */
export async function seedShards(db: Db, nodeId: string, epoch = 1, count = SHARD_COUNT): Promise<number> {
  const values = Array.from({ length: count }, (_, shard) => ({ shard, owner_node: nodeId, epoch }));
  const result = await db
    .insertInto('shards')
    .values(values)
    .onConflict((oc) => oc.column('shard').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

export async function listShards(db: Db): Promise<ShardOwner[]> {
  const rows = await db.selectFrom('shards').selectAll().orderBy('shard').execute();
  return rows.map((r) => ({ shard: r.shard, ownerNode: r.owner_node, epoch: r.epoch }));
}

export async function getShard(db: Db, shard: number): Promise<ShardOwner | null> {
  const row = await db.selectFrom('shards').selectAll().where('shard', '=', shard).executeTakeFirst();
  return row ? { shard: row.shard, ownerNode: row.owner_node, epoch: row.epoch } : null;
}

/**
 * Move a shard to `ownerNode` at `epoch`. Epochs only go forward: an assignment at an epoch not
 * above the current one is refused (returns false), so a deposed coordinator cannot move it back.
 */
export async function assignShard(db: Db, shard: number, ownerNode: string, epoch: number): Promise<boolean> {
  const result = await db
    .updateTable('shards')
    .set({ owner_node: ownerNode, epoch })
    .where('shard', '=', shard)
    .where('epoch', '<', epoch)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
