/**
 * Workflows registered from a source's default branch, so deliveries not tied to a commit
 * (`webhook`, `generic_webhook` triggers) know which workflows to run and at which sha.
 */
import type { Selectable } from 'kysely';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { WorkflowRegistrationsTable } from './schema.js';
import { jsonb } from './sql-values.js';

export interface WorkflowRegistration {
  sourceId: string;
  workflowName: string;
  sha: string;
  triggers: unknown;
  /** The workflow's entry from the lock file. */
  lockfile: unknown;
  registeredAt: Date;
}

export interface RegisteredWorkflow {
  workflowName: string;
  triggers: unknown;
  lockfile: unknown;
}

function toRegistration(row: Selectable<WorkflowRegistrationsTable>): WorkflowRegistration {
  return {
    sourceId: row.source_id,
    workflowName: row.workflow_name,
    sha: row.sha,
    triggers: row.triggers,
    lockfile: row.lockfile,
    registeredAt: row.registered_at,
  };
}

export class RegistrationRepository {
  constructor(private readonly db: Db) {}

  /**
   * Make the source's registrations exactly `workflows` at `sha`: upsert them all in one statement,
   * drop the ones the lock file no longer has. One transaction, so readers never see half a lock
   * file; every row ends at `sha` (what `advance` relies on). No workflow is one DELETE, atomic alone.
   * Names are unique, as the lock file's rules require (one statement cannot upsert a row twice).
   */
  async replace(sourceId: string, sha: string, workflows: RegisteredWorkflow[], now: Date): Promise<void> {
    if (workflows.length === 0) {
      await this.db.deleteFrom('workflow_registrations').where('source_id', '=', sourceId).execute();
      return;
    }
    await inTransaction(this.db, async (trx) => {
      const names = workflows.map((w) => w.workflowName);
      await trx.deleteFrom('workflow_registrations').where('source_id', '=', sourceId).where('workflow_name', 'not in', names).execute();
      const rows = workflows.map((w) => ({
        source_id: sourceId,
        workflow_name: w.workflowName,
        sha,
        triggers: jsonb(w.triggers),
        lockfile: jsonb(w.lockfile),
        registered_at: now,
      }));
      await trx
        .insertInto('workflow_registrations')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['source_id', 'workflow_name']).doUpdateSet((eb) => ({
            sha: eb.ref('excluded.sha'),
            triggers: eb.ref('excluded.triggers'),
            lockfile: eb.ref('excluded.lockfile'),
            registered_at: eb.ref('excluded.registered_at'),
          })),
        )
        .execute();
    });
  }

  /**
   * Move the source's registrations, unchanged, from commit `from` to `to` (a default-branch push
   * that left them as they were): one UPDATE instead of a rewrite. Returns the rows moved; fewer than
   * the caller expects means the rows are not the ones recorded at `from` (another node replaced
   * them, or the source was purged), and the caller replaces instead.
   */
  async advance(sourceId: string, from: string, to: string, now: Date): Promise<number> {
    const result = await this.db
      .updateTable('workflow_registrations')
      .set({ sha: to, registered_at: now })
      .where('source_id', '=', sourceId)
      .where('sha', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async list(sourceId: string): Promise<WorkflowRegistration[]> {
    const rows = await this.db
      .selectFrom('workflow_registrations')
      .selectAll()
      .where('source_id', '=', sourceId)
      .orderBy('workflow_name')
      .execute();
    return rows.map(toRegistration);
  }

  async get(sourceId: string, workflowName: string): Promise<WorkflowRegistration | null> {
    const row = await this.db
      .selectFrom('workflow_registrations')
      .selectAll()
      .where('source_id', '=', sourceId)
      .where('workflow_name', '=', workflowName)
      .executeTakeFirst();
    return row ? toRegistration(row) : null;
  }
}
