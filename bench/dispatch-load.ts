/**
 * The other side of `npm run bench -- dispatch`, in a process of its own (forked by dispatch.ts):
 * the bench agents, speaking the real protocol over WebSockets, and the webhook sender. The
 * orchestrator's process then holds the orchestrator alone, so its CPU time is the orchestrator's.
 * Both sides of a latency sample (the POST and the dispatch frame) are timed here, on one clock.
 *
 * Driven over the IPC channel: each request `{ id, op, … }` gets one reply `{ id, ok, result | error }`.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../src/agent/connection.js';
import { DEFAULT_PING_TIMEOUT_MS } from '../src/agent/link-watch.js';
import { signBody } from '../src/webhooks/index.js';
import { BenchAgent, type SeenDispatch } from './bench-agent.js';

export interface Hook {
  url: string;
  secret: string;
  sha: string;
  /** The first segment of the branches pushed to (`bench` when absent): it picks the workflows that run. */
  branch?: string;
}

export type LoadRequest =
  | { op: 'agents'; wsUrl: string; tokens: string[]; slots: number; labels: string[] }
  | { op: 'sequential'; hook: Hook; count: number }
  /** `jobsPerRun`: the jobs each webhook's run has (1 when absent); all of them are waited for. */
  | { op: 'load'; hook: Hook; count: number; inFlight: number; timeoutMs: number; jobsPerRun?: number }
  /** One webhook per hook, `inFlight` at a time; nothing waited for but the replies. */
  | { op: 'pushes'; hooks: Hook[]; inFlight: number }
  /** Agents replacing the ones connected, one per label set, all at once, until `jobs` jobs are done. */
  | { op: 'take-queue'; wsUrl: string; token: string; labelSets: string[][]; slots: number; jobs: number; timeoutMs: number }
  /** `count` agents replacing the ones connected, `connecting` at a time, kept alive as idle kici-agents are. */
  | { op: 'idle-agents'; wsUrl: string; token: string; count: number; labels: string[]; connecting: number }
  | { op: 'close' };

export interface SequentialResult {
  /** POST → 202, ms. */
  replyMs: number[];
  /** POST → job.dispatch at the agent, ms. */
  dispatchMs: number[];
  runIds: string[];
}

export interface LoadResult {
  replyMs: number[];
  /** First POST → last job.dispatch, ms. */
  dispatchedMs: number;
  /** First POST → last 202, ms. */
  acceptedMs: number;
  /** First POST → the node acknowledged the last final status, ms. */
  finishedMs: number;
  /** Distinct runs dispatched. */
  runIds: string[];
  /** job.dispatch frames for a job this process had already been given. */
  duplicates: number;
  rateWarnings: number;
  errors: number;
}

export interface PushesResult {
  replyMs: number[];
  /** First POST → last 202, ms. */
  acceptedMs: number;
}

export interface QueueResult {
  /** First agent's connect → every agent registered, ms. */
  connectedMs: number;
  /** First agent's connect → last job.dispatch, ms. */
  dispatchedMs: number;
  /** First agent's connect → the node acknowledged the last final status, ms. */
  finishedMs: number;
  /** Distinct jobs dispatched. */
  jobs: number;
  runIds: string[];
  duplicates: number;
  rateWarnings: number;
  errors: number;
}

export interface IdleAgentsResult {
  /** First connect → the last agent registered, ms. */
  connectedMs: number;
}

/** A deep queue that moved no job for this long is stuck. */
const QUEUE_STALL_MS = 60_000;

let agents: BenchAgent[] = [];
let deliveries = 0;
const tag = randomBytes(3).toString('hex');

/**
 * One push of the same commit to a branch of its own: a push of a (ref, commit) that already has
 * its runs is a duplicate, and the bench wants a run per webhook with the lock file hot in cache.
 */
