import { describe, expect, it } from 'vitest';
import { AgentHub, type DispatchRequest, type JobEvents, type JobRef, type RecordAgent, type TokenGrant } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { RecordingSocket, authRequest, deferred, heartbeat, register, settle } from './recording-socket.js';

const HEARTBEAT_TIMEOUT = 9_000;
/** The epoch the runs answer `assign` with: a queued job's frame carries it. */
const RUN_EPOCH = 6;

type Call = [name: string, ...args: unknown[]];

/**
 * A manual clock that can also stall, as a node whose event loop was blocked: time jumps ahead
 * while no timer runs, then every timer that came due runs once, in order, as Node runs them
 * after a stall — before the sockets are read. Timers armed meanwhile wait for `advance`.
 */
class StallClock extends ManualClock {
  private readonly held: { at: number; fn: () => void; armed: boolean }[] = [];
  private offset = 0;

  override now(): number {
    return super.now() + this.offset;
  }

  override setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.now() + Math.max(0, ms), fn, armed: true };
    this.held.push(timer);
    return () => void (timer.armed = false);
  }

  stall(ms: number): void {
    this.offset += ms;
    const due = this.held.filter((t) => t.armed && t.at <= this.now()).sort((a, b) => a.at - b.at);
    for (const t of due) this.fire(t);
  }

  override advance(ms: number): void {
    const target = this.now() + ms;
    for (;;) {
      const next = this.held.filter((t) => t.armed && t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.offset += next.at - this.now();
      this.fire(next);
    }
    this.offset += target - this.now();
  }

  private fire(t: { fn: () => void; armed: boolean }): void {
    t.armed = false;
    t.fn();
  }
}

function rig(clock: ManualClock = new ManualClock(10_000)) {
  const calls: Call[] = [];
  const counts: number[] = [];
  const warnings: string[] = [];
  const warningFields: Record<string, unknown>[] = [];
  let finished: () => Promise<void> = async () => {};
  let step: () => Promise<void> = async () => {};
  let assignAnswer: () => number | undefined = () => RUN_EPOCH;
  /** What each job's run was told through the recorder its `place` passed, kept apart from the events. */
  const records: [jobId: string, agentId: string | null][] = [];
  const events: JobEvents = {
    assign: async (job, attempt, agentId, previous) => (calls.push(['assign', job.jobId, agentId, previous, attempt]), assignAnswer()),
    acked: (job, agentId) => void calls.push(['acked', job.jobId, agentId]),
    rejected: (job, agentId, reason) => void calls.push(['rejected', job.jobId, agentId, reason]),
    started: (job, agentId) => void calls.push(['started', job.jobId, agentId]),
    step: (job) => (calls.push(['step', job.jobId]), step()),
    finished: (job, agentId) => (calls.push(['finished', job.jobId, agentId]), finished()),
    heartbeat: (job, agentId) => void calls.push(['heartbeat', job.jobId, agentId]),
    agentLost: (agentId, jobs) => void calls.push(['agentLost', agentId, jobs]),
    agentRegistered: (agentId, jobs, at) => void calls.push(['agentRegistered', agentId, jobs, at]),
    logs: (job, agentId, stepIndex, lines) => void calls.push(['logs', job.jobId, agentId, stepIndex, lines]),
  };
  const grants: Record<string, TokenGrant> = {
    'tok-good': { tokenId: 'tok_1', labels: null, maxConcurrency: null },
    'tok-other': { tokenId: 'tok_2', labels: null, maxConcurrency: null },
  };
  const hub = new AgentHub({
    nodeId: 'node-a',
    clock,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT,
    validateToken: async (t) => grants[t] ?? null,
    events,
    onAgentCountChange: (n) => void counts.push(n),
    warn: (m, f) => {
      warnings.push(m);
      warningFields.push(f ?? {});
    },
  });

  async function connect(agentId: string, opts: { token?: string; extra?: Record<string, unknown> } = {}) {
    const socket = new RecordingSocket();
    socket.remoteAddress = '127.0.0.9';
    const session = hub.attach(socket);
    session.receive(authRequest(opts.token ?? 'tok-good'));
    await settle();
    session.receive(register(agentId, opts.extra));
    await hub.settled();
    return { socket, session, say: (frame: Record<string, unknown>) => session.receive(JSON.stringify(frame)) };
  }

  /** Place as a run does: every agent chosen is recorded before the frame leaves. */
  const place = (request: DispatchRequest) => hub.place(request, async (agentId) => void records.push([request.jobId, agentId]));

  return {
    clock,
    hub,
    calls,
    records,
    place,
    counts,
    warnings,
    warningFields,
    connect,
    named: (name: string) => calls.filter((c) => c[0] === name),
    /** What was said about jobs, without the registrations. */
    jobCalls: () => calls.filter((c) => c[0] !== 'agentRegistered'),
    holdFinished: (p: () => Promise<void>) => void (finished = p),
    holdStep: (p: () => Promise<void>) => void (step = p),
    answerAssign: (answer: () => number | undefined) => void (assignAnswer = answer),
  };
}

