/**
 * One scenario of a chaos campaign, start to end: draw the schedule from the seed, bring a testbed
 * up, run the workload while the nemeses strike one fault after another (each held for its time,
 * healed, and timed until the cluster is whole again), let the cluster settle, then judge the seven
 * invariants from what actually ran (the journal) and what the database and the logs say.
 */
import { sleep } from '../cluster/processes.js';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SeededRandom } from '../src/clock/index.js';
import { TERMINAL_RUN_STATUSES } from '../src/vocabulary/index.js';
import type { CampaignFigures, FaultEvent, FaultOutcome, ScenarioReport, Topology } from './campaign.js';
import { checkInvariants } from './checker.js';
import { sampleDatabase } from './database-samples.js';
import { readDatabaseView } from './database-view.js';
import { expectWorkflows } from './expected-runs.js';
import { checkSecretsHidden, readSecretTexts, scrubberFor } from './invariants/secrets.js';
import { readJournal } from './journal-reader.js';
import { strike, type NemesisContext } from './nemeses.js';
import { Observer } from './observer.js';
import { noneBroken, notExercised, type InvariantReport } from './report.js';
import { drawSchedule, type Scenario } from './scenarios.js';
import { Reviewer, type ReviewRecord } from './reviewer.js';
import { pairExecutions } from './step-executions.js';
import { Testbed } from './testbed.js';
import { WORKLOAD_GATED_JOBS, WORKLOAD_WORKFLOW } from './workload-repository.js';
import { eventsAround } from './violation-context.js';
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
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_RUN_STATUSES);

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
  if (bed) scrubReport(report, scrubberFor(bed.secrets));
  report.verdict = !report.error && verdictOf(report.invariants) ? 'passed' : 'failed';
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
  const reviewer = new Reviewer({ databaseUrl: bed.postgres.url, seed: o.seed, token: bed.reviewerToken, targets: () => bed.coordinators });
  const t0 = performance.now();
  const wallT0 = Date.now();
  const observer = new Observer(bed, workload, t0);
  const since = () => Math.round(performance.now() - t0);
  const agentDeaths: Record<string, number[]> = {};
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  observer.start();
  reviewer.start();
  workload.start(t0);

  for (const event of schedule) {
    await pauseUntil(t0 + event.atMs);
    // A random of its own per fault: how many draws one fault makes (a delay per chunk) depends on
    // timing, and must not shift what the next fault draws.
    const ctx: NemesisContext = { bed, workload, random: new SeededRandom((o.seed ^ Math.imul(event.id, 0x9e3779b1)) >>> 0) };
    const outcome = await runFault(event, ctx, bed, since, o.say, agentDeaths);
    report.faults.push(outcome);
  }
  await pauseUntil(t0 + o.durationMs);
  workload.stopNew();
  // Holds still waiting are decided now rather than left to expire: settling waits for no expiry.
  reviewer.hurry();
  o.say(`workload over after ${(since() / 1000).toFixed(1)} s: ${workload.accepted} deliveries accepted; settling (at most ${o.settleMs / 1000} s)`);
  const settleStart = performance.now();
  const deadline = settleStart + o.settleMs;
  await workload.drain(deadline);
  const settleError = await settle(bed, deadline);
  o.say(`${settleError ? 'not settled' : 'settled'} after ${((performance.now() - settleStart) / 1000).toFixed(1)} s`);
  await observer.stop();
  const reviews = await reviewer.stop();
  // Every answer and sighting, for reading a broken invariant 5 (the directory is kept when the scenario fails).
  writeFileSync(path.join(o.root, 'reviews.json'), `${JSON.stringify(reviews, null, 1)}\n`);
  lag.disable();
  const views = await samples.stop();

  const accepted = workload.acceptedIds();
  const invariants = await checkInvariants({
    journal: bed.journal,
    databaseUrl: bed.postgres.url,
    expect: expectWorkflows(Object.fromEntries(accepted.map((id) => [id, [WORKLOAD_WORKFLOW]]))),
    samples: views,
    agentDeaths,
    gated: WORKLOAD_GATED_JOBS,
    holds: { answers: reviews.answers, sightings: reviews.sightings },
  });
  const pending = workload.pendingIds();
  if (pending.length > 0) invariants[0]?.notes.push(`${pending.length} deliveries no node accepted by the end (not expected to have runs): ${pending.slice(0, 5).join(', ')}`);
  if (settleError) invariants.find((r) => r.invariant === 2)?.notes.push(`the cluster did not settle: ${settleError}`);
  for (const r of invariants) if (r.firstViolationAtMs !== undefined) r.notes.push(eventsAround(r.firstViolationAtMs - wallT0, report.faults, observer.leaders));
  const journal = await readJournal(bed.journal);
  const executions = pairExecutions(journal.entries).executions.length;
  const exercised = invariants.map((r) => unexercised(r, { accepted: accepted.length, runs: observer.runs.created, executions }) ?? r);
  invariants.find((r) => r.invariant === 5)?.notes.push(reviewNote(reviews));
  report.invariants = [...exercised, ...(await secretsReport(bed))].sort((a, b) => a.invariant - b.invariant);
  const problems = runProblems(bed, report.faults, settleError);
  if (problems.length > 0) report.error = problems.join('\n');

  report.throughput = observer.throughput;
  report.leaders = observer.leaders;
  report.figures = {
    webhooksSent: workload.sent,
    webhooksAccepted: workload.accepted,
    webhooksRefused: workload.refused,
    redeliveries: workload.redeliveries,
    runsCreated: observer.runs.created,
    runsCompleted: observer.runs.completed,
    jobsRun: executions,
    leaderChanges: observer.leaderChanges,
    orphansReclaimed: observer.orphansReclaimed,
    recovery: recoveryFigures(report.faults),
    reviews: reviewFigures(reviews),
    harnessLag: { p99Ms: Math.round(lag.percentile(99) / 1e6), maxMs: Math.round(lag.max / 1e6) },
  };
}

