/**
 * Dispatch across the mesh with nodes' dispatchers wired back to back: the offering side is the
 * real MeshPlacement, the answering side the real JobDispatcher.placeOn; only the wire between
 * them is a function call (the e2e cluster tests cover the peer links). The run's side (its
 * recorder, and `assign` for queued jobs) is a recording fake.
 */
import { describe, expect, it } from 'vitest';
import { AgentDirectory, JobDispatcher, MeshPlacement, type DispatchRequest, type MeshPort, type OfferAnswer, type RecordAgent } from '../../../src/agents/index.js';
import type { AgentCommandBody } from '../../../src/transport/index.js';

/** The epoch in a request's frame; the run answers `assign` with RUN_EPOCH, so a frame shows which it carries. */
const REQUEST_EPOCH = 3;
const RUN_EPOCH = 5;

function request(jobId: string, runsOn: DispatchRequest['runsOn'] = ['linux'], attempt = 1): DispatchRequest {
  return { runId: 'run-1', jobId, attempt, runsOn, frame: { epoch: REQUEST_EPOCH } as DispatchRequest['frame'] };
}

/** A run's recorder: what it was told, in order. */
function recorder(): { record: RecordAgent; recorded: (string | null)[] } {
  const recorded: (string | null)[] = [];
  return { recorded, record: async (agentId) => void recorded.push(agentId) };
}

function node(name: string) {
  const directory = new AgentDirectory();
  const sent: { agentId: string; jobId: string; epoch?: number }[] = [];
  /** Every `assign` asked of this node's runs, by the dispatcher's drain or the mesh's. */
  const assigned: [jobId: string, agentId: string | null, previous: string | null][] = [];
  /** How the run answers `assign` (undefined: it refuses); a test may swap it. */
  let answer: (agentId: string | null) => number | undefined = () => RUN_EPOCH;
  const assign = async (req: DispatchRequest, agentId: string | null, previous: string | null) => {
    assigned.push([req.jobId, agentId, previous]);
    return answer(agentId);
  };
  const dispatcher = new JobDispatcher(directory, {
    sendDispatch: (agentId, req) => sent.push({ agentId, jobId: req.jobId, epoch: req.frame.epoch }) > 0,
    assign,
    queueDepth: () => {},
  });
  const placement = new MeshPlacement(dispatcher, assign);
  const agent = (agentId: string, maxConcurrency = 1, labels = ['linux']) => directory.upsert({ agentId, node: name, labels, maxConcurrency });
  const answerWith = (fn: typeof answer) => void (answer = fn);
  /** Dispatch from this node with a recorder that keeps nothing (tests that look only at placement). */
  const dispatch = (req: DispatchRequest) => placement.dispatch(req, recorder().record);
  return { name, directory, dispatcher, placement, sent, assigned, agent, answerWith, dispatch };
}

type Node = ReturnType<typeof node>;

/**
 * `from` offers to the named peer through a port that calls that peer's dispatcher; answers can be
 * held back or lost.
 */
function wire(from: Node, peers: Node | Node[], opts: { unanswered?: boolean; gate?: Promise<void> } = {}) {
  const byName = new Map((Array.isArray(peers) ? peers : [peers]).map((p) => [p.name, p]));
  const commands: AgentCommandBody[] = [];
  const offers: string[] = [];
  const port: MeshPort = {
    offer: async (target, agentId, req): Promise<OfferAnswer> => {
      offers.push(`${target}/${agentId}/${req.jobId}`);
      await opts.gate;
      const answer = byName.get(target)!.dispatcher.placeOn(agentId, req);
      return opts.unanswered ? { status: 'unanswered', reason: 'timed out' } : answer;
    },
    command: (_node, c) => void commands.push(c),
  };
  from.placement.connect(port);
  const report = () => {
    for (const p of byName.values()) from.placement.slotsReported(p.name, p.directory.slots());
  };
  return { commands, offers, report };
}

