import http from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { OrchestratorRig, RawAgent, sample, type Frame } from './orchestrator-rig.js';

/**
 * Failed authentications against a real orchestrator, over real HTTP and WebSocket, from several
 * loopback addresses (Linux routes all of 127/8 to lo, so a client can bind 127.0.0.2 and so on).
 * The orchestrator's clock is a ManualClock, so the one-minute window passes when the test says so.
 * Logs are captured from a pino logger with no redaction, so a secret in any field would show.
 */
type LogLine = { level: number; msg: string; [field: string]: unknown };

const TRUSTED_PROXY = '127.0.0.3';
let rig: OrchestratorRig;
let clock: ManualClock;
const logLines: string[] = [];
const logs = (): LogLine[] => logLines.map((l) => JSON.parse(l) as LogLine);
const warnings = (msg: string) => logs().filter((l) => l.level === 40 && l.msg === msg);

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter((l) => l.length > 0));
      done();
    },
  });
  rig = await OrchestratorRig.start({ KICI_TRUSTED_PROXIES: TRUSTED_PROXY }, { clock, log: pino({ level: 'info' }, sink) });
});

afterAll(async () => {
  await rig?.close();
});

interface Answer {
  status: number;
  retryAfter?: string;
  body: string;
}

/** An admin API request from a chosen local address, with the headers given. */
function adminRequest(from: string, headers: Record<string, string>, route = '/runs'): Promise<Answer> {
  const url = new URL(`${rig.url}/api/v1${route}`);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', headers, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function failures(kind: 'admin' | 'agent'): Promise<number> {
  return sample(await rig.metrics(), 'kici_auth_failures_total', `kind="${kind}"`);
}

/** A raw agent connected from `from` that sends auth.request with `token` and `protocolVersion`. */
async function authenticate(from: string, token: string, protocolVersion = 1): Promise<RawAgent> {
  const agent = await RawAgent.open(`${rig.url.replace(/^http/, 'ws')}/ws`, { localAddress: from });
  agent.send({ type: 'auth.request', token, protocolVersion });
  return agent;
}

const registerFrame = (agentId: string, labels = ['linux']): Frame => ({
  type: 'agent.register',
  agentId,
  labels,
  platform: 'linux',
  arch: 'x64',
  version: '0.1.0',
  hostname: 'it',
  maxConcurrency: 1,
});

describe('kici_auth_failures_total', () => {
  it('is exported for both kinds at 0 before anything failed', async () => {
    const m = await rig.metrics();
    expect(m).toContain('# TYPE kici_auth_failures_total counter');
    expect(m).toContain('kici_auth_failures_total{kind="admin"} 0');
    expect(m).toContain('kici_auth_failures_total{kind="agent"} 0');
  });
});

describe('failed admin authentications', () => {
  it('answer 401 ten times, then 429 with Retry-After; a valid token still passes; other addresses are untouched; the window lifts it', async () => {
    const attacker = '127.0.0.2';
    for (let i = 0; i < 10; i++) expect((await adminRequest(attacker, bearer(`wrong-token-${i}`))).status).toBe(401);

    const limited = await adminRequest(attacker, bearer('wrong-token-10'));
    expect(limited.status).toBe(429);
    expect(limited.retryAfter).toBe('60');
    expect(JSON.parse(limited.body)).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect((await adminRequest(attacker, {})).status).toBe(429);

    // The admin on the same address (a shared NAT, say) is never locked out.
    expect((await adminRequest(attacker, bearer(rig.adminToken))).status).toBe(200);
    // Another address is counted on its own.
    expect((await adminRequest('127.0.0.1', bearer('wrong-token-elsewhere'))).status).toBe(401);

    clock.advance(60_000);
    expect((await adminRequest(attacker, bearer('wrong-token-later'))).status).toBe(401);

    // 10 + 2 limited + 1 elsewhere + 1 later; the valid request is not a failure.
    expect(await failures('admin')).toBe(14);

    const refused = warnings('admin request refused');
    expect(refused.filter((l) => l.address === attacker && l.reason === 'admin token is invalid or revoked')).toHaveLength(11);
    expect(refused.filter((l) => l.address === attacker && l.reason === 'rate limited')).toHaveLength(2);
    expect(refused.find((l) => l.address === '127.0.0.1')).toMatchObject({ reason: 'admin token is invalid or revoked', method: 'GET', path: '/api/v1/runs' });
    expect(logLines.join('\n')).not.toContain('wrong-token');
    expect(logLines.join('\n')).not.toContain(rig.adminToken);
  });

  it('count the client a trusted proxy names in X-Forwarded-For, and ignore the header from anyone else', async () => {
    const behindProxy = (client: string, token: string) => adminRequest(TRUSTED_PROXY, { ...bearer(token), 'x-forwarded-for': client });
    for (let i = 0; i < 10; i++) expect((await behindProxy('198.51.100.1', `xff-wrong-${i}`)).status).toBe(401);
    expect((await behindProxy('198.51.100.1', 'xff-wrong-10')).status).toBe(429);
    // Another client behind the same proxy is not limited.
    expect((await behindProxy('198.51.100.2', 'xff-wrong-11')).status).toBe(401);
    // An untrusted peer cannot borrow (or escape into) someone else's address by sending the header.
    expect((await adminRequest('127.0.0.4', { ...bearer('xff-wrong-12'), 'x-forwarded-for': '198.51.100.1' })).status).toBe(401);

    const refused = warnings('admin request refused');
    expect(refused.filter((l) => l.address === '198.51.100.1')).toHaveLength(11);
    expect(refused.filter((l) => l.address === '198.51.100.2')).toHaveLength(1);
    expect(refused.filter((l) => l.address === '127.0.0.4')).toHaveLength(1);
    expect(refused.filter((l) => l.address === TRUSTED_PROXY)).toHaveLength(0);
  });
});

