import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type AgentLogger, type AgentOptions, type RunningAgent } from '../../../src/agent/index.js';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import type { AgentMessage, AgentMessageOf } from '../../../src/transport/agent-protocol/index.js';
import { FakeOrchestrator, type FakeOrchestratorOptions } from './fake-orchestrator.js';
import { makeDispatch, waitFor } from './fixtures.js';

/**
 * The agent riding out outages: fail-over between orchestrator nodes, a half-open link noticed by
 * its ping deadline, final statuses kept on disk across a restart of the agent, and the outbox's
 * bound turning new jobs away instead of dropping results.
 */
let workDir: string;
let servers: FakeOrchestrator[];
let agents: RunningAgent[];
let logged: { level: string; msg: string }[];

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'kici-agent-outage-'));
  servers = [];
  agents = [];
  logged = [];
});
afterEach(async () => {
  for (const agent of agents) await agent.shutdown({ force: true, settleMs: 2000 });
  for (const server of servers) await server.close();
  rmSync(workDir, { recursive: true, force: true });
});

const logger: AgentLogger = {
  debug: () => undefined,
  info: (_f, msg = '') => logged.push({ level: 'info', msg }),
  warn: (_f, msg = '') => logged.push({ level: 'warn', msg }),
  error: (_f, msg = '') => logged.push({ level: 'error', msg }),
};

async function orchestrator(options: FakeOrchestratorOptions = {}): Promise<FakeOrchestrator> {
  const server = new FakeOrchestrator(options);
  servers.push(server);
  await server.ready;
  return server;
}

function launch(url: string | string[], options: Partial<AgentOptions> = {}): RunningAgent {
  const agent = startAgent({
    url,
    token: 'good-token',
    workDir,
    maxConcurrency: 1,
    random: new SeededRandom(3),
    reconnectBaseMs: 20,
    logger,
    ...options,
  });
  agents.push(agent);
  return agent;
}

const ofType = <T extends AgentMessage['type']>(frames: AgentMessage[], type: T): AgentMessageOf<T>[] =>
  frames.filter((f): f is AgentMessageOf<T> => f.type === type);

describe('an agent given several orchestrators', () => {
  it('moves to the next node when its node goes away, keeps its job running and reports it there', async () => {
    const a = await orchestrator({ autoAck: true });
    const b = await orchestrator({ autoAck: true });
    const agent = launch([a.url, b.url]);
    await waitFor(() => agent.connection.state === 'registered', 5000, 'registered with a');
    expect(agent.connection.url).toBe(a.url);
    a.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps: [{ run: 'echo one; sleep 0.5; echo two' }] } }));
    await waitFor(() => ofType(a.last!.frames, 'job.status').some((s) => s.state === 'running'), 5000, 'running on a');

    // Node a stops: its socket drops and it takes no new ones.
    a.options.refuse = true;
    a.last!.socket.terminate();
    await waitFor(() => b.connections.length === 1 && ofType(b.last!.frames, 'agent.register').length === 1, 5000, 'register with b');
    expect(ofType(b.last!.frames, 'agent.register')[0]?.inFlightJobs).toEqual([{ jobId: 'job-1', runId: 'run-1' }]);
    await waitFor(() => ofType(b.last!.frames, 'job.status').some((s) => s.state === 'success'), 5000, 'the result on b');
    expect(agent.connection.url).toBe(b.url);
    expect(a.connections).toHaveLength(1);
    // The gap marker tells the reader of the job's log where the outage was.
    expect(ofType(b.last!.frames, 'agent.log')[0]?.lines[0]).toMatch(/reconnected after a \d+s outage/);
  });

  it('tries the nodes in turn while none answers, and comes back round to the first', async () => {
    const a = await orchestrator({ refuse: true });
    const b = await orchestrator({ refuse: true });
    const agent = launch([a.url, b.url]);
    await waitFor(() => a.sockets >= 2 && b.sockets >= 2, 10_000, 'two rounds over both nodes');
    // In turn: a, b, a, b, … never the same node twice in a row.
    expect(Math.abs(a.sockets - b.sockets)).toBeLessThanOrEqual(1);
    a.options.refuse = false;
    await waitFor(() => agent.connection.state === 'registered', 10_000, 'registered once a is back');
    expect(agent.connection.url).toBe(a.url);
  });
});

