import { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';
import { logsCommand } from './run-logs.js';
import { purgeCommand } from './purge.js';
import { stepNumber } from './step-number.js';

interface StepView {
  index: number;
  name: string;
  status: string;
  exitCode?: number | null;
  error?: string | null;
}

interface JobView extends Record<string, unknown> {
  id: string;
  name: string;
  status: string;
  /** Why a job no agent has taken yet still waits. */
  waiting?: string;
  steps?: StepView[];
}

interface HoldVoteView {
  reviewer: string;
  verdict: 'approve' | 'reject';
  reason: string | null;
  at: string;
}

/** A hold as `GET /runs/:id` gives it. */
interface HoldView {
  job: string;
  gate: string;
  status: string;
  reviewers: string[];
  remaining: string[];
  votes: HoldVoteView[];
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

interface RunView extends Record<string, unknown> {
  id: string;
  status: string;
  jobs?: JobView[];
  holds?: HoldView[];
}

/** The answer of `POST /runs/:id/approve|reject`: each hold the vote reached, as it stands now. */
interface VoteReply {
  runId: string;
  verdict: 'approve' | 'reject';
  holds: { job: string; gate: string; status: string; remaining: string[] }[];
}

/**
 * One line per hold: what is known, who is still awaited and until when, so an operator sees at a
 * glance whose turn it is. A trust hold lists nobody: any admin decides it.
 */
function holdLine(h: HoldView): string {
  const parts = [`hold (${h.gate}): ${h.status}`];
  const approved = h.votes.filter((v) => v.verdict === 'approve').map((v) => v.reviewer);
  if (approved.length) parts.push(`approved by ${approved.join(', ')}`);
  for (const v of h.votes.filter((v) => v.verdict === 'reject')) parts.push(`rejected by ${v.reviewer}${v.reason ? ` (${v.reason})` : ''}`);
  if (h.status === 'pending') {
    parts.push(`awaiting ${h.reviewers.length ? h.remaining.join(', ') : 'any admin'}`);
    parts.push(`expires ${h.expiresAt}`);
  } else if (h.decidedAt) {
    parts.push(`decided ${h.decidedAt}${h.decidedBy ? ` by ${h.decidedBy}` : ''}`);
  }
  return parts.join('; ');
}

/** `approved: deploy (reviewers) — approved`, or while others must still approve `counted: deploy waits for bob`. */
function voteLine(verdict: VoteReply['verdict'], h: VoteReply['holds'][number]): string {
  if (h.status === 'pending') return `counted: ${h.job} waits for ${h.remaining.join(', ')}`;
  return `${verdict === 'approve' ? 'approved' : 'rejected'}: ${h.job} (${h.gate}) — ${h.status}`;
}

/** `runs approve|reject <runId>`: the vote is the caller's admin token name's; refusals exit 1 with the API's message. */
function voteCommand(verdict: VoteReply['verdict']): Command {
  const what = verdict === 'approve' ? 'approve' : 'reject';
  return new Command(what)
    .argument('<runId>')
    .description(
      verdict === 'approve'
        ? "approve a run's held jobs as this admin token's name (every listed reviewer must approve)"
        : "reject a run's held jobs as this admin token's name: the job is cancelled at once",
    )
    .option('--job <name>', 'only this job (a matrix job by its base name: every cell); default: every hold you may vote on')
    .option('--reason <text>', 'why (recorded with the vote; at most 1000 characters)')
    .action(async (id: string, o: { job?: string; reason?: string }, cmd: Command) => {
      const body = { ...(o.job === undefined ? {} : { job: o.job }), ...(o.reason === undefined ? {} : { reason: o.reason }) };
      const reply = await apiFor(cmd).call<VoteReply>('POST', `/runs/${encodeURIComponent(id)}/${what}`, body);
      if (globals(cmd).json) return printJson(reply);
      for (const h of reply.holds) process.stdout.write(`${voteLine(verdict, h)}\n`);
    });
}

export function runCommands(): Command {
  const runs = new Command('runs').description('workflow runs');

  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--status <status>', 'only runs in this status')
    .option('--source <idOrName>', "only runs of this source (its id, or its name)")
    .option('--branch <branch>', 'only runs of this branch')
    .option('--before <time>', 'only runs created before this ISO time (the last row\'s createdAt: the next page)')
    .option('--limit <n>', 'how many', '20')
    .action(async (o, cmd: Command) => {
      const params = new URLSearchParams({ limit: String(o.limit) });
      for (const key of ['status', 'source', 'branch', 'before'] as const) if (o[key]) params.set(key, o[key]);
      const list = await apiFor(cmd).call<{ runs: RunView[] }>('GET', `/runs?${params}`);
      if (globals(cmd).json) return printJson(list.runs);
      printTable(list.runs, ['id', 'workflow', 'status', 'branch', 'sha', 'createdAt']);
    });

  runs
    .command('show <runId>')
    .description('a run with its jobs and steps')
    .action(async (id: string, _o, cmd: Command) => {
      const run = await apiFor(cmd).call<RunView>('GET', `/runs/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(run);
      printFields(run);
      for (const job of run.jobs ?? []) {
        process.stdout.write(`\njob ${job.name}: ${job.status}${job.error ? ` (${job.error})` : ''}\n`);
        if (job.waiting) process.stdout.write(`  waiting: ${job.waiting}\n`);
        for (const h of (run.holds ?? []).filter((h) => h.job === job.name)) process.stdout.write(`  ${holdLine(h)}\n`);
        for (const s of job.steps ?? []) {
          const detail = `${s.exitCode == null ? '' : ` exit ${s.exitCode}`}${s.error ? ` (${s.error})` : ''}`;
          process.stdout.write(`  ${stepNumber(s.index)}. ${s.name}: ${s.status}${detail}\n`);
        }
      }
    });

  runs.addCommand(logsCommand());
  runs.addCommand(purgeCommand());
  runs.addCommand(voteCommand('approve'));
  runs.addCommand(voteCommand('reject'));

  runs
    .command('cancel <runId>')
    .description("cancel a run: running steps get SIGTERM, the job's grace period (at most 30 s), then SIGKILL; queued jobs stop at once")
    .option('--force', 'SIGKILL running steps at once, skipping the grace period')
    .action(async (id: string, o, cmd: Command) => {
      const run = await apiFor(cmd).call<RunView>('POST', `/runs/${encodeURIComponent(id)}/cancel`, { force: Boolean(o.force) });
      if (globals(cmd).json) return printJson(run);
      process.stdout.write(`run ${run.id}: ${run.status}${o.force ? ' (forced)' : ''}\n`);
    });

  runs
    .command('rerun <runId>')
    .description('start a new attempt of a finished run at the same commit')
    .option('--failed-only', "rerun only the jobs that did not succeed and their dependents; the others keep their results")
    .action(async (id: string, o, cmd: Command) => {
      const run = await apiFor(cmd).call<RunView & { attempt: number; rerunJobs: string[]; carriedJobs: string[] }>(
        'POST',
        `/runs/${encodeURIComponent(id)}/rerun`,
        { failedOnly: Boolean(o.failedOnly) },
      );
      if (globals(cmd).json) return printJson(run);
      process.stdout.write(`run ${run.id}: attempt ${run.attempt} of run ${id}\n`);
      process.stdout.write(`  rerun: ${run.rerunJobs.join(', ') || '(none)'}\n`);
      if (run.carriedJobs.length) process.stdout.write(`  kept: ${run.carriedJobs.join(', ')}\n`);
    });

  runs
    .command('trigger')
    .description("start a manual run of a git or GitHub source's branch or commit (the workflows a push there would run)")
    .requiredOption('--source <id>', 'the git or GitHub source')
    .requiredOption('--ref <branch|sha>', 'a branch name, or a commit id (a GitHub source: the full id)')
    .option('--repo <owner/name>', "which repository of a GitHub source (an App covers many)")
    .action(async (o, cmd: Command) => {
      const reply = await apiFor(cmd).call<{ sha: string; branch: string | null; runs: { id: string; workflow: string }[] }>('POST', '/runs/trigger', {
        sourceId: o.source,
        ref: o.ref,
        ...(o.repo ? { repo: o.repo } : {}),
      });
      if (globals(cmd).json) return printJson(reply);
      process.stdout.write(`${reply.branch ? `${reply.branch} at ` : ''}${reply.sha}: ${reply.runs.length} run(s)\n`);
      for (const r of reply.runs) process.stdout.write(`  ${r.id}  ${r.workflow}\n`);
    });

  return runs;
}