/**
 * Errors and notes may quote a process's log (a node that would not start shows its last lines):
 * the secrets the run handed out are redacted from them too, as from invariant 7's evidence.
 */
function scrubReport(report: ScenarioReport, scrub: (text: string) => string): void {
  if (report.error) report.error = scrub(report.error);
  for (const f of report.faults) f.notes = f.notes.map(scrub);
  for (const r of report.invariants) {
    r.notes = r.notes.map(scrub);
    r.evidence = r.evidence.map(scrub);
  }
}

/** The invariants a chaos run must see held (4, 5 and 7 may be "not exercised"). */
const MUST_HOLD = new Set([1, 2, 3, 6]);

/** Passed: nothing broken, and every invariant the workload is there to exercise was, and held. */
function verdictOf(reports: readonly InvariantReport[]): boolean {
  return noneBroken(reports) && reports.filter((r) => MUST_HOLD.has(r.invariant)).every((r) => r.verdict === 'held');
}

/** A report that held only because there was nothing to look at is "not exercised" instead. */
function unexercised(r: InvariantReport, seen: { accepted: number; runs: number; executions: number }): InvariantReport | undefined {
  if (r.verdict !== 'held') return undefined;
  if (r.invariant === 1 && seen.accepted === 0) return notExercised(1, 'no delivery was accepted: the workload never reached the cluster');
  if ((r.invariant === 2 || r.invariant === 6) && seen.runs === 0) return notExercised(r.invariant, 'no run was created');
  if (r.invariant === 3 && seen.executions === 0) return notExercised(3, 'no step execution in the journal');
  // Invariants 4 and 5 say themselves when no gated job ran or no job was held (environment-limits.ts, holds-decided-once.ts).
  return undefined;
}

/**
 * What makes a run fail besides a broken invariant: a process that died on its own, a fault the
 * nemesis could not strike or heal, a cluster not whole again after a fault, or one that did not
 * settle. Each is a finding, never a note to skim past.
 */
