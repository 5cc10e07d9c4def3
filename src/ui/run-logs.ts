import { z } from 'zod';
import { type AdminDeps, StepLogCursor, type StepLogLine } from '../admin/index.js';
import type { JobRecord, RunRecord, UiSession } from '../store/index.js';
import { refuseViewer } from './admin-routes.js';
import { readQuery, UiRefusal, type UiReply, type UiRequest, type ServerResponse } from './http.js';

type Store = AdminDeps['store'];

/**
 * The run whose logs a request asks for, refused as the admin API's logs route refuses: 404 for no
 * such run or no such job (naming the jobs it has), 410 once retention removed its logs.
 */
export async function runToRead(
  store: Store,
  session: UiSession,
  runId: string,
  job: string | undefined,
  isJob: (j: JobRecord) => boolean,
): Promise<{ run: RunRecord; jobs: JobRecord[] }> {
  refuseViewer(session, 'GET', '/runs/:id/logs');
  const run = z.string().uuid().safeParse(runId).success ? await store.runs.get(runId) : null;
  if (!run) throw new UiRefusal(404, 'not_found', `no run ${runId}`);
  if (run.logsRemovedAt) throw new UiRefusal(410, 'logs_removed', `logs of run ${run.id} removed by retention on ${run.logsRemovedAt.toISOString().slice(0, 10)}`);
  const jobs = await store.jobs.list(run.id);
  if (job !== undefined && !jobs.some(isJob)) {
    throw new UiRefusal(404, 'job_not_found', `run ${run.id} has no job "${job}" (its jobs: ${jobs.map((j) => j.name).join(', ') || 'none'})`);
  }
  return { run, jobs };
}

const downloadQuery = z.strictObject({ job: z.string().min(1).max(200).optional() });

/** A job's name, as it may stand in a file name (no quotes, slashes or anything a shell would mind). */
const fileNamePart = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);

/**
 * `GET /ui/api/download/runs/<id>/logs?job=<name>`: the job's (or, without `job`, every job's) step
 * logs as one text file, each line as printed and each step introduced by `== <step name> ==`
 * (`== <job> / <step name> ==` when the file holds several jobs). `job` is a name, or a matrix
 * job's base name, as with `kici-admin runs logs --job`.
 */
export async function downloadLogs(deps: Pick<AdminDeps, 'store' | 'logs'>, req: UiRequest, res: ServerResponse, session: UiSession): Promise<UiReply | undefined> {
  const { job } = readQuery(req.query, downloadQuery);
  const named = (j: JobRecord) => j.name === job || j.baseName === job;
  const { run } = await runToRead(deps.store, session, req.params.id, job, named);
  const lines = await new StepLogCursor(deps, run.id, (j) => job === undefined || named(j)).next(true);
  const fileName = `${run.id}${job === undefined ? '' : `-${fileNamePart(job)}`}.log`;
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-disposition': `attachment; filename="${fileName}"`,
    'cache-control': 'no-store',
  });
  res.end(asText(lines, job === undefined));
  return undefined;
}

function asText(lines: readonly StepLogLine[], withJobNames: boolean): string {
  let out = '';
  let current = '';
  for (const line of lines) {
    const step = line.stepName ?? `step ${line.step + 1}`;
    const key = `${line.jobId}/${line.step}`;
    if (key !== current) {
      out += `== ${withJobNames ? `${line.job} / ${step}` : step} ==\n`;
      current = key;
    }
    out += `${line.text}\n`;
  }
  return out;
}
