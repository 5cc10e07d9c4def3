/**
 * The shard map as stored in PostgreSQL, and the fence of every run write (fence.ts): a write for a
 * run in shard S goes through only at the epoch S's row holds, so a node that gains a shard raises
 * its row here (`assign`) before it acts, and from then on every write of the old owner for that
 * shard is refused. In a cluster of one the caller seeds every shard to this node at epoch 1; later
 * the Raft-replicated map is authoritative and this table mirrors it.
 */
import { SHARD_COUNT } from '../actors/index.js';
import { sql } from 'kysely';
import type { Db } from './database.js';

export interface ShardOwner {
  shard: number;
  ownerNode: string;
  epoch: number;
}

export class ShardRepository {
  constructor(private readonly db: Db) {}

  /**
   * Give every shard that has no row yet to `nodeId` at `epoch`; rows that exist are left alone
   * (a restart must not reset epochs). Returns how many rows were created.
   */
  async seed(nodeId: string, epoch = 1): Promise<number> {
    const values = Array.from({ length: SHARD_COUNT }, (_, shard) => ({ shard, owner_node: nodeId, epoch }));
    const result = await this.db
      .insertInto('shards')
      .values(values)
      .onConflict((oc) => oc.column('shard').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n);
  }

  async list(): Promise<ShardOwner[]> {
    const rows = await this.db.selectFrom('shards').selectAll().orderBy('shard').execute();
    return rows.map((r) => ({ shard: r.shard, ownerNode: r.owner_node, epoch: r.epoch }));
  }

  async get(shard: number): Promise<ShardOwner | null> {
    const row = await this.db.selectFrom('shards').selectAll().where('shard', '=', shard).executeTakeFirst();
    return row ? { shard: row.shard, ownerNode: row.owner_node, epoch: row.epoch } : null;
  }

  /**
   * Move a shard to `ownerNode` at `epoch`, creating its row when it has none: the raise a node that
   * gains a shard makes before it acts (it waits for every write that holds the row's share lock).
   * Epochs only go forward: an assignment at an epoch not above the current one is refused (returns
   * false), so a deposed coordinator cannot move it back.
   */
  async assign(shard: number, ownerNode: string, epoch: number): Promise<boolean> {
    const result = await this.db
      .insertInto('shards')
      .values({ shard, owner_node: ownerNode, epoch })
      .onConflict((oc) => oc.column('shard').doUpdateSet({ owner_node: ownerNode, epoch }).where('shards.epoch', '<', epoch))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /**
   * Raise several shards at once (one statement), each only forward; returns the shards whose row
   * now names `ownerNode` at exactly the epoch asked for: those this node may act on. A shard whose
   * row was already raised further (by a later owner) is left out.
   */
  async raise(ownerNode: string, shards: { shard: number; epoch: number }[]): Promise<number[]> {
    if (shards.length === 0) return [];
    await this.db
      .insertInto('shards')
      .values(shards.map((s) => ({ shard: s.shard, owner_node: ownerNode, epoch: s.epoch })))
      .onConflict((oc) =>
        oc
          .column('shard')
          .doUpdateSet((eb) => ({ owner_node: eb.ref('excluded.owner_node'), epoch: eb.ref('excluded.epoch') }))
          .where('shards.epoch', '<', (eb) => eb.ref('excluded.epoch')),
      )
      .execute();
    const wanted = new Map(shards.map((s) => [s.shard, s.epoch]));
    const rows = await this.db.selectFrom('shards').selectAll().where('shard', 'in', [...wanted.keys()]).execute();
    return rows.filter((r) => r.owner_node === ownerNode && r.epoch === wanted.get(r.shard)).map((r) => r.shard).sort((a, b) => a - b);
  }

  /**
   * Give every shard to `ownerNode` at one epoch above any stored anywhere (shards, and the epochs
   * runs and jobs were last written at): after a forced recovery, a write fenced with any epoch an
   * old owner held is refused. Returns the new epoch.
   */
  async takeAll(ownerNode: string): Promise<number> {
    await this.seed(ownerNode);
    const row = await sql<{ epoch: number }>`
      UPDATE shards SET owner_node = ${ownerNode}, epoch = next.epoch
      FROM (SELECT GREATEST(
              (SELECT COALESCE(MAX(epoch), 0) FROM shards),
              (SELECT COALESCE(MAX(owner_epoch), 0) FROM runs),
              (SELECT COALESCE(MAX(owner_epoch), 0) FROM jobs)) + 1 AS epoch) AS next
      RETURNING shards.epoch`.execute(this.db);
    const epoch = row.rows[0]?.epoch;
    if (epoch === undefined) throw new Error('takeAll: no shard rows after seeding');
    return epoch;
  }
}
