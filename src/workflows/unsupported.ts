/**
 * Fields the lock file accepts but this version cannot honour yet. A run that uses them must fail
 * with the field named: running a step without the secrets it asked for would be worse than not
 * running it. (`environments` and a job's `concurrencyGroup` are honoured: the RunActor puts such a
 * job through its environments' protection gates before it is dispatched.)
 */
import { formatFieldPath } from './issue-path.js';
import type { Workflow } from './lockfile-schema.js';

/** The first unsupported field used by the workflow as `path: reason`, or null. */
export function unsupportedFields(workflow: Workflow, workflowIndex: number): string | null {
  for (const [j, job] of workflow.jobs.entries()) {
    const jobAt = ['workflows', workflowIndex, 'jobs', j];
    for (const [s, step] of job.steps.entries()) {
      if (step.secrets !== undefined) {
        return `${formatFieldPath([...jobAt, 'steps', s, 'secrets'])}: secrets are not supported yet`;
      }
    }
  }
  return null;
}
