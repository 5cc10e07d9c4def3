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
   * Make the source's registrations exactly `workflows` at `sha`: upsert each, drop the ones the
   * lock file no longer has. One transaction, so readers never see half a lock file.
   */
  async replace(sourceId: string, sha: string, workflows: RegisteredWorkflow[], now: Date): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const names = workflows.map((w) => w.workflowName);
      let stale = trx.deleteFrom('workflow_registrations').where('source_id', '=', sourceId);
      if (names.length > 0) stale = stale.where('workflow_name', 'not in', names);
      await stale.execute();
      for (const workflow of workflows) {
        const values = {
          sha,
          triggers: jsonb(workflow.triggers),
          lockfile: jsonb(workflow.lockfile),
          registered_at: now,
        };
        await trx
          .insertInto('workflow_registrations')
          .values({ source_id: sourceId, workflow_name: workflow.workflowName, ...values })
          .onConflict((oc) => oc.columns(['source_id', 'workflow_name']).doUpdateSet(values))
          .execute();
      }
    });
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
