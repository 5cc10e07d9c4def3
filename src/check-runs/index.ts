/**
 * The check-runs room: GitHub check runs for kici's runs, `kici/<workflow>` per run and
 * `kici/<workflow>/job/<job>` per job, reported from the run actor's observer events without ever
 * making the actor wait. Pure decisions (names, conclusions, phases, summaries) in check-plan.ts
 * and check-text.ts; the calls, ordered per check and retried on the injected clock, in the rest.
 * GitHub itself comes in through the `CheckRunApi` port (the composition root adapts `GitHubApp`).
 */
export { CheckRunReporter } from './reporter.js';
export type { CheckRunApi, CheckRunOperation, CheckRunReporterDeps, CheckTarget, FoundCheckRun } from './ports.js';
export {
  DEFAULT_DEBOUNCE_MS,
  FORGET_FINISHED_RUN_MS,
  FORGET_IDLE_RUN_MS,
  jobCheckName,
  jobConclusion,
  jobExternalId,
  LOG_TAIL_LINES,
  runConclusion,
  workflowCheckName,
  workflowExternalId,
} from './check-plan.js';
export { RETRY_DELAYS_MS } from './github-calls.js';
