import { describe, expect, it } from 'vitest';
import { ActorSystem, type Envelope } from '../../../src/actors/index.js';
import { ShardTable } from '../../../src/cluster/index.js';
import { AGENT_ACTOR_KIND, AgentHub, type DispatchRequest, type JobEvents, type RecordAgent } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { RecordingSocket, authRequest, register, settle } from './recording-socket.js';

function rig(system?: ActorSystem, clock = new ManualClock(10_000)) {
  const calls: string[] = [];
  const events: JobEvents = {
    acked: (job, agentId) => void calls.push(`acked ${job.jobId} ${agentId}`),
    rejected: () => {},
    assign: async () => 1,
    started: (job, agentId) => void calls.push(`started ${job.jobId} ${agentId}`),
    step: async () => {},
    finished: async () => {},
    heartbeat: () => {},
    agentLost: (agentId, jobs) => void calls.push(`lost ${agentId} ${jobs.map((j) => j.jobId).join(',')}`),
    agentRegistered: () => {},
    logs: () => {},
  };
  const hub = new AgentHub({
    nodeId: 'node-a',
    clock,
    system,
    heartbeatTimeoutMs: 9_000,
    validateToken: async () => ({ tokenId: 'tok_1', labels: null, maxConcurrency: null }),
    events,
  });
  async function connect(agentId: string) {
    const socket = new RecordingSocket();
    const session = hub.attach(socket);
    session.receive(authRequest());
    await settle();
    session.receive(register(agentId));
    await hub.settled();
    return { socket, session, say: (frame: Record<string, unknown>) => session.receive(JSON.stringify(frame)) };
  }
  return { hub, calls, connect, clock };
}

/** The run's recorder, for tests that do not look at what is recorded. */
const noRecord: RecordAgent = async () => {};
const job = (jobId: string): DispatchRequest => ({ runId: 'run-1', jobId, attempt: 1, frame: { runId: 'run-1', jobId } as unknown as DispatchRequest['frame'] });

describe('AgentActor on the node actor system', () => {
  it('handles agents on this node even when every shard is owned elsewhere (node placement)', async () => {
    const clock = new ManualClock(10_000);
    const remote: Envelope[] = [];
    const system = new ActorSystem({
      nodeId: 'node-a',
      clock,
      shardMap: ShardTable.singleNode('node-b', 7),
      remote: { tell: (_n, e) => void remote.push(e), ask: async () => undefined },
    });
    const r = rig(system, clock);
    const a = await r.connect('a1');
    await r.hub.place(job('j1'), noRecord);
    a.say({ type: 'job.status', messageId: 'm1', timestamp: 1, runId: 'run-1', jobId: 'j1', state: 'running' });
    await r.hub.settled();
    expect(r.hub.isConnected('a1')).toBe(true);
    expect(r.calls).toEqual(['started j1 a1']);
    expect(remote).toHaveLength(0);
    expect(system.isActive(AGENT_ACTOR_KIND, 'a1')).toBe(true);
  });

  it('takes a closing agent off the directory at once, so a dispatch meanwhile goes to another agent', async () => {
    const r = rig();
    const a = await r.connect('a1');
    await r.connect('b1');
    a.session.socketClosed();
    // Before a1's actor has handled the close, the dispatcher must not pick the dead connection.
    expect(r.hub.directory.get('a1')).toBeUndefined();
    expect(await r.hub.place(job('j1'), noRecord)).toEqual({ status: 'sent', agentId: 'b1' });
    await r.hub.settled();
    expect(r.hub.connectedAgents()).toEqual(['b1']);
  });

  it('stays active while connected and passivates once the agent is gone', async () => {
    const clock = new ManualClock(10_000);
    const system = new ActorSystem({ nodeId: 'node-a', clock, idleTimeoutMs: 1_000 });
    const r = rig(system, clock);
    const a = await r.connect('a1');
    clock.advance(1_500);
    await settle();
    expect(system.isActive(AGENT_ACTOR_KIND, 'a1')).toBe(true);
    a.session.socketClosed();
    await r.hub.settled();
    clock.advance(1_500);
    await settle();
    expect(system.isActive(AGENT_ACTOR_KIND, 'a1')).toBe(false);
  });

  it('stop reports the jobs of every connection lost before it resolves', async () => {
    const r = rig();
    await r.connect('a1');
    await r.hub.place(job('j1'), noRecord);
    await r.hub.stop();
    expect(r.calls).toEqual(['lost a1 j1']);
  });
});
