/**
 * Fields the lock file accepts but this version cannot honour yet. A run that uses them must fail
 * with the field named: running a job "ungated" past an environment's protection, outside its
 * concurrency group, or without the secrets a step asked for, would be worse than not running it.
 */
import { formatFieldPath } from './issue-path.js';
import type { Workflow } from './lockfile-schema.js';

/** The first unsupported field used by the workflow as `path: reason`, or null. */
export function unsupportedFields(workflow: Workflow, workflowIndex: number): string | null {
  for (const [j, job] of workflow.jobs.entries()) {
    const jobAt = ['workflows', workflowIndex, 'jobs', j];
    if (job.environments !== undefined) {
      return `${formatFieldPath([...jobAt, 'environments'])}: environments are not supported yet`;
    }
    // A concurrency limit that silently does nothing could let two deploys overlap.
    if (job.concurrencyGroup !== undefined) {
      return `${formatFieldPath([...jobAt, 'concurrencyGroup'])}: job concurrency groups are not supported yet`;
    }
    for (const [s, step] of job.steps.entries()) {
      if (step.secrets !== undefined) {
        return `${formatFieldPath([...jobAt, 'steps', s, 'secrets'])}: secrets are not supported yet`;
      }
    }
  }
  return null;
}
