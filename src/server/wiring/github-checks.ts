import { CheckRunReporter, type CheckRunApi, type CheckTarget } from '../../check-runs/index.js';
import type { Clock } from '../../clock/index.js';
import type { SourceCatalog } from '../../deliveries/index.js';
import { splitRepo } from '../../github/index.js';
import type { JobRecord, RunRecord } from '../../runs/index.js';
import type { StepLogStore } from '../../store/index.js';
import type { CiEvent } from '../../workflows/index.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';
import type { GithubWiring } from './github.js';

export interface GithubChecksParts {
  github: GithubWiring;
  catalog: SourceCatalog;
  stepLogs: StepLogStore;
  clock: Clock;
  log: Logger;
  metrics?: OrchestratorMetrics;
  /** A run's (or job's) page in the web view, where browsers reach it (`KICI_PUBLIC_URL`); each check links there. */
  runPage?: (runId: string, jobId?: string) => string;
}

/** A step's log is read from this far before its end for the failing step's last lines. */
const TAIL_WINDOW_BYTES = 64 * 1024;

/**
 * Check runs on GitHub for the runs of GitHub sources, fed by the run actors' observer on this node
 * (the reporter never makes an actor wait; a run that moved here finds its checks again by name).
 */
export function githubCheckRuns(p: GithubChecksParts): CheckRunReporter {
  const { github, catalog } = p;
  const app = async (target: CheckTarget) => {
    const source = await catalog.source(target.sourceId);
    if (source?.kind !== 'github') throw new Error(`source ${target.sourceId} is no longer a GitHub source`);
    return github.appOf(source);
  };
  const hint = (target: CheckTarget) => ({ installationId: target.installationId });
  const api: CheckRunApi = {
    create: async (target, run) => (await app(target)).createCheckRun(target.owner, target.repo, run, hint(target)),
    update: async (target, id, fields) => (await app(target)).updateCheckRun(target.owner, target.repo, id, fields, hint(target)),
    find: async (target, sha, name) => (await app(target)).findCheckRuns(target.owner, target.repo, sha, name, hint(target)),
  };
  return new CheckRunReporter({
    clock: p.clock,
    api,
    targetOf: (run) => targetOf(catalog, run),
    logTail: (runId, jobId, stepIndex, lines) => logTail(p.stepLogs, runId, jobId, stepIndex, lines),
    ...(p.runPage ? { detailsUrl: pageOf(p.runPage) } : {}),
    count: (operation, result) => p.metrics?.githubCheckRuns.inc({ operation, result }),
    failed: (error, what) => p.log.warn({ err: (error as Error)?.message, check: what }, 'check run not reported'),
  });
}

function pageOf(runPage: (runId: string, jobId?: string) => string) {
  return (run: RunRecord, job?: JobRecord) => runPage(run.id, job?.id);
}

async function targetOf(catalog: SourceCatalog, run: RunRecord): Promise<CheckTarget | undefined> {
  if (!run.sourceId || !run.sha) return undefined;
  const source = await catalog.source(run.sourceId);
  const event = (run.event ?? {}) as Partial<CiEvent>;
  if (source?.kind !== 'github' || !event.repo) return undefined;
  const { owner, repo } = splitRepo(event.repo);
  return { sourceId: source.id, owner, repo, installationId: event.installationId };
}

async function logTail(logs: StepLogStore, runId: string, jobId: string, stepIndex: number, lines: number): Promise<string[]> {
  const step = (await logs.listJobLogs(runId, jobId)).find((l) => l.stepIndex === stepIndex);
  if (!step || step.bytes === 0) return [];
  const { text } = await logs.read(runId, jobId, stepIndex, Math.max(0, step.bytes - TAIL_WINDOW_BYTES), TAIL_WINDOW_BYTES);
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  // A window that starts mid-line drops that partial first line.
  if (step.bytes > TAIL_WINDOW_BYTES) all.shift();
  return all.slice(-lines);
}
