import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  closeReason,
  parseAgentFrame,
  parseOrchestratorFrame,
  protocolJsonSchema,
  type AgentMessageInput,
  type OrchestratorMessageInput,
} from '../../../src/transport/agent-protocol/index.js';

const id = '8d1f1b7e-6f0a-4f55-9a3c-6d1c2b9f0e11';
const ts = 1_700_000_000_000;

const agentSamples: AgentMessageInput[] = [
  { type: 'auth.request', messageId: id, timestamp: ts, token: 'kat_x', protocolVersion: 1 },
  {
    type: 'agent.register',
    messageId: id,
    timestamp: ts,
    agentId: 'a1',
    labels: ['os:linux', 'gpu'],
    platform: 'linux',
    arch: 'x64',
    version: '0.1.0',
    hostname: 'h',
    maxConcurrency: 2,
    inFlightJobs: [{ jobId: 'j1', runId: 'r1' }],
  },
  { type: 'heartbeat', timestamp: ts },
  { type: 'job.ack', messageId: id, timestamp: ts, jobId: 'j1', runId: 'r1' },
  { type: 'job.reject', messageId: id, timestamp: ts, jobId: 'j1', runId: 'r1', reason: 'stale_epoch' },
  {
    type: 'job.status',
    messageId: id,
    timestamp: ts,
    runId: 'r1',
    jobId: 'j1',
    state: 'failed',
    data: { outputs: { v: '1' }, stepResults: [{ index: 0, name: 'step-1', state: 'failed', exitCode: 2 }] },
    error: 'step_failed: step-1',
  },
  {
    type: 'step.status',
    messageId: id,
    timestamp: ts,
    runId: 'r1',
    jobId: 'j1',
    stepIndex: 0,
    stepName: 'build',
    state: 'success',
    exitCode: 0,
  },
  { type: 'log.chunk', messageId: id, timestamp: ts, runId: 'r1', jobId: 'j1', stepIndex: 0, lines: ['a', 'b'] },
  { type: 'job.heartbeat', runId: 'r1', jobId: 'j1', timestamp: ts },
  { type: 'agent.log', messageId: id, timestamp: ts, lines: ['reconnected'] },
  // KiCI agents send it after every register.ack.
  { type: 'config.ack', messageId: id, timestamp: ts, agentId: 'a1' },
  { type: 'ack', messageId: id },
  { type: 'error', code: 'X', message: 'y' },
];

const dispatch: OrchestratorMessageInput = {
  type: 'job.dispatch',
  messageId: id,
  timestamp: ts,
  runId: 'r1',
  jobId: 'j1',
  jobName: 'build',
  workflow: 'ci',
  repoUrl: 'file:///tmp/repo',
  ref: 'refs/heads/main',
  sha: 'a'.repeat(40),
  repo: 'local/repo',
  branch: 'main',
  event: 'push',
  attempt: 1,
  epoch: 3,
  jobConfig: { name: 'build', steps: [{ run: 'echo hi', retry: { maxAttempts: 2 } }], checkout: false },
  matrix: { node: '20' },
  needs: { lint: { status: 'success', outputs: { v: '1' } } },
  env: { A: 'b', N: 3 },
  gitAuth: { username: 'u', password: 'p' },
};

const orchestratorSamples: OrchestratorMessageInput[] = [
  { type: 'auth.success', messageId: id, timestamp: ts, connectionId: 'c1' },
  { type: 'auth.failure', messageId: id, timestamp: ts, reason: 'bad token' },
  { type: 'register.ack', messageId: id, timestamp: ts, agentId: 'a1', labels: ['x'] },
  dispatch,
  { type: 'job.cancel', messageId: id, timestamp: ts, runId: 'r1', jobId: 'j1', reason: 'user', force: true, epoch: 3 },
  { type: 'rate.limit.warning', messageId: id, timestamp: ts, retryAfterMs: 500 },
  { type: 'heartbeat', timestamp: ts },
  { type: 'ack', messageId: id, timestamp: ts },
  { type: 'error', messageId: id, timestamp: ts, code: 'INVALID_MESSAGE', message: 'bad' },
];

