import { describe, expect, it } from 'vitest';
import { AgentDirectory, JobDispatcher, type DispatchRequest, type RecordAgent } from '../../../src/agents/index.js';
import { deferred } from './recording-socket.js';

function request(jobId: string, runsOn?: DispatchRequest['runsOn'], attempt = 1): DispatchRequest {
  return { runId: 'run-1', jobId, attempt, runsOn, frame: {} as DispatchRequest['frame'] };
}

/** The epoch a run answers `assign` with, unless a test says otherwise. */
const RUN_EPOCH = 7;

/** The run's answer to "this queued job is about to go to `agentId`": its epoch, or undefined to refuse. */
type Assign = (request: DispatchRequest, agentId: string | null, previous: string | null) => Promise<number | undefined>;

function rig(options: { refuse?: Set<string>; assign?: Assign; wanted?: (request: DispatchRequest) => boolean } = {}) {
  const directory = new AgentDirectory();
  const sent: { agentId: string; jobId: string; attempt: number; epoch?: number }[] = [];
  const assigned: { jobId: string; attempt: number; agentId: string | null; previous: string | null }[] = [];
  const depths: [number, number][] = [];
  /** What each job's run was told, in order, through the recorder its dispatch passed. */
  const records: [jobId: string, agentId: string | null][] = [];
  const dispatcher: JobDispatcher = new JobDispatcher(directory, {
    sendDispatch: (agentId, req) => {
      if (options.refuse?.has(agentId)) return false;
      sent.push({ agentId, jobId: req.jobId, attempt: req.attempt, ...(req.frame.epoch === undefined ? {} : { epoch: req.frame.epoch }) });
      return true;
    },
    assign: async (req, agentId, previous) => {
      assigned.push({ jobId: req.jobId, attempt: req.attempt, agentId, previous });
      return options.assign ? options.assign(req, agentId, previous) : RUN_EPOCH;
    },
    queueDepth: (pending, dispatched) => void depths.push([pending, dispatched]),
    wanted: options.wanted,
  });
  const agent = (agentId: string, maxConcurrency = 1, labels = ['linux']) => directory.upsert({ agentId, node: 'n1', labels, maxConcurrency });
  /** Dispatch as a run does: its recorder writes down every agent chosen before the frame leaves. */
  const place = (req: DispatchRequest) => dispatcher.dispatch(req, async (agentId) => void records.push([req.jobId, agentId]));
  const recordsOf = (jobId: string) => records.filter(([j]) => j === jobId).map(([, a]) => a);
  return { directory, dispatcher, sent, assigned, depths, records, recordsOf, agent, place };
}