function runProblems(bed: Testbed, faults: readonly FaultOutcome[], settleError: string | undefined): string[] {
  const problems = [...bed.crashes];
  for (const f of faults) {
    if (f.healedMs === null) problems.push(`fault #${f.id} ${f.kind} ${f.target}: ${f.notes.join('; ') || 'not healed'}`);
    else if (f.recoveredMs === null) problems.push(`fault #${f.id} ${f.kind} ${f.target}: ${f.notes.join('; ')}`);
  }
  if (settleError) problems.push(`the cluster did not settle: ${settleError}`);
  return problems;
}

/** Strike, hold, heal, then time the recovery; a nemesis that fails is noted, and the run goes on. */
async function runFault(event: FaultEvent, ctx: NemesisContext, bed: Testbed, since: () => number, say: (line: string) => void, agentDeaths: Record<string, number[]>): Promise<FaultOutcome> {
  const outcome: FaultOutcome = { id: event.id, kind: event.kind, target: event.target, startedMs: since(), healedMs: null, recoveredMs: null, recoveryMs: null, notes: [] };
  try {
    const struck = await strike(event, ctx);
    if (struck.killedAtMicros !== undefined) (agentDeaths[struck.target] ??= []).push(struck.killedAtMicros);
    outcome.target = struck.target;
    say(`  #${event.id} ${event.kind} → ${struck.target} at ${(outcome.startedMs / 1000).toFixed(1)} s`);
    await sleep(event.holdMs);
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
    await sleep(100);
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
    const view = await readDatabaseView(bed.postgres.url).catch((e: Error) => e);
    const missing = await bed.missing().catch((e: Error) => `could not tell whether the cluster is whole: ${e.message}`);
    if (view instanceof Error) {
      why = `the database did not answer: ${view.message}`;
    } else {
      const open = view.runs.filter((r) => !TERMINAL.has(r.status));
      const received = view.deliveries.filter((d) => d.status === 'received');
      if (open.length === 0 && received.length === 0 && missing === undefined) return undefined;
      why = `${open.length} runs unfinished, ${received.length} deliveries left received, ${missing === undefined ? 'cluster whole' : missing}`;
    }
    if (performance.now() > deadline) return why;
    await sleep(250);
  }
}

/** The admin API's lists invariant 7 reads (newest 500 runs). */
const API_READ_FOR_SECRETS = ['/runs?limit=500', '/sources', '/agents', '/agent-tokens', '/peers', '/cluster/status'];

/** Invariant 7 over every log the run wrote and what the admin API's lists answer. */
async function secretsReport(bed: Testbed): Promise<InvariantReport[]> {
  const texts = await readSecretTexts(bed.logFiles());
  const node = bed.coordinators.find((c) => c.running);
  if (!node) texts.push({ source: 'the admin API', text: '', shortfall: 'not read: no coordinator was running' });
  for (const route of node ? API_READ_FOR_SECRETS : []) {
    const source = `GET /api/v1${route} on ${node!.name}`;
    // A failed request is a text not searched, never the harness's own error passed off as an answer.
    texts.push(await node!.api<unknown>('GET', route).then(
      (body) => ({ source, text: JSON.stringify(body) }),
      (e: Error) => ({ source, text: '', shortfall: `not read: ${e.message}` }),
    ));
  }
  return [checkSecretsHidden({ secrets: bed.secrets, texts })];
}

/** What the reviewer meant to do with the holds it saw, for invariant 5's notes. */
function reviewNote(r: ReviewRecord): string {
  const { approve, reject, expire, race } = r.plans;
  const hurried = r.hurried ? `; ${r.hurried} voted at once when the workload ended (left to expire: approved)` : '';
  const failures = r.pollFailures ? `; ${r.pollFailures} polls the database did not answer` : '';
  return `the reviewer planned ${approve} approvals, ${reject} rejections, ${expire} holds left to expire and ${race} votes racing the expiry${hurried}${failures}`;
}

function reviewFigures(r: ReviewRecord): CampaignFigures['reviews'] {
  const answers: Record<string, number> = {};
  for (const a of r.answers) {
    const key = a.status === 0 ? 'no answer' : String(a.status);
    answers[key] = (answers[key] ?? 0) + 1;
  }
  return { plans: { ...r.plans }, hurried: r.hurried, answers };
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
  if (wait > 0) await sleep(wait);
}
