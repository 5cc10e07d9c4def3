/**
 * A job whose agent is on another node is not placed again on the owner's ack deadline alone: only
 * that node sees the agent's socket, and its word may be slow to come (a relay held up under load)
 * or cut off for a while (its map of the runs' owners stale after a shard move). Two nodes, with
 * the real pieces on both: the run's owner `y` (RunActor, HubDispatcher, AgentHub with a free agent
 * of its own) and the agent's node `x` (AgentHub holding agent-a). Between them the mesh is a
 * function call (offers and commands); x's reports to runs go through a route the test can hold
 * back, as a RemoteDelivery retrying an unknown owner holds them.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { AgentHub } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { HubDispatcher, jobEventsToRuns, type RunReports } from '../../../src/dispatch/index.js';
import { MemoryRunStore, RUN_ACTOR_KIND, runActorFactory, runRef, type RunMessage, type RunReply } from '../../../src/runs/index.js';
import type { JobOfferBody } from '../../../src/transport/index.js';
import { planRun } from '../runs/run-fixtures.js';
import { RecordingSocket, authRequest, register, settle } from './recording-socket.js';

const RUN = 'run-1';
const JOB = 'build';
const ACK_TIMEOUT = 10_000;
const RECOVERY_WINDOW = 120_000;
const START = 1_000_000;

/** Reports from x to the runs, held back while the route is cut, then handed over in order. */
class HeldRoute implements RunReports {
  cut = true;
  private readonly held: { runId: string; msg: RunMessage; done?: () => void }[] = [];

  constructor(private readonly owner: () => ActorSystem) {}

  tell(runId: string, msg: RunMessage): void {
    if (this.cut) this.held.push({ runId, msg });
    else runRef(this.owner(), runId).tell(msg);
  }

  async ask(runId: string, msg: RunMessage): Promise<void> {
    if (!this.cut) return void (await runRef(this.owner(), runId).ask<RunReply>(msg, 60_000));
    await new Promise<void>((done) => this.held.push({ runId, msg, done }));
  }

  /** The route works again: what waited goes on, in the order it was sent. */
  async heal(): Promise<void> {
    this.cut = false;
    for (const { runId, msg, done } of this.held.splice(0)) {
      await runRef(this.owner(), runId).ask<RunReply>(msg, 60_000);
      done?.();
    }
  }

  types(): string[] {
    return this.held.map((h) => h.msg.type);
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((resolve) => setImmediate(resolve));
}

function cluster() {
  const clock = new ManualClock(START);
  const store = new MemoryRunStore();
  store.add(planRun(RUN, [{ id: JOB, runsOn: ['linux'] }]));
  let epoch = 1;
  const owner = new ActorSystem({ nodeId: 'y', clock, shardMap: { ownerOf: () => ({ node: 'y', epoch }) } });
  const route = new HeldRoute(() => owner);
  const held = async (agentId: string) => store.jobsHeldBy(agentId);
  const hub = (nodeId: string, events: ConstructorParameters<typeof AgentHub>[0]['events']) =>
    new AgentHub({ nodeId, clock, heartbeatTimeoutMs: 3_600_000, validateToken: async () => ({ tokenId: 't', labels: null, maxConcurrency: null }), events });
  const y = hub('y', jobEventsToRuns({ system: owner, held, log: () => {} }));
  const x = hub('x', jobEventsToRuns({ system: owner, held, log: () => {}, reports: route }));
  // The mesh: y offers to and commands x's agents; x's slots are known to y.
  const commands: string[] = [];
  let xAnswers = true;
  y.placement.connect({
    offer: async (_node, agentId, request) => x.offered({ agentId, ...request } as JobOfferBody),
    command: (_node, command) => {
      commands.push(command.command);
      if (xAnswers) x.commanded(command);
    },
  });
  const dispatcher = new HubDispatcher({ hub: y, epochOfRun: () => epoch });
  const boot = () =>
    owner.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher, options: { ackTimeoutMs: ACK_TIMEOUT, recoveryWindowMs: RECOVERY_WINDOW } }));
  const send = (msg: RunMessage) => owner.ref<RunMessage>(RUN_ACTOR_KIND, RUN).ask<RunReply>(msg, 600_000);
  const reportSlots = () => y.placement.slotsReported('x', x.directory.slots());
  const advance = async (ms: number) => {
    clock.advance(ms);
    await flush();
    clock.advance(0);
    await flush();
  };
  return {
    clock,
    store,
    route,
    x,
    y,
    commands,
    boot,
    send,
    reportSlots,
    advance,
    job: () => store.job(RUN, JOB),
    setEpoch: (e: number) => void (epoch = e),
    unreachable: () => void (xAnswers = false),
  };
}

