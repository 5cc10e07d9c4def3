import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, TcpProxy, waitUntil, type GitSource, type RunDetail } from '../harness/index.js';

/**
 * protocol.md §4: an agent whose connection breaks keeps running its jobs; back within the
 * recovery window, they continue (the log shows the gap); gone longer, a started job fails with a
 * reason naming the window, and jobs that were only waiting still run.
 */
const RECOVERY_WINDOW_MS = 8000;

let inst: Installation;
let proxy: TcpProxy;
let source: GitSource;
let agent: Awaited<ReturnType<Installation['startAgent']>>;
let agentToken: string;

beforeAll(async () => {
  inst = await Installation.create({ env: { KICI_AGENT_RECOVERY_WINDOW_MS: String(RECOVERY_WINDOW_MS) } });
  proxy = new TcpProxy(Number(new URL(inst.orchestrator.url).port));
  await proxy.start();
  agentToken = await inst.orchestrator.createAgentToken('proxied');
  agent = await inst.startAgent({ name: 'proxied', token: agentToken, url: proxy.wsUrl, labels: ['proxied'], maxConcurrency: 1, maxReconnectDelayMs: 1000 });
  source = await inst.gitSource();
});

afterAll(async () => {
  await proxy?.stop();
  await inst?.close();
});

function workflow(name: string, jobs: unknown[]) {
  return { schemaVersion: 1, workflows: [{ name, triggers: [{ _type: 'push', branches: ['main'] }], jobs }] };
}

async function logText(runId: string): Promise<string> {
  return (await inst.logs(runId)).map((l) => l.text).join('\n');
}

/** Wait until the run's logs contain `needle` (so the step is really past that point). */
async function untilLogged(runId: string, needle: string): Promise<void> {
  await waitUntil(`"${needle}" in the logs of run ${runId}`, async () => ((await logText(runId)).includes(needle) ? true : undefined), {
    timeoutMs: 30_000,
    describe: () => logText(runId),
  });
}

/** Wait until the proxied agent has logged `msg` since `from` (an offset into its output). */
async function untilAgentLogged(msg: string, from: number, timeoutMs = 10_000): Promise<void> {
  await waitUntil(`the agent to log "${msg}"`, () => (agent.output().slice(from).includes(`"msg":"${msg}"`) ? true : undefined), {
    timeoutMs,
    describe: () => agent.tail(10),
  });
}

