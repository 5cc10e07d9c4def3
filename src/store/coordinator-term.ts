/**
 * The term fence of coordinator duties (DESIGN §4: each duty runs only on the current leader and
 * stamps its term on its writes). A leader claims its Raft term before a duty runs; the claim
 * holds while no later term has been claimed, so two leaders that both believe they lead (the old
 * one not yet told) cannot both pass it. A duty's write joins the claim in its own statement
 * (`heldBy`), so a write of a deposed coordinator that raced past its claim still fails.
 */
import { sql } from 'kysely';
import type { Db } from './database.js';

export interface CoordinatorClaim {
  term: number;
  node: string;
}

export class CoordinatorTermRepository {
  constructor(private readonly db: Db) {}

  /**
   * Claim `term` for `node`: recorded when no later term is, and kept by the same node at the same
   * term. False: a later term (or another node at this term) holds it, so this node is deposed.
   */
  async claim(claim: CoordinatorClaim, at: Date): Promise<boolean> {
    const result = await this.db
      .insertInto('coordinator_term')
      .values({ term: claim.term, node: claim.node, claimed_at: at })
      .onConflict((oc) =>
        oc
          .column('singleton')
          .doUpdateSet({ term: claim.term, node: claim.node, claimed_at: at })
          .where((eb) => eb.or([eb('coordinator_term.term', '<', claim.term), eb.and([eb('coordinator_term.term', '=', claim.term), eb('coordinator_term.node', '=', claim.node)])])),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async current(): Promise<CoordinatorClaim | null> {
    const row = await this.db.selectFrom('coordinator_term').select(['term', 'node']).executeTakeFirst();
    return row ? { term: Number(row.term), node: row.node } : null;
  }

  /** Forget the record (a forced recovery starts the cluster's terms over from its survivor). */
  async reset(): Promise<void> {
    await this.db.deleteFrom('coordinator_term').execute();
  }
}

/** A WHERE condition: the claim is still the term of record (for a duty's own writes). */
export function heldBy(claim: CoordinatorClaim) {
  return sql<boolean>`exists (select 1 from coordinator_term where term = ${claim.term} and node = ${claim.node})`;
}
