import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { getRun, listJobs, listRuns, listSteps, RUN_STATUSES, type JobRecord, type RunRecord, type StepRecord } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, type RouteTable } from './http.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

function runView(r: RunRecord) {
  return {
    id: r.id,
    orgId: r.orgId,
    sourceId: r.sourceId,
    deliveryId: r.deliveryId,
    workflow: r.workflowName,
    status: r.status,
    attempt: r.attempt,
    ref: r.ref,
    branch: r.branch,
    sha: r.sha,
    error: r.error,
    createdAt: iso(r.createdAt),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    durationMs: r.startedAt && r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
  };
}

function jobView(j: JobRecord, steps: StepRecord[]) {
  return {
    id: j.id,
    name: j.name,
    status: j.status,
    agentId: j.agentId,
    error: j.error,
    outputs: j.outputs ?? {},
    attempts: j.dispatchAttempts,
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    steps: steps.map((s) => ({ index: s.stepIndex, name: s.name, status: s.status, exitCode: s.exitCode })),
  };
}

const listQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(20),
});

export function runRoutes(deps: AdminDeps): RouteTable {
  const load = async (id: string) => {
    const run = z.string().uuid().safeParse(id).success ? await getRun(deps.db, id) : null;
    if (!run) throw apiError(404, 'not_found', `no run ${id}`);
    return run;
  };

  return [
    ['GET', '/runs', async (req) => {
      const q = listQuery.safeParse(Object.fromEntries(req.query));
      if (!q.success) throw apiError(400, 'invalid_request', `${q.error.issues[0].path.join('.')}: ${q.error.issues[0].message}`);
      const runs = await listRuns(deps.db, { status: q.data.status, limit: q.data.limit });
      return { status: 200, body: { runs: runs.map(runView) } };
    }],
    ['GET', '/runs/:id', async (req) => {
      const run = await load(req.params.id);
      const jobs = await listJobs(deps.db, run.id);
      const withSteps = await Promise.all(jobs.map(async (j) => jobView(j, await listSteps(deps.db, j.id))));
      return { status: 200, body: { ...runView(run), jobs: withSteps } };
    }],
    ['GET', '/runs/:id/jobs', async (req) => {
      const run = await load(req.params.id);
      const jobs = await listJobs(deps.db, run.id);
      return { status: 200, body: { jobs: await Promise.all(jobs.map(async (j) => jobView(j, await listSteps(deps.db, j.id)))) } };
    }],
    ['GET', '/runs/:id/logs', async (req, res) => {
      const run = await load(req.params.id);
      await streamLogs(deps, run.id, { follow: req.query.get('follow') === 'true', job: req.query.get('job') ?? undefined }, res);
      return undefined;
    }],
  ];
}

const FOLLOW_POLL_MS = 200;

/**
 * Stream a run's step logs as NDJSON lines `{job, step, stepName, text}`. With `follow`, keep
 * reading new output until the run is terminal and a last pass found nothing more.
 */
async function streamLogs(deps: AdminDeps, runId: string, opts: { follow: boolean; job?: string }, res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  let closed = false;
  res.on('close', () => (closed = true));
  for (;;) {
    const terminal = opts.follow ? await deps.runIsTerminal(runId) : true;
    const wrote = await readNew(deps, runId, opts.job, offsets, partial, res, terminal);
    if (closed || (terminal && !wrote)) break;
    if (!opts.follow) break;
    if (!wrote) await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  res.end();
}

async function readNew(
  deps: AdminDeps,
  runId: string,
  onlyJob: string | undefined,
  offsets: Map<string, number>,
  partial: Map<string, string>,
  res: ServerResponse,
  flushPartial: boolean,
): Promise<boolean> {
  let wrote = false;
  const jobs = (await listJobs(deps.db, runId)).filter((j) => !onlyJob || j.name === onlyJob || j.baseName === onlyJob);
  for (const job of jobs) {
    const steps = await listSteps(deps.db, job.id);
    for (const info of await deps.logs.listJobLogs(runId, job.id)) {
      const key = `${job.id}/${info.stepIndex}`;
      const from = offsets.get(key) ?? 0;
      if (info.bytes <= from && !(flushPartial && partial.get(key))) continue;
      const chunk = info.bytes > from ? await deps.logs.read(runId, job.id, info.stepIndex, from) : { text: '', nextOffset: from };
      offsets.set(key, chunk.nextOffset);
      const text = (partial.get(key) ?? '') + chunk.text;
      const lines = text.split('\n');
      const rest = lines.pop() ?? '';
      if (flushPartial && rest) lines.push(rest);
      partial.set(key, flushPartial ? '' : rest);
      const stepName = steps.find((s) => s.stepIndex === info.stepIndex)?.name;
      for (const line of lines) {
        res.write(`${JSON.stringify({ job: job.name, step: info.stepIndex, stepName, text: line })}\n`);
        wrote = true;
      }
    }
  }
  return wrote;
}