async function postPush(hook: Hook): Promise<number> {
  const n = ++deliveries;
  const body = JSON.stringify({ ref: `refs/heads/${hook.branch ?? 'bench'}/${tag}-${n}`, before: '0'.repeat(40), after: hook.sha, repository: { name: 'bench' } });
  const start = performance.now();
  const res = await fetch(hook.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-delivery-id': `bench-${tag}-${n}`, 'x-signature-256': signBody(hook.secret, body) },
    body,
  });
  const replied = performance.now() - start;
  const text = await res.text();
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${text}`);
  return replied;
}

async function connectAgents(wsUrl: string, tokens: string[], slots: number, labels: string[]): Promise<void> {
  for (const a of agents) a.close();
  agents = [];
  for (const [i, token] of tokens.entries()) {
    const agent = new BenchAgent('solo', wsUrl, token, `bench-agent-${tag}-${i}-${randomBytes(3).toString('hex')}`, labels, slots);
    await agent.connect();
    agents.push(agent);
  }
}

function watchAll(fn: ((d: SeenDispatch) => void) | undefined): void {
  for (const a of agents) a.watch(fn);
}

/** Webhooks one after another: each waits for its dispatch and for the node to take the job's result. */
async function sequential(hook: Hook, count: number): Promise<SequentialResult> {
  const replyMs: number[] = [];
  const dispatchMs: number[] = [];
  const runIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const seen = new Promise<SeenDispatch>((resolve) => watchAll(resolve));
    const start = performance.now();
    replyMs.push(await postPush(hook));
    const d = await seen;
    watchAll(undefined);
    dispatchMs.push(d.at - start);
    runIds.push(d.runId);
    await Promise.all(agents.map((a) => a.drained()));
  }
  return { replyMs, dispatchMs, runIds };
}

/**
 * The job.dispatch frames and acknowledged results of `agents` from now on, until `expected` of
 * each: distinct jobs and runs, jobs dispatched twice, and when the last of each came.
 */
class JobTally {
  readonly jobs = new Set<string>();
  readonly runs = new Set<string>();
  duplicates = 0;
  lastDispatch = 0;
  lastFinish = 0;
  private finished = 0;
  private allDispatched!: () => void;
  private allFinished!: () => void;
  private readonly done: Promise<unknown>;

  constructor(
    private readonly expected: number,
    private readonly followed: BenchAgent[],
  ) {
    const dispatched = new Promise<void>((r) => (this.allDispatched = r));
    const finished = new Promise<void>((r) => (this.allFinished = r));
    this.done = Promise.all([dispatched, finished]);
    for (const a of followed) {
      a.watch((d) => this.dispatched(d));
      a.onFinished = () => this.finishedOne();
    }
  }

  /**
   * Resolves when `expected` jobs were dispatched and their results acknowledged; stops following.
   * Rejects after `timeoutMs`, or once nothing was dispatched or acknowledged for `stallMs`.
   */
  async settled(timeoutMs: number, stallMs = Number.POSITIVE_INFINITY): Promise<void> {
    const started = performance.now();
    let check: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      check = setInterval(() => {
        const now = performance.now();
        const still = now - Math.max(started, this.lastDispatch, this.lastFinish);
        if (now - started < timeoutMs && still < stallMs) return;
        const why = still >= stallMs ? `, nothing for the last ${stallMs} ms` : '';
        reject(new Error(`stuck: after ${(now - started).toFixed(0)} ms${why}, ${this.jobs.size} of ${this.expected} jobs dispatched and ${this.finished} results acknowledged${closedByNode(this.followed)}`));
      }, Math.min(1000, timeoutMs));
    });
    try {
      await Promise.race([this.done, stuck]);
    } finally {
      clearInterval(check);
      for (const a of this.followed) {
        a.watch(undefined);
        a.onFinished = undefined;
      }
    }
  }

  private dispatched(d: SeenDispatch): void {
    if (this.jobs.has(d.jobId)) this.duplicates++;
    this.jobs.add(d.jobId);
    this.runs.add(d.runId);
    this.lastDispatch = d.at;
    if (this.jobs.size === this.expected) this.allDispatched();
  }

  private finishedOne(): void {
    this.lastFinish = performance.now();
    if (++this.finished === this.expected) this.allFinished();
  }
}

/** The agents the node closed, by close code with one reason each (`; the node closed …`), or ''. */
function closedByNode(followed: readonly BenchAgent[]): string {
  const byCode = new Map<number, { count: number; reason: string }>();
  for (const a of followed) {
    if (!a.closedByNode) continue;
    const seen = byCode.get(a.closedByNode.code);
    if (seen) seen.count++;
    else byCode.set(a.closedByNode.code, { count: 1, reason: a.closedByNode.reason });
  }
  if (byCode.size === 0) return '';
  return `; the node closed ${[...byCode].map(([code, c]) => `${c.count} agent${c.count === 1 ? '' : 's'} with ${code} (e.g. "${c.reason}")`).join(', ')}`;
}

/** Webhooks from `inFlight` concurrent senders; each reply time, in order of arrival. */
async function send(hooks: readonly Hook[], inFlight: number): Promise<number[]> {
  const replyMs: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, hooks.length) }, async () => {
      while (next < hooks.length) replyMs.push(await postPush(hooks[next++]));
    }),
  );
  return replyMs;
}

/** `count` webhooks from `inFlight` concurrent senders, until every job's result is acknowledged. */
async function load(hook: Hook, count: number, inFlight: number, timeoutMs: number, jobsPerRun = 1): Promise<LoadResult> {
  const tally = new JobTally(count * jobsPerRun, agents);
  const start = performance.now();
  const replyMs = await send(Array.from({ length: count }, () => hook), inFlight);
  const accepted = performance.now();
  await tally.settled(timeoutMs);
  return {
    replyMs,
    dispatchedMs: tally.lastDispatch - start,
    acceptedMs: accepted - start,
    finishedMs: tally.lastFinish - start,
    runIds: [...tally.runs],
    duplicates: tally.duplicates,
    rateWarnings: agents.reduce((n, a) => n + a.rateWarnings, 0),
    errors: agents.reduce((n, a) => n + a.errors, 0),
  };
}

async function pushes(hooks: Hook[], inFlight: number): Promise<PushesResult> {
  const start = performance.now();
  const replyMs = await send(hooks, inFlight);
  return { replyMs, acceptedMs: performance.now() - start };
}

/**
 * Jobs queued before any agent could take them: one agent per label set connects, all at once,
 * and takes jobs (answering each at once) until `jobs` are done. The tally follows each agent
 * before it registers, since the node dispatches on registration.
 */
async function takeQueue(wsUrl: string, token: string, labelSets: string[][], slots: number, jobs: number, timeoutMs: number): Promise<QueueResult> {
  for (const a of agents) a.close();
  agents = labelSets.map((labels, i) => new BenchAgent('solo', wsUrl, token, `queue-agent-${tag}-${i}-${randomBytes(3).toString('hex')}`, labels, slots));
  const tally = new JobTally(jobs, agents);
  const start = performance.now();
  // Registering waits behind the queue it unblocks (on PGlite, one connection): the wait is printed, not cut short.
  await Promise.all(agents.map((a) => a.connect(QUEUE_STALL_MS)));
  const connected = performance.now();
  // Past the node's own deadlines (a 30 s ask, a 10 s ack), no progress means it will not come.
  await tally.settled(timeoutMs, QUEUE_STALL_MS);
  return {
    connectedMs: connected - start,
    dispatchedMs: tally.lastDispatch - start,
    finishedMs: tally.lastFinish - start,
    jobs: tally.jobs.size,
    runIds: [...tally.runs],
    duplicates: tally.duplicates,
    rateWarnings: agents.reduce((n, a) => n + a.rateWarnings, 0),
    errors: agents.reduce((n, a) => n + a.errors, 0),
  };
}

/** Agents that take no job and keep their links alive as an idle kici-agent does (see BenchAgent.keepAlive). */
async function idleAgents(wsUrl: string, token: string, count: number, labels: string[], connecting: number): Promise<IdleAgentsResult> {
  for (const a of agents) a.close();
  agents = Array.from({ length: count }, (_, i) => new BenchAgent('solo', wsUrl, token, `idle-agent-${tag}-${i}-${randomBytes(3).toString('hex')}`, labels, 1));
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(connecting, count) }, async () => {
      while (next < count) {
        const agent = agents[next++];
        await agent.connect();
        agent.keepAlive(DEFAULT_PING_TIMEOUT_MS / 4, DEFAULT_HEARTBEAT_INTERVAL_MS);
      }
    }),
  );
  return { connectedMs: performance.now() - start };
}

async function handle(request: LoadRequest): Promise<unknown> {
  switch (request.op) {
    case 'agents':
      return connectAgents(request.wsUrl, request.tokens, request.slots, request.labels);
    case 'sequential':
      return sequential(request.hook, request.count);
    case 'load':
      return load(request.hook, request.count, request.inFlight, request.timeoutMs, request.jobsPerRun);
    case 'pushes':
      return pushes(request.hooks, request.inFlight);
    case 'take-queue':
      return takeQueue(request.wsUrl, request.token, request.labelSets, request.slots, request.jobs, request.timeoutMs);
    case 'idle-agents':
      return idleAgents(request.wsUrl, request.token, request.count, request.labels, request.connecting);
    case 'close':
      for (const a of agents) a.close();
      agents = [];
      setImmediate(() => process.exit(0));
      return undefined;
  }
}

process.on('message', (message: { id: number } & LoadRequest) => {
  handle(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: Error) => process.send?.({ id: message.id, ok: false, error: error.stack ?? error.message }),
  );
});
// The parent went away: nothing left to drive this process.
process.on('disconnect', () => process.exit(0));
