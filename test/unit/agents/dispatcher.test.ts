import { describe, expect, it } from 'vitest';
import { AgentDirectory, JobDispatcher, type DispatchRequest, type InFlight } from '../../../src/agents/index.js';

function request(jobId: string, runsOn?: DispatchRequest['runsOn'], attempt = 1): DispatchRequest {
  return { runId: 'run-1', jobId, attempt, runsOn, frame: {} as DispatchRequest['frame'] };
}

function rig(options: { refuse?: Set<string> } = {}) {
  const directory = new AgentDirectory();
  const sent: { agentId: string; jobId: string; attempt: number }[] = [];
  const assigned: [InFlight, number][] = [];
  const depths: [number, number][] = [];
  const dispatcher: JobDispatcher = new JobDispatcher(directory, {
    sendDispatch: (agentId, req) => {
      if (options.refuse?.has(agentId)) return false;
      sent.push({ agentId, jobId: req.jobId, attempt: req.attempt });
      return true;
    },
    assigned: (job, attempt) => void assigned.push([job, attempt]),
    queueDepth: (pending, dispatched) => void depths.push([pending, dispatched]),
  });
  const agent = (agentId: string, maxConcurrency = 1, labels = ['linux']) => directory.upsert({ agentId, node: 'n1', labels, maxConcurrency });
  return { directory, dispatcher, sent, assigned, depths, agent };
}

