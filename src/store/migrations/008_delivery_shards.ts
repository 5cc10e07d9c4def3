/**
 * Deliveries carry a shard. A delivery the accepting node did not finish (it died, or its run
 * creation was fenced off) is resumed by whoever owns the delivery's shard: at a gain, and by the
 * owner's sweep of deliveries left behind. The shard is the actors' hash of the delivery id
 * (`deliveryShard`), stored so the owner's query is an index range, never a hash over the table.
 *
 * Rows from before this migration get their shard here, in batches along the primary key, so a
 * long event log is filled without holding every key in memory.
 */
import { sql, type Kysely } from 'kysely';
import { deliveryShard } from '../deliveries.js';

const BATCH = 1000;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE deliveries ADD COLUMN shard integer`.execute(db);
  await fillShards(db);
  await sql`ALTER TABLE deliveries ALTER COLUMN shard SET NOT NULL`.execute(db);
  await sql`ALTER TABLE deliveries ADD CONSTRAINT deliveries_shard_range CHECK (shard >= 0 AND shard < 256)`.execute(db);
  // The owner's resume: its shards' deliveries still `received`, oldest first.
  await sql`CREATE INDEX deliveries_received_shard ON deliveries (shard, received_at) WHERE status = 'received'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS deliveries_received_shard`.execute(db);
  await sql`ALTER TABLE deliveries DROP COLUMN IF EXISTS shard`.execute(db);
}

async function fillShards(db: Kysely<unknown>): Promise<void> {
  let after: { org_id: string; delivery_id: string } | undefined;
  for (;;) {
    const from = after ? sql`WHERE (org_id, delivery_id) > (${after.org_id}, ${after.delivery_id})` : sql``;
    const { rows } = await sql<{ org_id: string; delivery_id: string }>`
      SELECT org_id, delivery_id FROM deliveries ${from} ORDER BY org_id, delivery_id LIMIT ${BATCH}`.execute(db);
    if (rows.length === 0) return;
    const values = sql.join(rows.map((r) => sql`(${r.org_id}, ${r.delivery_id}, ${deliveryShard(r.delivery_id)}::integer)`));
    await sql`
      UPDATE deliveries AS d SET shard = v.shard
      FROM (VALUES ${values}) AS v (org_id, delivery_id, shard)
      WHERE d.org_id = v.org_id AND d.delivery_id = v.delivery_id`.execute(db);
    after = rows[rows.length - 1];
  }
}
