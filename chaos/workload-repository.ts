/**
 * What the workload pushes: a bare git repository whose main branch holds the workload's lock
 * file, and a branch per delivery the workload may send, all at that one commit (a push of branch
 * N is delivery N, so each delivery must become exactly one run of `WORKLOAD_WORKFLOW`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baseEnv } from '../cluster/processes.js';
import { journalStep } from './journal.js';
import { REVIEWER_NAME } from './reviewer.js';

/** The workload's organisation, and the workflow every delivery's lock file asks for. */
export const WORKLOAD_ORG = 'chaos';
export const WORKLOAD_WORKFLOW = 'ci';
/** Branches the workload pushes to; the lock file's trigger matches them and nothing else. */
export const WORKLOAD_BRANCH_PREFIX = 'chaos/d-';
/**
 * The deployment environment the workload's test matrix runs in, one job at a time across the
 * cluster (invariant 4). Both children of every run want it at the same moment, and the runs of
 * consecutive deliveries overlap, so without the limit the journal would show them side by side.
 */
export const WORKLOAD_ENVIRONMENT = { name: 'production', concurrencyLimit: 1 } as const;
const MATRIX_PARTS = ['1', '2'];
/**
 * The environment the workload's `release` job names (invariant 5): every run's release is held for
 * the harness's reviewer (reviewer.ts), whose approval, rejection or silence decides it; a hold
 * nobody decides expires after a few seconds. No concurrency limit: the holds alone are its subject.
 */
export const WORKLOAD_RELEASE_ENVIRONMENT = { name: 'release', requiredReviewers: [REVIEWER_NAME], holdExpirySeconds: 3 } as const;
/** The job the release environment holds. */
export const WORKLOAD_HELD_JOB = 'release';
/** The jobs (as the journal names them) that take a slot in the environment. */
export const WORKLOAD_GATED_JOBS = Object.fromEntries(
  MATRIX_PARTS.map((part) => [`test (${part})`, { group: WORKLOAD_ENVIRONMENT.name, limit: WORKLOAD_ENVIRONMENT.concurrencyLimit }]),
);

/** Makes the repository under `dir`; the bare `origin` is what the source points at. */
export function makeWorkloadRepository(dir: string, maxDeliveries: number, journal: string): { origin: string; sha: string } {
  const origin = path.join(dir, 'origin.git');
  const work = path.join(dir, 'work');
  mkdirSync(dir, { recursive: true });
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: baseEnv(GIT_IDENTITY), stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git(dir, 'init', '-q', '--bare', '-b', 'main', origin);
  git(dir, 'init', '-q', '-b', 'main', work);
  mkdirSync(path.join(work, '.kici'), { recursive: true });
  writeFileSync(path.join(work, '.kici', 'kici.lock.json'), `${JSON.stringify(workloadLockfile(journal), null, 2)}\n`);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'chaos workload');
  git(work, 'push', '-q', origin, 'main');
  const sha = git(work, 'rev-parse', 'HEAD');
  // One ref per delivery, all at the one commit: made in one git call.
  const refs = Array.from({ length: maxDeliveries }, (_, i) => `create refs/heads/${WORKLOAD_BRANCH_PREFIX}${i + 1} ${sha}`).join('\n');
  execFileSync('git', ['update-ref', '--stdin'], { cwd: origin, input: `${refs}\n`, env: baseEnv(GIT_IDENTITY) });
  return { origin, sha };
}

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'kici chaos',
  GIT_AUTHOR_EMAIL: 'chaos@kici.invalid',
  GIT_COMMITTER_NAME: 'kici chaos',
  GIT_COMMITTER_EMAIL: 'chaos@kici.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/**
 * The workload's lock file: a build, then a two-child test matrix that needs it and runs in the
 * workload's environment (one job at a time cluster-wide), then a release that needs the tests and
 * is held for review in the release environment, every step journalled. Short steps, so a run takes
 * about a second when nothing goes wrong, plus its hold (decided within a second, or expiring). No checkout: a
 * clone per job is a dozen git processes, which on two cores starve the cluster under test of CPU
 * and turn every fault into an overload; the orchestrator still reads each delivery's lock file
 * from git.
 */
export function workloadLockfile(journal: string): unknown {
  return {
    schemaVersion: 1,
    workflows: [
      {
        name: WORKLOAD_WORKFLOW,
        triggers: [{ _type: 'push', branches: [`${WORKLOAD_BRANCH_PREFIX}*`] }],
        jobs: [
          { name: 'build', checkout: false, steps: [{ name: 'build', run: journalStep(journal, 'sleep 0.3') }] },
          {
            name: 'test',
            needs: ['build'],
            checkout: false,
            matrix: { part: MATRIX_PARTS },
            environments: [WORKLOAD_ENVIRONMENT.name],
            steps: [{ name: 'test', run: journalStep(journal, 'sleep 0.1') }],
          },
          {
            name: WORKLOAD_HELD_JOB,
            needs: ['test'],
            checkout: false,
            environments: [WORKLOAD_RELEASE_ENVIRONMENT.name],
            steps: [{ name: 'release', run: journalStep(journal, 'sleep 0.1') }],
          },
        ],
      },
    ],
  };
}
