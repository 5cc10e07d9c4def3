/**
 * Entry point of `npm run sim`: `--layer raft` (the default) hands every other argument to the
 * Raft simulator's command line unchanged; `--layer cluster` runs the cluster layer (command.ts).
 */
import { runRaftSimulator } from '../raft/index.js';
import { clusterMain } from './command.js';
import { splitLayer } from './layer.js';

// Piping into `head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const { layer, rest } = splitLayer(process.argv.slice(2));
const run = layer === 'raft' ? runRaftSimulator(rest) : layer === 'cluster' ? clusterMain(rest) : Promise.resolve(badLayer(layer));
run.then((code) => {
  process.exitCode = code;
});

function badLayer(name: string): number {
  process.stderr.write(`--layer takes raft or cluster, not ${JSON.stringify(name)}\n`);
  return 2;
}