describe('MeshPlacement', () => {
  it('uses an agent of its own node first, recorded before its frame, without asking the mesh', async () => {
    const a = node('a');
    const b = node('b');
    a.agent('local');
    b.agent('far');
    const w = wire(a, b);
    w.report();
    const run = recorder();
    expect(await a.placement.dispatch(request('j1'), run.record)).toEqual({ status: 'sent', agentId: 'local' });
    expect(run.recorded).toEqual(['local']);
    expect(a.sent).toEqual([{ agentId: 'local', jobId: 'j1', epoch: REQUEST_EPOCH }]);
    expect(w.offers).toEqual([]);
  });

  it('offers a job to an agent another node holds when none here can take it', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far', 1, ['gpu']);
    const w = wire(a, b);
    w.report();
    const run = recorder();
    expect(await a.placement.dispatch(request('j1', ['gpu']), run.record)).toEqual({ status: 'sent', agentId: 'far' });
    expect(run.recorded).toEqual(['far']);
    expect(b.sent).toEqual([{ agentId: 'far', jobId: 'j1', epoch: REQUEST_EPOCH }]);
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
    await b.dispatch(request('theirs'));
    const run = recorder();
    expect(await a.placement.dispatch(request('j1'), run.record)).toEqual({ status: 'queued' });
    expect(w.offers).toEqual(['b/far/j1']);
    expect(run.recorded).toEqual(['far', null]);
    expect(await a.dispatch(request('j2'))).toEqual({ status: 'queued' });
    expect(w.offers).toHaveLength(1);
    // Their job ends: b reports a free slot, and a's oldest queued job goes there.
    b.dispatcher.release('theirs');
    w.report();
    await a.placement.drainElsewhere();
    expect(b.sent.map((s) => s.jobId)).toEqual(['theirs', 'j1']);
    // The run was on no agent for it (its last record): the drain sets `far` over that.
    expect(a.assigned).toEqual([['j1', 'far', null]]);
    expect(b.sent.at(-1)).toEqual({ agentId: 'far', jobId: 'j1', epoch: RUN_EPOCH });
    expect(a.dispatcher.queued().map((q) => q.jobId)).toEqual(['j2']);
  });

  it("counts an unanswered offer as given to that agent: the run's ack deadline decides, never a second agent at once", async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    b.agent('far-b');
    c.agent('far-c');
    const w = wire(a, b, { unanswered: true });
    w.report();
    a.placement.slotsReported('c', c.directory.slots());
    const run = recorder();
    const placed = await a.placement.dispatch(request('j1'), run.record);
    expect(placed.status).toBe('sent');
    expect(w.offers).toHaveLength(1);
    expect(c.sent).toEqual([]);
    // It stays on record with the agent it was offered to.
    expect(run.recorded).toEqual(['far-b']);
  });

  it('a queued job withdrawn while out on an offer is stopped on the agent that took it, and its run asked nothing more', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    let open!: () => void;
    const w = wire(a, b, { gate: new Promise<void>((r) => (open = r)) });
    // Queued first (no report yet), then a report arrives and the drain offers it.
    expect(await a.dispatch(request('j1'))).toEqual({ status: 'queued' });
    w.report();
    const drained = a.placement.drainElsewhere();
    expect(a.placement.withdraw('j1')).toBe(true);
    open();
    await drained;
    // Asked once, before the offer left; the cancel carries the epoch that answer gave the frame.
    expect(a.assigned).toEqual([['j1', 'far', null]]);
    expect(w.commands).toEqual([{ command: 'cancel', agentId: 'far', runId: 'run-1', jobId: 'j1', reason: 'the run no longer wants this job', force: true, epoch: RUN_EPOCH }]);
  });

  it('a job queued here is never placed here and elsewhere at once', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    let open!: () => void;
    const w = wire(a, b, { gate: new Promise<void>((r) => (open = r)) });
    expect(await a.dispatch(request('j1'))).toEqual({ status: 'queued' });
    w.report();
    const drained = a.placement.drainElsewhere();
    // A local agent turns up while the offer is out: the job is not in the queue for it to take.
    a.agent('local');
    await a.dispatcher.drain();
    open();
    await drained;
    expect(a.sent).toEqual([]);
    expect(b.sent.map((s) => [s.agentId, s.jobId])).toEqual([['far', 'j1']]);
  });

  it('a node whose link went down is not offered jobs', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    const w = wire(a, b);
    w.report();
    a.placement.nodeGone('b');
    expect(await a.dispatch(request('j1'))).toEqual({ status: 'queued' });
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

  it('a request sent again for an attempt placed elsewhere (its run re-activated) gets the same agent, with no second offer nor record', async () => {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    b.agent('far-b');
    c.agent('far-c', 4);
    const w = wire(a, [b, c]);
    // Only b has reported so far.
    a.placement.slotsReported('b', b.directory.slots());
    expect(await a.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'far-b' });
    // c now reports more free slots than b: a fresh choice would go there.
    a.placement.slotsReported('c', c.directory.slots());
    const again = recorder();
    expect(await a.placement.dispatch(request('j1'), again.record)).toEqual({ status: 'sent', agentId: 'far-b' });
    expect(again.recorded).toEqual([]);
    expect(w.offers).toEqual(['b/far-b/j1']);
    // A later attempt is a new decision.
    expect(await a.dispatch(request('j1', ['linux'], 2))).toEqual({ status: 'sent', agentId: 'far-c' });
    expect(w.offers).toEqual(['b/far-b/j1', 'c/far-c/j1']);
  });

  it('drops, instead of offering, a queued job whose run this node no longer acts for', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    const lost = new Set<string>();
    const assigned: string[] = [];
    const assign = async (req: DispatchRequest) => (assigned.push(req.jobId), RUN_EPOCH);
    const dispatcher = new JobDispatcher(a.directory, {
      sendDispatch: () => true,
      assign,
      queueDepth: () => {},
      wanted: (req) => !lost.has(req.runId),
    });
    const placement = new MeshPlacement(dispatcher, assign);
    const offers: string[] = [];
    placement.connect({ offer: async (_n, agentId, req) => (offers.push(req.jobId), b.dispatcher.placeOn(agentId, req)), command: () => {} });
    expect(await placement.dispatch(request('j1'), recorder().record)).toEqual({ status: 'queued' });
    lost.add('run-1');
    placement.slotsReported('b', b.directory.slots());
    await placement.drainElsewhere();
    expect(offers).toEqual([]);
    expect(assigned).toEqual([]);
    expect(dispatcher.pendingCount).toBe(0);
  });
});