async function connect(hub: AgentHub, agentId: string) {
  const socket = new RecordingSocket();
  const session = hub.attach(socket);
  session.receive(authRequest());
  await settle();
  session.receive(register(agentId));
  await hub.settled();
  let sent = 0;
  const say = (frame: Record<string, unknown>) => session.receive(JSON.stringify({ messageId: `${agentId}-${++sent}`, timestamp: 1, runId: RUN, jobId: JOB, ...frame }));
  return {
    socket,
    session,
    say,
    dispatches: () => socket.sent.filter((f) => f.type === 'job.dispatch' && f.jobId === JOB).length,
    /** The agent runs the job to its end: ack, start, its one step, success. */
    async runs() {
      say({ type: 'job.ack' });
      say({ type: 'job.status', state: 'running' });
      say({ type: 'step.status', stepIndex: 0, stepName: 'step-1', state: 'success', exitCode: 0 });
      say({ type: 'job.status', state: 'success' });
      await hub.settled();
    },
  };
}

/** The job as an earlier owner left it: placed on agent-a (on x) at epoch 1, no ack on record. */
function placedByEarlierOwner(c: ReturnType<typeof cluster>): void {
  const loaded = c.store.run(RUN);
  loaded.run.status = 'running';
  loaded.run.startedAt = START;
  Object.assign(loaded.jobs[0]!, { status: 'queued', needsSatisfied: true, agentId: 'agent-a', dispatchAttempts: 1, dispatchedAt: START, ackDeadline: START + ACK_TIMEOUT });
  // The earlier owner's offer reached x, which sent the frame to agent-a.
  c.x.offered({ agentId: 'agent-a', runId: RUN, jobId: JOB, attempt: 1, runsOn: ['linux'], frame: { runId: RUN, jobId: JOB, epoch: 1 } } as unknown as JobOfferBody);
}

