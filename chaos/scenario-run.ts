/**
 * One scenario of a chaos campaign, start to end: draw the schedule from the seed, bring a testbed
 * up, run the workload while the nemeses strike one fault after another (each held for its time,
 * healed, and timed until the cluster is whole again), let the cluster settle, then judge the seven
 * invariants from what actually ran (the journal) and what the database and the logs say.
 */
import { rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SeededRandom } from '../src/clock/index.js';
import type { CampaignFigures, FaultEvent, FaultOutcome, ScenarioReport, Topology } from './campaign.js';
import { checkInvariants } from './checker.js';
import { sampleDatabase } from './database-samples.js';
import { readDatabaseView } from './database-view.js';
import { expectWorkflows } from './expected-runs.js';
import { checkSecretsHidden, readSecretTexts } from './invariants/secrets.js';
import { readJournal } from './journal-reader.js';
import { strike, type NemesisContext } from './nemeses.js';
import { Observer } from './observer.js';
import { noneBroken, notExercised, type InvariantReport } from './report.js';
import { drawSchedule, type Scenario } from './scenarios.js';
import { pairExecutions } from './step-executions.js';
import { Testbed, WORKLOAD_WORKFLOW } from './testbed.js';
import { Workload } from './workload.js';

export interface ScenarioRunOptions {
  scenario: Scenario;
  seed: number;
  durationMs: number;
  /** Longest the cluster is given after the workload to finish every run. */
  settleMs: number;
  topology: Topology;
  /** New deliveries per second. */
  rate: number;
  /** The scenario's directory (created; removed afterwards unless `keep`, or the scenario failed). */
  root: string;
  keep: boolean;
  say: (line: string) => void;
}

/** Longest a fault's recovery is waited for before the next fault strikes anyway. */
const RECOVERY_CAP_MS = 60_000;
const TERMINAL = new Set(['success', 'failed', 'cancelled']);

export async function runScenario(o: ScenarioRunOptions): Promise<ScenarioReport> {
  const schedule = drawSchedule(o.scenario, o.seed, o.durationMs, o.topology);
  o.say(`scenario ${o.scenario.name}, seed ${o.seed}: ${schedule.length} faults over ${o.durationMs / 1000} s`);
  for (const e of schedule) o.say(`  #${e.id} at ${(e.atMs / 1000).toFixed(1)} s  ${e.kind.padEnd(18)} ${e.detail}`);
  if (schedule.length === 0) o.say('  no fault fits this scenario, duration and topology: the workload runs without faults');
  const report: ScenarioReport = {
    scenario: o.scenario.name,
    seed: o.seed,
    durationMs: o.durationMs,
    settleMs: o.settleMs,
    topology: o.topology,
    rate: o.rate,
    schedule,
    faults: [],
    figures: emptyFigures(),
    throughput: [],
    leaders: [],
    invariants: [],
    verdict: 'failed',
    dataDir: o.root,
  };
  let bed: Testbed | undefined;
  try {
    const maxDeliveries = Math.ceil((o.rate * o.durationMs) / 1000) + 10;
    bed = await Testbed.start({ root: o.root, ...o.topology, maxDeliveries, say: o.say });
    await drive(o, bed, schedule, report, maxDeliveries);
  } catch (e) {
    report.error = (e as Error).stack ?? String(e);
    o.say(`scenario ${o.scenario.name} could not run to its end: ${(e as Error).message}`);
  } finally {
    await bed?.stop().catch((e: Error) => o.say(`stopping the testbed: ${e.message}`));
  }
  report.verdict = !report.error && noneBroken(report.invariants) ? 'passed' : 'failed';
  if (report.verdict === 'passed' && !o.keep) {
    rmSync(o.root, { recursive: true, force: true });
    delete report.dataDir;
  }
  return report;
}

