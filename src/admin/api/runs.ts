import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { type Hold, remainingReviewers, type Verdict } from '../../environments/index.js';
import type { JobRecord, RunRecord, StepRecord } from '../../store/index.js';
import { RUN_STATUSES, TERMINAL_RUN_STATUSES } from '../../vocabulary/index.js';
import { type HoldVoteResult, jobLabels } from '../../runs/index.js';
import { everyAgent } from './agents.js';
import type { AdminDeps } from './deps.js';
import { type ApiHandler, apiError, parseBody, type RouteTable } from './http.js';
import { refusalsAsHttp } from './refusals.js';
import { removedOn } from './retention.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** `sourceNames`: the sources' names by id, so a run says which source by name (events of manual runs name none). */
function runView(r: RunRecord, sourceNames?: ReadonlyMap<string, string>) {
  const trigger = triggerOf(r.event);
  return {
    id: r.id,
    orgId: r.orgId,
    sourceId: r.sourceId,
    deliveryId: r.deliveryId,
    workflow: r.workflowName,
    ...trigger,
    sourceName: sourceNames?.get(r.sourceId) ?? trigger.sourceName,
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
    // Set once retention deleted the run's step logs: `logs` answers 410 from then on.
    logsRemovedAt: iso(r.logsRemovedAt ?? null),
  };
}

/** Where a job stands in its run: the names it needs, and the node its agent is connected to. */
interface JobPlace {
  needs: string[];
  node: string | null;
}

/**
 * What started a run, as the event recorded it: its type (`push`, `pull_request`, `manual`, a
 * generic source's type), its action, and the source's name. Read defensively: old rows and
 * other sources may lack any of them.
 */
function triggerOf(event: unknown): { trigger: string | null; action: string | null; sourceName: string | null } {
  const e = (event ?? {}) as { type?: unknown; action?: unknown; sourceName?: unknown };
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return { trigger: text(e.type), action: text(e.action), sourceName: text(e.sourceName) };
}

function jobView(j: JobRecord, steps: StepRecord[], place: JobPlace) {
  return {
    id: j.id,
    name: j.name,
    // A matrix cell's lock-file name and its values: the web view groups cells by it.
    baseName: j.baseName,
    matrix: j.matrix,
    needs: place.needs,
    status: j.status,
    agentId: j.agentId,
    node: place.node,
    error: j.error,
    outputs: j.outputs ?? {},
    attempts: j.dispatchAttempts,
    createdAt: iso(j.createdAt),
    dispatchedAt: iso(j.dispatchedAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    steps: steps.map((s) => ({ index: s.stepIndex, name: s.name, status: s.status, exitCode: s.exitCode, error: s.error })),
  };
}

/**
 * A job that waits says why: one held at its environments' gates (still `pending`) by the gate's
 * own reason, stored on it (runs/job-gating.ts); one no agent has taken yet by what the agents room
 * sees (no agent with its labels, all busy, …).
 */
function withWaitReason<V extends object>(view: V, job: JobRecord, deps: AdminDeps): V & { waiting?: string } {
  const atGate = job.status === 'pending' ? gateReason(job.environmentGate) : undefined;
  if (atGate) return { ...view, waiting: atGate };
  if (job.status !== 'queued' || job.agentId) return view;
  return { ...view, waiting: deps.waitReason(jobLabels(job.config)) };
}

function gateReason(gate: unknown): string | undefined {
  const reason = (gate as { reason?: unknown } | null | undefined)?.reason;
  return typeof reason === 'string' && reason !== '' ? reason : undefined;
}

const msIso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A hold as operators read it: the job by its name, and who is still awaited (`remaining`: the
 * listed reviewers who have not approved; empty once the hold is closed, and for a trust hold,
 * which any admin decides).
 */
function holdView(h: Hold, jobNames: ReadonlyMap<string, string>) {
  return {
    id: h.id,
    job: jobNames.get(h.jobId) ?? h.jobId,
    gate: h.gate,
    status: h.status,
    reviewers: h.reviewers,
    remaining: h.status === 'pending' ? remainingReviewers(h) : [],
    votes: h.votes.map((v) => ({ reviewer: v.reviewer, verdict: v.verdict, reason: v.reason, at: msIso(v.at) })),
    reason: h.reason,
    createdAt: msIso(h.createdAt),
    expiresAt: msIso(h.expiresAt),
    decidedAt: msIso(h.decidedAt),
    decidedBy: h.decidedBy,
  };
}

const listQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  source: z.string().min(1).max(200).optional(),
  branch: z.string().min(1).max(255).optional(),
  /** Paging back: only runs created strictly before this instant (the last row's `createdAt`). */
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(20),
});