describe('JobDispatcher placement', () => {
  it('spreads jobs over agents by free slots instead of filling the first one', () => {
    const r = rig();
    r.agent('a', 2);
    r.agent('b', 2);
    for (const j of ['j1', 'j2', 'j3', 'j4']) expect(r.dispatcher.dispatch(request(j)).status).toBe('sent');
    const perAgent = (id: string) => r.sent.filter((s) => s.agentId === id).length;
    expect(perAgent('a')).toBe(2);
    expect(perAgent('b')).toBe(2);
    expect(r.sent[0].agentId).not.toBe(r.sent[1].agentId);
    expect(r.dispatcher.dispatch(request('j5'))).toEqual({ status: 'queued' });
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('prefers the agent with the most free slots', () => {
    const r = rig();
    r.agent('small', 1);
    r.agent('big', 4);
    r.dispatcher.dispatch(request('j1'));
    r.dispatcher.dispatch(request('j2'));
    expect(r.sent.map((s) => s.agentId)).toEqual(['big', 'big']);
  });

  it('routes by labels and queues a job no agent can take', () => {
    const r = rig();
    r.agent('cpu', 4, ['linux']);
    r.agent('gpu', 4, ['linux', 'gpu']);
    expect(r.dispatcher.dispatch(request('j1', ['gpu']))).toEqual({ status: 'sent', agentId: 'gpu' });
    expect(r.dispatcher.dispatch(request('j2', [{ regex: '^GP', flags: 'i' }]))).toEqual({ status: 'sent', agentId: 'gpu' });
    expect(r.dispatcher.dispatch(request('j3', ['windows']))).toEqual({ status: 'queued' });
  });

  it('does not place or queue the same job twice', () => {
    const r = rig();
    r.agent('a', 2);
    r.dispatcher.dispatch(request('j1'));
    expect(r.dispatcher.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.sent).toHaveLength(1);
    r.dispatcher.dispatch(request('q1', ['none']));
    r.dispatcher.dispatch(request('q1', ['none']));
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('gives the slot back and queues when the agent has no live connection', () => {
    const r = rig({ refuse: new Set(['gone']) });
    r.agent('gone', 1);
    expect(r.dispatcher.dispatch(request('j1'))).toEqual({ status: 'queued' });
    expect(r.directory.get('gone')?.active).toBe(0);
    expect(r.dispatcher.holder('j1')).toBeUndefined();
  });
});

describe('JobDispatcher queue', () => {
  it('drains oldest first when a slot frees up', () => {
    const r = rig();
    r.agent('a', 1);
    r.dispatcher.dispatch(request('j1'));
    r.dispatcher.dispatch(request('j2'));
    r.dispatcher.dispatch(request('j3'));
    r.dispatcher.release('j1');
    r.dispatcher.drain();
    expect(r.sent.map((s) => s.jobId)).toEqual(['j1', 'j2']);
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('drains when a matching agent registers, skipping jobs it cannot take', () => {
    const r = rig();
    r.dispatcher.dispatch(request('needs-gpu', ['gpu']));
    r.dispatcher.dispatch(request('any'));
    r.agent('a', 2, ['linux']);
    r.dispatcher.drain();
    expect(r.sent.map((s) => s.jobId)).toEqual(['any']);
    expect(r.dispatcher.pendingCount).toBe(1);
  });

  it('withdraws a queued job and nothing else', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1'));
    expect(r.dispatcher.withdraw('j1')).toBe(true);
    expect(r.dispatcher.withdraw('j1')).toBe(false);
    r.agent('a');
    r.dispatcher.drain();
    expect(r.sent).toHaveLength(0);
  });

  it('reports queue depth as pending and dispatched-but-unacked', () => {
    const r = rig();
    r.agent('a', 1);
    r.dispatcher.dispatch(request('j1'));
    expect(r.depths.at(-1)).toEqual([0, 1]);
    r.dispatcher.dispatch(request('j2'));
    expect(r.depths.at(-1)).toEqual([1, 1]);
    r.dispatcher.ack('a', 'j1');
    expect(r.depths.at(-1)).toEqual([1, 0]);
  });
});

describe('JobDispatcher placement reports', () => {
  it('says nothing of a job placed directly (its run learns it from the result)', () => {
    const r = rig();
    r.agent('a');
    expect(r.dispatcher.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.assigned).toHaveLength(0);
  });

  it('reports a job placed from the queue, with the attempt it was queued for', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1', undefined, 3));
    r.agent('a');
    r.dispatcher.drain();
    expect(r.assigned.map(([job, attempt]) => [job.jobId, job.agentId, attempt])).toEqual([['j1', 'a', 3]]);
  });

  it('a later attempt of a queued job takes the queued one\'s place', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1', undefined, 1));
    expect(r.dispatcher.dispatch(request('j1', undefined, 2))).toEqual({ status: 'queued' });
    expect(r.dispatcher.pendingCount).toBe(1);
    r.agent('a');
    r.dispatcher.drain();
    expect(r.sent).toEqual([{ agentId: 'a', jobId: 'j1', attempt: 2 }]);
    expect(r.assigned.map(([, attempt]) => attempt)).toEqual([2]);
  });

  it('marks a dispatch answered only for the agent holding it', () => {
    const r = rig();
    r.agent('a');
    r.dispatcher.dispatch(request('j1'));
    r.dispatcher.ack('b', 'j1');
    r.dispatcher.ack('a', 'nope');
    expect(r.dispatcher.holder('j1')?.acked).toBe(false);
    r.dispatcher.ack('a', 'j1');
    expect(r.dispatcher.holder('j1')?.acked).toBe(true);
  });

  it('release frees the slot once', () => {
    const r = rig();
    r.agent('a');
    r.dispatcher.dispatch(request('j1'));
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

  it('leaves a job with its holder when another agent reports it (a stale copy from before a requeue)', () => {
    const r = rig();
    r.agent('a', 1);
    r.agent('b', 1);
    r.dispatcher.dispatch(request('j1'));
    const first = r.dispatcher.holder('j1')!.agentId;
    const other = first === 'a' ? 'b' : 'a';
    expect(r.dispatcher.adopt(other, 'run-1', 'j1')).toBe(false);
    expect(r.dispatcher.holder('j1')?.agentId).toBe(first);
    expect(r.directory.get(first)?.active).toBe(1);
    expect(r.directory.get(other)?.active).toBe(0);
  });

  it('remembers a job its agent finished: the same attempt sent again gets that agent, a later attempt or a refused job is placed anew', () => {
    const r = rig();
    r.agent('a', 2);
    expect(r.dispatcher.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    r.dispatcher.finished('j1');
    expect(r.dispatcher.dispatch(request('j1'))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.dispatcher.placeOn('a', request('j1'))).toEqual({ status: 'taken', agentId: 'a' });
    expect(r.sent.filter((s) => s.jobId === 'j1')).toHaveLength(1);
    expect(r.dispatcher.dispatch(request('j1', undefined, 2))).toEqual({ status: 'sent', agentId: 'a' });
    expect(r.sent.filter((s) => s.jobId === 'j1')).toHaveLength(2);
    // Refused (released, not finished): placed again, once more sent.
    r.dispatcher.dispatch(request('j2'));
    r.dispatcher.release('j2');
    r.dispatcher.dispatch(request('j2'));
    expect(r.sent.filter((s) => s.jobId === 'j2')).toHaveLength(2);
  });

  it('drops a queued job whose run the node no longer acts for when it drains', () => {
    const directory = new AgentDirectory();
    const sent: string[] = [];
    let acting = true;
    const dispatcher = new JobDispatcher(directory, { sendDispatch: (_a, req) => sent.push(req.jobId) > 0, assigned: () => {}, queueDepth: () => {}, wanted: () => acting });
    expect(dispatcher.dispatch(request('j1'))).toEqual({ status: 'queued' });
    acting = false;
    directory.upsert({ agentId: 'late', node: 'n1', labels: ['linux'], maxConcurrency: 1 });
    dispatcher.drain();
    expect(sent).toEqual([]);
    expect(dispatcher.pendingCount).toBe(0);
  });
});
