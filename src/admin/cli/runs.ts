import { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';
import { logsCommand } from './run-logs.js';
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

interface RunView extends Record<string, unknown> {
  id: string;
  status: string;
  jobs?: JobView[];
}

export function runCommands(): Command {
  const runs = new Command('runs').description('workflow runs');

  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--status <status>', 'only runs in this status')
    .option('--limit <n>', 'how many', '20')
    .action(async (o, cmd: Command) => {
      const params = new URLSearchParams({ limit: String(o.limit) });
      if (o.status) params.set('status', o.status);
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
        for (const s of job.steps ?? []) {
          const detail = `${s.exitCode == null ? '' : ` exit ${s.exitCode}`}${s.error ? ` (${s.error})` : ''}`;
          process.stdout.write(`  ${stepNumber(s.index)}. ${s.name}: ${s.status}${detail}\n`);
        }
      }
    });

  runs.addCommand(logsCommand());

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
    .description("start a manual run of a git source's branch or commit (the workflows a push there would run)")
    .requiredOption('--source <id>', 'the git source')
    .requiredOption('--ref <branch|sha>', 'a branch name, or a commit id')
    .action(async (o, cmd: Command) => {
      const reply = await apiFor(cmd).call<{ sha: string; branch: string | null; runs: { id: string; workflow: string }[] }>('POST', '/runs/trigger', {
        sourceId: o.source,
        ref: o.ref,
      });
      if (globals(cmd).json) return printJson(reply);
      process.stdout.write(`${reply.branch ? `${reply.branch} at ` : ''}${reply.sha}: ${reply.runs.length} run(s)\n`);
      for (const r of reply.runs) process.stdout.write(`  ${r.id}  ${r.workflow}\n`);
    });

  return runs;
}