const cancelBody = z.strictObject({ force: z.boolean().default(false) });
const rerunBody = z.strictObject({ failedOnly: z.boolean().default(false) });
const triggerBody = z.strictObject({
  sourceId: z.string().min(1).max(200),
  ref: z.string().min(1).max(255),
  /** `owner/name` of a GitHub source's repository. */
  repo: z.string().min(3).max(200).optional(),
});

/** Both optional: without `job` the vote reaches every pending hold of the run the caller may vote on. */
const voteBody = z.strictObject({
  job: z.string().min(1).max(200).optional(),
  reason: z.string().max(1000).optional(),
});

/**
 * The actor's answer in HTTP. `not-found` (no pending hold matches) is a 404 and `conflict` (not a
 * listed reviewer, voted already) a 409, both with the actor's own message; an unanswered ask is a
 * 503 because asking again is safe (a second vote by the same name is refused, never counted twice).
 */
function voteAnswer(runId: string, verdict: Verdict, result: HoldVoteResult) {
  switch (result.outcome) {
    case 'decided':
      return { status: 200, body: { runId, verdict, holds: result.holds } };
    case 'refused':
      if (result.code === 'conflict') throw apiError(409, 'hold_conflict', result.message);
      throw apiError(404, 'no_pending_hold', result.message);
    case 'unanswered':
      throw apiError(503, 'run_unavailable', result.message);
  }
}

const finished = (r: RunRecord) => (TERMINAL_RUN_STATUSES as readonly string[]).includes(r.status);

