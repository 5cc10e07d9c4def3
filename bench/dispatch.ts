import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN_FILE, AdminApi } from '../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../src/server/index.js';
import { signBody } from '../src/webhooks/index.js';
import { testPostgres } from '../test/support/postgres.js';
import { BenchAgent } from './bench-agent.js';

/**
 * Webhook → job.dispatch figures for one orchestrator: latency with one idle agent, and sustained
 * dispatches per second with 4 agents × 25 slots under 1000 webhooks at concurrency 20.
 */
const LATENCY_SAMPLES = 200;
const WARMUP = 20;
const LOAD_WEBHOOKS = 1000;
const LOAD_CONCURRENCY = 20;

interface Target {
  orchestrator: Orchestrator;
  api: AdminApi;
  hookUrl: string;
  secret: string;
  sha: string;
  dir: string;
}

async function setUp(databaseUrl: string | undefined): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kici-bench-'));
  const env: Record<string, string> = { KICI_DATA_DIR: path.join(dir, 'data'), KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' };
  if (databaseUrl) env.KICI_DATABASE_URL = databaseUrl;
  const orchestrator = await startOrchestrator(loadConfig(env));
  const api = new AdminApi(orchestrator.url, readFileSync(path.join(env.KICI_DATA_DIR, ADMIN_TOKEN_FILE), 'utf8').trim());

  const repo = path.join(dir, 'repo');
  mkdirSync(path.join(repo, '.kici'), { recursive: true });
  const lockfile = { schemaVersion: 1, workflows: [{ name: 'bench', triggers: [{ _type: 'push', branches: ['bench/*'] }], jobs: [{ name: 'noop', steps: [{ run: 'true' }] }] }] };
  writeFileSync(path.join(repo, '.kici', 'kici.lock.json'), JSON.stringify(lockfile));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  const sha = git('rev-parse', 'HEAD');
  const secret = randomBytes(16).toString('hex');
  const source = await api.call<{ id: string }>('POST', '/sources', { kind: 'git', orgId: 'bench', name: 'bench', url: `file://${repo}`, secret });
  return { orchestrator, api, hookUrl: `${orchestrator.url}/webhook/bench/git/${source.id}`, secret, sha, dir };
}

let deliveries = 0;
/**
 * One push of the same commit to a branch of its own: a push of a (ref, commit) that already has
 * its runs is a duplicate, and the bench wants a run per webhook with the lock file hot in cache.
 */
async function postPush(t: Target): Promise<void> {
  const body = JSON.stringify({ ref: `refs/heads/bench/${deliveries + 1}`, before: '0'.repeat(40), after: t.sha, repository: { name: 'bench' } });
  const res = await fetch(t.hookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-delivery-id': `bench-${process.pid}-${++deliveries}`, 'x-signature-256': signBody(t.secret, body) },
    body,
  });
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
}

async function agents(t: Target, count: number, slots: number): Promise<BenchAgent[]> {
  const list: BenchAgent[] = [];
  for (let i = 0; i < count; i++) {
    const { token } = await t.api.call<{ token: string }>('POST', '/agent-tokens', { name: `bench-${i}` });
    const agent = new BenchAgent('solo', `${t.orchestrator.url.replace(/^http/, 'ws')}/ws`, token, `bench-agent-${i}-${randomBytes(3).toString('hex')}`, ['bench'], slots);
    await agent.connect();
    list.push(agent);
  }
  return list;
}

/** One idle agent, webhooks one after another: time from POST to the agent seeing job.dispatch. */
async function latency(t: Target): Promise<number[]> {
  const [agent] = await agents(t, 1, 1);
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + LATENCY_SAMPLES; i++) {
    const seen = new Promise<number>((resolve) => agent.watch(() => resolve(performance.now())));
    const start = performance.now();
    await postPush(t);
    const at = await seen;
    if (i >= WARMUP) samples.push(at - start);
    await agent.drained();
  }
  agent.close();
  return samples;
}

/** 4 agents × 25 slots; 1000 webhooks from 20 concurrent senders; dispatches per second. */
async function throughput(t: Target): Promise<{ dispatchesPerSecond: number; acceptedPerSecond: number }> {
  const fleet = await agents(t, 4, 25);
  let dispatched = 0;
  let allDispatched!: () => void;
  const done = new Promise<void>((r) => (allDispatched = r));
  for (const a of fleet) a.watch(() => ++dispatched === LOAD_WEBHOOKS && allDispatched());
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next < LOAD_WEBHOOKS) {
        next++;
        await postPush(t);
      }
    }),
  );
  const accepted = performance.now();
  await done;
  const end = performance.now();
  for (const a of fleet) a.close();
  return { dispatchesPerSecond: (LOAD_WEBHOOKS * 1000) / (end - start), acceptedPerSecond: (LOAD_WEBHOOKS * 1000) / (accepted - start) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runDispatchBench(): Promise<string> {
  const pg = await testPostgres();
  const lines: string[] = ['webhook → job.dispatch (in-process orchestrator, bench agents that finish each job at once)'];
  for (const [name, url] of [['PostgreSQL', await pg.createDatabase()], ['PGlite', undefined]] as const) {
    const t = await setUp(url);
    try {
      const lat = (await latency(t)).sort((a, b) => a - b);
      const load = await throughput(t);
      lines.push(
        `  ${name.padEnd(10)} latency p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms (1 idle agent, ${LATENCY_SAMPLES} webhooks); ` +
          `sustained ${load.dispatchesPerSecond.toFixed(0)} dispatches/s, webhooks accepted ${load.acceptedPerSecond.toFixed(0)}/s (4 agents × 25 slots, ${LOAD_WEBHOOKS} webhooks at concurrency ${LOAD_CONCURRENCY})`,
      );
    } finally {
      await t.orchestrator.stop();
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
  await pg.stop();
  return lines.join('\n');
}
