/**
 * `npm run bench`: prints kici's figures. Speed lives here, never in test assertions.
 * `npm run bench -- dispatch`, `-- raft`, `-- cluster`, `-- cluster-reown`, `-- cluster-dispatch`,
 * `-- cluster-worker`, `-- env-group`, `-- job-inputs`, `-- github` or `-- ui` runs one part (several may be
 * named). With no part named, every part runs, in this order; `cluster-reown`, `cluster-dispatch`
 * and `cluster-worker` take a few minutes each (see their files for the sizes to set), `github`
 * about half a minute. `cluster-worker`: an edge worker's cost on webhook → dispatch, and healed cut →
 * every result it held applied. `env-group`: admission through one environment concurrency group,
 * on one node and across three (over mTLS peer links). `job-inputs`: resolving a job's variables
 * and secrets at dispatch, PostgreSQL and Vault. `github`: GitHub App webhooks (signed pushes to a
 * GitHub source, the GitHub API stand-in serving the lock file) on PostgreSQL and PGlite: ingest
 * per second, reply p50/p99, and the lock-file cache, hit vs miss. `ui`: the web view in chromium
 * (skipped, saying why, without one): the first screen's bytes, page loads and sign-in, p50/p99.
 */
import { runClusterDispatchBench } from './cluster-dispatch.js';
import { runClusterFailoverBench } from './cluster-failover.js';
import { runClusterReownBench } from './cluster-reown.js';
import { runClusterWorkerBench } from './cluster-worker.js';
import { runDispatchBench } from './dispatch.js';
import { runEnvGroupBench } from './env-group.js';
import { runGithubBench } from './github.js';
import { runJobInputsBench } from './job-inputs.js';
import { runRaftFailoverBench } from './raft-failover.js';

const parts: Record<string, () => Promise<string>> = {
  dispatch: runDispatchBench,
  raft: runRaftFailoverBench,
  cluster: runClusterFailoverBench,
  'cluster-reown': runClusterReownBench,
  'cluster-dispatch': runClusterDispatchBench,
  'cluster-worker': runClusterWorkerBench,
  'env-group': runEnvGroupBench,
  'job-inputs': runJobInputsBench,
  github: runGithubBench,
  // Loaded only when asked for: it brings playwright-core, which no other part needs.
  ui: async () => (await import('./ui.js')).runUiBench(),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in parts));
  if (unknown.length) {
    process.stderr.write(`usage: npm run bench [-- ${Object.keys(parts).join('|')} ...]\nunknown part: ${unknown.join(', ')}\n`);
    process.exit(2);
  }
  for (const name of wanted.length ? wanted : Object.keys(parts)) {
    const started = performance.now();
    process.stdout.write(`${await parts[name]()}\n\n`);
    process.stderr.write(`[bench] ${name} took ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  process.exit(0);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