const job = (jobId: string, runId = 'run-1'): DispatchRequest => ({ runId, jobId, attempt: 1, frame: { runId, jobId } as unknown as DispatchRequest['frame'] });
const ref = (jobId: string): JobRef => ({ runId: 'run-1', jobId });
let seq = 0;
const status = (jobId: string, state: string, extra: Record<string, unknown> = {}) => ({
  type: 'job.status',
  messageId: `m-${++seq}`,
  timestamp: 1,
  runId: 'run-1',
  jobId,
  state,
  ...extra,
});

describe('AgentHub registration', () => {
  it('registers an agent, lists it, and counts it', async () => {
    const r = rig();
    await r.connect('a1', { extra: { maxConcurrency: 2 } });
    expect(r.hub.isConnected('a1')).toBe(true);
    expect(r.hub.connectedAgents()).toEqual(['a1']);
    expect(r.hub.directory.get('a1')).toMatchObject({ node: 'node-a', maxConcurrency: 2, labels: ['linux'] });
    expect(r.counts.at(-1)).toBe(1);
  });

  it('sends job.dispatch to the connected agent and drains the queue when an agent registers', async () => {
    const r = rig();
    expect(await r.place(job('j1'))).toEqual({ status: 'queued' });
    // No agent was chosen: the run's record (on no agent) is left as it was.
    expect(r.records).toEqual([]);
    const a = await r.connect('a1');
    // The register's drain sends once the run has answered; awaiting a drain waits for that pass.
    await r.hub.dispatcher.drain();
    expect(a.socket.last('job.dispatch')).toMatchObject({ jobId: 'j1', runId: 'run-1', epoch: RUN_EPOCH });
    expect(r.hub.dispatcher.pendingCount).toBe(0);
  });

  it('replaces an older session of the same agent id, and the old socket closing late changes nothing', async () => {
    const r = rig();
    const old = await r.connect('a1');
    await r.place(job('j1'));
    const fresh = await r.connect('a1', { extra: { inFlightJobs: [{ runId: 'run-1', jobId: 'j1' }] } });
    expect(old.socket.closedWith?.code).toBe(1001);
    expect(fresh.socket.closedWith).toBeUndefined();

    old.session.socketClosed();
    await r.hub.settled();
    expect(r.hub.isConnected('a1')).toBe(true);
    expect(r.hub.directory.get('a1')).toBeDefined();
    expect(r.named('agentLost')).toHaveLength(0);
    // The job stays with the agent across the reconnect, and the new session speaks for it.
    fresh.say({ type: 'job.status', runId: 'run-1', jobId: 'j1', state: 'running', messageId: 'm1', timestamp: 1 });
    await r.hub.settled();
    expect(r.named('started')).toHaveLength(1);
  });

  it('frees the slots of jobs a replacing connection no longer lists, and leaves the verdict to their runs', async () => {
    const r = rig();
    await r.connect('a1');
    await r.place(job('j1'));
    await r.connect('a1');
    // Not "lost" (that would start a recovery window): the run learns the agent registered without it.
    expect(r.named('agentLost')).toHaveLength(0);
    expect(r.named('agentRegistered').at(-1)).toEqual(['agentRegistered', 'a1', [], 10_000]);
    expect(r.hub.dispatcher.holder('j1')).toBeUndefined();
  });

  it('reports agentLost with the jobs it held when an agent disconnects', async () => {
    const r = rig();
    const a = await r.connect('a1', { extra: { maxConcurrency: 2 } });
    await r.place(job('j1'));
    await r.place(job('j2'));
    a.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    a.session.socketClosed();
    await r.hub.settled();
    expect(r.hub.isConnected('a1')).toBe(false);
    expect(r.hub.directory.get('a1')).toBeUndefined();
    expect(r.named('agentLost')).toEqual([
      ['agentLost', 'a1', [{ runId: 'run-1', jobId: 'j1', acked: true }, { runId: 'run-1', jobId: 'j2', acked: false }]],
    ]);
    expect(r.hub.dispatcher.holder('j1')).toBeUndefined();
    expect(r.counts.at(-1)).toBe(0);
  });

  it('reports every registration with the jobs the agent brings back, and adopts them', async () => {
    const r = rig();
    await r.connect('a1', { extra: { maxConcurrency: 2, inFlightJobs: [{ runId: 'run-7', jobId: 'j7' }] } });
    expect(r.named('agentRegistered')).toEqual([['agentRegistered', 'a1', [{ runId: 'run-7', jobId: 'j7' }], 10_000]]);
    expect(r.hub.dispatcher.holder('j7')).toMatchObject({ agentId: 'a1', acked: true });
    expect(r.hub.directory.get('a1')?.active).toBe(1);
  });

  it('reports a registration with no jobs too, so runs can see what the agent no longer has', async () => {
    const r = rig();
    await r.connect('a1');
    expect(r.named('agentRegistered')).toEqual([['agentRegistered', 'a1', [], 10_000]]);
  });
});

