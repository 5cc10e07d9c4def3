import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, type GitOrigin, type RawAgent } from '../server/orchestrator-rig.js';
import { setCookie, UiBrowser } from './ui-client.js';

/**
 * The web view's live feeds and log download against a real orchestrator: a run pushed after the
 * runs feed opened shows up on it, a step's lines arrive on the log feed as the agent sends them and
 * the feed says `end` when the run is over, the run and agents feeds follow their state, and a stop
 * of the orchestrator ends open feeds instead of waiting for them. Every wait is for an event.
 */
let rig: OrchestratorRig;
let browser: UiBrowser;
let source: GitOrigin;
let agent: RawAgent;
let stopped = false;

beforeAll(async () => {
  // Under a base path, as behind a reverse proxy: the cookie's path and every feed's URL follow it.
  rig = await OrchestratorRig.start({ KICI_BASE_PATH: '/ci' });
  source = await rig.gitSource();
  agent = await rig.connectAgent('ui-agent', await rig.agentToken());
  browser = new UiBrowser(rig.url);
  const signIn = await browser.signIn(rig.adminToken);
  expect(signIn.status).toBe(200);
  expect(setCookie(signIn)).toContain('; Path=/ci/ui;');
});

afterAll(async () => {
  agent?.close();
  if (!stopped) await rig?.close();
});

describe('live feeds', () => {
  let runId: string;
  let jobId: string;

  it('sends a run created after the runs feed opened', async () => {
    const feed = await browser.feed('/ui/api/live/runs?status=&limit=10');
    expect(feed.status).toBe(200);
    expect(feed.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(feed.res.headers['content-security-policy']).toContain("default-src 'none'");
    await feed.next('runs', (d) => Array.isArray(d.runs) && d.runs.length === 0);
    expect((await rig.push(source, 'ui-feed-1')).status).toBe(202);
    const seen = await feed.next('runs', (d) => d.runs.some((r: { sha: string }) => r.sha === source.sha));
    runId = seen.runs[0].id;
    expect(seen.runs[0]).toMatchObject({ workflow: 'ci', sha: source.sha });
    feed.close();
  });

  it('follows the agents', async () => {
    const feed = await browser.feed('/ui/api/live/agents');
    const seen = await feed.next('agents', (d) => d.agents.some((a: { id: string }) => a.id === 'ui-agent'));
    expect(seen.agents.find((a: { id: string }) => a.id === 'ui-agent')).toMatchObject({ labels: expect.arrayContaining(['linux']) });
    feed.close();
  });

  it('streams a step\'s lines while it runs, then `end` once the run is over', async () => {
    const dispatch = await agent.next('job.dispatch');
    expect(dispatch.runId).toBe(runId);
    jobId = dispatch.jobId as string;
    const job = { runId, jobId };
    agent.send({ type: 'job.ack', ...job });
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'running' }));
    const run = await browser.feed(`/ui/api/live/runs/${runId}`);
    await run.next('run', (d) => d.id === runId && d.jobs.some((j: { status: string }) => j.status === 'running'));
    const logs = await browser.feed(`/ui/api/live/runs/${runId}/logs?job=${jobId}`);
    expect(logs.status).toBe(200);
    agent.send(agent.stamped({ type: 'log.chunk', ...job, stepIndex: 0, lines: ['compiling', '<script>alert(1)</script>'] }));
    const first = await logs.next('line', (d) => d.text === 'compiling');
    expect(first).toEqual({ jobId, job: 'build', step: 0, stepName: 'compile', text: 'compiling' });
    await logs.next('line', (d) => d.text === '<script>alert(1)</script>');
    agent.send(agent.stamped({ type: 'log.chunk', ...job, stepIndex: 0, lines: ['linked'] }));
    await logs.next('line', (d) => d.text === 'linked');
    agent.send(agent.stamped({ type: 'step.status', ...job, stepIndex: 0, stepName: 'compile', state: 'success', exitCode: 0 }));
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'success' }));
    await logs.next('end');
    await logs.ended;
    expect(logs.events.filter((e) => e.event === 'line').map((e) => (e.data as { text: string }).text)).toEqual(['compiling', '<script>alert(1)</script>', 'linked']);
    await run.next('run', (d) => d.status === 'success');
    run.close();
  });

  it('replays a finished run\'s log from the first line and ends', async () => {
    const logs = await browser.feed(`/ui/api/live/runs/${runId}/logs`);
    await logs.next('end');
    expect(logs.events.map((e) => e.event)).toEqual(['line', 'line', 'line', 'end']);
  });

  it('says `gone` for a run that does not exist', async () => {
    const feed = await browser.feed(`/ui/api/live/runs/${randomUUID()}`);
    await feed.next('gone');
    await feed.ended;
  });

  it('answers 404 for a job the run does not have', async () => {
    const answer = await browser.request('GET', `/ui/api/live/runs/${runId}/logs?job=${randomUUID()}`);
    expect(answer.status).toBe(404);
    expect((answer.json().error as { code: string }).code).toBe('job_not_found');
  });
});

describe('log download', () => {
  it('is the job\'s steps as text, each introduced by its name, as an attachment', async () => {
    const runs = (await rig.api('GET', '/runs')).runs as { id: string }[];
    const runId = runs[0].id;
    const answer = await browser.request('GET', `/ui/api/download/runs/${runId}/logs?job=build`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.headers['content-disposition']).toBe(`attachment; filename="${runId}-build.log"`);
    expect(answer.text).toBe('== compile ==\ncompiling\n<script>alert(1)</script>\nlinked\n');
    const all = await browser.request('GET', `/ui/api/download/runs/${runId}/logs`);
    expect(all.headers['content-disposition']).toBe(`attachment; filename="${runId}.log"`);
    expect(all.text).toBe('== build / compile ==\ncompiling\n<script>alert(1)</script>\nlinked\n');
    expect((await browser.request('GET', `/ui/api/download/runs/${runId}/logs?job=nope`)).status).toBe(404);
    expect((await new UiBrowser(rig.url).request('GET', `/ui/api/download/runs/${runId}/logs`)).status).toBe(401);
  });
});

describe('stopping the orchestrator', () => {
  it('ends open feeds rather than waiting for them', async () => {
    const feeds = await Promise.all([browser.feed('/ui/api/live/runs'), browser.feed('/ui/api/live/agents')]);
    await feeds[0].next('runs');
    await feeds[1].next('agents');
    agent.close();
    stopped = true;
    await rig.close();
    await Promise.all(feeds.map((f) => f.ended));
  });
});