async function drive(o: ScenarioRunOptions, bed: Testbed, schedule: FaultEvent[], report: ScenarioReport, maxDeliveries: number): Promise<void> {
  const random = new SeededRandom(o.seed ^ 0x9e3779b9);
  const workload = new Workload({ source: bed.source, targets: () => bed.webhookTargets.filter((n) => n.running), rate: o.rate, maxDeliveries, random });
  const samples = sampleDatabase({ databaseUrl: bed.postgres.url, everyMs: 1000 });
  const t0 = performance.now();
  const wallT0 = Date.now();
  const observer = new Observer(bed, workload, t0);
  const since = () => Math.round(performance.now() - t0);
  const agentDeaths: Record<string, number[]> = {};
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  observer.start();
  workload.start(t0);

  const ctx: NemesisContext = { bed, workload, random };
  for (const event of schedule) {
    await pauseUntil(t0 + event.atMs);
    const outcome = await runFault(event, ctx, bed, since, o.say, agentDeaths);
    report.faults.push(outcome);
  }
  await pauseUntil(t0 + o.durationMs);
  workload.stopNew();
  o.say(`workload over after ${(since() / 1000).toFixed(1)} s: ${workload.accepted} deliveries accepted; settling (at most ${o.settleMs / 1000} s)`);
  const deadline = performance.now() + o.settleMs;
  await workload.drain(deadline);
  const settleError = await settle(bed, deadline);
  await observer.stop();
  lag.disable();
  const views = await samples.stop();

  const accepted = workload.acceptedIds();
  const invariants = await checkInvariants({
    journal: bed.journal,
    databaseUrl: bed.postgres.url,
    expect: expectWorkflows(Object.fromEntries(accepted.map((id) => [id, [WORKLOAD_WORKFLOW]]))),
    samples: views,
    agentDeaths,
  });
  const pending = workload.pendingIds();
  if (pending.length > 0) invariants[0]?.notes.push(`${pending.length} deliveries no node accepted by the end (not expected to have runs): ${pending.slice(0, 5).join(', ')}`);
  if (settleError) invariants.find((r) => r.invariant === 2)?.notes.push(`the cluster did not settle: ${settleError}`);
  for (const r of invariants) if (r.firstViolationAtMs !== undefined) r.notes.push(faultsAround(r.firstViolationAtMs - wallT0, report.faults));
  report.invariants = [...invariants, ...(await secretsReport(bed)), ...environmentsNotYet()].sort((a, b) => a.invariant - b.invariant);

  const journal = await readJournal(bed.journal);
  report.throughput = observer.throughput;
  report.leaders = observer.leaders;
  report.figures = {
    webhooksSent: workload.sent,
    webhooksAccepted: workload.accepted,
    webhooksRefused: workload.refused,
    redeliveries: workload.redeliveries,
    runsCreated: observer.runs.created,
    runsCompleted: observer.runs.completed,
    jobsRun: pairExecutions(journal.entries).executions.length,
    leaderChanges: observer.leaderChanges,
    orphansReclaimed: observer.orphansReclaimed,
    recovery: recoveryFigures(report.faults),
    harnessLag: { p99Ms: Math.round(lag.percentile(99) / 1e6), maxMs: Math.round(lag.max / 1e6) },
  };
}

