/**
 * The campaign's terminal summary (`npm run chaos` prints it, `summary.txt` keeps it): per
 * scenario a header, the fault schedule with what became of each fault, the workload's figures,
 * the invariants' verdicts and a verdict line; at the end one line per scenario, PASSED or
 * FAILED, with the command that replays it. Plain text in aligned columns and no colours: it is
 * read in CI logs.
 */
import type { CampaignFigures, CampaignReport, FaultEvent, FaultOutcome, ScenarioReport } from './campaign.js';
import { formatReport } from './report.js';

const INDENT = '  ';

export function formatCampaign(report: CampaignReport): string {
  const sections = [campaignHeader(report), ...report.scenarios.map(formatScenario), campaignVerdicts(report)];
  return `${sections.join('\n\n')}\n`;
}

/** `850 ms`, `12.3 s`: milliseconds below a second, seconds with one decimal from there. */
export function formatDuration(ms: number): string {
  return Math.abs(Math.round(ms)) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The command that runs one scenario again: its own seed (the CLI takes `--seed` as the
 * scenario's seed when it runs one scenario) and the duration and topology the schedule was drawn
 * for, which the CLI's defaults or a profile's need not match.
 */
export function replayCommand(scenario: Pick<ScenarioReport, 'scenario' | 'seed' | 'durationMs' | 'settleMs' | 'topology' | 'rate'>): string {
  const { nodes, workers, agents } = scenario.topology;
  return [
    `npm run chaos -- --scenario ${shellWord(scenario.scenario)} --seed ${scenario.seed}`,
    `--duration ${durationOption(scenario.durationMs)} --settle ${durationOption(scenario.settleMs)}`,
    `--nodes ${nodes} --workers ${workers} --agents ${agents} --rate ${scenario.rate}`,
  ].join(' ');
}

/** A duration as the CLI reads it: `40s`, or `1500ms` when not whole seconds. */
function durationOption(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function campaignHeader(report: CampaignReport): string {
  const count = report.scenarios.length;
  return [
    `chaos campaign started ${report.startedAt}`,
    `seed ${report.seed} · profile ${report.profile ?? 'none'} · ${count} scenario${count === 1 ? '' : 's'}`,
  ].join('\n');
}

function formatScenario(scenario: ScenarioReport): string {
  return [
    scenarioHeader(scenario),
    faultSchedule(scenario),
    figures(scenario.figures, scenario.faults.length),
    invariants(scenario),
    `verdict: ${scenarioVerdict(scenario)}`,
  ].join('\n\n');
}

function scenarioHeader(scenario: ScenarioReport): string {
  const { nodes, workers, agents } = scenario.topology;
  const lines = [
    `=== scenario ${scenario.scenario} (seed ${scenario.seed}) ===`,
    ...alignColumns(
      [
        ['duration', `${formatDuration(scenario.durationMs)} with faults + ${formatDuration(scenario.settleMs)} settling`],
        ['topology', `${plural(nodes, 'node')}, ${plural(workers, 'worker')}, ${plural(agents, 'agent')}`],
        ...(scenario.dataDir ? [['data kept in', scenario.dataDir]] : []),
      ],
      [],
    ),
  ];
  if (scenario.error) lines.push(`error: ${scenario.error}`);
  return lines.join('\n');
}

/** One row per scheduled fault, joined by id with what became of it; then the nemeses' notes. */
function faultSchedule(scenario: ScenarioReport): string {
  const rows = faultRows(scenario.schedule, scenario.faults);
  if (rows.length === 0) return 'fault schedule: none';
  const table = alignColumns(
    [
      ['id', 'at', 'kind', 'target', 'hold', 'recovered in', 'detail'],
      ...rows.map(({ event, outcome }) => [
        String(event.id),
        formatDuration(event.atMs),
        event.kind,
        event.target,
        formatDuration(event.holdMs),
        recoveredIn(outcome),
        event.detail,
      ]),
    ],
    [true, true, false, false, true, true, false],
  );
  const notes = rows.flatMap(({ event, outcome }) => (outcome?.notes ?? []).map((note) => `#${event.id}: ${note}`));
  return ['fault schedule', ...indent(table), ...(notes.length ? ['notes', ...indent(notes)] : [])].join('\n');
}

interface FaultRow {
  event: FaultEvent;
  /** Missing when the fault never ran (the run ended or failed first). */
  outcome: FaultOutcome | undefined;
}

function faultRows(schedule: readonly FaultEvent[], faults: readonly FaultOutcome[]): FaultRow[] {
  const outcomes = new Map(faults.map((f) => [f.id, f]));
  const scheduled = new Set(schedule.map((e) => e.id));
  const rows = schedule.map((event) => ({ event, outcome: outcomes.get(event.id) }));
  // An outcome the schedule doesn't list should not happen; shown rather than dropped if it does.
  for (const outcome of faults.filter((f) => !scheduled.has(f.id))) {
    const holdMs = outcome.healedMs === null ? 0 : outcome.healedMs - outcome.startedMs;
    const event = { id: outcome.id, atMs: outcome.startedMs, kind: outcome.kind, target: outcome.target, holdMs, detail: '(not in the schedule)' };
    rows.push({ event, outcome });
  }
  return rows.sort((a, b) => a.event.id - b.event.id);
}

function recoveredIn(outcome: FaultOutcome | undefined): string {
  if (!outcome) return 'not run';
  if (outcome.healedMs === null) return 'not healed';
  if (outcome.recoveredMs === null) return 'not recovered';
  return formatDuration(outcome.recoveryMs ?? outcome.recoveredMs - outcome.healedMs);
}

function figures(f: CampaignFigures, ranCount: number): string {
  const rows = [
    ['webhooks', `${f.webhooksSent} sent, ${f.webhooksAccepted} accepted, ${f.webhooksRefused} refused, ${f.redeliveries} redeliveries`],
    ['runs', `${f.runsCreated} created, ${f.runsCompleted} completed`],
    ['jobs run', String(f.jobsRun)],
    ['leader changes', String(f.leaderChanges)],
    ['orphans reclaimed', String(f.orphansReclaimed)],
    ['recovery', recoveryFigures(f.recovery, ranCount)],
    ...(f.reviews ? [['holds reviewed', reviewFigures(f.reviews)]] : []),
    ['harness lag', `p99 ${formatDuration(f.harnessLag.p99Ms)}, max ${formatDuration(f.harnessLag.maxMs)} (the harness carries every proxied link)`],
  ];
  return ['figures', ...indent(alignColumns(rows, []))].join('\n');
}

/** `12 approve, 3 reject, 2 left to expire, 4 racing the expiry (1 hurried); answers 200×18, 404×2`. */
function reviewFigures(r: NonNullable<CampaignFigures['reviews']>): string {
  const { approve, reject, expire, race } = r.plans;
  const answers = Object.entries(r.answers).map(([status, n]) => `${status}×${n}`).join(', ') || 'none';
  return `${approve} approve, ${reject} reject, ${expire} left to expire, ${race} racing the expiry${r.hurried ? ` (${r.hurried} voted at once when the workload ended)` : ''}; answers ${answers}`;
}

/** Over the faults that ran (a scheduled fault that never ran could not recover). */
function recoveryFigures(recovery: CampaignFigures['recovery'], ranCount: number): string {
  if (ranCount === 0) return 'no fault ran';
  const ran = ranCount === 1 ? 'the 1 fault that ran' : `the ${ranCount} faults that ran`;
  if (!recovery) return `none of ${ran} recovered`;
  return `p50 ${formatDuration(recovery.p50Ms)}, max ${formatDuration(recovery.maxMs)} (${recovery.count} of ${ran} recovered)`;
}

function invariants(scenario: ScenarioReport): string {
  if (scenario.invariants.length === 0) return 'invariants: not checked';
  return ['invariants', ...indent(formatReport(scenario.invariants).split('\n'))].join('\n');
}

/** PASSED or FAILED, and why: the invariants broken, the error; what was not exercised. */
function scenarioVerdict(scenario: ScenarioReport): string {
  const broken = scenario.invariants.filter((r) => r.verdict === 'broken').map((r) => r.invariant);
  const unexercised = scenario.invariants.filter((r) => r.verdict === 'not exercised').map((r) => r.invariant);
  const reasons = [
    ...(broken.length ? [`invariant${broken.length === 1 ? '' : 's'} ${broken.join(', ')} broken`] : []),
    ...(scenario.error ? ['the run failed (error above)'] : []),
    ...(unexercised.length ? [`not exercised: ${unexercised.join(', ')}`] : []),
  ];
  const label = scenario.verdict === 'passed' ? 'PASSED' : 'FAILED';
  return reasons.length ? `${label} (${reasons.join('; ')})` : label;
}

function campaignVerdicts(report: CampaignReport): string {
  const failed = report.scenarios.filter((s) => s.verdict === 'failed').length;
  const total = report.scenarios.length;
  const header = report.passed
    ? `=== campaign PASSED (${total} of ${total} scenarios passed) ===`
    : `=== campaign FAILED (${failed} of ${total} scenarios failed) ===`;
  const rows = report.scenarios.map((s) => [s.verdict === 'passed' ? 'PASSED' : 'FAILED', s.scenario, `seed ${s.seed}`, `replay: ${replayCommand(s)}`]);
  return [header, ...alignColumns(rows, [])].join('\n');
}

/** Rows padded to their columns' widths (numbers right-aligned where asked); the last column not padded. */
function alignColumns(rows: readonly string[][], rightAligned: readonly boolean[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => `${INDENT}${line}`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A scenario name as one shell word: as is when it is plain, single-quoted otherwise. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._:/=+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