describe('JobDispatcher placement', () => {
  it('spreads jobs over agents by free slots instead of filling the first one', async () => {
    const r = rig();
    r.agent('a', 2);
    r.agent('b', 2);
    for (const j of ['j1', 'j2', 'j3', 'j4']) expect((await r.place(request(j))).status).toBe('sent');
    const perAgent = (id: string) => r.sent.filter((s) => s.agentId === id).length;
    expect(perAgent('a')).toBe(2);
    expect(perAgent('b')).toBe(2);
    expect(r.sent[0].agentId).not.toBe(r.sent[1].agentId);
    expect(await r.place(request('j5'))).toEqual({ status: 'queued' });
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('prefers the agent with the most free slots', async () => {
    const r = rig();
    r.agent('small', 1);
    r.agent('big', 4);
    await r.place(request('j1'));
    await r.place(request('j2'));
    expect(r.sent.map((s) => s.agentId)).toEqual(['big', 'big']);
  });

  it('routes by labels and queues a job no agent can take', async () => {
    const r = rig();
    r.agent('cpu', 4, ['linux']);
    r.agent('gpu', 4, ['linux', 'gpu']);
    expect(await r.place(request('j1', ['gpu']))).toEqual({ status: 'sent', agentId: 'gpu' });
    expect(await r.place(request('j2', [{ regex: '^GP', flags: 'i' }]))).toEqual({ status: 'sent', agentId: 'gpu' });
    expect(await r.place(request('j3', ['windows']))).toEqual({ status: 'queued' });
  });

  it('does not place or queue the same job twice, and records nothing for a repeat', async () => {
    const r = rig();
    r.agent('a', 2);
    await r.place(request('j1'));
    expect(await r.place(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.sent).toHaveLength(1);
    // The run already has `a` on record from the first request: nothing to write again.
    expect(r.recordsOf('j1')).toEqual(['a']);
    await r.place(request('q1', ['none']));
    await r.place(request('q1', ['none']));
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('gives the slot back and queues when the agent has no live connection, ending on no agent', async () => {
    const r = rig({ refuse: new Set(['gone']) });
    r.agent('gone', 1);
    expect(await r.place(request('j1'))).toEqual({ status: 'queued' });
    expect(r.directory.get('gone')?.active).toBe(0);
    expect(r.dispatcher.holder('j1')).toBeUndefined();
    // It was recorded on `gone` before each send that failed; the record ends on no agent.
    expect(r.recordsOf('j1')[0]).toBe('gone');
    expect(r.recordsOf('j1').at(-1)).toBeNull();
  });
});

describe('JobDispatcher records the agent before the frame leaves', () => {
  it('calls the recorder with the reserved agent before sending, and sends only once it resolved', async () => {
    const r = rig();
    r.agent('a');
    const called = deferred<string | null>();
    const written = deferred<void>();
    const record: RecordAgent = (agentId) => {
      called.resolve(agentId);
      return written.promise;
    };
    const placing = r.dispatcher.dispatch(request('j1'), record);
    expect(await called.promise).toBe('a');
    // The run is still writing: the slot is held for the job, but no frame has left.
    expect(r.sent).toEqual([]);
    expect(r.dispatcher.holder('j1')?.agentId).toBe('a');
    written.resolve();
    expect(await placing).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.sent.map((s) => [s.agentId, s.jobId])).toEqual([['a', 'j1']]);
  });

  it('records no agent before queueing a job nobody can take', async () => {
    const r = rig();
    expect(await r.place(request('j1'))).toEqual({ status: 'queued' });
    expect(r.recordsOf('j1')).toEqual([null]);
  });

  it('sends nothing and frees the slot when the run may no longer act, passing its error on', async () => {
    const r = rig();
    r.agent('a', 1);
    const refused = r.dispatcher.dispatch(request('j1'), async () => {
      throw new Error('the run moved');
    });
    await expect(refused).rejects.toThrow('the run moved');
    expect(r.sent).toEqual([]);
    expect(r.dispatcher.holder('j1')).toBeUndefined();
    expect(r.directory.get('a')?.active).toBe(0);
    expect(r.dispatcher.pendingCount).toBe(0);
    // The one slot is free again: the next job goes there.
    expect(await r.place(request('j2'))).toEqual({ status: 'sent', agentId: 'a' });
  });

  it('does not queue a job whose run refuses to record it as waiting', async () => {
    const r = rig();
    await expect(r.dispatcher.dispatch(request('j1'), async () => Promise.reject(new Error('lease lapsed')))).rejects.toThrow('lease lapsed');
    expect(r.dispatcher.pendingCount).toBe(0);
  });
});

describe('JobDispatcher queue', () => {
  it('drains oldest first when a slot frees up', async () => {
    const r = rig();
    r.agent('a', 1);
    await r.place(request('j1'));
    await r.place(request('j2'));
    await r.place(request('j3'));
    r.dispatcher.release('j1');
    await r.dispatcher.drain();
    expect(r.sent.map((s) => s.jobId)).toEqual(['j1', 'j2']);
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('drains when a matching agent registers, skipping jobs it cannot take', async () => {
    const r = rig();
    await r.place(request('needs-gpu', ['gpu']));
    await r.place(request('any'));
    r.agent('a', 2, ['linux']);
    await r.dispatcher.drain();
    expect(r.sent.map((s) => s.jobId)).toEqual(['any']);
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('withdraws a queued job and nothing else', async () => {
    const r = rig();
    await r.place(request('j1'));
    expect(r.dispatcher.withdraw('j1')).toBe(true);
    expect(r.dispatcher.withdraw('j1')).toBe(false);
    r.agent('a');
    await r.dispatcher.drain();
    expect(r.sent).toHaveLength(0);
  });

  it('reports queue depth as pending and dispatched-but-unacked', async () => {
    const r = rig();
    r.agent('a', 1);
    await r.place(request('j1'));
    expect(r.depths.at(-1)).toEqual([0, 1]);
    await r.place(request('j2'));
    expect(r.depths.at(-1)).toEqual([1, 1]);
    r.dispatcher.ack('a', 'j1');
    expect(r.depths.at(-1)).toEqual([1, 0]);
  });
});

describe('JobDispatcher drain asks the run first', () => {
  it('asks assign before sending a queued job, and sends the frame with the epoch the run answered', async () => {
    const answer = deferred<number | undefined>();
    const r = rig({ assign: () => answer.promise });
    await r.place(request('j1'));
    r.agent('a');
    const drained = r.dispatcher.drain();
    // Asked at once: the job left the queue and holds the slot, but waits for its run's word.
    expect(r.assigned).toEqual([{ jobId: 'j1', attempt: 1, agentId: 'a', previous: null }]);
    expect(r.dispatcher.pendingCount).toBe(0);
    expect(r.dispatcher.holder('j1')?.agentId).toBe('a');
    expect(r.sent).toEqual([]);
    answer.resolve(42);
    await drained;
    expect(r.sent).toEqual([{ agentId: 'a', jobId: 'j1', attempt: 1, epoch: 42 }]);
  });

  it('asks for every queued job that fits at once, not one after another', async () => {
    const answer = deferred<number | undefined>();
    const r = rig({ assign: () => answer.promise });
    await r.place(request('j1'));
    await r.place(request('j2'));
    r.agent('a', 2);
    const drained = r.dispatcher.drain();
    expect(r.assigned.map((a) => a.jobId)).toEqual(['j1', 'j2']);
    answer.resolve(RUN_EPOCH);
    await drained;
    expect(r.sent.map((s) => s.jobId)).toEqual(['j1', 'j2']);
  });

  it('sends nothing when the run refuses: the job leaves the queue and the slot frees', async () => {
    const r = rig({ assign: async (req) => (req.jobId === 'j1' ? undefined : RUN_EPOCH) });
    await r.place(request('j1'));
    r.agent('a', 1);
    await r.dispatcher.drain();
    expect(r.assigned.map((a) => a.jobId)).toEqual(['j1']);
    expect(r.sent).toEqual([]);
    expect(r.dispatcher.pendingCount).toBe(0);
    expect(r.dispatcher.holder('j1')).toBeUndefined();
    expect(r.directory.get('a')?.active).toBe(0);
    // The slot it held takes the next job.
    expect(await r.place(request('j2'))).toEqual({ status: 'sent', agentId: 'a' });
  });

  it('keeps a job queued when its run gives no answer, and frees the slot meanwhile', async () => {
    const r = rig({ assign: async () => Promise.reject(new Error('no answer within the deadline')) });
    await r.place(request('j1'));
    r.agent('a', 1);
    await r.dispatcher.drain();
    expect(r.sent).toEqual([]);
    expect(r.dispatcher.queued().map((q) => q.jobId)).toEqual(['j1']);
    expect(r.directory.get('a')?.active).toBe(0);
  });

  it('answers a request for the attempt being placed from the queue with `queued`, reserving nothing more', async () => {
    const answer = deferred<number | undefined>();
    const r = rig({ assign: () => answer.promise });
    await r.place(request('j1'));
    r.agent('a', 2);
    const drained = r.dispatcher.drain();
    // The run, woken meanwhile, sends the same attempt again before it reads the dispatcher's ask.
    expect(await r.place(request('j1'))).toEqual({ status: 'queued' });
    expect(r.directory.get('a')?.active).toBe(1);
    expect(r.dispatcher.pendingCount).toBe(0);
    answer.resolve(RUN_EPOCH);
    await drained;
    expect(r.sent.map((x) => x.jobId)).toEqual(['j1']);
  });

  it('gives back a slot reserved for an older attempt when its run sends a newer one', async () => {
    const answer = deferred<number | undefined>();
    const r = rig({ assign: () => answer.promise });
    await r.place(request('j1', undefined, 1));
    r.agent('a', 1);
    const drained = r.dispatcher.drain();
    // Attempt 2 takes the one slot; the run refuses the ask about attempt 1.
    expect(await r.place(request('j1', undefined, 2))).toEqual({ status: 'sent', agentId: 'a' });
    answer.resolve(undefined);
    await drained;
    expect(r.sent.map((x) => [x.jobId, x.attempt])).toEqual([['j1', 2]]);
    expect(r.dispatcher.holder('j1')).toMatchObject({ agentId: 'a', attempt: 2, sent: true });
    expect(r.directory.get('a')?.active).toBe(1);
  });
});

describe('JobDispatcher placement reports', () => {
  it('asks nothing of assign for a job placed directly (its own recorder wrote the agent)', async () => {
    const r = rig();
    r.agent('a');
    expect(await r.place(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.assigned).toHaveLength(0);
    expect(r.recordsOf('j1')).toEqual(['a']);
  });

  it('asks assign for a job placed from the queue, with the attempt it was queued for', async () => {
    const r = rig();
    await r.place(request('j1', undefined, 3));
    r.agent('a');
    await r.dispatcher.drain();
    expect(r.assigned).toEqual([{ jobId: 'j1', attempt: 3, agentId: 'a', previous: null }]);
  });

  it("a later attempt of a queued job takes the queued one's place", async () => {
    const r = rig();
    await r.place(request('j1', undefined, 1));
    expect(await r.place(request('j1', undefined, 2))).toEqual({ status: 'queued' });
    expect(r.dispatcher.pendingCount).toBe(1);
    r.agent('a');
    await r.dispatcher.drain();
    expect(r.sent).toEqual([{ agentId: 'a', jobId: 'j1', attempt: 2, epoch: RUN_EPOCH }]);
    expect(r.assigned.map((a) => a.attempt)).toEqual([2]);
  });

  it('marks a dispatch answered only for the agent holding it', async () => {
    const r = rig();
    r.agent('a');
    await r.place(request('j1'));
    r.dispatcher.ack('b', 'j1');
    r.dispatcher.ack('a', 'nope');
    expect(r.dispatcher.holder('j1')?.acked).toBe(false);
    r.dispatcher.ack('a', 'j1');
    expect(r.dispatcher.holder('j1')?.acked).toBe(true);
  });

  it('release frees the slot once', async () => {
    const r = rig();
    r.agent('a');
    await r.place(request('j1'));
    expect(r.dispatcher.release('j1')?.jobId).toBe('j1');
    expect(r.dispatcher.release('j1')).toBeUndefined();
    expect(r.directory.get('a')?.active).toBe(0);
  });
});

describe('JobDispatcher adopt', () => {
  it('records a job an agent reports as running and occupies its slot once', () => {
    const r = rig();
    r.agent('a', 2);
    r.dispatcher.adopt('a', 'run-9', 'j9');
    r.dispatcher.adopt('a', 'run-9', 'j9');
    expect(r.directory.get('a')?.active).toBe(1);
    expect(r.dispatcher.holder('j9')).toMatchObject({ agentId: 'a', acked: true, runId: 'run-9' });
    expect(r.dispatcher.jobsOf('a').map((j) => j.jobId)).toEqual(['j9']);
  });

  it('leaves a job with its holder when another agent reports it (a stale copy from before a requeue)', async () => {
    const r = rig();
    r.agent('a', 1);
    r.agent('b', 1);
    await r.place(request('j1'));
    const first = r.dispatcher.holder('j1')!.agentId;
    const other = first === 'a' ? 'b' : 'a';
    expect(r.dispatcher.adopt(other, 'run-1', 'j1')).toBe(false);
    expect(r.dispatcher.holder('j1')?.agentId).toBe(first);
    expect(r.directory.get(first)?.active).toBe(1);
    expect(r.directory.get(other)?.active).toBe(0);
  });

  it('remembers a job its agent finished: the same attempt sent again gets that agent, a later attempt or a refused job is placed anew', async () => {
    const r = rig();
    r.agent('a', 2);
    expect(await r.place(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    r.dispatcher.finished('j1');
    expect(await r.place(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.dispatcher.placeOn('a', request('j1'))).toEqual({ status: 'taken', agentId: 'a' });
    expect(r.sent.filter((s) => s.jobId === 'j1')).toHaveLength(1);
    // The served attempt sent again was recorded once only, by its first request.
    expect(r.recordsOf('j1')).toEqual(['a']);
    expect(await r.place(request('j1', undefined, 2))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.sent.filter((s) => s.jobId === 'j1')).toHaveLength(2);
    // Refused (released, not finished): placed again, once more sent.
    await r.place(request('j2'));
    r.dispatcher.release('j2');
    await r.place(request('j2'));
    expect(r.sent.filter((s) => s.jobId === 'j2')).toHaveLength(2);
  });

  it('drops a queued job whose run the node no longer acts for when it drains', async () => {
    let acting = true;
    const r = rig({ wanted: () => acting });
    expect(await r.place(request('j1'))).toEqual({ status: 'queued' });
    acting = false;
    r.agent('late');
    await r.dispatcher.drain();
    expect(r.sent).toEqual([]);
    expect(r.assigned).toEqual([]);
    expect(r.dispatcher.pendingCount).toBe(0);
  });
});

describe('JobDispatcher cost as the queue grows', () => {
  it('searches the agents once per label set in a drain pass, however many jobs ask for it', async () => {
    const r = rig();
    r.agent('a', 1, ['linux']);
    expect((await r.place(request('busy', ['linux']))).status).toBe('sent');
    for (let i = 0; i < 500; i++) await r.place(request(`gpu-${i}`, ['gpu']));
    for (let i = 0; i < 500; i++) await r.place(request(`linux-${i}`, ['linux']));
    let searches = 0;
    const reserve = r.directory.reserve.bind(r.directory);
    r.directory.reserve = (runsOn) => {
      searches++;
      return reserve(runsOn);
    };
    r.dispatcher.finished('busy');
    await r.dispatcher.drain();
    // gpu: one search finds nothing; linux: one finds the freed slot, one more finds none left.
    expect(searches).toBe(3);
    expect(r.sent.at(-1)).toMatchObject({ agentId: 'a', jobId: 'linux-0' });
    expect(r.dispatcher.pendingCount).toBe(999);
  });

  it('keeps the count of unanswered dispatches right through sends, acks, adoptions and releases', async () => {
    const r = rig();
    r.agent('a', 3);
    await r.place(request('j1'));
    await r.place(request('j2'));
    expect(r.depths.at(-1)).toEqual([0, 2]);
    r.dispatcher.ack('a', 'j1');
    r.dispatcher.ack('a', 'j1');
    expect(r.depths.at(-1)).toEqual([0, 1]);
    r.dispatcher.adopt('a', 'run-1', 'j3');
    r.dispatcher.release('j2');
    expect(r.depths.at(-1)).toEqual([0, 0]);
    r.dispatcher.release('j1');
    r.dispatcher.release('j3');
    await r.place(request('j4'));
    expect(r.depths.at(-1)).toEqual([0, 1]);
  });
});
