/**
 * The simulator's command line, parsed and run (cli.ts is the entry point that calls main).
 * `npm run sim -- --seeds N [--from S] [--nodes 3|5] [features]` runs seeds S..S+N-1;
 * `npm run sim -- --seed S [--nodes 3|5] [features] [--trace]` replays one seed.
 * Feature flags force a feature on in every seed; `--plain` turns off every one not forced.
 * Exit code 1 when any violation was found, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { formatFailure, formatSummary, runBatch } from './batch.js';
import { FEATURE_NAMES, type FeatureChoice, type FeatureName } from './features.js';
import { runSeed } from './run.js';

const USAGE = `usage:
  npm run sim -- --seeds N [--from S] [--nodes 3|5] [features]   run seeds S..S+N-1 (S defaults to 1)
  npm run sim -- --seed S [--nodes 3|5] [features] [--trace]      replay one seed (with --trace: every event)
features (each seed draws each one by its share unless forced; see src/raft/sim/README.md):
  --file          FileStorage on a simulated disk that tears unsynced writes on a crash
  --disk-faults   also bit flips, a full disk, failed fsyncs, on one server per seed
  --drift         clocks run at different rates (within the core's maxClockDrift)
  --lag           timers fire late, now and then after a GC-sized stall
  --bandwidth     links carry 1-100 MB/s; messages cost their encoded size
  --load          the client keeps many proposals in flight; core flow control squeezed
  --reads         read-index and lease reads, checked for linearizability
  --membership    more membership episodes: grow, shrink, replace
  --plain         every feature off unless forced by its flag`;

export type Command =
  | { kind: 'batch'; count: number; from: number; nodes: 3 | 5; choice: FeatureChoice }
  | { kind: 'replay'; seed: number; nodes: 3 | 5; trace: boolean; choice: FeatureChoice };

/** Parse and validate argv; a string is a usage error. */
export function parseCommand(argv: string[]): Command | string {
  let values: Record<string, string | boolean | undefined>;
  const featureOptions = Object.fromEntries(FEATURE_NAMES.map((name) => [name, { type: 'boolean' as const }]));
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: 'string' },
        from: { type: 'string' },
        seed: { type: 'string' },
        nodes: { type: 'string' },
        trace: { type: 'boolean' },
        plain: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...featureOptions,
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return (err as Error).message;
  }
  if (values.help) return 'help';
  const nodes = values.nodes === undefined ? 3 : Number(values.nodes);
  if (nodes !== 3 && nodes !== 5) return '--nodes must be 3 or 5';
  const seed = asSeed(values.seed, '--seed');
  const count = asSeed(values.seeds, '--seeds');
  const from = asSeed(values.from, '--from');
  for (const v of [seed, count, from]) if (typeof v === 'string') return v;
  if ((seed === undefined) === (count === undefined)) return 'give exactly one of --seeds N or --seed S';
  const choice: FeatureChoice = {
    forced: FEATURE_NAMES.filter((name: FeatureName) => values[name] === true),
    plain: values.plain === true,
  };
  if (seed !== undefined) {
    if (from !== undefined) return '--from goes with --seeds';
    return { kind: 'replay', seed: seed as number, nodes, trace: values.trace === true, choice };
  }
  if (values.trace) return '--trace goes with --seed';
  if ((count as number) < 1) return '--seeds must be at least 1';
  return { kind: 'batch', count: count as number, from: (from as number | undefined) ?? 1, nodes, choice };
}

function asSeed(raw: string | boolean | undefined, name: string): number | string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw) || Number(raw) > 0xffffffff) {
    return `${name} takes an integer between 0 and 4294967295`;
  }
  return Number(raw);
}

export async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv);
  if (cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (typeof cmd === 'string') {
    process.stderr.write(`${cmd}\n${USAGE}\n`);
    return 2;
  }
  if (cmd.kind === 'replay') {
    const r = await runSeed(cmd.seed, { nodes: cmd.nodes, trace: cmd.trace, choice: cmd.choice });
    if (cmd.trace) process.stdout.write(`${r.trace}\n`);
    process.stdout.write(`${r.schedule}\nfaults as played:\n${r.faults.map((f) => `  ${f}`).join('\n')}\n`);
    if (r.violations.length > 0) {
      process.stdout.write(`${formatFailure(r)}\n`);
      return 1;
    }
    const down = r.failed.length > 0 ? `; down for good: ${r.failed.join(', ')}` : '';
    process.stdout.write(
      `seed ${r.seed} ok: ${r.proposals} proposals, ${r.acked} acknowledged, ${r.reads.answered} reads checked, max term ${r.maxTerm}, ` +
        `leader ${Math.round(r.timeToLeader)} ms and all applied ${Math.round(r.timeToApplied)} ms after healing${down}\n`,
    );
    return 0;
  }
  const summary = await runBatch({
    from: cmd.from,
    count: cmd.count,
    nodes: cmd.nodes,
    choice: cmd.choice,
    onFailure: (r) => process.stdout.write(`${formatFailure(r)}\n\n`),
  });
  process.stdout.write(`${formatSummary(summary)}\n`);
  return summary.violations > 0 ? 1 : 0;
}
