/**
 * `npm run chaos`: run chaos scenarios against real kici processes on loopback and judge the
 * invariants. Each scenario gets a cluster of its own (PostgreSQL, coordinators, edge workers,
 * agents), a fault schedule drawn from its seed, and a report: printed, and written as report.json,
 * summary.txt and a timeline picture per scenario under --out. Exit status 0 when no invariant
 * broke and every scenario ran to its end, 1 otherwise, 2 on bad usage.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import type { CampaignReport, ScenarioReport, Topology } from './campaign.js';
import { formatCampaign } from './campaign-summary.js';
import { writeCampaign } from './report-files.js';
import { ALL_SCENARIOS, PROFILES, REGRESSION_SCENARIOS, SCENARIOS, scenarioSeed } from './scenarios.js';
import { runScenario } from './scenario-run.js';

interface Options {
  scenario?: string;
  profile?: string;
  seed?: number;
  duration?: number;
  settle: number;
  nodes?: number;
  workers?: number;
  agents?: number;
  rate?: number;
  out?: string;
  keep: boolean;
  list: boolean;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** `60s`, `2m`, `1h`, `1500ms`, or a plain number of seconds. */
export function parseDuration(text: string): number {
  const found = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!found) throw new InvalidArgumentError('a duration such as 60s, 2m, 1h or 1500ms');
  const ms = Number(found[1]) * UNIT_MS[found[2] ?? 's']!;
  if (ms < 5000 || ms > 24 * 3600_000) throw new InvalidArgumentError('between 5s and 24h');
  return Math.round(ms);
}

function count(min: number, max: number) {
  return (text: string): number => {
    const n = text.trim() === '' ? NaN : Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    return n;
  };
}

function seed(text: string): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('a whole number from 0 to 4294967295');
  return n;
}

function program(): Command {
  return new Command('npm run chaos --')
    .description('Run chaos scenarios against a real kici cluster on loopback and check the invariants.')
    .option('--scenario <name>', `a scenario (--list shows them), "all" (${ALL_SCENARIOS.join(', ')}) or "regressions" (every bug the harness found, as found)`)
    .option('--profile <name>', `a preset: ${Object.keys(PROFILES).join(', ')} (the core scenarios in under 5 minutes)`)
    .option('--seed <n>', 'the seed the fault schedules are drawn from (default: drawn, and printed)', seed)
    .option('--duration <time>', 'how long each scenario runs its workload and faults (default 60s)', parseDuration)
    .option('--settle <time>', 'longest the cluster is given afterwards to finish every run', parseDuration, 60_000)
    .option('--nodes <n>', 'coordinators (default 3)', count(1, 7))
    .option('--workers <n>', 'edge workers (default 1)', count(0, 4))
    .option('--agents <n>', 'agents, spread over the coordinators and workers (default 4)', count(1, 32))
    .option('--rate <n>', 'webhooks per second (default 2)', count(1, 100))
    .option('--out <dir>', 'where the report goes (default ./chaos-reports/<time>)')
    .option('--keep', "keep every scenario's data and logs (a failed scenario's are always kept)", false)
    .option('--list', 'list the scenarios and exit', false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

function listScenarios(): string {
  return [...SCENARIOS.values()].map((s) => `${s.name.padEnd(18)} ${s.description}`).join('\n');
}

interface Plan {
  scenarios: string[];
  durationMs: number;
  topology: Topology;
  rate: number;
}

/** What to run: the profile's settings, overridden by any option given. */
function plan(o: Options): Plan {
  const profile = o.profile === undefined ? undefined : PROFILES[o.profile];
  if (o.profile !== undefined && !profile) throw new InvalidArgumentError(`no profile "${o.profile}" (there is: ${Object.keys(PROFILES).join(', ')})`);
  const named = o.scenario === 'all' ? ALL_SCENARIOS : o.scenario === 'regressions' ? REGRESSION_SCENARIOS : o.scenario !== undefined ? [o.scenario] : profile?.scenarios;
  if (!named) throw new InvalidArgumentError('say --scenario NAME|all or --profile NAME (--list shows the scenarios)');
  for (const name of named) if (!SCENARIOS.has(name)) throw new InvalidArgumentError(`no scenario "${name}" (--list shows them)`);
  const topology = {
    nodes: o.nodes ?? profile?.topology.nodes ?? 3,
    workers: o.workers ?? profile?.topology.workers ?? 1,
    agents: o.agents ?? profile?.topology.agents ?? 4,
  };
  return { scenarios: named, durationMs: o.duration ?? profile?.durationMs ?? 60_000, topology, rate: o.rate ?? profile?.rate ?? 2 };
}

export async function main(argv: string[]): Promise<number> {
  let options: Options;
  let what: Plan;
  const cmd = program();
  try {
    options = cmd.parse(argv, { from: 'user' }).opts<Options>();
    if (options.list) {
      process.stdout.write(`${listScenarios()}\n`);
      return 0;
    }
    what = plan(options);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (e instanceof InvalidArgumentError) process.stderr.write(`error: ${e.message}\n`);
    process.stderr.write(`\n${cmd.helpInformation()}`);
    return 2;
  }
  const campaignSeed = options.seed ?? Math.floor(Math.random() * 0xffffffff);
  const startedAt = new Date();
  const out = path.resolve(options.out ?? path.join('chaos-reports', startedAt.toISOString().replace(/[:.]/g, '-')));
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`chaos campaign, seed ${campaignSeed}: ${what.scenarios.join(', ')}; ${what.durationMs / 1000} s each on ${what.topology.nodes} coordinators, ${what.topology.workers} edge workers, ${what.topology.agents} agents`);

  const scenarios: ScenarioReport[] = [];
  for (const [index, name] of what.scenarios.entries()) {
    const scenario = SCENARIOS.get(name)!;
    const seedOfScenario = scenario.fixed?.seed ?? (what.scenarios.length === 1 ? campaignSeed : scenarioSeed(campaignSeed, index));
    const durationMs = scenario.fixed?.durationMs ?? what.durationMs;
    const root = mkdtempSync(path.join(tmpdir(), `kici-chaos-${name}-`));
    scenarios.push(
      await runScenario({ scenario, seed: seedOfScenario, durationMs, settleMs: options.settle, topology: what.topology, rate: what.rate, root, keep: options.keep, say }),
    );
  }
  const report: CampaignReport = {
    version: 1,
    startedAt: startedAt.toISOString(),
    seed: campaignSeed,
    profile: options.profile ?? null,
    scenarios,
    passed: scenarios.every((s) => s.verdict === 'passed'),
  };
  say('');
  process.stdout.write(formatCampaign(report));
  const files = await writeCampaign(out, report);
  say(`report: ${files.json}, ${files.summary}, ${files.timelines.join(', ')}`);
  return report.passed ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // A stray rejection from a dying child's socket must not end the campaign without its report.
  process.on('unhandledRejection', (e) => process.stderr.write(`unhandled rejection (ignored): ${String(e)}\n`));
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`chaos: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
