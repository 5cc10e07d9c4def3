/**
 * The list of migrations, in order. Kept as static imports (not a folder scan) so the compiled
 * build and the test runner see exactly the same set.
 */
import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001_initial.js';
import * as jobPreviousAgent from './002_job_previous_agent.js';
import * as jobPlanOrder from './003_job_plan_order.js';
import * as stepError from './004_step_error.js';
import * as refTips from './005_ref_tips.js';
import * as cluster from './006_cluster.js';
import * as blobs from './007_blobs.js';
import * as deliveryShards from './008_delivery_shards.js';
import * as coordinatorTerm from './009_coordinator_term.js';
import * as agentTokenSlots from './010_agent_token_slots.js';
import * as environments from './011_environments.js';
import * as adminTokenNamesAndAudit from './012_admin_token_names_and_audit.js';
import * as jobEnvironmentSlots from './013_job_environment_slots.js';
import * as heldRunGates from './014_held_run_gates.js';
import * as environmentBindings from './015_environment_bindings.js';
import * as secretBackends from './016_secret_backends.js';
import * as githubSources from './017_github_sources.js';
import * as eventLogView from './018_event_log_view.js';
import * as deliveryRetries from './019_delivery_retries.js';
import * as retention from './020_retention.js';
import * as adminTokenRoles from './021_admin_token_roles.js';
import * as uiSessions from './022_ui_sessions.js';

const MIGRATIONS: Record<string, Migration> = {
  '001_initial': initial,
  '002_job_previous_agent': jobPreviousAgent,
  '003_job_plan_order': jobPlanOrder,
  '004_step_error': stepError,
  '005_ref_tips': refTips,
  '006_cluster': cluster,
  '007_blobs': blobs,
  '008_delivery_shards': deliveryShards,
  '009_coordinator_term': coordinatorTerm,
  '010_agent_token_slots': agentTokenSlots,
  '011_environments': environments,
  '012_admin_token_names_and_audit': adminTokenNamesAndAudit,
  '013_job_environment_slots': jobEnvironmentSlots,
  '014_held_run_gates': heldRunGates,
  '015_environment_bindings': environmentBindings,
  '016_secret_backends': secretBackends,
  '017_github_sources': githubSources,
  '018_event_log_view': eventLogView,
  '019_delivery_retries': deliveryRetries,
  '020_retention': retention,
  '021_admin_token_roles': adminTokenRoles,
  '022_ui_sessions': uiSessions,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};

export const MIGRATION_NAMES = Object.keys(MIGRATIONS).sort();
