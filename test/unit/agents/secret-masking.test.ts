import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentHub, JobMaskers, MASK_AFTER_END_MS, type DispatchRequest, type JobEvents } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { FilesystemStepLogStore } from '../../../src/store/index.js';
import { RecordingSocket, authRequest, register, settle } from './recording-socket.js';

/**
 * The orchestrator masks again what an agent reports about a job, with the secrets of the dispatch
 * it sent: an agent of an older build (or one that lies) that sends a secret in a log line does not
 * get it into the stored step log.
 */
const TOKEN = 'tok_Sup3rS3cret-v4lue';
const KEY = '-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----';

describe('the hub masks what agents report about a job with its dispatch\'s secrets', () => {
  let dir: string;
  let store: FilesystemStepLogStore;
  let clock: ManualClock;
  let hub: AgentHub;
  let appends: Promise<number>[];
  let errors: (string | undefined)[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kici-hub-mask-'));
    store = new FilesystemStepLogStore(dir);
    clock = new ManualClock(10_000);
    appends = [];
    errors = [];
    // What the run does with an agent's report, minus the judging: log lines are appended to the step log as told.
    const events: JobEvents = {
      assign: async () => 1,
      acked: () => undefined,
      rejected: () => undefined,
      started: () => undefined,
      step: async () => undefined,
      finished: async (_job, _agent, status) => void errors.push(status.error),
      heartbeat: () => undefined,
      agentLost: () => undefined,
      agentRegistered: () => undefined,
      logs: (job, _agent, stepIndex, lines) => void appends.push(store.append(job.runId, job.jobId, stepIndex, `${lines.join('\n')}\n`)),
    };
    hub = new AgentHub({ nodeId: 'node-a', clock, heartbeatTimeoutMs: 60_000, validateToken: async () => ({ tokenId: 't', labels: null, maxConcurrency: null }), events });
  });
  afterEach(async () => {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function lyingAgent(agentId: string) {
    const socket = new RecordingSocket();
    const session = hub.attach(socket);
    session.receive(authRequest());
    await settle();
    session.receive(register(agentId));
    await hub.settled();
    return { socket, say: (frame: Record<string, unknown>) => session.receive(JSON.stringify(frame)) };
  }

  const request = (jobId: string, secrets?: Record<string, string>): DispatchRequest => ({
    runId: 'run-1',
    jobId,
    attempt: 1,
    frame: { runId: 'run-1', jobId, secrets } as unknown as DispatchRequest['frame'],
  });

  async function storedLog(jobId: string, stepIndex = 0): Promise<string> {
    await hub.settled();
    await Promise.all(appends);
    return (await store.read('run-1', jobId, stepIndex)).text;
  }

  it('masks a secret, its base64 and a multi-line secret in a lying agent\'s log chunk before it is stored', async () => {
    const agent = await lyingAgent('liar');
    await hub.place(request('j1', { API_TOKEN: TOKEN, SIGNING_KEY: KEY, SHORT: 'on' }), async () => undefined);
    expect(agent.socket.last('job.dispatch')).toMatchObject({ jobId: 'j1', secrets: { API_TOKEN: TOKEN } });

    agent.say({ type: 'log.chunk', runId: 'run-1', jobId: 'j1', stepIndex: 0, lines: [
      `token=${TOKEN}`,
      `b64=${Buffer.from(`x${TOKEN}`).toString('base64')}`,
      ...KEY.split('\n'),
      'switch is on',
    ] });
    const text = await storedLog('j1');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('MIIBOgIBAAJBAK');
    // "eH" and "Q==" are the encoding's ends: "H" mixes the "x" with the token's first bits, "Q" its
    // last bits with the encoder's zero fill; "on" is under three characters and never masked.
    expect(text).toBe(`token=***\nb64=eH***Q==\n***\nswitch is on\n`);
  });

  it('masks the job\'s error, and late lines sent after its final status', async () => {
    const agent = await lyingAgent('liar');
    await hub.place(request('j1', { API_TOKEN: TOKEN }), async () => undefined);
    agent.say({ type: 'job.ack', runId: 'run-1', jobId: 'j1' });
    agent.say({ type: 'job.status', messageId: 'm1', timestamp: 1, runId: 'run-1', jobId: 'j1', state: 'failed', error: `bad token ${TOKEN}` });
    // Paced log lines arrive after the final status: the slot is free, the secrets are still held.
    agent.say({ type: 'log.chunk', runId: 'run-1', jobId: 'j1', stepIndex: 1, lines: [`late ${TOKEN}`] });
    expect(await storedLog('j1', 1)).toBe('late ***\n');
    expect(errors).toEqual(['bad token ***']);
    expect(hub.dispatcher.holder('j1')).toBeUndefined();
  });

  it('leaves jobs without secrets, and other jobs, as they are', async () => {
    const agent = await lyingAgent('liar');
    await hub.place(request('plain'), async () => undefined);
    agent.say({ type: 'log.chunk', runId: 'run-1', jobId: 'plain', stepIndex: 0, lines: ['nothing secret here'] });
    expect(await storedLog('plain')).toBe('nothing secret here\n');
  });
});

describe('JobMaskers: a job\'s secrets live in memory for the job\'s life only', () => {
  it('drops a job\'s secrets a while after its slot freed, and keeps them for a job taken back', () => {
    const clock = new ManualClock(0);
    const maskers = new JobMaskers(clock);
    maskers.dispatched('j1', { A: 'secret-one' });
    maskers.dispatched('j2', { B: 'secret-two' });
    maskers.dispatched('j3', { C: 'ab' });
    // Nothing maskable: nothing kept.
    expect(maskers.size).toBe(2);

    maskers.ended('j1');
    maskers.ended('j2');
    maskers.resumed('j2');
    expect(maskers.maskLines('j1', ['secret-one'])).toEqual(['***']);
    clock.advance(MASK_AFTER_END_MS - 1);
    expect(maskers.mask('j1', 'secret-one')).toBe('***');
    clock.advance(1);
    expect(maskers.size).toBe(1);
    expect(maskers.mask('j1', 'secret-one')).toBe('secret-one');
    expect(maskers.mask('j2', 'secret-two')).toBe('***');

    // A new attempt replaces the old one's secrets, and its pending drop.
    maskers.ended('j2');
    maskers.dispatched('j2', { B: 'secret-three' });
    clock.advance(MASK_AFTER_END_MS);
    expect(maskers.mask('j2', 'secret-two secret-three')).toBe('secret-two ***');

    maskers.clear();
    expect(maskers.size).toBe(0);
  });
});
