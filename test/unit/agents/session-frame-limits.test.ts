import { describe, expect, it } from 'vitest';
import { AGENT_FRAME_LIMITS, AgentSession, type FrameLimits } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { CloseCode, type AgentMessage } from '../../../src/transport/index.js';
import { RecordingSocket, authRequest, heartbeat, register, settle } from './recording-socket.js';

async function registeredSession(limits?: FrameLimits, slots = 1) {
  const clock = new ManualClock(1_000);
  const socket = new RecordingSocket();
  const messages: AgentMessage[] = [];
  let closes = 0;
  const session = new AgentSession(
    socket,
    {
      validateToken: async () => ({ tokenId: 'tok_1', labels: null, maxConcurrency: null }),
      onRegistered: () => {},
      onMessage: (_s, m) => void messages.push(m),
      onClosed: () => void closes++,
    },
    clock,
    { frameLimits: limits },
  );
  session.receive(authRequest());
  await settle();
  session.receive(register('agent-1', { maxConcurrency: slots }));
  expect(session.registered).toBe(true);
  return { clock, socket, session, messages, closes: () => closes };
}

const log = (n: number) => JSON.stringify({ type: 'agent.log', lines: [`line ${n}`] });
const finished = (jobId: string) => JSON.stringify({ type: 'job.status', messageId: `m-${jobId}`, timestamp: 1, runId: 'run-1', jobId, state: 'success' });
const jobHeartbeat = () => JSON.stringify({ type: 'job.heartbeat', runId: 'run-1', jobId: 'job-1' });

describe('AgentSession frame limits', () => {
  it('warns with retryAfterMs once over the limit, and still hands every frame on, a job result included', async () => {
    // The handshake used 2 of the 5 messages.
    const { socket, session, messages } = await registeredSession({ ...AGENT_FRAME_LIMITS, messageBurst: 5 });
    for (let i = 0; i < 3; i++) session.receive(log(i));
    expect(socket.types()).not.toContain('rate.limit.warning');
    session.receive(log(3));
    session.receive(finished('job-1'));
    session.receive(log(4));
    const warnings = socket.sent.filter((f) => f.type === 'rate.limit.warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].retryAfterMs).toBeGreaterThan(0);
    expect(messages.map((m) => m.type)).toEqual(['agent.log', 'agent.log', 'agent.log', 'agent.log', 'job.status', 'agent.log']);
    expect(socket.closedWith).toBeUndefined();
  });

  it('does not meter heartbeats', async () => {
    const { socket, session, messages } = await registeredSession({ ...AGENT_FRAME_LIMITS, messageBurst: 3 });
    for (let i = 0; i < 50; i++) session.receive(i % 2 ? heartbeat(i) : jobHeartbeat());
    expect(messages).toHaveLength(50);
    expect(socket.types()).not.toContain('rate.limit.warning');
  });

  it('closes with 4003 once the flood has lasted more than 5 s, after handling the last frame', async () => {
    const { clock, socket, session, messages, closes } = await registeredSession();
    let sent = 0;
    while (!socket.closedWith && sent < 20_000) {
      // 1000 frames a second against a refill of 100.
      session.receive(sent === 3_000 ? finished('job-late') : log(sent));
      sent++;
      clock.advance(1);
    }
    expect(socket.closedWith?.code).toBe(CloseCode.invalidMessage);
    expect(socket.closedWith?.code).toBe(4003);
    expect(socket.closedWith?.reason).toMatch(/rate limit/);
    expect(clock.now() - 1_000).toBeGreaterThan(5_000);
    expect(messages).toHaveLength(sent);
    expect(messages.some((m) => m.type === 'job.status')).toBe(true);
    expect(closes()).toBe(1);
    // A flood is not answered by a flood of warnings: about one a second.
    const warnings = socket.sent.filter((f) => f.type === 'rate.limit.warning').length;
    expect(warnings).toBeGreaterThanOrEqual(5);
    expect(warnings).toBeLessThanOrEqual(7);
    session.receive(log(99_999));
    expect(messages).toHaveLength(sent);
  });

  it('closes at once with 4003 on a frame over the byte burst, without handling it', async () => {
    const { socket, session, messages } = await registeredSession();
    session.receive(JSON.stringify({ type: 'agent.log', lines: ['x'.repeat(2 * 1024 * 1024)] }));
    expect(socket.closedWith?.code).toBe(4003);
    expect(messages).toHaveLength(0);
  });

  it('scales the budget with the slots registered: 25 slots carry 1,500 frames/s for 10 s without a warning', async () => {
    const { clock, socket, session, messages } = await registeredSession(undefined, 25);
    for (let tick = 0; tick < 1_000; tick++) {
      for (let i = 0; i < 15; i++) session.receive(log(tick * 15 + i));
      clock.advance(10);
    }
    expect(messages).toHaveLength(15_000);
    expect(socket.types()).not.toContain('rate.limit.warning');
    expect(socket.closedWith).toBeUndefined();
  });

  it('still closes a 25-slot agent flooding at twice that, after 5 s of violations', async () => {
    const { clock, socket, session } = await registeredSession(undefined, 25);
    let sentMs = 0;
    while (!socket.closedWith && sentMs < 20_000) {
      for (let i = 0; i < 30; i++) session.receive(log(i));
      clock.advance(10);
      sentMs += 10;
    }
    expect(socket.types()).toContain('rate.limit.warning');
    expect(socket.closedWith).toMatchObject({ code: 4003, reason: expect.stringMatching(/rate limit/) });
    // Register left the 198 messages of the floor's burst (not the scaled 3,000): gone in 0.2 s at
    // this deficit; then 5 s of violations.
    expect(sentMs).toBeGreaterThan(5_000);
    expect(sentMs).toBeLessThan(5_300);
  });

  it('keeps the floor until register, and does not top the buckets up when the slots arrive', async () => {
    // auth.request and agent.register use both messages of the floor's burst.
    const { clock, socket, session } = await registeredSession({ ...AGENT_FRAME_LIMITS, messageBurst: 2 }, 25);
    session.receive(log(0));
    expect(socket.types()).toContain('rate.limit.warning');
    clock.advance(1_000);
    const before = socket.types().length;
    // A second at the scaled 1,500/s refilled the scaled burst of 30.
    for (let i = 0; i < 30; i++) session.receive(log(i));
    expect(socket.types()).toHaveLength(before);
    session.receive(log(31));
    expect(socket.types()).toHaveLength(before + 1);
  });

  it('refuses an oversized frame even before authentication', () => {
    const socket = new RecordingSocket();
    const session = new AgentSession(
      socket,
      { validateToken: async () => null, onRegistered: () => {}, onMessage: () => {}, onClosed: () => {} },
      new ManualClock(),
    );
    session.receive('x'.repeat(5 * 1024 * 1024));
    expect(socket.closedWith?.code).toBe(4003);
  });
});
