/**
 * The simulator's command line, parsed and run (cli.ts is the entry point that calls main).
 * `npm run sim -- --seeds N [--from S] [--nodes 3|5]` runs seeds S..S+N-1;
 * `npm run sim -- --seed S [--nodes 3|5] [--trace]` replays one seed.
 * Exit code 1 when any violation was found, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { formatFailure, formatSummary, runBatch } from './batch.js';
import { runSeed } from './run.js';

const USAGE = `usage:
  npm run sim -- --seeds N [--from S] [--nodes 3|5]   run seeds S..S+N-1 (S defaults to 1)
  npm run sim -- --seed S [--nodes 3|5] [--trace]      replay one seed (with --trace: every event)`;

export type Command =
  | { kind: 'batch'; count: number; from: number; nodes: 3 | 5 }
  | { kind: 'replay'; seed: number; nodes: 3 | 5; trace: boolean };

/** Parse and validate argv; a string is a usage error. */
export function parseCommand(argv: string[]): Command | string {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: 'string' },
        from: { type: 'string' },
        seed: { type: 'string' },
        nodes: { type: 'string' },
        trace: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
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
  if (seed !== undefined) {
    if (from !== undefined) return '--from goes with --seeds';
    return { kind: 'replay', seed: seed as number, nodes, trace: values.trace === true };
  }
  if (values.trace) return '--trace goes with --seed';
  if ((count as number) < 1) return '--seeds must be at least 1';
  return { kind: 'batch', count: count as number, from: (from as number | undefined) ?? 1, nodes };
}

function asSeed(raw: string | boolean | undefined, name: string): number | string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw) || Number(raw) > 0xffffffff) {
    return `${name} takes an integer between 0 and 4294967295`;
  }
  return Number(raw);
}

export function main(argv: string[]): number {
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
    const r = runSeed(cmd.seed, { nodes: cmd.nodes, trace: cmd.trace });
    if (cmd.trace) process.stdout.write(`${r.trace}\n`);
    process.stdout.write(`${r.schedule}\nfaults as played:\n${r.faults.map((f) => `  ${f}`).join('\n')}\n`);
    if (r.violations.length > 0) {
      process.stdout.write(`${formatFailure(r)}\n`);
      return 1;
    }
    process.stdout.write(
      `seed ${r.seed} ok: ${r.proposals} proposals, ${r.acked} acknowledged, max term ${r.maxTerm}, ` +
        `leader ${Math.round(r.timeToLeader)} ms and all applied ${Math.round(r.timeToApplied)} ms after healing\n`,
    );
    return 0;
  }
  const summary = runBatch({
    from: cmd.from,
    count: cmd.count,
    nodes: cmd.nodes,
    onFailure: (r) => process.stdout.write(`${formatFailure(r)}\n\n`),
  });
  process.stdout.write(`${formatSummary(summary)}\n`);
  return summary.violations > 0 ? 1 : 0;
}

