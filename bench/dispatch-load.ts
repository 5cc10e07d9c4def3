/**
 * The other side of `npm run bench -- dispatch`, in a process of its own (forked by dispatch.ts):
 * the bench agents, speaking the real protocol over WebSockets, and the webhook sender. The
 * orchestrator's process then holds the orchestrator alone, so its CPU time is the orchestrator's.
 * Both sides of a latency sample (the POST and the dispatch frame) are timed here, on one clock.
 *
 * Driven over the IPC channel: each request `{ id, op, … }` gets one reply `{ id, ok, result | error }`.
 */
import { randomBytes } from 'node:crypto';
import { signBody } from '../src/webhooks/index.js';
import { BenchAgent, type SeenDispatch } from './bench-agent.js';

export interface Hook {
  url: string;
  secret: string;
  sha: string;
}

export type LoadRequest =
  | { op: 'agents'; wsUrl: string; tokens: string[]; slots: number; labels: string[] }
  | { op: 'sequential'; hook: Hook; count: number }
  | { op: 'load'; hook: Hook; count: number; inFlight: number; timeoutMs: number }
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

let agents: BenchAgent[] = [];
let deliveries = 0;
const tag = randomBytes(3).toString('hex');

/**
 * One push of the same commit to a branch of its own: a push of a (ref, commit) that already has
 * its runs is a duplicate, and the bench wants a run per webhook with the lock file hot in cache.
 */
async function postPush(hook: Hook): Promise<number> {
  const n = ++deliveries;
  const body = JSON.stringify({ ref: `refs/heads/bench/${tag}-${n}`, before: '0'.repeat(40), after: hook.sha, repository: { name: 'bench' } });
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

/** `count` webhooks from `inFlight` concurrent senders, until every job's result is acknowledged. */
async function load(hook: Hook, count: number, inFlight: number, timeoutMs: number): Promise<LoadResult> {
  const jobs = new Set<string>();
  const runs = new Set<string>();
  let duplicates = 0;
  let lastDispatch = 0;
  let dispatched!: () => void;
  const allDispatched = new Promise<void>((r) => (dispatched = r));
  watchAll((d) => {
    if (jobs.has(d.jobId)) duplicates++;
    jobs.add(d.jobId);
    runs.add(d.runId);
    lastDispatch = d.at;
    if (jobs.size === count) dispatched();
  });
  const finishedBefore = agents.reduce((n, a) => n + a.finished, 0);
  let lastFinish = 0;
  let finished!: () => void;
  const allFinished = new Promise<void>((r) => (finished = r));
  const onFinished = (): void => {
    if (agents.reduce((n, a) => n + a.finished, 0) - finishedBefore < count) return;
    lastFinish = performance.now();
    finished();
  };
  for (const a of agents) a.onFinished = onFinished;

  const replyMs: number[] = [];
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next++;
        replyMs.push(await postPush(hook));
      }
    }),
  );
  const accepted = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const done = agents.reduce((n, a) => n + a.finished, 0) - finishedBefore;
      reject(new Error(`stuck: after ${timeoutMs} ms, ${jobs.size} of ${count} jobs dispatched and ${done} results acknowledged`));
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.all([allDispatched, allFinished]), timeout]);
  } finally {
    clearTimeout(timer);
    watchAll(undefined);
    for (const a of agents) a.onFinished = undefined;
  }
  return {
    replyMs,
    dispatchedMs: lastDispatch - start,
    acceptedMs: accepted - start,
    finishedMs: lastFinish - start,
    runIds: [...runs],
    duplicates,
    rateWarnings: agents.reduce((n, a) => n + a.rateWarnings, 0),
    errors: agents.reduce((n, a) => n + a.errors, 0),
  };
}

async function handle(request: LoadRequest): Promise<unknown> {
  switch (request.op) {
    case 'agents':
      return connectAgents(request.wsUrl, request.tokens, request.slots, request.labels);
    case 'sequential':
      return sequential(request.hook, request.count);
    case 'load':
      return load(request.hook, request.count, request.inFlight, request.timeoutMs);
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