/** Agents the orchestrator counts as connected, from its /metrics. */
async function agentsActive(): Promise<number> {
  const text = await (await fetch(`${inst.orchestrator.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('kici_agents_active '));
  return Number(line?.split(' ').pop() ?? Number.NaN);
}

describe('an agent that loses its connection mid-job', () => {
  it('comes back within the recovery window: the job carries on, the run succeeds and the log shows the gap', async () => {
    const sha = source.repo.commitLockfile(
      workflow('gap', [
        { name: 'slow', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo before-cut; sleep 4; echo after-cut; echo done' }] },
      ]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'before-cut');

    const seen = agent.output().length;
    proxy.cut();
    // Both ends must have seen the cut before the link comes back: the orchestrator puts the job in
    // recovery, the agent starts buffering (which is what writes the gap marker on its return).
    await waitUntil('the orchestrator to see the job as recovering', async () => {
      const run = await inst.run(id);
      return run.jobs[0].status === 'recovering' ? true : undefined;
    }, { timeoutMs: 5000, describe: async () => JSON.stringify((await inst.run(id)).jobs) });
    await untilAgentLogged('disconnected; reconnecting', seen);
    proxy.restore();

    const run = await inst.waitForTerminal(id);
    expect(run.status, JSON.stringify(run.jobs)).toBe('success');
    const job = run.jobs[0];
    expect(job.status).toBe('success');
    expect(job.attempts).toBe(1);
    expect(job.steps).toEqual([expect.objectContaining({ name: 'work', status: 'success', exitCode: 0 })]);
    await inst.logsContaining(id, ['done']);
    const text = await logText(id);
    expect(text).toContain('before-cut');
    expect(text).toContain('after-cut');
    expect(text).toContain('done');
    // The agent's gap marker: "[kici-agent] reconnected after a Ns outage: …", between the two halves.
    expect(text).toMatch(/\[kici-agent\] reconnected after a \d+s outage/);
    expect(text.indexOf('before-cut')).toBeLessThan(text.indexOf('reconnected after a'));
    expect(text.indexOf('reconnected after a')).toBeLessThan(text.indexOf('after-cut'));
  });

  it('stays away past the window: the started job fails naming the recovery window, the waiting job still runs', async () => {
    // Both jobs need the one proxied slot. They are released in plan order, so `long` takes the
    // slot and sleeps through the outage while `quick` waits in the queue. Each job's own script
    // says which it is: no state shared between jobs (a sandboxed step has a private /tmp).
    const sha = source.repo.commitLockfile(
      workflow('outage', [
        { name: 'long', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo long-one; sleep 25; echo never-reached' }] },
        { name: 'quick', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo quick-one' }] },
      ]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'long-one');
    const before = await inst.run(id);
    const started = before.jobs.find((j) => j.name === 'long')!;
    const waiting = before.jobs.find((j) => j.name === 'quick')!;
    expect(started.status, JSON.stringify(before.jobs)).toBe('running');
    expect(waiting.status, JSON.stringify(before.jobs)).toBe('queued');

    proxy.cut();
    const failed = await waitUntil(
      `job ${started.name} to fail once the recovery window has passed`,
      async () => {
        const run = await inst.run(id);
        const job = run.jobs.find((j) => j.id === started.id)!;
        return job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: RECOVERY_WINDOW_MS + 15_000, describe: async () => JSON.stringify((await inst.run(id)).jobs) },
    );
    expect(failed.error).toMatch(/recovery window/);
    proxy.restore();

    const run: RunDetail = await inst.waitForTerminal(id, 60_000);
    expect(run.status).toBe('failed');
    const other = run.jobs.find((j) => j.id === waiting.id)!;
    expect(other.status, JSON.stringify(run.jobs)).toBe('success');
    expect(run.jobs.find((j) => j.id === started.id)!.status).toBe('failed');
    await inst.logsContaining(id, ['quick-one']);
    const text = await logText(id);
    expect(text).not.toContain('never-reached');
  });

  it('is killed and restarted without its job: the job is lost at once, dispatched again and runs on the new process', async () => {
    const sha = source.repo.commitLockfile(
      workflow('agent-crash', [
        { name: 'doomed', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo doomed-start; sleep 4; echo doomed-end' }] },
        { name: 'next', runsOn: ['proxied'], needs: ['doomed'], steps: [{ name: 'work', run: 'echo next-ran' }] },
      ]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'doomed-start');
    const agentId = (await inst.run(id)).jobs.find((j) => j.name === 'doomed')!.agentId;
    const checkouts = path.join(inst.dir, 'proxied', 'jobs');
    expect(readdirSync(checkouts)).toHaveLength(1);

    await agent.kill9();
    // The same work directory, so the same agent id, now with nothing in flight.
    agent = await inst.startAgent({ name: 'proxied', token: agentToken, url: proxy.wsUrl, labels: ['proxied'], maxConcurrency: 1, maxReconnectDelayMs: 1000 });

    // Without waiting out the recovery window: the job is dispatched again and succeeds there.
    const run = await inst.waitForTerminal(id, RECOVERY_WINDOW_MS + 30_000);
    const doomed = run.jobs.find((j) => j.name === 'doomed')!;
    expect(doomed.status, JSON.stringify(run.jobs)).toBe('success');
    expect(doomed.attempts).toBe(2);
    expect(doomed.agentId).toBe(agentId);
    expect(run.jobs.find((j) => j.name === 'next')!.status).toBe('success');
    expect(run.status).toBe('success');
    await inst.logsContaining(id, ['doomed-end', 'next-ran']);
    // The killed process's checkout went when the new process started; the new jobs cleaned up after themselves.
    expect(readdirSync(checkouts)).toEqual([]);
  });

  it('loses its link after a dispatch whose ack never arrived: the job it started is re-attached and runs once', async () => {
    // The orchestrator's frames reach the agent, the agent's replies do not: the job starts on the
    // agent while the orchestrator still waits for its ack; then the link breaks.
    proxy.holdUpstream();
    const sha = source.repo.commitLockfile(
      workflow('lost-ack', [{ name: 'blind', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo blind-start; sleep 6; echo blind-end' }] }]),
    );
    const seen = agent.output().length;
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await waitUntil('the agent to receive the dispatch', () => (agent.output().slice(seen).includes(id) ? true : undefined), {
      timeoutMs: 4000,
      describe: () => agent.tail(10),
    });
    proxy.cut();
    // Lines written into the held link are lost with it (logs are at most once on a socket that
    // dies); blind-end is printed after the agent is back, so it must arrive.
    expect((await inst.run(id)).jobs[0].status).not.toBe('running');
    // Both ends see the link gone before it comes back: the agent is reconnecting, and the
    // orchestrator no longer counts it (it is the only agent connected at this point).
    await untilAgentLogged('disconnected; reconnecting', seen);
    await waitUntil('the orchestrator to count no connected agent', async () => ((await agentsActive()) === 0 ? true : undefined), { timeoutMs: 10_000 });
    proxy.restore();

    const run = await inst.waitForTerminal(id, 60_000);
    const job = run.jobs[0];
    expect(run.status, `${JSON.stringify(run.jobs)}\n${inst.orchestrator.tail(30)}`).toBe('success');
    expect(job.status).toBe('success');
    expect(job.steps).toEqual([expect.objectContaining({ name: 'work', status: 'success', exitCode: 0 })]);
    await inst.logsContaining(id, ['blind-end']);
    // The agent ran it once: its one accepted dispatch was re-attached, not run a second time.
    const accepted = agent
      .output()
      .slice(seen)
      .split('\n')
      .filter((l) => l.includes(job.id) && l.includes('"msg":"job dispatch"') && l.includes('"decision":"accepted"'));
    expect(accepted).toHaveLength(1);
  });

  it('is away while the orchestrator is killed and restarted: the recovering job is re-attached after the restart', async () => {
    const sha = source.repo.commitLockfile(
      workflow('double-fault', [{ name: 'survivor', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo survivor-start; sleep 5; echo survivor-end' }] }]),
    );
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'survivor-start');
    proxy.cut();
    await waitUntil('the job to be recovering', async () => ((await inst.run(id)).jobs[0].status === 'recovering' ? true : undefined), { timeoutMs: 5000 });

    await inst.orchestrator.kill9();
    // The link comes back while the orchestrator is still down: the agent keeps retrying through
    // the proxy and gets in as soon as the restarted orchestrator listens, inside the window that
    // began before the crash (its deadline is in the store).
    proxy.restore();
    await inst.orchestrator.start();

    const run = await inst.waitForTerminal(id, 60_000);
    expect(run.status, `${JSON.stringify(run.jobs)}\n${inst.orchestrator.tail(30)}`).toBe('success');
    expect(run.jobs[0].attempts).toBe(1);
    await inst.logsContaining(id, ['survivor-end']);
    const text = await logText(id);
    expect(text).toMatch(/\[kici-agent\] reconnected after a \d+s outage/);
  });

  // A job waiting in the hub's queue has no agent yet; cancelling its run must withdraw it from the
  // queue, or the hub would hand it to the next free slot and the agent would run a cancelled job.
  it('a cancelled run leaves nothing queued behind: its waiting job is never dispatched afterwards', async () => {
    // One slot: the first job runs, the second waits in the orchestrator's queue for that slot.
    const step = 'echo "started-$KICI_JOB_NAME"; sleep 3; echo "finished-$KICI_JOB_NAME"';
    const sha = source.repo.commitLockfile(
      workflow('cancel-queue', [
        { name: 'first', runsOn: ['proxied'], steps: [{ name: 'work', run: step }] },
        { name: 'second', runsOn: ['proxied'], steps: [{ name: 'work', run: step }] },
      ]),
    );
    const seen = agent.output().length;
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await untilLogged(id, 'started-');
    await inst.orchestrator.api('POST', `/runs/${id}/cancel`, { force: true });
    const run = await inst.waitForTerminal(id);
    expect(run.status).toBe('cancelled');
    expect(run.jobs.every((j) => j.status === 'cancelled'), JSON.stringify(run.jobs)).toBe(true);

    // A probe job through the same single slot: the queue hands out oldest first, so once the
    // probe has run, a job of the cancelled run still queued would have been dispatched before it.
    const probeSha = source.repo.commitLockfile(workflow('cancel-queue-probe', [{ name: 'probe', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo probe-ran' }] }]));
    source.repo.push('main');
    const probe = await inst.waitForTerminal((await inst.runForPush(source, probeSha)).id);
    expect(probe.status, JSON.stringify(probe.jobs)).toBe('success');
    const dispatched = agent
      .output()
      .slice(seen)
      .split('\n')
      .filter((l) => l.includes(id) && l.includes('"msg":"job dispatch"') && l.includes('"decision":"accepted"'));
    expect(dispatched, dispatched.join('\n')).toHaveLength(1);
  });

  it('comes back holding a job that was given to another agent meanwhile: the new holder keeps it and its log', async () => {
    proxy.holdUpstream();
    const sha = source.repo.commitLockfile(
      workflow('moved', [{ name: 'moved', runsOn: ['proxied'], steps: [{ name: 'work', run: 'echo moved-start; sleep 6; echo moved-end' }] }]),
    );
    const seen = agent.output().length;
    source.repo.push('main');
    const { id } = await inst.runForPush(source, sha);
    await waitUntil('the proxied agent to receive the dispatch', () => (agent.output().slice(seen).includes(id) ? true : undefined), {
      timeoutMs: 4000,
      describe: () => agent.tail(10),
    });
    proxy.cut();
    const firstAgent = await waitUntil('the proxied agent to be seen as gone', async () => {
      const job = (await inst.run(id)).jobs[0];
      return job.status === 'queued' && job.agentId === null ? true : undefined;
    }, { timeoutMs: 5000, describe: async () => JSON.stringify((await inst.run(id)).jobs) });
    expect(firstAgent).toBe(true);

    // A second agent, directly connected, takes the requeued job.
    await inst.startAgent({ name: 'direct', token: agentToken, labels: ['proxied'], maxConcurrency: 1 });
    const taken = await waitUntil('the direct agent to run the job', async () => {
      const job = (await inst.run(id)).jobs[0];
      return job.status === 'running' ? job : undefined;
    }, { timeoutMs: 15_000, describe: async () => JSON.stringify((await inst.run(id)).jobs) });

    proxy.restore();
    const run = await inst.waitForTerminal(id, 60_000);
    expect(run.status, `${JSON.stringify(run.jobs)}\n${inst.orchestrator.tail(20)}`).toBe('success');
    expect(run.jobs[0].agentId).toBe(taken.agentId);
    // The new holder's lines after the old one came back are kept, and the old copy was stopped.
    await inst.logsContaining(id, ['moved-end']);
    const jobId = run.jobs[0].id;
    await waitUntil('the returning agent to be told to cancel its stale copy', () =>
      agent.output().slice(seen).split('\n').some((l) => l.includes(jobId) && l.includes('"msg":"job cancel"')) ? true : undefined,
    { timeoutMs: 10_000, describe: () => agent.tail(10) });
  });
});
