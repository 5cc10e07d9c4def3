import { describe, expect, it } from 'vitest';
import { AgentDirectory, JobDispatcher, type DispatchRequest, type InFlight } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';

const ACK_TIMEOUT = 10_000;

function request(jobId: string, runsOn?: DispatchRequest['runsOn']): DispatchRequest {
  return { runId: 'run-1', jobId, runsOn, frame: {} as DispatchRequest['frame'] };
}

function rig(options: { refuse?: Set<string>; ackOnSend?: boolean } = {}) {
  const clock = new ManualClock();
  const directory = new AgentDirectory();
  const sent: { agentId: string; jobId: string }[] = [];
  const acked: InFlight[] = [];
  const timedOut: InFlight[] = [];
  const depths: [number, number][] = [];
  const dispatcher: JobDispatcher = new JobDispatcher(directory, clock, ACK_TIMEOUT, {
    sendDispatch: (agentId, req) => {
      if (options.refuse?.has(agentId)) return false;
      sent.push({ agentId, jobId: req.jobId });
      // An agent on a fast link answers while the frame is still being handed over.
      if (options.ackOnSend) dispatcher.ack(agentId, req.jobId);
      return true;
    },
    acked: (job) => void acked.push(job),
    ackTimedOut: (job) => void timedOut.push(job),
    queueDepth: (pending, dispatched) => void depths.push([pending, dispatched]),
  });
  const agent = (agentId: string, maxConcurrency = 1, labels = ['linux']) => directory.upsert({ agentId, node: 'n1', labels, maxConcurrency });
  return { clock, directory, dispatcher, sent, acked, timedOut, depths, agent };
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

describe('JobDispatcher acknowledgement', () => {
  it('does not watch the deadline of a job placed directly (its run does)', () => {
    const r = rig();
    r.agent('a');
    r.dispatcher.dispatch(request('j1'));
    r.clock.advance(ACK_TIMEOUT * 3);
    expect(r.timedOut).toHaveLength(0);
    expect(r.dispatcher.holder('j1')?.agentId).toBe('a');
  });

  it('times out a job placed from the queue, freeing its slot first', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1'));
    r.agent('a');
    r.dispatcher.drain();
    r.clock.advance(ACK_TIMEOUT - 1);
    expect(r.timedOut).toHaveLength(0);
    r.clock.advance(1);
    expect(r.timedOut.map((j) => j.jobId)).toEqual(['j1']);
    expect(r.dispatcher.holder('j1')).toBeUndefined();
    expect(r.directory.get('a')?.active).toBe(0);
  });

  it('a timely ack from the queue placement stops the deadline', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1'));
    r.agent('a');
    r.dispatcher.drain();
    expect(r.dispatcher.ack('a', 'j1')?.acked).toBe(true);
    r.clock.advance(ACK_TIMEOUT * 2);
    expect(r.timedOut).toHaveLength(0);
    expect(r.acked.map((j) => j.jobId)).toEqual(['j1']);
  });

  it('counts an ack that arrives before the deadline is armed', () => {
    const r = rig({ ackOnSend: true });
    r.dispatcher.dispatch(request('j1'));
    r.agent('a');
    r.dispatcher.drain();
    expect(r.acked.map((j) => j.jobId)).toEqual(['j1']);
    r.clock.advance(ACK_TIMEOUT * 2);
    expect(r.timedOut).toHaveLength(0);
    expect(r.dispatcher.holder('j1')?.acked).toBe(true);
  });

  it('ignores an ack from an agent that does not hold the job, and reports a repeat ack once', () => {
    const r = rig();
    r.agent('a');
    r.dispatcher.dispatch(request('j1'));
    expect(r.dispatcher.ack('b', 'j1')).toBeUndefined();
    expect(r.dispatcher.ack('a', 'nope')).toBeUndefined();
    r.dispatcher.ack('a', 'j1');
    r.dispatcher.ack('a', 'j1');
    expect(r.acked).toHaveLength(1);
  });

  it('release cancels a pending deadline', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1'));
    r.agent('a');
    r.dispatcher.drain();
    expect(r.dispatcher.release('j1')?.jobId).toBe('j1');
    expect(r.dispatcher.release('j1')).toBeUndefined();
    r.clock.advance(ACK_TIMEOUT * 2);
    expect(r.timedOut).toHaveLength(0);
  });

  it('stop cancels every deadline', () => {
    const r = rig();
    r.dispatcher.dispatch(request('j1'));
    r.agent('a');
    r.dispatcher.drain();
    r.dispatcher.stop();
    r.clock.advance(ACK_TIMEOUT * 2);
    expect(r.timedOut).toHaveLength(0);
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
});
