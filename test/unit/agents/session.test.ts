import { describe, expect, it } from 'vitest';
import { AgentSession, type TokenGrant } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { DEFAULT_AGENT_SLOT_CAP } from '../../../src/vocabulary/index.js';
import type { AgentMessage, AgentRegister } from '../../../src/transport/index.js';
import { RecordingSocket, authRequest, deferred, heartbeat, register, settle } from './recording-socket.js';

type Ports = ConstructorParameters<typeof AgentSession>[1];

interface Rig {
  clock: ManualClock;
  socket: RecordingSocket;
  session: AgentSession;
  registered: AgentRegister[];
  messages: AgentMessage[];
  closes: number;
}

function rig(overrides: Partial<Ports> = {}, grant: TokenGrant | null = { tokenId: 'tok_1', labels: null, maxConcurrency: null }): Rig {
  const clock = new ManualClock(1_000);
  const socket = new RecordingSocket();
  const r = { clock, socket, registered: [] as AgentRegister[], messages: [] as AgentMessage[], closes: 0 } as Rig;
  const ports: Ports = {
    validateToken: async (token) => (token === 'tok-good' ? grant : null),
    onRegistered: (_s, reg) => void r.registered.push(reg),
    onMessage: (_s, msg) => void r.messages.push(msg),
    onClosed: () => void r.closes++,
    ...overrides,
  };
  r.session = new AgentSession(socket, ports, clock);
  return r;
}

async function handshake(r: Rig, reg = register('agent-1')): Promise<void> {
  r.session.receive(authRequest());
  await settle();
  r.session.receive(reg);
}