describe('an unanswered dispatch to an agent on another node', () => {
  it('is not placed again by a new owner while the agent runs it and its node cannot reach the owner (the takeover case)', async () => {
    const c = cluster();
    const a = await connect(c.x, 'agent-a');
    placedByEarlierOwner(c);
    expect(a.dispatches()).toBe(1);
    // agent-a acks and runs the job; x's reports wait: its map names no owner it can reach.
    await a.runs();
    expect(c.route.types()).toEqual(['job_acked', 'job_started', 'step_status', 'job_finished']);
    // The shard moves to y, which takes the run over with a free agent of its own.
    c.store.takeOver(RUN, 2);
    c.setEpoch(2);
    c.boot();
    const b = await connect(c.y, 'agent-b');
    await c.send({ type: 'resume' });
    await c.advance(ACK_TIMEOUT);
    await c.advance(ACK_TIMEOUT);
    // Nobody else is given the job while agent-a may hold it.
    expect(b.dispatches()).toBe(0);
    expect(c.job()).toMatchObject({ status: 'queued', agentId: 'agent-a', dispatchAttempts: 1 });
    expect(c.commands).toContain('close_silent');
    expect(a.socket.closedWith).toBeUndefined();
    // x reaches the owner again: agent-a's reports are the job's, and nothing is refused.
    await c.route.heal();
    await flush();
    expect(c.job()).toMatchObject({ status: 'success', agentId: 'agent-a' });
    expect(c.store.run(RUN).run.status).toBe('success');
    expect(a.socket.last('job.cancel')).toBeUndefined();
    expect(b.dispatches()).toBe(0);
  });

  it('is not placed again when the agent\'s ack is relayed slower than the ack deadline', async () => {
    const c = cluster();
    c.boot();
    const a = await connect(c.x, 'agent-a');
    c.reportSlots();
    await c.send({ type: 'start' });
    // y has no agent of its own yet: the job is offered to agent-a on x.
    expect(a.dispatches()).toBe(1);
    expect(c.job()).toMatchObject({ status: 'queued', agentId: 'agent-a' });
    a.say({ type: 'job.ack' });
    await c.x.settled();
    // An agent of y's frees up; the ack is still on its way.
    const b = await connect(c.y, 'agent-b');
    await c.advance(ACK_TIMEOUT);
    expect(b.dispatches()).toBe(0);
    expect(a.socket.closedWith).toBeUndefined();
    await c.route.heal();
    await flush();
    expect(c.job()).toMatchObject({ status: 'queued', agentId: 'agent-a', ackedAt: expect.any(Number) });
    await a.runs();
    await flush();
    expect(c.job()).toMatchObject({ status: 'success', agentId: 'agent-a' });
    expect(b.dispatches()).toBe(0);
  });

  it('is placed again once the agent\'s node closed it as silent and it came back without the job', async () => {
    const c = cluster();
    c.route.cut = false;
    c.boot();
    const a = await connect(c.x, 'agent-a');
    c.reportSlots();
    await c.send({ type: 'start' });
    expect(a.dispatches()).toBe(1);
    const b = await connect(c.y, 'agent-b');
    // agent-a never answers: x closes it (4031), and it registers again holding nothing.
    await c.advance(ACK_TIMEOUT);
    expect(a.socket.closedWith?.code).toBe(4031);
    await c.x.settled();
    const again = await connect(c.x, 'agent-a');
    await flush();
    expect(again.dispatches()).toBe(0);
    expect(b.dispatches()).toBe(1);
    expect(c.job()).toMatchObject({ status: 'queued', agentId: 'agent-b', dispatchAttempts: 2 });
  });

  it('is placed again once the agent\'s node closed it as silent, even if it never comes back', async () => {
    const c = cluster();
    c.route.cut = false;
    c.boot();
    const a = await connect(c.x, 'agent-a');
    c.reportSlots();
    await c.send({ type: 'start' });
    const b = await connect(c.y, 'agent-b');
    // agent-a hangs: x closes it, and the close tells the run the job went with it.
    await c.advance(ACK_TIMEOUT);
    expect(a.socket.closedWith?.code).toBe(4031);
    await c.x.settled();
    await flush();
    expect(b.dispatches()).toBe(1);
    expect(c.job()).toMatchObject({ status: 'queued', agentId: 'agent-b', previousAgentId: 'agent-a', dispatchAttempts: 2 });
  });

  it('fails the job, never placing it again, when the agent\'s node says nothing for the recovery window', async () => {
    const c = cluster();
    c.boot();
    const a = await connect(c.x, 'agent-a');
    c.reportSlots();
    await c.send({ type: 'start' });
    expect(a.dispatches()).toBe(1);
    const b = await connect(c.y, 'agent-b');
    c.unreachable();
    await c.advance(ACK_TIMEOUT);
    expect(c.job()).toMatchObject({ status: 'queued', agentId: 'agent-a' });
    for (let t = 0; t < RECOVERY_WINDOW; t += ACK_TIMEOUT) await c.advance(ACK_TIMEOUT);
    expect(c.job().status).toBe('failed');
    expect(c.job().error).toMatch(/did not say whether/);
    expect(c.store.run(RUN).run.status).toBe('failed');
    expect(b.dispatches()).toBe(0);
  });
});