describe('MeshPlacement records each agent before its offer', () => {
  /** Two far nodes whose reported agents have filled since they reported: both will refuse. */
  async function bothFull() {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    b.agent('far-b');
    c.agent('far-c');
    const w = wire(a, [b, c]);
    w.report();
    await b.dispatch(request('theirs-b'));
    await c.dispatch(request('theirs-c'));
    return { a, b, c, w };
  }

  it('records a remote candidate before offering to it, the next one after a refusal, and no agent before queueing', async () => {
    const { a, w } = await bothFull();
    // What had been offered when each record was written.
    const seen: [agentId: string | null, offered: string[]][] = [];
    const record: RecordAgent = async (agentId) => void seen.push([agentId, [...w.offers]]);
    expect(await a.placement.dispatch(request('j1'), record)).toEqual({ status: 'queued' });
    expect(seen).toEqual([
      ['far-b', []],
      ['far-c', ['b/far-b/j1']],
      [null, ['b/far-b/j1', 'c/far-c/j1']],
    ]);
    expect(a.dispatcher.queued().map((q) => q.jobId)).toEqual(['j1']);
  });

  it('offers nothing and queues nothing when the run may no longer act', async () => {
    const a = node('a');
    const b = node('b');
    b.agent('far');
    const w = wire(a, b);
    w.report();
    const placing = a.placement.dispatch(request('j1'), async () => {
      throw new Error('the run moved');
    });
    await expect(placing).rejects.toThrow('the run moved');
    expect(w.offers).toEqual([]);
    expect(a.dispatcher.pendingCount).toBe(0);
    expect(b.directory.get('far')!.active).toBe(0);
  });
});

describe('MeshPlacement offers queued jobs through assign', () => {
  /**
   * `j1` waits in a's queue (no report yet), then b and c report a free agent each; b's report is
   * stale, its agent filled since. The reports go straight into the view so that both are there
   * when the drain starts (a report through `slotsReported` would start one at once).
   */
  async function queuedWithStaleReport() {
    const a = node('a');
    const b = node('b');
    const c = node('c');
    b.agent('far-b');
    c.agent('far-c');
    const w = wire(a, [b, c]);
    expect(await a.dispatch(request('j1'))).toEqual({ status: 'queued' });
    const staleB = b.directory.slots();
    await b.dispatch(request('theirs-b'));
    a.placement.remote.replace('b', staleB);
    a.placement.remote.replace('c', c.directory.slots());
    return { a, b, c, w };
  }

  it('asks assign before each offer, compare-and-set on the agent asked for before, and sends the epoch it answered', async () => {
    const { a, c, w } = await queuedWithStaleReport();
    let epoch = 10;
    a.answerWith(() => ++epoch);
    await a.placement.drainElsewhere();
    expect(w.offers).toEqual(['b/far-b/j1', 'c/far-c/j1']);
    expect(a.assigned).toEqual([
      ['j1', 'far-b', null],
      ['j1', 'far-c', 'far-b'],
    ]);
    expect(c.sent).toEqual([{ agentId: 'far-c', jobId: 'j1', epoch: 12 }]);
    expect(a.dispatcher.pendingCount).toBe(0);
  });

  it('when nobody takes it, sets the record back to no agent over the last one and queues it again', async () => {
    const { a, c, w } = await queuedWithStaleReport();
    await c.dispatch(request('theirs-c'));
    await a.placement.drainElsewhere();
    expect(w.offers).toEqual(['b/far-b/j1', 'c/far-c/j1']);
    expect(a.assigned).toEqual([
      ['j1', 'far-b', null],
      ['j1', 'far-c', 'far-b'],
      ['j1', null, 'far-c'],
    ]);
    expect(a.dispatcher.queued().map((q) => q.jobId)).toEqual(['j1']);
  });

  it('drops a queued job whose run refuses the assign, with no offer sent', async () => {
    const { a, b, c, w } = await queuedWithStaleReport();
    a.answerWith(() => undefined);
    await a.placement.drainElsewhere();
    expect(a.assigned).toEqual([['j1', 'far-b', null]]);
    expect(w.offers).toEqual([]);
    expect(a.dispatcher.pendingCount).toBe(0);
    expect(b.sent.map((s) => s.jobId)).toEqual(['theirs-b']);
    expect(c.sent).toEqual([]);
  });

  it('drops it too when the run refuses a later agent, after an earlier offer was refused', async () => {
    const { a, c, w } = await queuedWithStaleReport();
    a.answerWith((agentId) => (agentId === 'far-c' ? undefined : RUN_EPOCH));
    await a.placement.drainElsewhere();
    expect(w.offers).toEqual(['b/far-b/j1']);
    expect(a.assigned).toEqual([
      ['j1', 'far-b', null],
      ['j1', 'far-c', 'far-b'],
    ]);
    expect(c.sent).toEqual([]);
    expect(a.dispatcher.pendingCount).toBe(0);
  });
});
