/**
 * Dispatch across the mesh with two nodes' dispatchers wired back to back: the offering side is the
 * real MeshPlacement, the answering side the real JobDispatcher.placeOn; only the wire between
 * them is a function call (the e2e cluster tests cover the peer links).
 */
import { describe, expect, it } from 'vitest';
import { AgentDirectory, JobDispatcher, MeshPlacement, type DispatchRequest, type InFlight, type MeshPort, type OfferAnswer } from '../../../src/agents/index.js';
import type { AgentCommandBody } from '../../../src/transport/index.js';

function request(jobId: string, runsOn: DispatchRequest['runsOn'] = ['linux'], attempt = 1): DispatchRequest {
  return { runId: 'run-1', jobId, attempt, runsOn, frame: { epoch: 3 } as DispatchRequest['frame'] };
}

function node(name: string) {
  const directory = new AgentDirectory();
  const sent: { agentId: string; jobId: string }[] = [];
  const assigned: [InFlight, number][] = [];
  const dispatcher = new JobDispatcher(directory, {
    sendDispatch: (agentId, req) => sent.push({ agentId, jobId: req.jobId }) > 0,
    assigned: (job, attempt) => void assigned.push([job, attempt]),
    queueDepth: () => {},
  });
  const placement = new MeshPlacement(dispatcher, (job, attempt) => void assigned.push([job, attempt]));
  const agent = (agentId: string, maxConcurrency = 1, labels = ['linux']) => directory.upsert({ agentId, node: name, labels, maxConcurrency });
  return { name, directory, dispatcher, placement, sent, assigned, agent };
}

type Node = ReturnType<typeof node>;

/** `from` offers to `to` through a port that calls `to`'s dispatcher; answers can be held back or lost. */
function wire(from: Node, to: Node, opts: { unanswered?: boolean; gate?: Promise<void> } = {}) {
  const commands: AgentCommandBody[] = [];
  const offers: string[] = [];
  const port: MeshPort = {
    offer: async (target, agentId, req): Promise<OfferAnswer> => {
      offers.push(`${target}/${agentId}/${req.jobId}`);
      await opts.gate;
      const answer = to.dispatcher.placeOn(agentId, req);
      return opts.unanswered ? { status: 'unanswered', reason: 'timed out' } : answer;
    },
    command: (_node, c) => void commands.push(c),
  };
  from.placement.connect(port);
  const report = () => from.placement.slotsReported(to.name, to.directory.slots());
  return { commands, offers, report };
}