export function runRoutes(deps: AdminDeps): RouteTable {
  const load = async (id: string) => {
    const run = z.string().uuid().safeParse(id).success ? await deps.store.runs.get(id) : null;
    if (!run) throw apiError(404, 'not_found', `no run ${id}`);
    return run;
  };

  /** Each job with its steps, the names it needs, and its agent's node (when the agent is connected). */
  const jobViews = async (runId: string, jobs: readonly JobRecord[]) => {
    const names = new Map(jobs.map((j) => [j.id, j.name]));
    const needs = await deps.store.jobs.listNeeds(runId);
    const nodes = new Map(everyAgent(deps).map((a) => [a.id, a.node]));
    return Promise.all(
      jobs.map(async (j) => {
        const upstream = needs.filter((n) => n.jobId === j.id).map((n) => names.get(n.upstreamJobId) ?? n.upstreamJobId);
        return jobView(j, await deps.store.steps.list(j.id), { needs: upstream, node: (j.agentId && nodes.get(j.agentId)) || null });
      }),
    );
  };

  /** The run's holds, oldest first, each naming its job. */
  const holdsOf = async (runId: string, jobs: readonly JobRecord[]) => {
    const names = new Map(jobs.map((j) => [j.id, j.name]));
    return (await deps.store.holds.ofRun(runId)).map((h) => holdView(h, names));
  };

  /** approve and reject: the caller's admin token name is the reviewer, so nobody votes as someone else. */
  const vote = (verdict: Verdict): ApiHandler => async (req) => {
    const run = await load(req.params.id);
    const body = await parseBody(req, voteBody);
    // A finished run's holds are all closed: say so here rather than wake its actor to hear it.
    if (finished(run)) throw apiError(404, 'no_pending_hold', `run ${run.id} already finished ${run.status}; it has no pending hold`);
    const result = await deps.voteOnHold(run.id, { reviewer: req.caller.name, tokenId: req.caller.tokenId, viewer: req.caller.role === 'viewer', verdict, reason: body.reason || null, job: body.job });
    return voteAnswer(run.id, verdict, result);
  };

  return [
    ['GET', '/runs', async (req) => {
      const q = listQuery.safeParse(Object.fromEntries(req.query));
      if (!q.success) throw apiError(400, 'invalid_request', `${q.error.issues[0].path.join('.')}: ${q.error.issues[0].message}`);
      const { status, source, branch, before, limit } = q.data;
      const sourceIds = source === undefined ? undefined : await sourcesNamed(deps, source);
      if (sourceIds?.length === 0) return { status: 200, body: { runs: [] } };
      const runs = await deps.store.runs.list({ status, sourceIds, branch, before: before === undefined ? undefined : new Date(before), limit });
      const names = await sourceNamesOf(deps);
      return { status: 200, body: { runs: runs.map((r) => runView(r, names)) } };
    }],
    ['GET', '/runs/:id', async (req) => {
      const run = await load(req.params.id);
      const jobs = await deps.store.jobs.list(run.id);
      const withSteps = await jobViews(run.id, jobs);
      const holds = await holdsOf(run.id, jobs);
      return { status: 200, body: { ...runView(run, await sourceNamesOf(deps)), jobs: withSteps.map((view, i) => withWaitReason(view, jobs[i], deps)), holds } };
    }],
    ['GET', '/runs/:id/jobs', async (req) => {
      const run = await load(req.params.id);
      const jobs = await deps.store.jobs.list(run.id);
      return { status: 200, body: { jobs: await jobViews(run.id, jobs) } };
    }],
    ['POST', '/runs/:id/cancel', async (req) => {
      const run = await load(req.params.id);
      const body = await parseBody(req, cancelBody);
      if (finished(run)) throw apiError(409, 'run_finished', `run ${run.id} already finished ${run.status}`);
      const reply = await deps.cancelRun(run.id, body.force);
      const after = (await deps.store.runs.get(run.id)) ?? run;
      if (!reply.accepted) {
        if (finished(after)) throw apiError(409, 'run_finished', `run ${run.id} already finished ${after.status}`);
        throw apiError(409, 'cancel_refused', `run ${run.id} was not cancelled: ${reply.reason ?? 'refused'}`);
      }
      return { status: 202, body: { ...runView(after), force: body.force } };
    }],
    ['POST', '/runs/:id/approve', vote('approve')],
    ['POST', '/runs/:id/reject', vote('reject')],
    ['POST', '/runs/:id/rerun', async (req) => {
      const run = await load(req.params.id);
      const body = await parseBody(req, rerunBody);
      const reply = await refusalsAsHttp(deps.rerunRun(run.id, { failedOnly: body.failedOnly }));
      const created = await deps.store.runs.get(reply.runId);
      return { status: 201, body: { ...(created ? runView(created) : { id: reply.runId }), parentRunId: run.id, rerunJobs: reply.rerun, carriedJobs: reply.carried } };
    }],
    ['POST', '/runs/trigger', async (req) => {
      const body = await parseBody(req, triggerBody);
      const reply = await refusalsAsHttp(deps.triggerRuns(body));
      return { status: 201, body: reply };
    }],
    ['GET', '/runs/:id/logs', async (req, res) => {
      const run = await load(req.params.id);
      // Gone for good, and said so: an empty stream would read as a run that printed nothing.
      if (run.logsRemovedAt) throw apiError(410, 'logs_removed', `logs of run ${run.id} ${removedOn(run.logsRemovedAt)}`);
      const job = req.query.get('job') ?? undefined;
      // Jobs are created with their run, so a name none of them has will never have lines: say so
      // (with the names it does have) instead of streaming nothing.
      if (job !== undefined) {
        const jobs = await deps.store.jobs.list(run.id);
        if (!jobs.some((j) => matchesJob(j, job))) {
          const names = jobs.map((j) => j.name).join(', ') || 'none';
          throw apiError(404, 'job_not_found', `run ${run.id} has no job "${job}" (its jobs: ${names})`);
        }
      }
      await streamLogs(deps, run.id, { follow: req.query.get('follow') === 'true', job }, res);
      return undefined;
    }],
  ];
}