describe('an agent on a half-open link', () => {
  it('takes a link that answers nothing, not even pings, for dead within its ping timeout and reconnects', async () => {
    const clock = new ManualClock(Date.now());
    const server = await orchestrator({ autoAck: true, autoPong: false });
    const agent = launch(server.url, { clock, pingTimeoutMs: 1000, heartbeatIntervalMs: 3_600_000 });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'registered');
    // The orchestrator's side goes quiet without closing: no frame, no pong.
    server.options.mute = true;
    for (let i = 0; i < 3; i++) clock.advance(250);
    expect(agent.connection.state).toBe('registered');
    // Pings went out on the quiet link, none came back.
    clock.advance(250);
    await waitFor(() => agent.connection.state === 'waiting', 5000, 'the agent to give the link up');
    expect(logged.some((l) => l.level === 'warn' && l.msg.startsWith('no frame from the orchestrator in time'))).toBe(true);

    server.options.mute = false;
    clock.advance(60_000);
    await waitFor(() => server.connections.length === 2 && agent.connection.state === 'registered', 5000, 'the new link');
  });

  it('keeps a quiet link that answers pings', async () => {
    const clock = new ManualClock(Date.now());
    const server = await orchestrator({ autoAck: true });
    const agent = launch(server.url, { clock, pingTimeoutMs: 1000, heartbeatIntervalMs: 3_600_000 });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'registered');
    server.options.mute = true;
    let pings = 0;
    server.last!.socket.on('ping', () => (pings += 1));
    // Twelve checks, each followed by the pong of its ping: never silent for a whole timeout.
    for (let i = 0; i < 12; i++) {
      const before = pings;
      clock.advance(250);
      // The pong goes out before this listener runs; it reaches the agent long before the
      // watch could miss four of them in a row, which is what a whole timeout of silence takes.
      await waitFor(() => pings > before, 5000, `ping ${i}`);
    }
    expect(agent.connection.state).toBe('registered');
    expect(server.connections).toHaveLength(1);
  });
});

describe('an agent restarted while its results wait for the orchestrator', () => {
  it('sends the final statuses of its earlier process again after registering, and removes them once acked', async () => {
    const server = await orchestrator({ autoAck: false });
    const first = launch(server.url);
    await waitFor(() => first.connection.state === 'registered', 5000, 'registered');
    server.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps: [{ run: 'true' }, { run: 'true' }] } }));
    await waitFor(() => ofType(server.last!.frames, 'job.status').some((s) => s.state === 'success'), 5000, 'the result');
    const finals = [...ofType(server.last!.frames, 'step.status'), ...ofType(server.last!.frames, 'job.status')]
      .filter((s) => s.state === 'success')
      .map((s) => s.messageId);
    expect(finals).toHaveLength(3);
    await first.shutdown({ force: true, settleMs: 100 });
    expect(readdirSync(join(workDir, 'outbox'))).toHaveLength(3);

    const second = launch(server.url);
    await waitFor(() => server.connections.length === 2 && ofType(server.last!.frames, 'job.status').length > 0, 5000, 'the resend');
    const conn = server.last!;
    expect(ofType(conn.frames, 'agent.register')[0]?.inFlightJobs).toEqual([{ jobId: 'job-1', runId: 'run-1' }]);
    const resent = [...ofType(conn.frames, 'step.status'), ...ofType(conn.frames, 'job.status')].map((s) => s.messageId);
    expect(resent.sort()).toEqual([...finals].sort());
    // Its log lines were in the earlier process's memory: the job's log says where they went missing.
    await waitFor(() => ofType(conn.frames, 'log.chunk').length > 0, 5000, 'the restart marker');
    expect(ofType(conn.frames, 'log.chunk')).toEqual([
      expect.objectContaining({ jobId: 'job-1', runId: 'run-1', stepIndex: 1, lines: [expect.stringMatching(/^\[kici-agent\] the agent was restarted/)] }),
    ]);
    for (const messageId of finals) conn.send({ type: 'ack', messageId });
    await waitFor(() => readdirSync(join(workDir, 'outbox')).length === 0, 5000, 'the outbox to empty');
    expect(second.connection.unackedJobs()).toEqual([]);
  });

  it('turns new jobs away as busy while unacknowledged results are over the bound, and takes them again once acked', async () => {
    const server = await orchestrator({ autoAck: false });
    const agent = launch(server.url, { outboxMaxBytes: 1024 });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'registered');
    const steps = Array.from({ length: 6 }, () => ({ run: 'true' }));
    server.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps } }));
    await waitFor(() => ofType(server.last!.frames, 'job.status').some((s) => s.state === 'success'), 5000, 'the first result');
    await agent.runner.idle();
    server.last!.send(makeDispatch({ jobId: 'job-2', messageId: 'm-2' }));
    await waitFor(() => ofType(server.last!.frames, 'job.reject').length === 1, 5000, 'the refusal');
    expect(ofType(server.last!.frames, 'job.reject')[0]).toMatchObject({ jobId: 'job-2', reason: 'busy' });
    expect(logged.some((l) => l.level === 'error' && l.msg.includes('KICI_AGENT_OUTBOX_MAX_BYTES'))).toBe(true);

    for (const s of [...ofType(server.last!.frames, 'step.status'), ...ofType(server.last!.frames, 'job.status')]) {
      if (s.state === 'success') server.last!.send({ type: 'ack', messageId: s.messageId });
    }
    await waitFor(() => readdirSync(join(workDir, 'outbox')).length === 0, 5000, 'the outbox to empty');
    server.last!.send(makeDispatch({ jobId: 'job-3', messageId: 'm-3' }));
    await waitFor(() => ofType(server.last!.frames, 'job.ack').some((a) => a.jobId === 'job-3'), 5000, 'the next job taken');
  });
});
