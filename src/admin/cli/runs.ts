import { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';
import { ApiError } from './api-client.js';

interface StepView {
  index: number;
  name: string;
  status: string;
  exitCode?: number | null;
}

interface JobView extends Record<string, unknown> {
  id: string;
  name: string;
  status: string;
  steps?: StepView[];
}

interface RunView extends Record<string, unknown> {
  id: string;
  status: string;
  jobs?: JobView[];
}

/** One line of a run's log stream (NDJSON from GET /runs/:id/logs). */
export interface LogLine {
  job: string;
  step: number;
  stepName?: string;
  text: string;
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
        for (const s of job.steps ?? []) process.stdout.write(`  ${s.index}. ${s.name}: ${s.status}${s.exitCode == null ? '' : ` exit ${s.exitCode}`}\n`);
      }
    });

  runs
    .command('logs <runId>')
    .description("print a run's step logs; --follow streams them live until the run ends")
    .option('--follow', 'keep streaming until the run finishes')
    .option('--job <name>', 'only this job')
    .action(async (id: string, o, cmd: Command) => {
      const params = new URLSearchParams();
      if (o.follow) params.set('follow', 'true');
      if (o.job) params.set('job', o.job);
      const res = await apiFor(cmd).raw('GET', `/runs/${encodeURIComponent(id)}/logs?${params}`);
      if (!res.ok || !res.body) {
        const text = await res.text();
        throw new ApiError(res.status, `http_${res.status}`, text || res.statusText);
      }
      const json = globals(cmd).json;
      await forEachLine(res.body, (line) => {
        if (json) return void process.stdout.write(`${line}\n`);
        const l = JSON.parse(line) as LogLine;
        process.stdout.write(`[${l.job} #${l.step}${l.stepName ? ` ${l.stepName}` : ''}] ${l.text}\n`);
      });
    });

  return runs;
}

async function forEachLine(body: ReadableStream<Uint8Array>, fn: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) fn(line);
    }
  }
  if (pending.trim()) fn(pending);
}
