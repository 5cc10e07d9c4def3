import { Command } from 'commander';
import { TERMINAL_RUN_STATUSES } from '../../vocabulary/index.js';
import { apiErrorOf, type AdminApi } from './api-client.js';
import { apiFor, globals } from './context.js';
import { ExitStatus } from './exit-status.js';
import { logLinePrefix } from './step-number.js';

/** One line of a run's log stream (NDJSON from GET /runs/:id/logs). */
export interface LogLine {
  job: string;
  /** The 0-based stepIndex, as on the wire; shown from 1. */
  step: number;
  stepName?: string;
  text: string;
}

interface RunEnd {
  id: string;
  status: string;
  error?: string | null;
}

/**
 * `runs logs <runId> [--follow] [--job NAME]`. With --follow the command ends with the run's final
 * status line and exits as the run ended, 0 only for `success` (a cancelled run did not do its
 * work either), so `kici-admin runs logs ID --follow && deploy` means what it says. A job name the
 * run does not have is the orchestrator's 404, which names the run's jobs: exit 1, like any other
 * id the orchestrator does not know.
 */
export function logsCommand(): Command {
  return new Command('logs')
    .argument('<runId>')
    .description("print a run's step logs; --follow streams them live until the run ends, then prints its status (exit 1 unless success)")
    .option('--follow', 'keep streaming until the run finishes')
    .option('--job <name>', 'only this job')
    .action(async (id: string, o: { follow?: boolean; job?: string }, cmd: Command) => {
      const api = apiFor(cmd);
      const params = new URLSearchParams();
      if (o.follow) params.set('follow', 'true');
      if (o.job) params.set('job', o.job);
      const res = await api.raw('GET', `/runs/${encodeURIComponent(id)}/logs?${params}`);
      if (!res.ok || !res.body) throw await apiErrorOf(res);
      const json = globals(cmd).json;
      await forEachLine(res.body, (line) => {
        if (json) return void process.stdout.write(`${line}\n`);
        const l = JSON.parse(line) as LogLine;
        process.stdout.write(`${logLinePrefix(l)} ${l.text}\n`);
      });
      if (o.follow) await reportEnd(api, id, json === true);
    });
}

/** The run's final status as the last line; with --json on stderr, so stdout stays log lines only. */
async function reportEnd(api: AdminApi, id: string, json: boolean): Promise<void> {
  const run = await api.call<RunEnd>('GET', `/runs/${encodeURIComponent(id)}`);
  const ended = (TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status);
  const why = run.error ? ` (${run.error})` : '';
  // The stream also ends when the orchestrator goes away: say so rather than pass it off as the end.
  const line = `run ${run.id}: ${run.status}${why}${ended ? '' : '; the log stream ended before the run did'}\n`;
  (json ? process.stderr : process.stdout).write(line);
  if (run.status !== 'success') throw new ExitStatus(1);
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