/** Every source's name by its id: sources are few, one read per page of runs. */
async function sourceNamesOf(deps: AdminDeps): Promise<Map<string, string>> {
  return new Map((await deps.store.sources.list()).map((s) => [s.id, s.name]));
}

/** A source by its id, or by its name (in any organisation: names are unique only within one). */
async function sourcesNamed(deps: AdminDeps, ref: string): Promise<string[]> {
  if (await deps.store.sources.get(ref)) return [ref];
  return (await deps.store.sources.list()).filter((s) => s.name === ref).map((s) => s.id);
}

/** `--job test` names a job, or every cell of a matrix job by its base name. */
const matchesJob = (j: JobRecord, name: string) => j.name === name || j.baseName === name;

const FOLLOW_POLL_MS = 200;
/**
 * An agent back from an outage replays its final statuses before its buffered log lines, so a run
 * can be terminal while the last lines are still on their way: keep following this long after.
 */
const FOLLOW_SETTLE_MS = 1500;

/**
 * Stream a run's step logs as NDJSON lines `{job, step, stepName, text}`. With `follow`, keep
 * reading new output until the run has been terminal for a moment and a last pass found nothing more.
 */
async function streamLogs(deps: AdminDeps, runId: string, opts: { follow: boolean; job?: string }, res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  const cursor = new StepLogCursor(deps, runId, (j) => !opts.job || matchesJob(j, opts.job));
  let closed = false;
  res.on('close', () => (closed = true));
  let terminalSince: number | undefined;
  for (;;) {
    const terminal = opts.follow ? await deps.runIsTerminal(runId) : true;
    if (terminal) terminalSince ??= Date.now();
    const lines = await cursor.next(terminal);
    for (const line of lines) res.write(`${JSON.stringify({ job: line.job, step: line.step, stepName: line.stepName, text: line.text })}\n`);
    const wrote = lines.length > 0;
    const settled = !opts.follow || (terminalSince !== undefined && Date.now() - terminalSince >= FOLLOW_SETTLE_MS);
    if (closed || (terminal && !wrote && settled)) break;
    if (!opts.follow) break;
    if (!wrote) await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  res.end();
}

/** One line of a step's log: what the NDJSON stream and the web view's live feed send. */
export interface StepLogLine {
  jobId: string;
  job: string;
  step: number;
  stepName: string | undefined;
  text: string;
}

/**
 * How far a reader of one run's step logs has got (a byte offset per step, and the unfinished last
 * line of each), so a follower reads only what was written since. Shared by the NDJSON stream
 * above and the web view's live log, so both cut lines the same way.
 */
export class StepLogCursor {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly deps: Pick<AdminDeps, 'store' | 'logs'>,
    private readonly runId: string,
    private readonly wanted: (job: JobRecord) => boolean = () => true,
  ) {}

  /** The complete lines written since the last call, in job and step order; with `flushPartial`, an unfinished last line too. */
  async next(flushPartial: boolean): Promise<StepLogLine[]> {
    const { deps, runId, offsets, partial } = this;
    const out: StepLogLine[] = [];
    const jobs = (await deps.store.jobs.list(runId)).filter(this.wanted);
    for (const job of jobs) {
      const steps = await deps.store.steps.list(job.id);
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
        for (const line of lines) out.push({ jobId: job.id, job: job.name, step: info.stepIndex, stepName, text: line });
      }
    }
    return out;
  }
}