describe('failed agent authentications', () => {
  it('close 4010 ten times, then 4003 "rate limited"; a valid token still registers, and its config.ack is accepted', async () => {
    const from = '127.0.0.5';
    const token = await rig.agentToken();
    const before = await failures('agent');
    for (let i = 0; i < 10; i++) {
      const agent = await authenticate(from, `kat_wrong_${i}`);
      expect(await agent.next('auth.failure').catch(() => undefined)).toBeDefined();
      expect((await agent.closed).code).toBe(4010);
    }
    const limited = await authenticate(from, 'kat_wrong_10');
    expect(await limited.closed).toEqual({ code: 4003, reason: 'rate limited' });
    expect(limited.frames.map((f) => f.type)).not.toContain('auth.failure');
    expect((await failures('agent')) - before).toBe(11);

    const agent = await authenticate(from, token);
    await agent.next('auth.success');
    agent.send(registerFrame('agent-limited-address'));
    await agent.next('register.ack');
    // What a KiCI agent sends after every register.ack: accepted, and the socket keeps working.
    agent.send({ type: 'config.ack', agentId: 'agent-limited-address' });
    agent.send(registerFrame('agent-limited-address', ['linux', 'gpu']));
    const again = await agent.next('register.ack', (f) => (f.labels as string[]).includes('gpu'));
    expect(again.agentId).toBe('agent-limited-address');
    expect(agent.isOpen).toBe(true);
    agent.close();

    const refused = warnings('agent connection refused').filter((l) => l.address === from);
    expect(refused.filter((l) => l.reason === 'invalid token' && l.code === 4010)).toHaveLength(10);
    expect(refused.filter((l) => l.reason === 'rate limited' && l.code === 4003)).toHaveLength(1);
    expect(logLines.join('\n')).not.toContain('kat_wrong');
    expect(logLines.join('\n')).not.toContain(token);
  });

  it('refuse protocol version 2 with auth.failure naming the supported versions, then 4005', async () => {
    const agent = await authenticate('127.0.0.6', await rig.agentToken(), 2);
    const failure = await agent.next('auth.failure');
    expect(failure.reason).toContain('supported protocol versions: 1–1');
    expect((await agent.closed).code).toBe(4005);
    expect(agent.frames.map((f) => f.type)).not.toContain('auth.success');
  });

  it('warn with the address when a bad frame closes a session with 4003', async () => {
    const agent = await authenticate('127.0.0.7', await rig.agentToken());
    await agent.next('auth.success');
    agent.send(registerFrame('agent-bad-frame'));
    await agent.next('register.ack');
    agent.send({ type: 'no.such.message' });
    expect((await agent.closed).code).toBe(4003);
    const line = warnings('agent connection refused').find((l) => l.address === '127.0.0.7');
    expect(line).toMatchObject({ code: 4003, agentId: 'agent-bad-frame', reason: expect.stringMatching(/^invalid message: /) });
  });
});

describe('webhook rejections', () => {
  it('are logged at warn with the reason and the address, never with the signature or the secret', async () => {
    const source = await rig.gitSource();
    const signature = `sha256=${'ab'.repeat(32)}`;
    const res = await fetch(`${rig.url}/webhook/acme/git/${source.id}`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', 'x-delivery-id': 'forged-1', 'x-signature-256': signature },
    });
    expect(res.status).toBe(401);
    const line = warnings('webhook rejected').find((l) => l.sourceId === source.id);
    expect(line).toMatchObject({ address: '127.0.0.1', route: 'git', orgId: 'acme', reason: expect.stringContaining('signature') });
    expect(logLines.join('\n')).not.toContain('ab'.repeat(32));
    expect(logLines.join('\n')).not.toContain(source.secret);
  });
});