/** Strike, hold, heal, then time the recovery; a nemesis that fails is noted, and the run goes on. */
async function runFault(event: FaultEvent, ctx: NemesisContext, bed: Testbed, since: () => number, say: (line: string) => void, agentDeaths: Record<string, number[]>): Promise<FaultOutcome> {
  const outcome: FaultOutcome = { id: event.id, kind: event.kind, target: event.target, startedMs: since(), healedMs: null, recoveredMs: null, recoveryMs: null, notes: [] };
  try {
    const struck = await strike(event, ctx);
    // Taken once the agent and its steps are dead: every execution it cut short started before.
    if (event.kind === 'kill-agent') (agentDeaths[struck.target] ??= []).push(Date.now() * 1000);
    outcome.target = struck.target;
    say(`  #${event.id} ${event.kind} → ${struck.target} at ${(outcome.startedMs / 1000).toFixed(1)} s`);
    await new Promise((resolve) => setTimeout(resolve, event.holdMs));
    await struck.heal();
    outcome.healedMs = since();
    outcome.notes.push(...struck.notes);
  } catch (e) {
    outcome.notes.push(`the nemesis failed: ${(e as Error).message}`);
    say(`  #${event.id} ${event.kind}: the nemesis failed: ${(e as Error).message}`);
    return outcome;
  }
  let missing: string | undefined = 'not looked at yet';
  const deadline = performance.now() + RECOVERY_CAP_MS;
  while (performance.now() < deadline) {
    missing = await bed.missing().catch((e: Error) => `could not tell: ${e.message}`);
    if (missing === undefined) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (missing === undefined) {
    outcome.recoveredMs = since();
    outcome.recoveryMs = outcome.recoveredMs - (outcome.healedMs ?? outcome.recoveredMs);
  } else {
    outcome.notes.push(`not whole again within ${RECOVERY_CAP_MS / 1000} s of the heal: ${missing}`);
  }
  return outcome;
}

/** Waits until every run is terminal, no delivery is left received and the cluster is whole; the reason it is not, at the deadline. */
async function settle(bed: Testbed, deadline: number): Promise<string | undefined> {
  let why = '';
  for (;;) {
    try {
      const view = await readDatabaseView(bed.postgres.url);
      const open = view.runs.filter((r) => !TERMINAL.has(r.status));
      const received = view.deliveries.filter((d) => d.status === 'received');
      const whole = await bed.whole();
      if (open.length === 0 && received.length === 0 && whole) return undefined;
      why = `${open.length} runs unfinished, ${received.length} deliveries left received, cluster ${whole ? 'whole' : 'not whole'}`;
    } catch (e) {
      why = `the database did not answer: ${(e as Error).message}`;
    }
    if (performance.now() > deadline) return why;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Invariant 7 over every log the run wrote and what the admin API answers. */
async function secretsReport(bed: Testbed): Promise<InvariantReport[]> {
  const texts = await readSecretTexts(bed.logFiles());
  const node = bed.coordinators.find((c) => c.running);
  if (node) {
    for (const route of ['/runs', '/sources', '/agents', '/agent-tokens', '/peers', '/cluster/status']) {
      const body = await node.api<unknown>('GET', route).catch((e: Error) => e.message);
      texts.push({ source: `GET /api/v1${route} on ${node.name}`, text: typeof body === 'string' ? body : JSON.stringify(body) });
    }
  }
  return [checkSecretsHidden({ secrets: bed.secrets, texts })];
}

/** Invariants 4 and 5 speak of deployment environments, which kici does not have yet. */
function environmentsNotYet(): InvariantReport[] {
  const why = 'the workload has no deployment environments (kici has none yet): no concurrency limit or hold existed to break';
  return [notExercised(4, why), notExercised(5, why)];
}

/** The faults under way near `atMs` (from 5 s before each began to 15 s after it was over): where to look first. */
function faultsAround(atMs: number, faults: readonly FaultOutcome[]): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const near = faults.filter((f) => {
    const over = f.recoveredMs ?? f.healedMs ?? Number.POSITIVE_INFINITY;
    return atMs >= f.startedMs - 5000 && atMs <= over + 15_000;
  });
  const list = near.map((f) => `#${f.id} ${f.kind} ${f.target} from ${secs(f.startedMs)}${f.healedMs === null ? '' : ` to ${secs(f.healedMs)}`}${f.recoveredMs === null ? ', never whole again' : `, whole at ${secs(f.recoveredMs)}`}`);
  return `first violation at ${secs(atMs)} into the run; faults around it: ${list.length ? list.join('; ') : 'none (no fault within 5 s before to 15 s after)'}`;
}

function recoveryFigures(faults: readonly FaultOutcome[]): CampaignFigures['recovery'] {
  const times = faults.map((f) => f.recoveryMs).filter((t): t is number => t !== null).sort((a, b) => a - b);
  if (times.length === 0) return null;
  return { p50Ms: times[Math.floor((times.length - 1) / 2)]!, maxMs: times[times.length - 1]!, count: times.length };
}

function emptyFigures(): CampaignFigures {
  return { webhooksSent: 0, webhooksAccepted: 0, webhooksRefused: 0, redeliveries: 0, runsCreated: 0, runsCompleted: 0, jobsRun: 0, leaderChanges: 0, orphansReclaimed: 0, recovery: null, harnessLag: { p99Ms: 0, maxMs: 0 } };
}

async function pauseUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
