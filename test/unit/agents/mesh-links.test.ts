/**
 * This node's agents in the mesh over a fake set of peers: slot reports (coalesced, repeated, sent
 * to a peer whose link comes up), offers and commands from members answered by the hub and from
 * anyone else refused, and the port the hub offers jobs through (an answer, no answer, a refusal).
 * The peer links themselves are the transport's (test/integration/transport) and the simulator's.
 */
import { describe, expect, it } from 'vitest';
import { AgentDirectory, MeshLinks, type AgentHub, type DispatchRequest, type MeshMessages, type MeshPeers, type MeshPort, type MeshRequests, type MeshSender } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import type { AgentCommandBody, JobOfferBody } from '../../../src/transport/index.js';

class Unanswered extends Error {}

/** Peers as a test drives them: what was told and asked, and the listeners to call. */
function fakePeers(connected: string[]) {
  const told: [node: string, kind: string, body: unknown][] = [];
  const asked: [node: string, kind: string, body: unknown, timeoutMs: number][] = [];
  const listeners = new Map<string, (from: MeshSender, body: never) => unknown>();
  const linkUp = new Set<(node: string) => void>();
  const gone = new Set<(node: string) => void>();
  /** How each request is answered (a test swaps it). */
  let answer: (node: string, kind: string) => Promise<unknown> = async () => ({ status: 'taken', agentId: 'far-1' });
  let tellFails = new Set<string>();
  const on = <T>(set: Set<T>, listener: T) => (set.add(listener), () => void set.delete(listener));
  const peers: MeshPeers = {
    connected: () => connected,
    tell: (node, kind, body) => {
      if (tellFails.has(node)) throw new Error('queue full');
      told.push([node, kind, body]);
    },
    request: <K extends keyof MeshRequests>(node: string, kind: K, body: MeshRequests[K]['body'], timeoutMs: number) => {
      asked.push([node, kind, body, timeoutMs]);
      return answer(node, kind) as Promise<MeshRequests[K]['answer']>;
    },
    unanswered: (e) => e instanceof Unanswered,
    onMessage: (kind, listener) => (listeners.set(kind, listener as never), () => void listeners.delete(kind)),
    handle: (kind, handler) => (listeners.set(kind, handler as never), () => void listeners.delete(kind)),
    onLinkUp: (listener) => on(linkUp, listener),
    onNodeGone: (listener) => on(gone, listener),
  };
  return {
    peers,
    told,
    asked,
    listeners,
    answerWith: (fn: typeof answer) => void (answer = fn),
    failTellsTo: (...nodes: string[]) => void (tellFails = new Set(nodes)),
    from: <K extends keyof MeshMessages | keyof MeshRequests>(kind: K, sender: MeshSender, body: unknown) => listeners.get(kind)?.(sender, body as never),
    linkUp: (node: string) => linkUp.forEach((l) => l(node)),
    nodeGone: (node: string) => gone.forEach((l) => l(node)),
  };
}

/** A hub with a real directory; what the mesh asks of the rest is recorded. */
function fakeHub() {
  const directory = new AgentDirectory();
  const calls: unknown[][] = [];
  let port: MeshPort | undefined;
  const hub = {
    directory,
    placement: {
      slotsReported: (node: string, agents: unknown) => void calls.push(['slotsReported', node, agents]),
      nodeGone: (node: string) => void calls.push(['nodeGone', node]),
      connect: (p: MeshPort) => void (port = p),
    },
    offered: (offer: JobOfferBody) => (calls.push(['offered', offer.jobId]), { status: 'taken', agentId: offer.agentId }),
    commanded: (c: AgentCommandBody) => (calls.push(['commanded', c.command]), true),
    // a-1 was last heard from at 1234.5 ms; the others not yet.
    lastSeenOf: (agentId: string) => (agentId === 'a-1' ? 1234.5 : undefined),
  };
  return { hub: hub as unknown as AgentHub, directory, calls, port: () => port! };
}

function rig(connected = ['b', 'c']) {
  const clock = new ManualClock(0);
  const p = fakePeers(connected);
  const h = fakeHub();
  const warnings: [object, string][] = [];
  const mesh = new MeshLinks({ hub: h.hub, peers: p.peers, clock, warn: (fields, msg) => void warnings.push([fields, msg]) });
  const agent = (agentId: string) => h.directory.upsert({ agentId, node: 'a', labels: ['linux'], maxConcurrency: 2 });
  return { clock, mesh, agent, warnings, ...p, ...h };
}

const member = (node: string): MeshSender => ({ node, member: true, ownsRuns: true });
const stranger = (node: string): MeshSender => ({ node, member: false, ownsRuns: true });
/** An edge worker of the cluster: a member that owns no runs. */
const edgeWorker = (node: string): MeshSender => ({ node, member: true, ownsRuns: false });
const request: DispatchRequest = { runId: 'run-1', jobId: 'job-1', attempt: 1, runsOn: ['linux'], frame: { epoch: 3 } as DispatchRequest['frame'] };

