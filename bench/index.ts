/**
 * `npm run bench`: prints kici's figures. Speed lives here, never in test assertions.
 * `npm run bench -- dispatch`, `-- raft` or `-- cluster` runs one part.
 */
import { runClusterFailoverBench } from './cluster-failover.js';
import { runDispatchBench } from './dispatch.js';
import { runRaftFailoverBench } from './raft-failover.js';

const parts: Record<string, () => Promise<string>> = {
  dispatch: runDispatchBench,
  raft: runRaftFailoverBench,
  cluster: runClusterFailoverBench,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in parts));
  if (unknown.length) {
    process.stderr.write(`usage: npm run bench [-- ${Object.keys(parts).join('|')} ...]\nunknown part: ${unknown.join(', ')}\n`);
    process.exit(2);
  }
  for (const name of wanted.length ? wanted : Object.keys(parts)) {
    process.stdout.write(`${await parts[name]()}\n\n`);
  }
  process.exit(0);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
