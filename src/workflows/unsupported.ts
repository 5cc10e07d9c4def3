/**
 * Fields a job cannot honour as the lock file writes them. A run that uses them fails with the
 * field named: running a step without the secrets it asked for would be worse than not running it.
 * Secrets come from the scopes bound to a job's environments, so a step naming secrets in a job
 * that names no environment could never get them.
 */
import { formatFieldPath } from './issue-path.js';
import type { Workflow } from './lockfile-schema.js';

/** The first field the workflow uses that its job cannot honour, as `path: reason`, or null. */
export function unsupportedFields(workflow: Workflow, workflowIndex: number): string | null {
  for (const [j, job] of workflow.jobs.entries()) {
    if ((job.environments ?? []).length > 0) continue;
    const jobAt = ['workflows', workflowIndex, 'jobs', j];
    for (const [s, step] of job.steps.entries()) {
      if (step.secrets !== undefined && step.secrets.length > 0) {
        return `${formatFieldPath([...jobAt, 'steps', s, 'secrets'])}: secrets come from the scopes bound to the job's environments, and job "${job.name}" names no environment`;
      }
    }
  }
  return null;
}