describe('AgentHub job messages', () => {
  it('routes ack, running, heartbeat and logs from the holder', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    a.say({ type: 'job.status', messageId: 'm1', timestamp: 1, runId: 'run-1', jobId: 'j1', state: 'running' });
    a.say({ type: 'job.heartbeat', runId: 'run-1', jobId: 'j1' });
    a.say({ type: 'log.chunk', runId: 'run-1', jobId: 'j1', stepIndex: 0, lines: ['hello'] });
    await r.hub.settled();
    expect(r.jobCalls().map((c) => c[0])).toEqual(['started', 'heartbeat', 'logs']);
    expect(r.named('logs')[0]).toEqual(['logs', 'j1', 'a1', 0, ['hello']]);
    expect(r.hub.dispatcher.holder('j1')?.acked).toBe(true);
  });

  it('frees the slot and reports a rejection, then offers the queue again', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    await r.place(job('j2'));
    a.say({ type: 'job.reject', runId: 'run-1', jobId: 'j1', reason: 'busy' });
    await r.hub.settled();
    await r.hub.dispatcher.drain();
    expect(r.named('rejected')).toEqual([['rejected', 'j1', 'a1', 'busy']]);
    expect(r.hub.dispatcher.holder('j2')?.agentId).toBe('a1');
    expect(a.socket.last('job.dispatch')).toMatchObject({ jobId: 'j2', epoch: RUN_EPOCH });
  });

  it('passes every claim on with who made it, and moves no slot for a job the agent does not hold', async () => {
    const r = rig();
    const a = await r.connect('a1');
    const b = await r.connect('b1');
    await r.place(job('j1'));
    const holder = r.hub.dispatcher.holder('j1')!.agentId;
    const other = holder === 'a1' ? b : a;
    const otherId = holder === 'a1' ? 'b1' : 'a1';
    other.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    other.say({ type: 'log.chunk', runId: 'run-1', jobId: 'j1', stepIndex: 0, lines: ['x'] });
    other.say({ type: 'job.heartbeat', runId: 'run-1', jobId: 'j1' });
    other.say({ type: 'job.status', messageId: 'm2', timestamp: 1, runId: 'run-1', jobId: 'j1', state: 'running' });
    other.say({ type: 'job.reject', runId: 'run-1', jobId: 'j1', reason: 'busy' });
    await r.hub.settled();
    // The run judges each against the job's record; the hub only says who spoke.
    expect(r.jobCalls().map((c) => [c[0], c[2]])).toEqual(['acked', 'logs', 'heartbeat', 'started', 'rejected'].map((n) => [n, otherId]));
    expect(r.hub.dispatcher.holder('j1')).toMatchObject({ agentId: holder, acked: false });
    expect(r.hub.directory.get(holder)?.active).toBe(1);
  });

  const refusal = (agentId: string) => ({ agentId, runId: 'run-1', jobId: 'not-mine', message: 'step_status', reason: 'the job is not dispatched to this agent' });

  it('logs each refused claim at warn with the agent and its address', async () => {
    const r = rig();
    await r.connect('a1');
    r.hub.refusedClaim(refusal('a1'));
    await r.hub.settled();
    expect(r.warnings).toEqual(['agent message about a job it does not hold refused; job.cancel sent']);
    expect(r.warningFields[0]).toMatchObject({ agentId: 'a1', address: '127.0.0.9', jobId: 'not-mine', message: 'step_status' });
  });

  it('disconnects an agent after 5 refused claims within a minute (4003)', async () => {
    const r = rig();
    const a = await r.connect('a1');
    for (let i = 0; i < 4; i++) r.hub.refusedClaim(refusal('a1'));
    await r.hub.settled();
    expect(a.socket.closedWith).toBeUndefined();
    r.hub.refusedClaim(refusal('a1'));
    await r.hub.settled();
    expect(a.socket.closedWith?.code).toBe(4003);
    expect(r.hub.isConnected('a1')).toBe(false);
  });

  it('forgets refusals older than a minute', async () => {
    const r = rig();
    const a = await r.connect('a1');
    for (let i = 0; i < 4; i++) r.hub.refusedClaim(refusal('a1'));
    await r.hub.settled();
    for (let t = 0; t < 20; t++) {
      r.clock.advance(3_000);
      a.session.receive(heartbeat(t + 2));
    }
    r.hub.refusedClaim(refusal('a1'));
    await r.hub.settled();
    expect(a.socket.closedWith).toBeUndefined();
  });

  it('acks a terminal job.status with ack{messageId} only after the event is durable', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    const durable = deferred<void>();
    r.holdFinished(() => durable.promise);
    const frame = status('j1', 'success');
    a.say(frame);
    await settle();
    expect(r.named('finished')).toEqual([['finished', 'j1', 'a1']]);
    expect(a.socket.last('ack')).toBeUndefined();
    // The slot is free at once, so the agent can take more work while the store catches up.
    expect(r.hub.dispatcher.holder('j1')).toBeUndefined();

    durable.resolve();
    await settle();
    expect(a.socket.last('ack')).toMatchObject({ type: 'ack', messageId: frame.messageId });
  });

  it('does not ack a terminal status the store failed to record, so the agent resends it', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    r.holdFinished(() => Promise.reject(new Error('disk full')));
    a.say(status('j1', 'failed'));
    await settle();
    expect(a.socket.last('ack')).toBeUndefined();
    expect(r.warnings).toHaveLength(1);
  });

  it('acks a terminal step.status after it is durable, but not a running one', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    const durable = deferred<void>();
    r.holdStep(() => durable.promise);
    const step = (state: string) => ({ type: 'step.status', messageId: `s-${state}`, timestamp: 1, runId: 'run-1', jobId: 'j1', stepIndex: 0, stepName: 'build', state });
    a.say(step('running'));
    a.say(step('success'));
    await settle();
    expect(a.socket.last('ack')).toBeUndefined();
    durable.resolve();
    await settle();
    expect(a.socket.sent.filter((f) => f.type === 'ack').map((f) => f.messageId)).toEqual(['s-success']);
  });

  it("does not free another agent's job on a terminal status it sends about it", async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    const b = await r.connect('b1');
    b.say(status('j1', 'success'));
    await settle();
    // The run hears the claim (with who made it) and decides; the holder keeps its slot and its job.
    expect(r.named('finished')).toEqual([['finished', 'j1', 'b1']]);
    expect(r.hub.dispatcher.holder('j1')?.agentId).toBe('a1');
    expect(r.hub.directory.get('a1')?.active).toBe(1);
    a.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    await r.hub.settled();
    expect(r.named('acked')).toEqual([['acked', 'j1', 'a1']]);
  });

  it('forwards a terminal status for a job this node never saw, so the run decides', async () => {
    const r = rig();
    const a = await r.connect('a1');
    a.say(status('ghost', 'success'));
    await settle();
    expect(r.named('finished')).toEqual([['finished', 'ghost', 'a1']]);
    expect(a.socket.last('ack')).toBeDefined();
  });
});