describe('agent protocol frames', () => {
  it.each(agentSamples.map((m) => [m.type, m]))('parses agent message %s', (_type, message) => {
    const result = parseAgentFrame(JSON.stringify(message));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.message.type).toBe(message.type);
  });

  it.each(orchestratorSamples.map((m) => [m.type, m]))('parses orchestrator message %s', (_type, message) => {
    const result = parseOrchestratorFrame(JSON.stringify(message));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.message.type).toBe(message.type);
  });

  it('fills the default log cap of a dispatch', () => {
    const result = parseOrchestratorFrame(JSON.stringify(dispatch));
    expect(result.ok && result.message.type === 'job.dispatch' && result.message.maxLogSizeBytes).toBe(10 * 1024 * 1024);
  });

  it('fails a frame with a missing required field and names the field', () => {
    const { epoch: _epoch, ...withoutEpoch } = dispatch as Record<string, unknown>;
    const result = parseOrchestratorFrame(JSON.stringify(withoutEpoch));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('epoch');
    const noRun = parseAgentFrame(JSON.stringify({ type: 'job.ack', jobId: 'j1' }));
    expect(noRun.ok).toBe(false);
  });

  it('ignores unknown fields instead of failing', () => {
    const result = parseAgentFrame(JSON.stringify({ type: 'job.ack', jobId: 'j', runId: 'r', shiny: true }));
    expect(result).toEqual({ ok: true, message: { type: 'job.ack', jobId: 'j', runId: 'r' } });
  });

  it('keeps the directions apart', () => {
    expect(parseAgentFrame(JSON.stringify(dispatch)).ok).toBe(false);
    expect(parseOrchestratorFrame(JSON.stringify(agentSamples[0])).ok).toBe(false);
  });

  it('answers garbage with an error instead of throwing', () => {
    expect(parseAgentFrame('{not json')).toEqual({ ok: false, error: 'frame is not valid JSON' });
    expect(parseAgentFrame('null').ok).toBe(false);
    expect(parseOrchestratorFrame(Buffer.from('{"type":"nope"}')).ok).toBe(false);
  });

  it('does not echo a rejected value in the error text', () => {
    const result = parseAgentFrame(JSON.stringify({ type: 'auth.request', token: 12345678, protocolVersion: 1 }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).not.toContain('12345678');
  });
});

describe('close codes', () => {
  it('keeps KiCI numbers', () => {
    expect(CloseCode.agentAuthFailed).toBe(4010);
    expect(CloseCode.invalidMessage).toBe(4003);
    expect(CloseCode.dispatchAckTimeout).toBe(4031);
    expect(Object.values(CloseCode).sort()).toEqual(
      [1000, 1001, 4001, 4002, 4003, 4004, 4005, 4006, 4010, 4011, 4020, 4030, 4031],
    );
  });

  it('leaves a short reason alone', () => {
    expect(closeReason('bye')).toBe('bye');
  });

  it('truncates to 123 bytes on a character boundary', () => {
    // 'é' is 2 bytes: 61 of them are 122 bytes, the 62nd would cross 123.
    const cut = closeReason('é'.repeat(100));
    expect(Buffer.byteLength(cut)).toBe(122);
    expect(cut).toBe('é'.repeat(61));
    // A 4-byte emoji straddling the limit is dropped whole, never halved.
    const emoji = closeReason('a'.repeat(121) + '😀😀');
    expect(emoji).toBe('a'.repeat(121));
    expect(Buffer.byteLength(closeReason('x'.repeat(500)))).toBe(123);
  });
});

describe('protocolJsonSchema', () => {
  it('describes both unions with every message type', () => {
    const schema = protocolJsonSchema();
    const text = JSON.stringify(schema);
    for (const type of ['auth.request', 'agent.register', 'job.status', 'step.status', 'log.chunk', 'job.heartbeat']) {
      expect(text).toContain(`"${type}"`);
    }
    const o2a = schema.orchestratorToAgent as { oneOf?: unknown[]; anyOf?: unknown[] };
    expect((o2a.oneOf ?? o2a.anyOf ?? []).length).toBe(orchestratorSamples.length + 1);
    expect(text).toContain('"epoch"');
    expect(schema.closeCodes.agentAuthFailed).toBe(4010);
    expect([schema.minProtocolVersion, schema.protocolVersion, schema.maxProtocolVersion]).toEqual([1, 1, 1]);
    expect(text).toContain('"config.ack"');
  });
});