describe('AgentSession handshake', () => {
  it('answers auth.request with auth.success and agent.register with register.ack', async () => {
    const r = rig();
    r.session.receive(authRequest());
    await settle();
    expect(r.socket.last('auth.success')).toMatchObject({ connectionId: r.session.connectionId });
    expect(r.session.registered).toBe(false);

    r.session.receive(register('agent-1', { labels: ['linux', 'linux', 'docker'], maxConcurrency: 3 }));
    expect(r.socket.last('register.ack')).toMatchObject({ agentId: 'agent-1', labels: ['linux', 'docker'] });
    expect(r.session.registered).toBe(true);
    expect(r.session.agentId).toBe('agent-1');
    expect(r.session.maxConcurrency).toBe(3);
    expect(r.registered).toHaveLength(1);
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('stamps every frame it sends with a messageId and the clock time', async () => {
    const r = rig();
    r.session.receive(authRequest());
    await settle();
    const frame = r.socket.last('auth.success')!;
    expect(typeof frame.messageId).toBe('string');
    expect(frame.timestamp).toBe(1_000);
  });

  it('closes with 4002 when auth.request does not arrive within 5 s', () => {
    const r = rig();
    r.clock.advance(4_999);
    expect(r.socket.closedWith).toBeUndefined();
    r.clock.advance(1);
    expect(r.socket.closedWith?.code).toBe(4002);
    expect(r.session.closed).toBe(true);
    expect(r.closes).toBe(1);
  });

  it('closes with 4002 when agent.register does not arrive within 10 s of auth.success', async () => {
    const r = rig();
    r.clock.advance(3_000);
    r.session.receive(authRequest());
    await settle();
    // The auth deadline (5 s after connect) has passed by now; it must not fire any more.
    r.clock.advance(9_999);
    expect(r.socket.closedWith).toBeUndefined();
    r.clock.advance(1);
    expect(r.socket.closedWith?.code).toBe(4002);
  });

  it('keeps a registered session open past both handshake deadlines', async () => {
    const r = rig();
    await handshake(r);
    r.clock.advance(60_000);
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('closes with 4010 and auth.failure when the first frame is not auth.request', () => {
    const r = rig();
    r.session.receive(heartbeat());
    expect(r.socket.types()).toEqual(['auth.failure']);
    expect(r.socket.closedWith?.code).toBe(4010);
  });

  it('closes with 4010 on a token the validator does not know', async () => {
    const r = rig();
    r.session.receive(authRequest('tok-wrong'));
    await settle();
    expect(r.socket.last('auth.failure')).toBeDefined();
    expect(r.socket.last('auth.success')).toBeUndefined();
    expect(r.socket.closedWith?.code).toBe(4010);
  });

  it('treats a failing token check as a bad token (4010), not a crash', async () => {
    const r = rig({ validateToken: async () => Promise.reject(new Error('database down')) });
    r.session.receive(authRequest());
    await settle();
    expect(r.socket.closedWith?.code).toBe(4010);
  });

  it('closes with 4005 when the protocol version is below the minimum', () => {
    const r = rig();
    r.session.receive(JSON.stringify({ type: 'auth.request', token: 'tok-good', protocolVersion: 0 }));
    expect(r.socket.closedWith?.code).toBe(4005);
  });

  it('closes with 4003 on a frame that is not JSON, and says why', () => {
    const r = rig();
    r.session.receive('{not json');
    expect(r.socket.last('error')).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(r.socket.closedWith?.code).toBe(4003);
  });

  it('closes with 4003 on a frame that fails its schema after registration', async () => {
    const r = rig();
    await handshake(r);
    r.session.receive(JSON.stringify({ type: 'job.ack', runId: 'r1' }));
    expect(r.socket.closedWith?.code).toBe(4003);
    expect(r.messages).toHaveLength(0);
  });

  it('closes with 4003 on any other frame between auth.success and agent.register', async () => {
    const r = rig();
    r.session.receive(authRequest());
    await settle();
    r.session.receive(heartbeat());
    expect(r.socket.closedWith?.code).toBe(4003);
    expect(r.registered).toHaveLength(0);
  });

  it('keeps close reasons within the 123-byte WebSocket limit', () => {
    const r = rig();
    r.session.receive(JSON.stringify({ type: 'auth.request', token: '', protocolVersion: 'x', extra: 'é'.repeat(200) }));
    expect(r.socket.closedWith?.code).toBe(4003);
    expect(Buffer.byteLength(r.socket.closedWith!.reason)).toBeLessThanOrEqual(123);
  });

  it('never echoes the token in the error it sends for a malformed auth.request', () => {
    const r = rig();
    r.session.receive(JSON.stringify({ type: 'auth.request', token: 'supersecret-token-value', protocolVersion: -1 }));
    const text = JSON.stringify(r.socket.sent) + r.socket.closedWith?.reason;
    expect(text).not.toContain('supersecret-token-value');
  });
});

describe('AgentSession after registration', () => {
  it('hands valid frames to onMessage', async () => {
    const r = rig();
    await handshake(r);
    r.session.receive(heartbeat(5));
    r.session.receive(JSON.stringify({ type: 'job.ack', runId: 'r1', jobId: 'j1' }));
    expect(r.messages.map((m) => m.type)).toEqual(['heartbeat', 'job.ack']);
  });

  it('accepts a re-register and reports it again', async () => {
    const r = rig();
    await handshake(r);
    r.session.receive(register('agent-1', { labels: ['linux', 'docker'], maxConcurrency: 2 }));
    expect(r.registered).toHaveLength(2);
    expect(r.session.labels).toEqual(['linux', 'docker']);
    expect(r.session.maxConcurrency).toBe(2);
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('refuses to change the agent id on the same connection (4003)', async () => {
    const r = rig();
    await handshake(r);
    r.session.receive(register('agent-2'));
    expect(r.socket.closedWith?.code).toBe(4003);
    expect(r.session.agentId).toBe('agent-1');
  });

  it('closes with the code onRegistered refuses with', async () => {
    const r = rig({ onRegistered: () => ({ refuse: { code: 4011, reason: 'taken' } }) });
    await handshake(r);
    expect(r.socket.closedWith).toEqual({ code: 4011, reason: 'taken' });
  });
});

describe('AgentSession label restriction', () => {
  const restricted: TokenGrant = { tokenId: 'tok_r', labels: ['linux', 'docker'], maxConcurrency: null };

  it('admits labels the token grants, plus self-derived os:/arch:/host: labels', async () => {
    const r = rig({}, restricted);
    await handshake(r, register('agent-1', { labels: ['linux', 'os:linux', 'arch:x64', 'host:box'] }));
    expect(r.session.registered).toBe(true);
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('refuses a label the token does not grant with 4010', async () => {
    const r = rig({}, restricted);
    await handshake(r, register('agent-1', { labels: ['linux', 'gpu'] }));
    expect(r.socket.last('auth.failure')?.reason).toContain('gpu');
    expect(r.socket.last('register.ack')).toBeUndefined();
    expect(r.socket.closedWith?.code).toBe(4010);
    expect(r.registered).toHaveLength(0);
  });

  it('checks again on re-register, so labels cannot be raised later', async () => {
    const r = rig({}, restricted);
    await handshake(r, register('agent-1', { labels: ['linux'] }));
    expect(r.session.registered).toBe(true);
    r.session.receive(register('agent-1', { labels: ['linux', 'gpu'] }));
    expect(r.socket.closedWith?.code).toBe(4010);
    expect(r.session.labels).toEqual(['linux']);
    expect(r.registered).toHaveLength(1);
  });

  it('lets an unrestricted token claim any label', async () => {
    const r = rig();
    await handshake(r, register('agent-1', { labels: ['gpu', 'anything'] }));
    expect(r.session.registered).toBe(true);
  });
});

describe('AgentSession slot cap', () => {
  const capped: TokenGrant = { tokenId: 'tok_c', labels: null, maxConcurrency: 8 };

  it("admits an agent declaring up to its token's cap", async () => {
    const r = rig({}, capped);
    await handshake(r, register('agent-1', { maxConcurrency: 8 }));
    expect(r.session.registered).toBe(true);
    expect(r.session.maxConcurrency).toBe(8);
  });

  it('refuses more slots than the cap with auth.failure naming the cap, then 4010, never registering', async () => {
    const r = rig({}, capped);
    await handshake(r, register('agent-1', { maxConcurrency: 9 }));
    const reason = String(r.socket.last('auth.failure')?.reason);
    expect(reason).toContain('maxConcurrency 9');
    expect(reason).toContain('its cap: 8 slots');
    expect(reason).toContain('--max-concurrency');
    expect(r.socket.last('register.ack')).toBeUndefined();
    expect(r.socket.closedWith).toEqual({ code: 4010, reason: "maxConcurrency 9 above the token's cap of 8" });
    expect(r.registered).toHaveLength(0);
  });

  it('holds a token made without a cap to the default cap of 64', async () => {
    expect(DEFAULT_AGENT_SLOT_CAP).toBe(64);
    const fits = rig();
    await handshake(fits, register('agent-1', { maxConcurrency: 64 }));
    expect(fits.session.registered).toBe(true);

    const over = rig();
    await handshake(over, register('agent-1', { maxConcurrency: 65 }));
    expect(over.socket.last('auth.failure')?.reason).toContain('the default cap: 64 slots');
    expect(over.socket.closedWith?.code).toBe(4010);
  });

  it('checks again on re-register, so slots cannot be raised past the cap later', async () => {
    const r = rig({}, capped);
    await handshake(r, register('agent-1', { maxConcurrency: 4 }));
    r.session.receive(register('agent-1', { maxConcurrency: 8 }));
    expect(r.session.maxConcurrency).toBe(8);
    r.session.receive(register('agent-1', { maxConcurrency: 100 }));
    expect(r.socket.closedWith?.code).toBe(4010);
    expect(r.session.maxConcurrency).toBe(8);
    expect(r.registered).toHaveLength(2);
  });

  it('lets a token cap above the protocol limit admit the protocol limit (1000)', async () => {
    const r = rig({}, { tokenId: 'tok_big', labels: null, maxConcurrency: 10_000 });
    await handshake(r, register('agent-1', { maxConcurrency: 1_000 }));
    expect(r.session.registered).toBe(true);
  });
});

describe('AgentSession while the token check is in flight', () => {
  it('holds later frames and replays them in order once the token is accepted', async () => {
    const check = deferred<TokenGrant | null>();
    const r = rig({ validateToken: () => check.promise });
    r.session.receive(authRequest());
    r.session.receive(register('agent-1'));
    r.session.receive(heartbeat(7));
    await settle();
    expect(r.socket.sent).toHaveLength(0);
    expect(r.registered).toHaveLength(0);

    check.resolve({ tokenId: 'tok_1', labels: null, maxConcurrency: null });
    await settle();
    expect(r.socket.types()).toEqual(['auth.success', 'register.ack']);
    expect(r.messages).toEqual([expect.objectContaining({ type: 'heartbeat', timestamp: 7 })]);
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('drops held frames when the token turns out bad', async () => {
    const check = deferred<TokenGrant | null>();
    const r = rig({ validateToken: () => check.promise });
    r.session.receive(authRequest());
    r.session.receive(register('agent-1'));
    check.resolve(null);
    await settle();
    expect(r.socket.closedWith?.code).toBe(4010);
    expect(r.socket.last('register.ack')).toBeUndefined();
    expect(r.registered).toHaveLength(0);
  });

  it('sends nothing when the socket closed before the check answered', async () => {
    const check = deferred<TokenGrant | null>();
    const r = rig({ validateToken: () => check.promise });
    r.session.receive(authRequest());
    r.session.receive(register('agent-1'));
    r.session.socketClosed();
    check.resolve({ tokenId: 'tok_1', labels: null, maxConcurrency: null });
    await settle();
    expect(r.socket.sent).toHaveLength(0);
    expect(r.registered).toHaveLength(0);
    expect(r.closes).toBe(1);
  });

  it('still closes with 4002 when the check outlasts the auth deadline', async () => {
    const check = deferred<TokenGrant | null>();
    const r = rig({ validateToken: () => check.promise });
    r.session.receive(authRequest());
    r.clock.advance(5_000);
    expect(r.socket.closedWith?.code).toBe(4002);
    check.resolve({ tokenId: 'tok_1', labels: null, maxConcurrency: null });
    await settle();
    expect(r.socket.last('auth.success')).toBeUndefined();
  });
});

describe('AgentSession closing', () => {
  it('reports onClosed once whether it closes itself or the socket goes away', async () => {
    const r = rig();
    await handshake(r);
    r.session.close(1000, 'bye');
    r.session.close(4003, 'again');
    r.session.socketClosed();
    expect(r.closes).toBe(1);
    expect(r.socket.closedWith).toEqual({ code: 1000, reason: 'bye' });
  });

  it('ignores frames and sends after it closed', async () => {
    const r = rig();
    await handshake(r);
    r.session.socketClosed();
    const before = r.socket.sent.length;
    r.session.receive(heartbeat());
    r.session.send({ type: 'heartbeat', timestamp: 1 } as never);
    expect(r.socket.sent).toHaveLength(before);
    expect(r.messages).toHaveLength(0);
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('passes WebSocket pings on as signs of life, without a message, until it closed', async () => {
    let alive = 0;
    const r = rig({ onAlive: () => void alive++ });
    await handshake(r);
    r.session.pinged();
    r.session.pinged();
    expect(alive).toBe(2);
    expect(r.messages).toHaveLength(0);
    r.session.socketClosed();
    r.session.pinged();
    expect(alive).toBe(2);
  });

  it('cancels its handshake timer when the socket goes away', () => {
    const r = rig();
    r.session.socketClosed();
    r.clock.advance(10_000);
    expect(r.socket.closedWith).toBeUndefined();
    expect(r.closes).toBe(1);
  });
});

describe('AgentSession protocol versions and config.ack', () => {
  it('refuses a protocol version above the maximum with auth.failure naming the supported ones, then 4005', async () => {
    let checked = 0;
    const r = rig({ validateToken: async () => (checked++, { tokenId: 'tok_1', labels: null, maxConcurrency: null }) });
    r.session.receive(JSON.stringify({ type: 'auth.request', token: 'tok-good', protocolVersion: 2 }));
    await settle();
    expect(r.socket.last('auth.failure')?.reason).toContain('supported protocol versions: 1–1');
    expect(r.socket.last('auth.success')).toBeUndefined();
    expect(r.socket.closedWith?.code).toBe(4005);
    expect(checked).toBe(0);
  });

  it('names the supported versions below the minimum too', () => {
    const r = rig();
    r.session.receive(JSON.stringify({ type: 'auth.request', token: 'tok-good', protocolVersion: 0 }));
    expect(r.socket.last('auth.failure')?.reason).toContain('supported protocol versions: 1–1');
  });

  it('accepts the config.ack KiCI agents send after register.ack, and stays open for later frames', async () => {
    const r = rig();
    await handshake(r);
    r.session.receive(JSON.stringify({ type: 'config.ack', agentId: 'agent-1' }));
    r.session.receive(heartbeat(7));
    expect(r.socket.closedWith).toBeUndefined();
    expect(r.messages.map((m) => m.type)).toEqual(['config.ack', 'heartbeat']);
  });
});

describe('AgentSession failed-authentication limit', () => {
  function limited(answer: boolean) {
    const told: string[] = [];
    const warnings: { message: string; fields: Record<string, unknown> }[] = [];
    const r = rig({
      authFailed: (address) => (told.push(address), { limited: answer }),
      warn: (message, fields) => void warnings.push({ message, fields }),
    });
    r.socket.remoteAddress = '10.0.0.7';
    return { ...r, told, warnings };
  }

  it('tells the limit of a bad token with the client address; within it, auth.failure and 4010', async () => {
    const r = limited(false);
    r.session.receive(authRequest('tok-wrong'));
    await settle();
    expect(r.told).toEqual(['10.0.0.7']);
    expect(r.socket.last('auth.failure')).toBeDefined();
    expect(r.socket.closedWith?.code).toBe(4010);
  });

  it('closes 4003 "rate limited", without auth.failure, once the address is past the limit', async () => {
    const r = limited(true);
    r.session.receive(authRequest('tok-wrong'));
    await settle();
    expect(r.socket.closedWith).toEqual({ code: 4003, reason: 'rate limited' });
    // auth.failure would tell a KiCI agent its token is dead; this address may just be shared.
    expect(r.socket.last('auth.failure')).toBeUndefined();
  });

  it('lets a good token through from a limited address without counting it', async () => {
    const r = limited(true);
    await handshake(r);
    expect(r.told).toEqual([]);
    expect(r.socket.last('register.ack')).toBeDefined();
    expect(r.socket.closedWith).toBeUndefined();
  });

  it('warns of every refusal with its reason and the address, never with the token', async () => {
    const r = limited(false);
    r.session.receive(authRequest('tok-wrong-but-secret'));
    await settle();
    expect(r.warnings).toEqual([
      { message: 'agent connection refused', fields: expect.objectContaining({ reason: 'invalid token', code: 4010, address: '10.0.0.7' }) },
    ]);
    expect(JSON.stringify(r.warnings)).not.toContain('tok-wrong-but-secret');
  });

  it('warns of a bad frame that closes the session with 4003', async () => {
    const r = limited(false);
    await handshake(r);
    r.session.receive(JSON.stringify({ type: 'job.ack', runId: 'r1', token: 'leaked-into-a-frame' }));
    expect(r.socket.closedWith?.code).toBe(4003);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0].fields).toMatchObject({ code: 4003, address: '10.0.0.7', agentId: 'agent-1' });
    expect(r.warnings[0].fields.reason).toMatch(/^invalid message: jobId/);
    expect(JSON.stringify(r.warnings)).not.toContain('leaked-into-a-frame');
  });
});
