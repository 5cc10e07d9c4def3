/**
 * What a check says: the fields of each update (status or conclusion, times, title and summary).
 * Summaries go through the github room's renderer, which keeps them under GitHub's 65 535 bytes by
 * cutting log context 20 → 10 → 5 → 0 lines. Pure: `now` and the log lines are handed in.
 */
import { renderCheckRunSummary, type CheckRunFields, type SummaryStep } from '../github/index.js';
import type { JobRecord, RunRecord, StepRecord } from '../runs/index.js';
import { jobConclusion, runConclusion, stepsAsEnded } from './check-plan.js';

/** A job or run error quoted in a summary is cut to this many characters. */
const ERROR_CHARS = 2_000;

/** Markdown that would change how a name renders is shown literally. */
function literal(text: string): string {
  return text.replace(/[\\`*_[\]<>#|~]/g, (c) => `\\${c}`);
}

function quoted(error: string | null | undefined): string {
  if (!error) return '';
  const cut = error.length > ERROR_CHARS ? `${error.slice(0, ERROR_CHARS)}…` : error;
  return `\n\n${cut.split('\n').map((line) => `> ${line}`).join('\n')}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A step's status in the words (and so the icons) of the summary. */
function stepShown(status: StepRecord['status']): string {
  return status === 'failed' ? 'failure' : status;
}

function jobShown(status: JobRecord['status']): string {
  const conclusion = jobConclusion(status);
  if (conclusion) return conclusion;
  if (status === 'pending' || status === 'queued') return 'queued';
  return status;
}

function byIndex(steps: readonly StepRecord[]): StepRecord[] {
  return [...steps].sort((a, b) => a.stepIndex - b.stepIndex);
}

function summary(heading: string, steps: readonly SummaryStep[]): string {
  return renderCheckRunSummary({ heading, steps }).text;
}

/** A job not finished yet: queued, or in progress with where its steps stand. */
export function jobProgressFields(job: JobRecord, steps: readonly StepRecord[], phase: 'queued' | 'in_progress', now: number): CheckRunFields {
  const ordered = byIndex(steps);
  const shown = ordered.map((s) => ({ name: s.name, status: stepShown(s.status) }));
  if (phase === 'queued') {
    return { status: 'queued', output: { title: 'Queued', summary: summary(`Job **${literal(job.name)}** is waiting to start.`, shown) } };
  }
  const running = ordered.findIndex((s) => s.status === 'running');
  const done = ordered.filter((s) => s.status !== 'pending' && s.status !== 'running').length;
  let title: string;
  if (job.status === 'pending' || job.status === 'queued') title = 'Waiting for an agent again';
  else if (running >= 0) title = `Running step ${running + 1} of ${ordered.length}: ${ordered[running]!.name}`;
  else title = `${done} of ${ordered.length} steps done`;
  return {
    status: 'in_progress',
    startedAt: iso(job.startedAt ?? now),
    output: { title, summary: summary(`Job **${literal(job.name)}** is ${jobShown(job.status)}.`, shown) },
  };
}

/** A finished job: its conclusion, and the last log lines of the steps in `logs` (by step index). */
export function jobCompletionFields(
  job: JobRecord,
  steps: readonly StepRecord[],
  logs: ReadonlyMap<number, readonly string[]>,
  now: number,
): CheckRunFields {
  const conclusion = jobConclusion(job.status) ?? 'neutral';
  const ended = byIndex(stepsAsEnded(job, steps));
  const failed = ended.find((s) => s.status === 'failed');
  const titles: Record<string, string> = {
    success: 'Succeeded',
    failure: failed ? `Failed at step ${failed.name}` : 'Failed',
    cancelled: 'Cancelled',
    skipped: 'Skipped',
    timed_out: 'Timed out: no heartbeat from its agent',
  };
  const heading = `Job **${literal(job.name)}** ended ${jobShown(job.status)}.${quoted(job.error)}`;
  return {
    conclusion,
    ...(job.startedAt ? { startedAt: iso(job.startedAt) } : {}),
    completedAt: iso(job.finishedAt ?? now),
    output: {
      title: titles[conclusion] ?? conclusion,
      summary: summary(
        heading,
        ended.map((s) => ({ name: s.name, status: stepShown(s.status), logTail: logs.get(s.stepIndex) })),
      ),
    },
  };
}

function runHeading(run: RunRecord, what: string): string {
  const attempt = run.attempt > 1 ? ` (attempt ${run.attempt})` : '';
  return `Workflow **${literal(run.workflowName)}**${attempt} ${what}.`;
}

function jobLines(jobs: readonly JobRecord[]): SummaryStep[] {
  return jobs.map((j) => ({ name: j.name, status: jobShown(j.status) }));
}

export function runProgressFields(run: RunRecord, jobs: readonly JobRecord[], phase: 'queued' | 'in_progress', now: number): CheckRunFields {
  if (phase === 'queued') {
    return { status: 'queued', output: { title: 'Queued', summary: summary(runHeading(run, 'is waiting to start'), jobLines(jobs)) } };
  }
  const done = jobs.filter((j) => jobConclusion(j.status)).length;
  return {
    status: 'in_progress',
    startedAt: iso(run.startedAt ?? now),
    output: { title: `${done} of ${jobs.length} jobs done`, summary: summary(runHeading(run, 'is running'), jobLines(jobs)) },
  };
}

export function runCompletionFields(run: RunRecord, jobs: readonly JobRecord[], now: number): CheckRunFields {
  const conclusion = runConclusion(run.status) ?? 'neutral';
  const titles: Record<string, string> = { success: 'Succeeded', failure: 'Failed', cancelled: 'Cancelled' };
  return {
    conclusion,
    ...(run.startedAt ? { startedAt: iso(run.startedAt) } : {}),
    completedAt: iso(now),
    output: {
      title: titles[conclusion] ?? conclusion,
      summary: summary(`${runHeading(run, `ended ${run.status}`)}${quoted(run.error)}`, jobLines(jobs)),
    },
  };
}
