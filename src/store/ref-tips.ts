/**
 * The last commit processed per branch of a git source, and which delivery owns each pushed
 * commit's runs. Reconcile compares these tips with the mirror's after a fetch; the delivery
 * processor advances them and claims each push, so one (source, ref, sha) gets its runs once
 * whichever path (the hook, its spool, a reconcile) delivered it first.
 */
import type { Db } from './database.js';
import { inTransaction } from './guards.js';

export interface RefTip {
  sourceId: string;
  ref: string;
  sha: string;
  updatedAt: Date;
}

export class RefTipRepository {
  constructor(private readonly db: Db) {}

  async get(sourceId: string, ref: string): Promise<RefTip | null> {
    const row = await this.db.selectFrom('ref_tips').selectAll().where('source_id', '=', sourceId).where('ref', '=', ref).executeTakeFirst();
    return row ? { sourceId: row.source_id, ref: row.ref, sha: row.sha, updatedAt: row.updated_at } : null;
  }

  async list(sourceId: string): Promise<RefTip[]> {
    const rows = await this.db.selectFrom('ref_tips').selectAll().where('source_id', '=', sourceId).orderBy('ref').execute();
    return rows.map((r) => ({ sourceId: r.source_id, ref: r.ref, sha: r.sha, updatedAt: r.updated_at }));
  }

  /** Record `sha` as the ref's last processed commit. */
  async advance(sourceId: string, ref: string, sha: string, at: Date): Promise<void> {
    await this.db
      .insertInto('ref_tips')
      .values({ source_id: sourceId, ref, sha, updated_at: at })
      .onConflict((oc) => oc.columns(['source_id', 'ref']).doUpdateSet({ sha, updated_at: at }))
      .execute();
  }

  /** Whether a reconcile has recorded this source's tips once (before that, no ref counts as moved). */
  async hasBaseline(sourceId: string): Promise<boolean> {
    const row = await this.db.selectFrom('ref_tip_baselines').select('source_id').where('source_id', '=', sourceId).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * First sight of a source: record these tips (refs a delivery already recorded keep theirs)
   * and mark the baseline taken, in one transaction.
   */
  recordBaseline(sourceId: string, tips: readonly { ref: string; sha: string }[], at: Date): Promise<void> {
    return inTransaction(this.db, async (trx) => {
      if (tips.length > 0) {
        await trx
          .insertInto('ref_tips')
          .values(tips.map((t) => ({ source_id: sourceId, ref: t.ref, sha: t.sha, updated_at: at })))
          .onConflict((oc) => oc.columns(['source_id', 'ref']).doNothing())
          .execute();
      }
      await trx
        .insertInto('ref_tip_baselines')
        .values({ source_id: sourceId, taken_at: at })
        .onConflict((oc) => oc.column('source_id').doNothing())
        .execute();
    });
  }

  /**
   * Claim the runs of a pushed commit for `deliveryId`, and with `advanceTip` record the commit as
   * the ref's tip in the same statement (one round trip on the hot path of every push). Returns the
   * delivery that owns the runs: this one (a first claim, or the same delivery resumed after a
   * crash) or an earlier one.
   */
  async claimPush(sourceId: string, ref: string, sha: string, deliveryId: string, at: Date, options: { advanceTip?: boolean } = {}): Promise<string> {
    const claim = { source_id: sourceId, ref, sha, delivery_id: deliveryId, claimed_at: at };
    const inserted = options.advanceTip
      ? await this.db
          .with('tip', (db) =>
            db
              .insertInto('ref_tips')
              .values({ source_id: sourceId, ref, sha, updated_at: at })
              .onConflict((oc) => oc.columns(['source_id', 'ref']).doUpdateSet({ sha, updated_at: at }))
              .returning('ref'),
          )
          .insertInto('ref_pushes')
          .values(claim)
          .onConflict((oc) => oc.columns(['source_id', 'ref', 'sha']).doNothing())
          .returning('delivery_id')
          .executeTakeFirst()
      : await this.db
          .insertInto('ref_pushes')
          .values(claim)
          .onConflict((oc) => oc.columns(['source_id', 'ref', 'sha']).doNothing())
          .returning('delivery_id')
          .executeTakeFirst();
    if (inserted) return inserted.delivery_id;
    const owner = await this.db
      .selectFrom('ref_pushes')
      .select('delivery_id')
      .where('source_id', '=', sourceId)
      .where('ref', '=', ref)
      .where('sha', '=', sha)
      .executeTakeFirst();
    // A release between the two statements leaves no owner: the push is free, so it is ours.
    return owner?.delivery_id ?? deliveryId;
  }

  /** Give up a claim whose processing failed, so a later delivery of the push still runs it. */
  async releasePush(sourceId: string, ref: string, sha: string, deliveryId: string): Promise<void> {
    await this.db
      .deleteFrom('ref_pushes')
      .where('source_id', '=', sourceId)
      .where('ref', '=', ref)
      .where('sha', '=', sha)
      .where('delivery_id', '=', deliveryId)
      .execute();
  }
}
