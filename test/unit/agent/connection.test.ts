import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type AgentOptions, type RunningAgent } from '../../../src/agent/index.js';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import type { AgentMessage, AgentMessageOf } from '../../../src/transport/agent-protocol/index.js';
import { FakeOrchestrator, type FakeOrchestratorOptions } from './fake-orchestrator.js';
import { makeDispatch, waitFor } from './fixtures.js';

let workDir: string;
let server: FakeOrchestrator;
let agents: RunningAgent[];
/** Barrier ids the agent has handled (it logs every `error` frame at warn). */
let handled: string[];
let barriers = 0;

const HEARTBEAT_MS = 50;

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'kici-agent-conn-'));
  agents = [];
  handled = [];
});
afterEach(async () => {
  for (const agent of agents) await agent.shutdown({ force: true, settleMs: 2000 });
  await server?.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function setup(serverOptions: FakeOrchestratorOptions = {}, agentOptions: Partial<AgentOptions> = {}): Promise<RunningAgent> {
  server = new FakeOrchestrator(serverOptions);
  await server.ready;
  return launch(agentOptions);
}

function launch(agentOptions: Partial<AgentOptions> = {}): RunningAgent {
  const agent = startAgent({
    url: server.url,
    token: 'good-token',
    workDir,
    labels: ['gpu', 'pool-a'],
    maxConcurrency: 2,
    random: new SeededRandom(7),
    reconnectBaseMs: 20,
    heartbeatIntervalMs: HEARTBEAT_MS,
    logger: barrierLogger,
    ...agentOptions,
  });
  agents.push(agent);
  return agent;
}

const ignore = (): void => undefined;
const barrierLogger = {
  debug: ignore,
  info: ignore,
  error: ignore,
  warn: (fields: object) => {
    const f = fields as { code?: string; message?: string };
    if (f.code === 'barrier' && f.message) handled.push(f.message);
  },
};

/**
 * Everything the server sent on the current socket before this call has been handled by the agent:
 * frames on one socket arrive in order, and the agent logs the `error` frame sent last.
 */
async function settled(): Promise<void> {
  const id = `barrier-${++barriers}`;
  server.last!.send({ type: 'error', code: 'barrier', message: id });
  await waitFor(() => handled.includes(id), 5000, id);
}

let probes = 0;
/**
 * Everything the agent sent before this call has reached the server: a job.ack goes out at once,
 * behind whatever the socket already carries, and frames on one socket arrive in order.
 */
async function delivered(agent: RunningAgent): Promise<void> {
  const jobId = `probe-${++probes}`;
  agent.connection.send({ type: 'job.ack', runId: 'probe', jobId });
  await waitFor(() => ofType(server.last!.frames, 'job.ack').some((a) => a.jobId === jobId), 5000, jobId);
}

/**
 * One heartbeat interval of the agent's manual clock, and its heartbeat seen by the server. The
 * agent's ping must be answered before the next beat (else it takes the link for dead), so the
 * beat ends when the pong, sent before the barrier, has been handled.
 */
async function beat(clock: ManualClock): Promise<void> {
  const before = ofType(server.last!.frames, 'heartbeat').length;
  clock.advance(HEARTBEAT_MS);
  await waitFor(() => ofType(server.last!.frames, 'heartbeat').length > before, 5000, 'a heartbeat');
  await settled();
}

/** After the server dropped the socket: let the agent's reconnect delay pass on its clock. */
async function reconnect(agent: RunningAgent, clock: ManualClock): Promise<void> {
  await waitFor(() => agent.connection.state === 'waiting', 5000, 'the agent to see the socket gone');
  clock.advance(60_000);
}

const types = (frames: AgentMessage[]): string[] => frames.map((f) => f.type);
const ofType = <T extends AgentMessage['type']>(frames: AgentMessage[], type: T): AgentMessageOf<T>[] =>
  frames.filter((f): f is AgentMessageOf<T> => f.type === type);

describe('agent connection', () => {
  it('authenticates, registers, and heartbeats only after register.ack', async () => {
    const clock = new ManualClock(Date.now());
    const agent = await setup({ holdRegisterAck: true }, { clock });
    await waitFor(() => (server.last?.frames.length ?? 0) >= 2, 5000, 'register');
    // Ten heartbeat intervals pass while register.ack is held back: no heartbeat may go out.
    clock.advance(10 * HEARTBEAT_MS);
    expect(agent.connection.state).toBe('registering');
    server.releaseRegisterAck();
    await waitFor(() => agent.connection.state === 'registered', 5000, 'registered');
    await beat(clock);
    await beat(clock);
    // A heartbeat sent before the ack would have reached the server ahead of these two.
    const frames = server.last!.frames;
    expect(types(frames)).toEqual(['auth.request', 'agent.register', 'heartbeat', 'heartbeat']);
    expect(frames[0]).toMatchObject({ type: 'auth.request', token: 'good-token', protocolVersion: 1 });
    const register = ofType(frames, 'agent.register')[0]!;
    expect(register.labels).toEqual(['gpu', 'pool-a', `os:${process.platform}`, `arch:${process.arch}`]);
    expect(register.maxConcurrency).toBe(2);
    expect(register.agentId).toBe(agent.agentId);
    expect(register.inFlightJobs).toEqual([]);
    expect(agent.connection.state).toBe('registered');
  });

  it('keeps its agent id in the work dir across restarts', async () => {
    const first = await setup();
    await waitFor(() => first.connection.state === 'registered', 5000, 'register');
    const kept = readFileSync(join(workDir, 'agent-id'), 'utf8').trim();
    expect(kept).toBe(first.agentId);
    await first.shutdown();
    expect(await first.ended).toEqual({ kind: 'stopped' });
    const second = launch();
    await waitFor(() => second.connection.state === 'registered', 5000, 'second register');
    const ids = ofType(server.allFrames(), 'agent.register').map((r) => r.agentId);
    expect(ids).toEqual([kept, kept]);
  });

  it('prefers --agent-id and does not touch the id file then', async () => {
    const agent = await setup({}, { agentId: 'fixed-agent' });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'register');
    expect(ofType(server.last!.frames, 'agent.register')[0]?.agentId).toBe('fixed-agent');
    expect(existsSync(join(workDir, 'agent-id'))).toBe(false);
  });

  it('reconnects after the socket drops and reports its in-flight job', async () => {
    const agent = await setup({ autoAck: true });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'register');
    server.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps: [{ run: 'sleep 0.6' }] } }));
    await waitFor(() => ofType(server.last!.frames, 'job.status').some((s) => s.state === 'running'), 5000, 'running');
    expect(types(server.last!.frames)).toContain('job.ack');
    server.last!.socket.terminate();
    await waitFor(() => server.connections.length === 2 && ofType(server.last!.frames, 'agent.register').length === 1, 5000, 'reconnect');
    expect(ofType(server.last!.frames, 'agent.register')[0]?.inFlightJobs).toEqual([{ jobId: 'job-1', runId: 'run-1' }]);
    // The job goes on and its final status arrives on the new socket.
    await waitFor(() => ofType(server.last!.frames, 'job.status').some((s) => s.state === 'success'), 5000, 'job end');
    const afterAck = types(server.last!.frames).slice(2);
    expect(afterAck[0]).toBe('agent.log');
    expect(ofType(server.last!.frames, 'agent.log')[0]?.lines[0]).toMatch(/reconnected after a \d+s outage/);
  });

  it('re-sends an unacked terminal job.status after reconnecting, and stops once acked', async () => {
    const clock = new ManualClock(Date.now());
    const agent = await setup({ autoAck: false }, { clock });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'register');
    server.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps: [{ run: 'echo hi' }] } }));
    await waitFor(() => ofType(server.last!.frames, 'job.status').some((s) => s.state === 'success'), 5000, 'job end');
    const final = ofType(server.last!.frames, 'job.status').find((s) => s.state === 'success')!;
    server.last!.socket.close(4006, 'restart');
    await reconnect(agent, clock);

    await waitFor(() => server.connections.length === 2 && ofType(server.last!.frames, 'job.status').length > 0, 5000, 're-send');
    const second = server.last!;
    expect(ofType(second.frames, 'agent.register')[0]?.inFlightJobs).toEqual([{ jobId: 'job-1', runId: 'run-1' }]);
    const resent = ofType(second.frames, 'job.status');
    expect(resent.map((s) => s.messageId)).toEqual([final.messageId]);
    // Order after register.ack: gap marker, then the outbox (terminal step and job status), then logs.
    expect(types(second.frames).slice(2, 5)).toEqual(['agent.log', 'step.status', 'job.status']);

    second.send({ type: 'ack', messageId: final.messageId });
    for (const step of ofType(second.frames, 'step.status')) second.send({ type: 'ack', messageId: step.messageId });
    await settled();
    second.socket.close(4006, 'restart');
    await reconnect(agent, clock);
    await waitFor(() => server.connections.length === 3 && agent.connection.state === 'registered', 5000, 'third connection');
    // The outbox goes out the moment register.ack arrives; a heartbeat sent after it closes the window.
    await beat(clock);
    expect(ofType(server.last!.frames, 'job.status')).toEqual([]);
    expect(ofType(server.last!.frames, 'agent.register')[0]?.inFlightJobs).toEqual([]);
  });

  it('re-sends an unacked terminal status on a socket that stays up', async () => {
    const clock = new ManualClock(Date.now());
    const agent = await setup({ autoAck: false }, { clock, statusResendMs: 2 * HEARTBEAT_MS });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'register');
    server.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps: [{ run: 'true' }] } }));
    const finals = () => ofType(server.last!.frames, 'job.status').filter((s) => s.state === 'success');
    await waitFor(() => finals().length === 1, 5000, 'the final status');
    // Due again one resend interval later: heartbeats check the outbox.
    await beat(clock);
    await beat(clock);
    await delivered(agent);
    expect(finals()).toHaveLength(2);
    expect(new Set(finals().map((s) => s.messageId)).size).toBe(1);
    server.last!.send({ type: 'ack', messageId: finals()[0]!.messageId });
    await settled();
    // Three resend intervals after the ack: not one more copy.
    for (let i = 0; i < 6; i++) await beat(clock);
    await delivered(agent);
    expect(finals()).toHaveLength(2);
    expect(server.connections).toHaveLength(1);
  });

  it('paces events and backs off on rate.limit.warning without losing any', async () => {
    const clock = new ManualClock(Date.now());
    // No heartbeats in the way: this test moves the clock in steps of its own.
    const agent = await setup({ autoAck: true }, { clock, sendRatePerSecond: 50, sendBurst: 5, heartbeatIntervalMs: 3_600_000 });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'register');
    server.last!.send({ type: 'rate.limit.warning', retryAfterMs: 200 });
    await settled();
    for (let i = 0; i < 20; i++) {
      agent.connection.send({ type: 'log.chunk', runId: 'r', jobId: 'j', stepIndex: 0, lines: [`n${i}`] });
    }
    // The probe goes out at once, whatever the pacer says: a chunk sent early would be ahead of it.
    await delivered(agent);
    expect(ofType(server.last!.frames, 'log.chunk')).toHaveLength(0);
    clock.advance(199);
    await delivered(agent);
    expect(ofType(server.last!.frames, 'log.chunk')).toHaveLength(0);
    // Past the back-off, 5 at once and then 50 a second: all 20 within the next second.
    clock.advance(1000);
    await waitFor(() => ofType(server.last!.frames, 'log.chunk').length === 20, 5000, 'all chunks');
    expect(ofType(server.last!.frames, 'log.chunk').map((c) => c.lines[0])).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
  });

  it('buffers logs during an outage and replays them after the statuses', async () => {
    const agent = await setup({ autoAck: true });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'register');
    server.last!.send(makeDispatch({ jobConfig: { name: 'j', checkout: false, steps: [{ run: 'echo before; sleep 0.3; echo during' }] } }));
    await waitFor(() => ofType(server.last!.frames, 'log.chunk').length > 0, 5000, 'first log');
    server.options.refuse = true;
    server.last!.socket.terminate();
    // The outage lasts until the job is over, so its last line and final status wait in the agent.
    await agent.runner.idle();
    server.options.refuse = false;
    await waitFor(() => server.connections.length === 2 && ofType(server.last!.frames, 'log.chunk').length > 0, 10_000, 'replay');
    const replay = types(server.last!.frames).slice(2);
    expect(replay[0]).toBe('agent.log');
    const firstLog = replay.indexOf('log.chunk');
    expect(replay.lastIndexOf('job.status')).toBeLessThan(firstLog);
    expect(ofType(server.last!.frames, 'log.chunk').flatMap((c) => c.lines)).toContain('during');
  });

  // Reconnecting is only ever started by a timer of the agent's clock, and it moves the state to
  // `connecting` at once: a clock run far ahead that leaves the state `ended` shows none is due.
  it('stops for good on auth.failure and close 4010', async () => {
    const clock = new ManualClock(Date.now());
    const agent = await setup({}, { clock, token: 'wrong-token' });
    expect(await agent.ended).toEqual({ kind: 'auth_failed', reason: 'Invalid token' });
    clock.advance(3_600_000);
    expect(agent.connection.state).toBe('ended');
    expect(server.connections).toHaveLength(1);
    expect(JSON.stringify(server.allFrames())).toContain('wrong-token');
  });

  it('treats a bare close 4010 as permanent too', async () => {
    const clock = new ManualClock(Date.now());
    const agent = await setup({ authFailureFrame: false }, { clock, token: 'wrong-token' });
    const end = await agent.ended;
    expect(end.kind).toBe('auth_failed');
    clock.advance(3_600_000);
    expect(agent.connection.state).toBe('ended');
    expect(server.connections).toHaveLength(1);
  });
});