describe('MeshPlacement', () => {
  it('uses an agent of its own node first, without asking the mesh', async () => {
    const a = node('a');
    const b = node('b');
    a.agent('local');
    b.agent('far');
    const w = wire(a, b);
    w.report();
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'local' });
    expect(w.offers).toEqual([]);
  });

  it('offers a job to an agent another node holds when none here can take it', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far', 1, ['gpu']);
    const w = wire(a, b);
    w.report();
    expect(await a.placement.dispatch(request('j1', ['gpu']))).toEqual({ status: 'sent', agentId: 'far' });
    expect(b.sent).toEqual([{ agentId: 'far', jobId: 'j1' }]);
    // The far node keeps the slot: its agent is full now, and its next report says so.
    expect(b.directory.get('far')!.active).toBe(1);
    expect(a.dispatcher.pendingCount).toBe(0);
  });

  it('queues a job the far node refuses (its agent filled meanwhile) and does not ask that agent again until a report frees it', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    const w = wire(a, b);
    w.report();
    b.dispatcher.dispatch(request('theirs'));
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'queued' });
    expect(w.offers).toEqual(['b/far/j1']);
    expect(await a.placement.dispatch(request('j2'))).toEqual({ status: 'queued' });
    expect(w.offers).toHaveLength(1);
    // Their job ends: b reports a free slot, and a's oldest queued job goes there.
    b.dispatcher.release('theirs');
    w.report();
    await a.placement.drainElsewhere();
    expect(b.sent.map((s) => s.jobId)).toEqual(['theirs', 'j1']);
    expect(a.assigned).toEqual([[{ runId: 'run-1', jobId: 'j1', agentId: 'far', acked: false }, 1]]);
    expect(a.dispatcher.queued().map((q) => q.jobId)).toEqual(['j2']);
  });

  it('counts an unanswered offer as given to that agent: the run\'s ack deadline decides, never a second agent at once', async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    b.agent('far-b');
    c.agent('far-c');
    const w = wire(a, b, { unanswered: true });
    w.report();
    a.placement.slotsReported('c', c.directory.slots());
    const placed = await a.placement.dispatch(request('j1'));
    expect(placed.status).toBe('sent');
    expect(w.offers).toHaveLength(1);
    expect(c.sent).toEqual([]);
  });

  it('a queued job withdrawn while out on an offer is stopped on the agent that took it, not reported to its run', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    let open!: () => void;
    const w = wire(a, b, { gate: new Promise<void>((r) => (open = r)) });
    // Queued first (no report yet), then a report arrives and the drain offers it.
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'queued' });
    w.report();
    const drained = a.placement.drainElsewhere();
    expect(a.placement.withdraw('j1')).toBe(true);
    open();
    await drained;
    expect(a.assigned).toEqual([]);
    expect(w.commands).toEqual([{ command: 'cancel', agentId: 'far', runId: 'run-1', jobId: 'j1', reason: 'the run no longer wants this job', force: true, epoch: 3 }]);
  });

  it('a job queued here is never placed here and elsewhere at once', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    let open!: () => void;
    const w = wire(a, b, { gate: new Promise<void>((r) => (open = r)) });
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'queued' });
    w.report();
    const drained = a.placement.drainElsewhere();
    // A local agent turns up while the offer is out: the job is not in the queue for it to take.
    a.agent('local');
    a.dispatcher.drain();
    open();
    await drained;
    expect(a.sent).toEqual([]);
    expect(b.sent).toEqual([{ agentId: 'far', jobId: 'j1' }]);
  });

  it('a node whose link went down is not offered jobs', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    const w = wire(a, b);
    w.report();
    a.placement.nodeGone('b');
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'queued' });
    expect(w.offers).toEqual([]);
  });

  it('the far node hands back the holder when the same job is offered twice', () => {
    const b = node('b');
    b.agent('far', 2);
    expect(b.dispatcher.placeOn('far', request('j1'))).toEqual({ status: 'taken', agentId: 'far' });
    expect(b.dispatcher.placeOn('far', request('j1'))).toEqual({ status: 'taken', agentId: 'far' });
    expect(b.sent).toHaveLength(1);
    expect(b.dispatcher.placeOn('gone', request('j2'))).toEqual({ status: 'refused', reason: 'the agent is not connected here' });
    expect(b.dispatcher.placeOn('far', request('j3', ['gpu']))).toEqual({ status: 'refused', reason: 'the agent has no free slot for these labels' });
  });

  it('a request sent again for an attempt placed elsewhere (its run re-activated) gets the same agent, with no second offer', async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    b.agent('far-b');
    c.agent('far-c', 4);
    const w = wire(a, b);
    w.report();
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'far-b' });
    // c now reports more free slots than b: a fresh choice would go there.
    a.placement.slotsReported('c', c.directory.slots());
    expect(await a.placement.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'far-b' });
    expect(w.offers).toEqual(['b/far-b/j1']);
    // A later attempt is a new decision.
    expect((await a.placement.dispatch(request('j1', ['linux'], 2))).status).toBe('sent');
    expect(w.offers).toHaveLength(2);
  });

  it('drops, instead of offering, a queued job whose run this node no longer acts for', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    const lost = new Set<string>();
    const dispatcher = new JobDispatcher(a.directory, {
      sendDispatch: () => true,
      assigned: () => {},
      queueDepth: () => {},
      wanted: (req) => !lost.has(req.runId),
    });
    const placement = new MeshPlacement(dispatcher, () => {});
    const offers: string[] = [];
    placement.connect({ offer: async (_n, agentId, req) => (offers.push(req.jobId), b.dispatcher.placeOn(agentId, req)), command: () => {} });
    expect(await placement.dispatch(request('j1'))).toEqual({ status: 'queued' });
    lost.add('run-1');
    placement.slotsReported('b', b.directory.slots());
    await placement.drainElsewhere();
    expect(offers).toEqual([]);
    expect(dispatcher.pendingCount).toBe(0);
  });
});