describe('AgentHub control', () => {
  it('revokeToken closes every session on that token with 4010 and auth.failure', async () => {
    const r = rig();
    const a = await r.connect('a1');
    const b = await r.connect('b1', { token: 'tok-other' });
    expect(r.hub.revokeToken('tok_1')).toBe(1);
    expect(a.socket.last('auth.failure')).toMatchObject({ reason: 'Token revoked' });
    expect(a.socket.closedWith?.code).toBe(4010);
    expect(b.socket.closedWith).toBeUndefined();
    await r.hub.settled();
    expect(r.hub.connectedAgents()).toEqual(['b1']);
    expect(r.hub.revokeToken('tok_1')).toBe(0);
  });

  it('revokeToken also closes a session that authenticated but has not registered yet', async () => {
    const r = rig();
    const socket = new RecordingSocket();
    const session = r.hub.attach(socket);
    session.receive(authRequest('tok-good'));
    await settle();
    expect(socket.last('auth.success')).toBeDefined();
    expect(r.hub.revokeToken('tok_1')).toBe(1);
    expect(socket.closedWith?.code).toBe(4010);
    session.receive(register('late'));
    await r.hub.settled();
    expect(r.hub.isConnected('late')).toBe(false);
  });

  it('closes a session that sends nothing for the heartbeat timeout with 4004', async () => {
    const r = rig();
    const quiet = await r.connect('quiet');
    const chatty = await r.connect('chatty');
    for (let t = 0; t < 4; t++) {
      r.clock.advance(3_000);
      chatty.session.receive(heartbeat(t + 1));
    }
    expect(quiet.socket.closedWith?.code).toBe(4004);
    expect(chatty.socket.closedWith).toBeUndefined();
    await r.hub.settled();
    expect(r.hub.connectedAgents()).toEqual(['chatty']);
  });

  it('cancel withdraws a queued job and sends job.cancel for a placed one', async () => {
    const r = rig();
    await r.place(job('queued'));
    expect(r.hub.cancel(ref('queued'), 'user', false, 3)).toBe('withdrawn');
    expect(r.hub.cancel(ref('nowhere'), 'user', false, 3)).toBe('unknown');
    const a = await r.connect('a1');
    await r.place(job('j1'));
    expect(r.hub.cancel(ref('j1'), 'user', true, 3)).toBe('sent');
    expect(a.socket.last('job.cancel')).toMatchObject({ jobId: 'j1', reason: 'user', force: true, epoch: 3 });
  });

  it('cancel naming an agent that is not the holder stops only that agent’s copy', async () => {
    const r = rig();
    const holder = await r.connect('a1');
    await r.place(job('j1'));
    // a2 comes back still running j1, which went to a1 while it was away.
    const stale = await r.connect('a2', { extra: { inFlightJobs: [{ runId: 'run-1', jobId: 'j1' }] } });
    expect(r.hub.dispatcher.holder('j1')?.agentId).toBe('a1');
    expect(r.hub.cancel(ref('j1'), 'reassigned', true, 3, 'a2')).toBe('sent');
    expect(stale.socket.last('job.cancel')).toMatchObject({ jobId: 'j1', force: true });
    expect(holder.socket.last('job.cancel')).toBeUndefined();
    expect(r.hub.dispatcher.holder('j1')?.agentId).toBe('a1');
  });

  it('asks the run to record a queue placement, with its attempt, and watches no deadline itself', async () => {
    const r = rig();
    await r.place(job('j1'));
    const a = await r.connect('a1');
    await r.hub.dispatcher.drain();
    expect(a.socket.last('job.dispatch')).toBeDefined();
    expect(r.named('assign')).toEqual([['assign', 'j1', 'a1', null, 1]]);
    for (let t = 0; t < 10; t++) {
      r.clock.advance(3_000);
      a.session.receive(heartbeat(t + 2));
    }
    await r.hub.settled();
    expect(a.socket.closedWith).toBeUndefined();
    expect(r.hub.dispatcher.holder('j1')?.agentId).toBe('a1');
  });

  it('closeSilentAgent judges a turn later: the silent holder is closed with 4031 and the job freed, then the verdict is closed', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    const verdict = r.hub.closeSilentAgent('a1', 'j1');
    expect(r.hub.dispatcher.holder('j1')?.agentId, 'held until the verdict').toBe('a1');
    expect(a.socket.closedWith).toBeUndefined();
    r.clock.advance(0);
    expect(await verdict).toBe('closed');
    expect(r.hub.dispatcher.holder('j1')).toBeUndefined();
    expect(a.socket.closedWith?.code).toBe(4031);
    await r.hub.settled();
    expect(r.named('agentLost')).toHaveLength(0);
  });

  it('keeps an agent whose ack is read in the same turn as its ack deadline (a stall of this node, not a silent agent)', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    // The run's deadline fired first, as timers do after a stall; the ack sat unread in the socket.
    const verdict = r.hub.closeSilentAgent('a1', 'j1');
    a.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    r.clock.advance(0);
    // It answered: the run hears so and waits for its word instead of placing the job again.
    expect(await verdict).toBe('acked');
    expect(a.socket.closedWith).toBeUndefined();
    expect(r.hub.dispatcher.holder('j1')?.agentId, 'the agent keeps the job and its slot').toBe('a1');
    await r.hub.settled();
    expect(r.hub.isConnected('a1')).toBe(true);
    expect(r.named('acked')).toEqual([['acked', 'j1', 'a1']]);
  });

  it('keeps an agent whose ack this node already handled, and its slot, when the deadline reaches it', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    a.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    await r.hub.settled();
    expect(r.hub.closeSilentAgent('a1', 'j1')).toBe('acked');
    r.clock.advance(0);
    expect(a.socket.closedWith).toBeUndefined();
    // The agent runs the job: its own word about it frees the slot, not the owner's late deadline.
    expect(r.hub.dispatcher.holder('j1')?.agentId).toBe('a1');
    // Its ack is told to the run again, in case the first was lost on the way.
    expect(r.named('acked')).toEqual([
      ['acked', 'j1', 'a1'],
      ['acked', 'j1', 'a1'],
    ]);
  });

  it('keeps an agent that already finished the job when the deadline reaches it (its result still on the way)', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    r.holdFinished(() => new Promise(() => {}));
    a.say({ type: 'job.status', messageId: 'm1', timestamp: 1, runId: 'run-1', jobId: 'j1', state: 'success' });
    await r.hub.settled();
    expect(r.hub.dispatcher.holder('j1')).toBeUndefined();
    expect(r.hub.closeSilentAgent('a1', 'j1')).toBe('acked');
    r.clock.advance(0);
    expect(a.socket.closedWith).toBeUndefined();
    expect(r.named('acked')).toEqual([['acked', 'j1', 'a1']]);
  });

  it('leaves an agent whose socket another node holds to that node, and says the run must wait for its word', async () => {
    const r = rig();
    const commands: unknown[] = [];
    r.hub.placement.connect({ offer: async () => ({ status: 'refused', reason: 'none' }), command: (node, c) => void commands.push([node, c]) });
    r.hub.placement.slotsReported('node-b', [{ agentId: 'far', labels: ['linux'], maxConcurrency: 1, active: 1 }]);
    expect(r.hub.closeSilentAgent('far', 'j1')).toBe('asked');
    expect(commands).toEqual([['node-b', { command: 'close_silent', agentId: 'far', jobId: 'j1' }]]);
  });

  it('told by another node\'s run to judge a silent agent, keeps the job on it until the close, which reports it lost', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    expect(r.hub.commanded({ command: 'close_silent', agentId: 'a1', jobId: 'j1' })).toBe(true);
    // The run waits for this node's word: the job is not freed behind the agent's back.
    expect(r.hub.dispatcher.holder('j1')?.agentId).toBe('a1');
    r.clock.advance(0);
    expect(a.socket.closedWith?.code).toBe(4031);
    await r.hub.settled();
    expect(r.named('agentLost')).toEqual([['agentLost', 'a1', [{ runId: 'run-1', jobId: 'j1', acked: false }]]]);
  });

  it('told by another node\'s run to judge an agent that did ack, tells the run its ack again and keeps it', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.place(job('j1'));
    a.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    await r.hub.settled();
    r.hub.commanded({ command: 'close_silent', agentId: 'a1', jobId: 'j1' });
    r.clock.advance(0);
    expect(a.socket.closedWith).toBeUndefined();
    expect(r.named('acked')).toHaveLength(2);
  });

  it('says an agent is gone when no node known holds its socket', async () => {
    const r = rig();
    expect(r.hub.closeSilentAgent('nowhere', 'j1')).toBe('gone');
  });

  it('still closes with 4031 when what arrives in that turn is about another job', async () => {
    const r = rig();
    const a = await r.connect('a1', { extra: { maxConcurrency: 2 } });
    await r.place(job('j1'));
    await r.place(job('j2'));
    r.hub.closeSilentAgent('a1', 'j1');
    a.say({ type: 'job.ack', runId: 'run-1', jobId: 'j2' });
    a.session.receive(heartbeat(2));
    r.clock.advance(0);
    expect(a.socket.closedWith?.code).toBe(4031);
  });

  it('counts WebSocket pings as signs of life: an agent that only pings stays, a silent one is closed (4004)', async () => {
    const r = rig();
    const pinger = await r.connect('pinger');
    const quiet = await r.connect('quiet');
    // The agent pings a quiet link every quarter of its ping timeout; its heartbeat frame comes far less often.
    for (let t = 0; t < 20; t++) {
      r.clock.advance(HEARTBEAT_TIMEOUT / 4);
      pinger.session.pinged();
    }
    expect(pinger.socket.closedWith).toBeUndefined();
    expect(quiet.socket.closedWith?.code).toBe(4004);
    await r.hub.settled();
    expect(r.hub.connectedAgents()).toEqual(['pinger']);
  });

  it('closes a silent agent within the heartbeat timeout, and not before 0.9 of it', async () => {
    // Silence starting anywhere between two checks (every tenth of the timeout).
    for (const offset of [0, 1, 450, 899, 900, 3_333]) {
      const r = rig();
      r.clock.advance(offset);
      const a = await r.connect('a1');
      const t0 = r.clock.now();
      let closedAt: number | undefined;
      const close = a.socket.close.bind(a.socket);
      a.socket.close = (code, reason) => {
        closedAt ??= r.clock.now();
        close(code, reason);
      };
      r.clock.advance(2 * HEARTBEAT_TIMEOUT);
      expect(a.socket.closedWith?.code, `silent from offset ${offset}`).toBe(4004);
      expect(closedAt! - t0, `silent from offset ${offset}`).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT);
      expect(closedAt! - t0, `silent from offset ${offset}`).toBeGreaterThan(0.9 * HEARTBEAT_TIMEOUT);
    }
  });

  it('looks again, after the frames already received are read, before closing an agent after a stall longer than the timeout', async () => {
    const clock = new StallClock(10_000);
    const r = rig(clock);
    const talking = await r.connect('talking');
    const pinging = await r.connect('pinging');
    const dead = await r.connect('dead');
    // The node's event loop stalls for twice the timeout: its timers come due all at once.
    clock.stall(2 * HEARTBEAT_TIMEOUT);
    expect(dead.socket.closedWith).toBeUndefined();
    // Then the sockets are read: what the live agents sent during the stall.
    talking.session.receive(heartbeat(2));
    pinging.session.pinged();
    clock.advance(HEARTBEAT_TIMEOUT / 10);
    expect(talking.socket.closedWith).toBeUndefined();
    expect(pinging.socket.closedWith).toBeUndefined();
    expect(dead.socket.closedWith?.code).toBe(4004);
  });

  it('stop closes every session with 1001', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.hub.stop();
    expect(a.socket.closedWith?.code).toBe(1001);
    expect(r.hub.connectedAgents()).toEqual([]);
  });
});