describe('MeshLinks', () => {
  it('reports its agents\' slots to every connected peer once per burst of changes, and again every 2 s', () => {
    const r = rig();
    r.mesh.start();
    r.agent('a-1');
    r.agent('a-2');
    expect(r.told).toEqual([]);
    r.clock.advance(2);
    // When the node last heard from each agent rides along, in whole ms, for the other nodes' agents pages.
    const slots = { agents: [expect.objectContaining({ agentId: 'a-1', maxConcurrency: 2, active: 0, lastSeenAt: 1234 }), expect.objectContaining({ agentId: 'a-2' })] };
    expect(r.told).toEqual([['b', 'slots', slots], ['c', 'slots', slots]]);
    expect((r.told[0]![2] as { agents: object[] }).agents[1]).not.toHaveProperty('lastSeenAt');
    r.told.length = 0;
    r.clock.advance(1_997);
    expect(r.told).toEqual([]);
    r.clock.advance(1);
    expect(r.told.map(([node]) => node)).toEqual(['b', 'c']);
  });

  it('reports to a peer whose link comes up at once, and a peer that cannot take a report does not stop the others', () => {
    const r = rig();
    r.agent('a-1');
    r.clock.advance(2);
    r.told.length = 0;
    r.linkUp('d');
    expect(r.told.map(([node, kind]) => [node, kind])).toEqual([['d', 'slots']]);
    r.told.length = 0;
    r.failTellsTo('b');
    r.agent('a-2');
    r.clock.advance(2);
    expect(r.told.map(([node]) => node)).toEqual(['c']);
  });

  it('takes slots, offers and commands from members only, and forgets a node that is gone', () => {
    const r = rig();
    const slots = { agents: [{ agentId: 'far-1', labels: ['linux'], maxConcurrency: 1, active: 0 }] };
    r.from('slots', member('b'), slots);
    r.from('slots', stranger('x'), slots);
    const offer = { agentId: 'a-1', runId: 'run-1', jobId: 'job-1', attempt: 1, frame: {} };
    expect(r.from('offer', member('b'), offer)).toEqual({ status: 'taken', agentId: 'a-1' });
    expect(r.from('offer', stranger('x'), offer)).toEqual({ status: 'refused', reason: 'only coordinators of the cluster offer jobs' });
    // An edge worker reports its slots, but owns no run: it may not place jobs or command agents here.
    r.from('slots', edgeWorker('w'), slots);
    expect(r.from('offer', edgeWorker('w'), offer)).toEqual({ status: 'refused', reason: 'only coordinators of the cluster offer jobs' });
    const command = { command: 'close_silent', agentId: 'a-1', jobId: 'job-1' };
    expect(r.from('command', member('b'), command)).toEqual({ reached: true });
    expect(r.from('command', stranger('x'), command)).toEqual({ reached: false });
    expect(r.from('command', edgeWorker('w'), command)).toEqual({ reached: false });
    r.nodeGone('c');
    expect(r.calls).toEqual([['slotsReported', 'b', slots.agents], ['offered', 'job-1'], ['slotsReported', 'w', slots.agents], ['commanded', 'close_silent'], ['nodeGone', 'c']]);
  });

  it('offers through the peers: an answer is the answer, no answer counts as unanswered, anything else as refused', async () => {
    const r = rig();
    const port = r.port();
    expect(await port.offer('b', 'far-1', request)).toEqual({ status: 'taken', agentId: 'far-1' });
    expect(r.asked[0]).toEqual(['b', 'offer', { agentId: 'far-1', runId: 'run-1', jobId: 'job-1', attempt: 1, runsOn: ['linux'], frame: { epoch: 3 } }, 2_000]);
    r.answerWith(async () => {
      throw new Unanswered('b did not answer');
    });
    expect(await port.offer('b', 'far-1', request)).toEqual({ status: 'unanswered', reason: 'b did not answer' });
    r.answerWith(async () => {
      throw new Error('b is not connected');
    });
    expect(await port.offer('b', 'far-1', request)).toEqual({ status: 'refused', reason: 'b is not connected' });
  });

  it('sends a command to the agent\'s node, or to every connected peer, and warns of one that did not get through', async () => {
    const r = rig();
    const port = r.port();
    const cancel: AgentCommandBody = { command: 'cancel', agentId: 'far-1', runId: 'run-1', jobId: 'job-1', reason: 'cancelled', force: false, epoch: 3 };
    port.command('b', cancel);
    expect(r.asked.map(([node, kind, , timeoutMs]) => [node, kind, timeoutMs])).toEqual([['b', 'command', 5_000]]);
    r.asked.length = 0;
    r.answerWith(async (node) => {
      if (node === 'c') throw new Error('c did not answer');
      return { reached: false };
    });
    port.command(undefined, cancel);
    expect(r.asked.map(([node]) => node)).toEqual(['b', 'c']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.warnings).toEqual([[{ node: 'c', agentId: 'far-1', command: 'cancel', err: 'c did not answer' }, 'agent command not delivered to another node']]);
  });

  it('stops: no more reports, no more listening', () => {
    const r = rig();
    r.mesh.start();
    r.agent('a-1');
    r.mesh.stop();
    r.clock.advance(10_000);
    r.agent('a-2');
    r.linkUp('d');
    r.clock.advance(10_000);
    expect(r.told).toEqual([]);
    expect(r.listeners.size).toBe(0);
  });
});
