/**
 * 017_github_sources: GitHub App sources (issue 18). A GitHub source is one App: its id (`app_id`,
 * the `X-GitHub-Hook-Installation-Target-ID` of every delivery) names it on the webhook route and
 * in `kici-admin source update|remove github:<appId>`, so a live App is configured once in the
 * whole orchestrator (GitHub App ids are global). Only GitHub rows carry one, and every GitHub row
 * does. The App's private key and webhook secret are sealed secrets in the source's scope
 * (`privateKey`, `webhookSecret`, and `previousWebhookSecret` with its valid-until during a
 * rotation's grace), never columns.
 */
import { type Kysely, sql } from 'kysely';

const UP: string[] = [
  `ALTER TABLE sources ADD COLUMN app_id text CHECK (app_id ~ '^[1-9][0-9]{0,18}$')`,
  `ALTER TABLE sources ADD CONSTRAINT sources_github_app_id CHECK ((kind = 'github') = (app_id IS NOT NULL))`,
  `CREATE UNIQUE INDEX sources_github_app_live ON sources (app_id) WHERE deleted_at IS NULL AND app_id IS NOT NULL`,
];

const DOWN: string[] = [
  'DROP INDEX IF EXISTS sources_github_app_live',
  'ALTER TABLE sources DROP CONSTRAINT IF EXISTS sources_github_app_id',
  'ALTER TABLE sources DROP COLUMN IF EXISTS app_id',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