describe('AgentHub records before it sends', () => {
  it('has the run record the agent before the job.dispatch frame goes to it', async () => {
    const r = rig();
    const a = await r.connect('a1');
    const seen: [agentId: string | null, frameSent: boolean][] = [];
    const record: RecordAgent = async (agentId) => void seen.push([agentId, a.socket.last('job.dispatch') !== undefined]);
    expect(await r.hub.place(job('j1'), record)).toEqual({ status: 'sent', agentId: 'a1' });
    expect(seen).toEqual([['a1', false]]);
    expect(a.socket.last('job.dispatch')).toMatchObject({ jobId: 'j1' });
  });

  it('sends nothing when the run may no longer act, and keeps the slot free', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await expect(r.hub.place(job('j1'), async () => Promise.reject(new Error('the run moved')))).rejects.toThrow('the run moved');
    expect(a.socket.last('job.dispatch')).toBeUndefined();
    expect(r.hub.directory.get('a1')?.active).toBe(0);
    expect(await r.place(job('j2'))).toEqual({ status: 'sent', agentId: 'a1' });
  });

  it('drops a queued job whose run refuses the assign, sending nothing', async () => {
    const r = rig();
    r.answerAssign(() => undefined);
    await r.place(job('j1'));
    const a = await r.connect('a1');
    await r.hub.dispatcher.drain();
    expect(r.named('assign')).toEqual([['assign', 'j1', 'a1', null, 1]]);
    expect(a.socket.last('job.dispatch')).toBeUndefined();
    expect(r.hub.dispatcher.pendingCount).toBe(0);
    expect(r.hub.directory.get('a1')?.active).toBe(0);
  });
});
