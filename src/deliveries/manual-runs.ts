/**
 * What every manual trigger shares, whatever the source: the lock file checked (or the refusal that
 * says why there is none), and one run per workflow a push there would run. A branch: the workflows
 * whose push triggers match it, `paths` filters not applied (nothing was pushed); a bare commit:
 * every workflow with a push trigger.
 */
import { matchWorkflow, type Lockfile, type LockfileAt, type LockfileReader, type Workflow } from '../workflows/index.js';
import { LockfileUnusable } from './errors.js';
import { createWorkflowRun, type RunCreationDeps, type RunOrigin } from './run-creation.js';

export interface ManualRun {
  id: string;
  workflow: string;
}

/** The lock file at the commit, or the refusal that says why there is none to run. */
export function checkedLockfile(deps: { lockfiles: Pick<LockfileReader, 'parse'> }, lock: LockfileAt, sha: string): Lockfile {
  if (lock.kind === 'missing') throw new LockfileUnusable('lockfile_missing', `no .kici/kici.lock.json at ${sha}`);
  const parsed = deps.lockfiles.parse(lock);
  if (!parsed.ok) throw new LockfileUnusable('lockfile_corrupt', `lock file .kici/kici.lock.json at ${sha}: ${parsed.error}`);
  return parsed.lockfile;
}

/** One run per workflow a push there would run (see the header). */
export async function createManualRuns(deps: RunCreationDeps, origin: RunOrigin, lockfile: Lockfile, branch: string | null, sha: string): Promise<ManualRun[]> {
  const runs: ManualRun[] = [];
  for (const [index, workflow] of lockfile.workflows.entries()) {
    if (!wouldRun(workflow, branch, sha)) continue;
    runs.push({ id: await createWorkflowRun(deps, origin, workflow, index), workflow: workflow.name });
  }
  return runs;
}

export function wouldRun(workflow: Workflow, branch: string | null, sha: string): boolean {
  const pushes = workflow.triggers.filter((t) => t._type === 'push');
  if (branch === null) return pushes.length > 0;
  const unfiltered: Workflow = { ...workflow, triggers: pushes.map((t) => ({ ...t, paths: [] })) };
  return matchWorkflow(unfiltered, { type: 'push', branch, ref: `refs/heads/${branch}`, sha }).matched;
}
