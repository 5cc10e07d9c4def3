import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, TcpProxy, waitUntil, type GitSource, type NodeProcess } from '../harness/index.js';

/**
 * Issue 13, agents: a result that finished while the orchestrator was away survives a kill -9 of
 * the agent (its outbox is on disk) and is applied once the orchestrator is back, exactly once; and
 * a half-open link (a proxy that stops passing bytes both ways without closing) is noticed by the
 * agent's ping deadline, after which it reconnects and the job completes.
 */
let inst: Installation;
let source: GitSource;
let proxy: TcpProxy | undefined;
/** A file a step waits for (set in afterAll too, so a failed test leaves no step looping). */
let flag: string | undefined;

beforeAll(async () => {
  inst = await Installation.create();
  source = await inst.gitSource();
});

afterAll(async () => {
  if (flag) writeFileSync(flag, '');
  await proxy?.stop();
  await inst?.close();
});

function workflow(name: string, jobs: unknown[]) {
  return { schemaVersion: 1, workflows: [{ name, triggers: [{ _type: 'push', branches: ['main'] }], jobs }] };
}

async function untilLogged(runId: string, needle: string): Promise<void> {
  await waitUntil(`"${needle}" in the logs of run ${runId}`, async () => ((await inst.logs(runId)).some((l) => l.text.includes(needle)) ? true : undefined), {
    timeoutMs: 30_000,
  });
}

/** Wait until `agent` has logged `msg` since `from` (an offset into its output). */
async function untilAgentLogged(agent: NodeProcess, msg: string, from: number, timeoutMs = 20_000): Promise<void> {
  await waitUntil(`the agent to log "${msg}"`, () => (agent.output().slice(from).includes(`"msg":"${msg}`) ? true : undefined), {
    timeoutMs,
    describe: () => agent.tail(10),
  });
}

describe('an agent riding out an outage', () => {
  it('is killed and restarted while the orchestrator is down: the result it held reaches the orchestrator once, when it is back', async () => {
    const token = await inst.orchestrator.createAgentToken('survivor');
    // The step waits for the test's word, so it surely ends while the orchestrator is down; the
    // word is a host file, so the step runs unsandboxed (a sandboxed step has a private /tmp).
    flag = path.join(inst.dir, 'let-work-finish');
    const options = { name: 'survivor', token, labels: ['survivor'], maxReconnectDelayMs: 1000, extraEnv: { KICI_AGENT_SANDBOX: 'none' } };
    let agent = await inst.startAgent(options);
    const sha = source.repo.commitLockfile(
      workflow('held-result', [
        { name: 'work', runsOn: ['survivor'], steps: [{ name: 'work', run: `echo work-start; while [ ! -f '${flag}' ] && [ -d '${inst.dir}' ]; do sleep 0.1; done; echo work-end` }] },
        { name: 'after', runsOn: ['survivor'], needs: ['work'], steps: [{ name: 'after', run: 'echo after-ran' }] },
      ]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'work-start');

    const seen = agent.output().length;
    await inst.orchestrator.kill9();
    writeFileSync(flag!, '');
    await untilAgentLogged(agent, 'job finished', seen);
    const outbox = path.join(inst.dir, 'survivor', 'outbox');
    // The step's and the job's final statuses, fsync'd before they were (unsuccessfully) sent.
    expect(readdirSync(outbox).filter((n) => n.endsWith('.json'))).toHaveLength(2);

    await agent.kill9();
    const restartedAt = agent.output().length;
    agent = await inst.startAgent({ ...options, waitRegistered: false });
    await untilAgentLogged(agent, 'outbox: final statuses of an earlier process of this agent will be sent once registered', restartedAt);
    await inst.orchestrator.start();

    const run = await inst.waitForTerminal(id, 60_000);
    expect(run.status, `${JSON.stringify(run.jobs)}\n${inst.orchestrator.tail(20)}`).toBe('success');
    const work = run.jobs.find((j) => j.name === 'work')!;
    expect(work).toMatchObject({ status: 'success', attempts: 1 });
    expect(work.steps).toEqual([expect.objectContaining({ name: 'work', status: 'success', exitCode: 0 })]);
    expect(run.jobs.find((j) => j.name === 'after')).toMatchObject({ status: 'success', attempts: 1 });
    // Acknowledged once applied: nothing is left to send.
    await waitUntil('the outbox to be empty', () => (readdirSync(outbox).length === 0 ? true : undefined), { timeoutMs: 15_000, describe: () => readdirSync(outbox).join(', ') });
    // Applied once: the job's record did not move when the agent's copy was acknowledged, and the
    // job after it ran once.
    const again = await inst.run(id);
    expect(again.jobs.map((j) => [j.name, j.status, j.attempts, j.finishedAt])).toEqual(run.jobs.map((j) => [j.name, j.status, j.attempts, j.finishedAt]));
    // Log lines wait in memory only: those the killed process had not sent are gone, and the
    // job's log says so where they would have been.
    const lines = (await inst.logsContaining(id, ['the agent was restarted while this job\'s result waited', 'after-ran'])).map((l) => l.text);
    expect(lines.filter((t) => t === 'work-start')).toHaveLength(1);
    expect(lines.filter((t) => t === 'after-ran')).toHaveLength(1);
    const accepted = agent.output().split('\n').filter((l) => l.includes(work.id) && l.includes('"decision":"accepted"'));
    expect(accepted).toHaveLength(1);
  });

  it('on a half-open link notices it within its ping timeout, reconnects, and the job completes', async () => {
    proxy = new TcpProxy(Number(new URL(inst.orchestrator.url).port));
    await proxy.start();
    const agent = await inst.startAgent({
      name: 'half-open',
      url: proxy.wsUrl,
      labels: ['half-open'],
      maxReconnectDelayMs: 1000,
      extraEnv: { KICI_AGENT_PING_TIMEOUT_MS: '1000' },
    });
    const sha = source.repo.commitLockfile(
      workflow('half-open', [{ name: 'quiet', runsOn: ['half-open'], steps: [{ name: 'work', run: 'echo quiet-start; sleep 4; echo quiet-end' }] }]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'quiet-start');

    const seen = agent.output().length;
    // Nothing passes either way, and nobody is told: the orchestrator's socket stays open too.
    proxy.freeze();
    await untilAgentLogged(agent, 'no frame from the orchestrator in time', seen);
    await untilAgentLogged(agent, 'registered with the orchestrator', seen);

    const run = await inst.waitForTerminal(id, 60_000);
    expect(run.status, `${JSON.stringify(run.jobs)}\n${inst.orchestrator.tail(20)}`).toBe('success');
    expect(run.jobs[0]).toMatchObject({ status: 'success', attempts: 1 });
    await inst.logsContaining(id, ['quiet-end']);
  });
});
