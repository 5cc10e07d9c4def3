/**
 * One scenario's timeline as a self-contained SVG (no external fonts, scripts or styles): the
 * faults against what the cluster got done and who led it. Top to bottom, on one time axis from
 * 0 to the end of the settling time:
 *
 * - the legend: fault kinds used, leaders seen;
 * - a row per fault target: a band per fault from injection to heal, a thinner continuation from
 *   heal to recovery (dashed to the end when it never recovered); a scheduled fault that never
 *   ran is an outline;
 * - the leader strip: a segment per (leader, term), a marker at every change, gaps where the
 *   coordinators named none;
 * - runs completed and webhooks accepted per second, derived from the cumulative samples;
 * - the time axis, ticked every second (every 2, 5, … s when a second is under 4 px wide on a
 *   long run), labelled every 5, 10, … s.
 *
 * Every text drawn from the report is escaped (targets and names may hold `<`, `&`).
 */
import { FAULT_KINDS, type FaultEvent, type FaultKind, type FaultOutcome, type LeaderSample, type ScenarioReport, type ThroughputSample } from './campaign.js';
import { formatDuration } from './campaign-summary.js';

const WIDTH = 1200;
const MARGIN_LEFT = 160;
const MARGIN_RIGHT = 24;
const PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
const ROW_HEIGHT = 20;
const BAND_HEIGHT = 12;
const RECOVERY_HEIGHT = 4;
const LEADER_STRIP_HEIGHT = 16;
const CHART_HEIGHT = 140;
const AXIS_HEIGHT = 36;
const FONT = 'font-family="sans-serif" font-size="11"';
/** A rough width of one character at font-size 11, to lay out legends and fit labels. */
const CHAR_WIDTH = 6.5;
const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

const KIND_COLOURS: Record<FaultKind, string> = {
  'kill-node': '#d62728',
  'kill-leader': '#8c1c13',
  'pause-node': '#ff7f0e',
  'partition-leader': '#9467bd',
  'one-way-partition': '#c5b0d5',
  'flapping-link': '#e377c2',
  delay: '#17becf',
  bandwidth: '#9edae5',
  'half-open': '#7f7f7f',
  'restart-postgres': '#1f77b4',
  'kill-agent': '#bcbd22',
  redeliver: '#2ca02c',
  'clock-skew': '#8c564b',
  'freeze-worker': '#aec7e8',
  'starve-node': '#ffbb78',
  'half-open-peer': '#393b79',
};
const LEADER_COLOURS = ['#4e79a7', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#bab0ac', '#f28e2b'];
const RUNS_COLOUR = '#1f3b73';
const WEBHOOKS_COLOUR = '#e07b00';

/** `timeline-<scenario>-<seed>.svg`, the scenario's name made safe for a file name. */
export function timelineFileName(scenario: Pick<ScenarioReport, 'scenario' | 'seed'>): string {
  return `timeline-${scenario.scenario.replace(/[^A-Za-z0-9._-]/g, '_')}-${scenario.seed}.svg`;
}

export function timelineSvg(scenario: ScenarioReport): string {
  const axis = timeAxis(scenario.durationMs + scenario.settleMs);
  const leadership = leaderSpans(scenario.leaders, axis.endMs);
  const leaderColour = leaderColours(leadership.spans);

  const title = text(12, 22, `${scenario.scenario} · seed ${scenario.seed} · ${scenario.verdict}`, 'font-size="14" font-weight="bold"');
  const legend = drawLegend(34, [...kindLegend(scenario), ...[...leaderColour].map(([leader, colour]) => ({ label: `leader ${leader}`, colour }))]);
  const faultsTop = 34 + legend.height + 8;
  const faults = drawFaultRows(faultsTop, scenario, axis);
  const leadersTop = faultsTop + faults.height + 14;
  const chartTop = leadersTop + LEADER_STRIP_HEIGHT + 16;
  const chartBottom = chartTop + CHART_HEIGHT;
  const height = chartBottom + AXIS_HEIGHT;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<title>${escapeXml(`chaos timeline: ${scenario.scenario}, seed ${scenario.seed}`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    drawSettling(faultsTop, chartBottom, scenario.durationMs, axis),
    drawGrid(faultsTop, chartBottom, axis),
    title,
    legend.svg,
    faults.svg,
    drawLeaderStrip(leadersTop, leadership, leaderColour, axis),
    drawThroughput(chartTop, scenario.throughput, axis),
    drawTimeAxis(chartBottom, axis),
    '</svg>',
  ]
    .filter((part) => part !== '')
    .join('\n')
    .concat('\n');
}

// ─── time ──────────────────────────────────────────────────────────────────────

interface TimeAxis {
  endMs: number;
  /** Seconds between tick marks, and between labelled ticks. */
  tickS: number;
  labelS: number;
  x(ms: number): number;
}

function timeAxis(totalMs: number): TimeAxis {
  const endMs = Math.max(totalMs, 1);
  const pxPerSecond = (PLOT_WIDTH * 1000) / endMs;
  const tickS = TICK_STEPS_S.find((s) => s * pxPerSecond >= 4) ?? TICK_STEPS_S.at(-1)!;
  const labelS = TICK_STEPS_S.find((s) => s % tickS === 0 && s * pxPerSecond >= 48) ?? TICK_STEPS_S.at(-1)!;
  const x = (ms: number) => MARGIN_LEFT + (Math.min(Math.max(ms, 0), endMs) / endMs) * PLOT_WIDTH;
  return { endMs, tickS, labelS, x };
}

function drawTimeAxis(y: number, axis: TimeAxis): string {
  const out = [line(MARGIN_LEFT, y, MARGIN_LEFT + PLOT_WIDTH, y, '#333333')];
  for (let s = 0; s * 1000 <= axis.endMs; s += axis.tickS) {
    const x = axis.x(s * 1000);
    const labelled = s % axis.labelS === 0;
    out.push(line(x, y, x, y + (labelled ? 6 : 3), '#333333'));
    if (labelled) out.push(text(x, y + 18, `${s} s`, 'text-anchor="middle"'));
  }
  return `<g class="time-axis">\n${out.join('\n')}\n</g>`;
}

function drawGrid(top: number, bottom: number, axis: TimeAxis): string {
  const out: string[] = [];
  for (let s = axis.labelS; s * 1000 <= axis.endMs; s += axis.labelS) out.push(line(axis.x(s * 1000), top, axis.x(s * 1000), bottom, '#e6e6e6'));
  return `<g class="grid">\n${out.join('\n')}\n</g>`;
}

function drawSettling(top: number, bottom: number, durationMs: number, axis: TimeAxis): string {
  if (durationMs >= axis.endMs) return '';
  const x = axis.x(durationMs);
  return [
    `<g class="settling">`,
    `<rect x="${num(x)}" y="${num(top)}" width="${num(MARGIN_LEFT + PLOT_WIDTH - x)}" height="${num(bottom - top)}" fill="#f4f4f4"/>`,
    text(x + 4, top + 10, 'settling', 'fill="#888888"'),
    '</g>',
  ].join('\n');
}

// ─── legend ────────────────────────────────────────────────────────────────────

interface LegendItem {
  label: string;
  colour: string;
}

function kindLegend(scenario: ScenarioReport): LegendItem[] {
  const used = new Set<FaultKind>([...scenario.schedule.map((e) => e.kind), ...scenario.faults.map((f) => f.kind)]);
  return FAULT_KINDS.filter((kind) => used.has(kind)).map((kind) => ({ label: kind, colour: KIND_COLOURS[kind] }));
}

/** Swatches and labels from the left margin on, wrapped to the width. */
function drawLegend(top: number, items: readonly LegendItem[]): { svg: string; height: number } {
  const out: string[] = [];
  let x = MARGIN_LEFT;
  let y = top;
  for (const item of items) {
    const width = 12 + 4 + item.label.length * CHAR_WIDTH + 16;
    if (x + width > WIDTH - MARGIN_RIGHT && x > MARGIN_LEFT) {
      x = MARGIN_LEFT;
      y += 16;
    }
    out.push(`<rect x="${num(x)}" y="${num(y)}" width="12" height="10" fill="${item.colour}"/>`, text(x + 16, y + 9, item.label));
    x += width;
  }
  return { svg: `<g class="legend">\n${out.join('\n')}\n</g>`, height: items.length ? y - top + 12 : 0 };
}

// ─── faults ────────────────────────────────────────────────────────────────────

/**
 * Targets in the order their first fault comes: what a fault actually struck (a scheduled "leader"
 * is the node that led), and the scheduled target only of faults that never ran.
 */
function faultTargets(schedule: readonly FaultEvent[], faults: readonly FaultOutcome[]): string[] {
  const ran = new Set(faults.map((f) => f.id));
  const unrun = schedule.filter((e) => !ran.has(e.id));
  const byTime = [...unrun.map((e) => ({ atMs: e.atMs, target: e.target })), ...faults.map((f) => ({ atMs: f.startedMs, target: f.target }))];
  return [...new Set(byTime.sort((a, b) => a.atMs - b.atMs).map((t) => t.target))];
}

function drawFaultRows(top: number, scenario: ScenarioReport, axis: TimeAxis): { svg: string; height: number } {
  const targets = faultTargets(scenario.schedule, scenario.faults);
  const rowOf = new Map(targets.map((target, i) => [target, top + i * ROW_HEIGHT]));
  const scheduled = new Map(scenario.schedule.map((e) => [e.id, e]));
  const ran = new Set(scenario.faults.map((f) => f.id));
  const out = targets.map((target, i) => text(MARGIN_LEFT - 8, top + i * ROW_HEIGHT + 13, shorten(target, 22), 'text-anchor="end"'));
  for (const fault of scenario.faults) out.push(drawFault(rowOf.get(fault.target)!, fault, scheduled.get(fault.id), axis));
  for (const event of scenario.schedule.filter((e) => !ran.has(e.id))) out.push(drawUnrunFault(rowOf.get(event.target)!, event, axis));
  if (targets.length === 0) out.push(text(MARGIN_LEFT, top + 13, 'no faults', 'fill="#888888"'));
  const height = Math.max(targets.length, 1) * ROW_HEIGHT;
  return { svg: `<g class="faults">\n${out.join('\n')}\n</g>`, height };
}

function drawFault(rowTop: number, fault: FaultOutcome, event: FaultEvent | undefined, axis: TimeAxis): string {
  const colour = KIND_COLOURS[fault.kind];
  const x0 = axis.x(fault.startedMs);
  const x1 = Math.max(axis.x(fault.healedMs ?? axis.endMs), x0 + 2);
  const bandTop = rowTop + (ROW_HEIGHT - BAND_HEIGHT) / 2;
  const out = [
    `<g data-fault="${fault.id}">`,
    `<title>${escapeXml(faultTitle(fault, event))}</title>`,
    `<rect class="fault-band" x="${num(x0)}" y="${num(bandTop)}" width="${num(x1 - x0)}" height="${BAND_HEIGHT}" fill="${colour}"/>`,
  ];
  const middle = rowTop + ROW_HEIGHT / 2;
  if (fault.healedMs !== null && fault.recoveredMs !== null && fault.recoveredMs > fault.healedMs) {
    const x2 = axis.x(fault.recoveredMs);
    out.push(`<rect class="fault-recovery" x="${num(x1)}" y="${num(middle - RECOVERY_HEIGHT / 2)}" width="${num(Math.max(x2 - x1, 1))}" height="${RECOVERY_HEIGHT}" fill="${colour}" fill-opacity="0.6"/>`);
  } else if (fault.healedMs !== null && fault.recoveredMs === null) {
    out.push(`<line class="fault-unrecovered" x1="${num(x1)}" y1="${num(middle)}" x2="${num(MARGIN_LEFT + PLOT_WIDTH)}" y2="${num(middle)}" stroke="${colour}" stroke-width="2" stroke-dasharray="4 3"/>`);
  }
  out.push('</g>');
  return out.join('\n');
}

function drawUnrunFault(rowTop: number, event: FaultEvent, axis: TimeAxis): string {
  const x0 = axis.x(event.atMs);
  const x1 = Math.max(axis.x(event.atMs + event.holdMs), x0 + 2);
  const bandTop = rowTop + (ROW_HEIGHT - BAND_HEIGHT) / 2;
  return [
    `<g data-fault="${event.id}">`,
    `<title>${escapeXml(`#${event.id} ${event.kind} ${event.target}: scheduled at ${formatDuration(event.atMs)}, never ran · ${event.detail}`)}</title>`,
    `<rect class="fault-unrun" x="${num(x0)}" y="${num(bandTop)}" width="${num(x1 - x0)}" height="${BAND_HEIGHT}" fill="none" stroke="${KIND_COLOURS[event.kind]}" stroke-dasharray="3 2"/>`,
    '</g>',
  ].join('\n');
}

function faultTitle(fault: FaultOutcome, event: FaultEvent | undefined): string {
  const healed = fault.healedMs === null ? 'never healed' : `healed at ${formatDuration(fault.healedMs)}`;
  const recovered =
    fault.healedMs === null ? '' : fault.recoveredMs === null ? ', not recovered' : `, recovered in ${formatDuration(fault.recoveryMs ?? fault.recoveredMs - fault.healedMs)}`;
  const lines = [`#${fault.id} ${fault.kind} ${fault.target}: injected at ${formatDuration(fault.startedMs)}, ${healed}${recovered}`];
  if (event) lines.push(event.detail);
  return [...lines, ...fault.notes].join('\n');
}

// ─── leaders ───────────────────────────────────────────────────────────────────

export interface LeaderSpan {
  leader: string;
  term: number;
  fromMs: number;
  toMs: number;
}

export interface LeaderChange {
  atMs: number;
  leader: string;
  term: number;
}

/**
 * Leader samples as spans: each sample holds until the next one (the last until `endMs`);
 * consecutive samples of one (leader, term) make one span, a sample with no leader ends it. A
 * change is an agreed (leader, term) other than the last one agreed before it — a new leader, or
 * the same one elected again in a new term; the first leader of the run is not a change.
 */
export function leaderSpans(samples: readonly LeaderSample[], endMs: number): { spans: LeaderSpan[]; changes: LeaderChange[] } {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs);
  const spans: LeaderSpan[] = [];
  const changes: LeaderChange[] = [];
  let open: LeaderSpan | null = null;
  let lastAgreed: { leader: string; term: number } | null = null;
  sorted.forEach((sample, i) => {
    const toMs = Math.max(sorted[i + 1]?.atMs ?? endMs, sample.atMs);
    if (sample.leader === null) {
      open = null;
      return;
    }
    if (open && open.leader === sample.leader && open.term === sample.term) {
      open.toMs = toMs;
      return;
    }
    if (lastAgreed && (lastAgreed.leader !== sample.leader || lastAgreed.term !== sample.term)) {
      changes.push({ atMs: sample.atMs, leader: sample.leader, term: sample.term });
    }
    open = { leader: sample.leader, term: sample.term, fromMs: sample.atMs, toMs };
    spans.push(open);
    lastAgreed = { leader: sample.leader, term: sample.term };
  });
  return { spans, changes };
}

function leaderColours(spans: readonly LeaderSpan[]): Map<string, string> {
  const colours = new Map<string, string>();
  for (const span of spans) if (!colours.has(span.leader)) colours.set(span.leader, LEADER_COLOURS[colours.size % LEADER_COLOURS.length]);
  return colours;
}

function drawLeaderStrip(top: number, leadership: { spans: LeaderSpan[]; changes: LeaderChange[] }, colours: Map<string, string>, axis: TimeAxis): string {
  const out = [
    text(MARGIN_LEFT - 8, top + 12, 'leader', 'text-anchor="end"'),
    `<rect x="${MARGIN_LEFT}" y="${num(top)}" width="${PLOT_WIDTH}" height="${LEADER_STRIP_HEIGHT}" fill="none" stroke="#cccccc"/>`,
  ];
  for (const span of leadership.spans) {
    const x0 = axis.x(span.fromMs);
    const width = Math.max(axis.x(span.toMs) - x0, 1);
    const title = `${span.leader}, term ${span.term}: ${formatDuration(span.fromMs)} to ${formatDuration(span.toMs)}`;
    out.push(
      `<rect class="leader-span" x="${num(x0)}" y="${num(top)}" width="${num(width)}" height="${LEADER_STRIP_HEIGHT}" fill="${colours.get(span.leader)}"><title>${escapeXml(title)}</title></rect>`,
    );
    if (width >= span.leader.length * CHAR_WIDTH + 8) out.push(text(x0 + 4, top + 12, span.leader, 'fill="#ffffff"'));
  }
  for (const change of leadership.changes) {
    const x = axis.x(change.atMs);
    out.push(
      [
        '<g class="leader-change">',
        `<title>${escapeXml(`${formatDuration(change.atMs)}: ${change.leader} leads, term ${change.term}`)}</title>`,
        line(x, top - 2, x, top + LEADER_STRIP_HEIGHT + 2, '#000000'),
        `<path d="M${num(x - 4)} ${num(top - 8)} L${num(x + 4)} ${num(top - 8)} L${num(x)} ${num(top - 2)} Z" fill="#000000"/>`,
        '</g>',
      ].join('\n'),
    );
  }
  return `<g class="leaders">\n${out.join('\n')}\n</g>`;
}

// ─── throughput ────────────────────────────────────────────────────────────────

export interface SecondRate {
  /** The second [second, second + 1) after the workload started. */
  second: number;
  count: number;
}

/**
 * How many a cumulative counter grew in each whole second the samples span, interpolating it
 * linearly between samples. Seconds before the first sample or after the last are left out (not
 * known), as is a decrease (counted as 0).
 */
export function ratesPerSecond(samples: readonly ThroughputSample[], counter: (s: ThroughputSample) => number): SecondRate[] {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs);
  if (sorted.length < 2) return [];
  const valueAt = (ms: number): number => {
    const after = sorted.findIndex((s) => s.atMs >= ms);
    const b = sorted[after];
    const a = sorted[after - 1];
    if (!a || b.atMs === ms) return counter(b);
    return counter(a) + ((counter(b) - counter(a)) * (ms - a.atMs)) / (b.atMs - a.atMs);
  };
  const rates: SecondRate[] = [];
  const last = sorted.at(-1)!.atMs;
  for (let second = Math.ceil(sorted[0].atMs / 1000); (second + 1) * 1000 <= last; second++) {
    rates.push({ second, count: Math.max(0, valueAt((second + 1) * 1000) - valueAt(second * 1000)) });
  }
  return rates;
}

function drawThroughput(top: number, samples: readonly ThroughputSample[], axis: TimeAxis): string {
  const runs = ratesPerSecond(samples, (s) => s.runsCompleted);
  const webhooks = ratesPerSecond(samples, (s) => s.webhooksAccepted);
  const bottom = top + CHART_HEIGHT;
  const out = [
    text(MARGIN_LEFT - 44, top + CHART_HEIGHT / 2, 'per second', 'text-anchor="end"'),
    line(MARGIN_LEFT, top, MARGIN_LEFT, bottom, '#333333'),
  ];
  if (runs.length === 0) {
    out.push(text(MARGIN_LEFT + 8, top + CHART_HEIGHT / 2, 'not enough throughput samples', 'fill="#888888"'));
    return `<g class="throughput">\n${out.join('\n')}\n</g>`;
  }
  const maxRate = niceCeiling(Math.max(...runs.map((r) => r.count), ...webhooks.map((r) => r.count), 1));
  const y = (count: number) => bottom - (Math.min(count, maxRate) / maxRate) * (CHART_HEIGHT - 20);
  for (const tick of [0, maxRate / 2, maxRate]) {
    out.push(line(MARGIN_LEFT - 4, y(tick), MARGIN_LEFT, y(tick), '#333333'), text(MARGIN_LEFT - 8, y(tick) + 4, formatCount(tick), 'text-anchor="end"'));
  }
  out.push(rateLine('webhooks-accepted', webhooks, WEBHOOKS_COLOUR, axis, y), rateLine('runs-completed', runs, RUNS_COLOUR, axis, y));
  out.push(
    line(MARGIN_LEFT + 8, top + 6, MARGIN_LEFT + 24, top + 6, RUNS_COLOUR, 'stroke-width="2"'),
    text(MARGIN_LEFT + 28, top + 10, 'runs completed'),
    line(MARGIN_LEFT + 140, top + 6, MARGIN_LEFT + 156, top + 6, WEBHOOKS_COLOUR, 'stroke-width="2"'),
    text(MARGIN_LEFT + 160, top + 10, 'webhooks accepted'),
  );
  return `<g class="throughput">\n${out.join('\n')}\n</g>`;
}

function rateLine(name: string, rates: readonly SecondRate[], colour: string, axis: TimeAxis, y: (count: number) => number): string {
  const points = rates.map((r) => `${num(axis.x(r.second * 1000 + 500))},${num(y(r.count))}`).join(' ');
  return `<polyline class="${name}" points="${points}" fill="none" stroke="${colour}" stroke-width="1.5"/>`;
}

/** 1, 2, 5 × a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((m) => m * power >= value) ?? 10) * power;
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

// ─── drawing ───────────────────────────────────────────────────────────────────

/** Text safe inside an element or a quoted attribute; characters XML 1.0 forbids become U+FFFD. */
export function escapeXml(value: string): string {
  return value
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${num(x)}" y="${num(y)}"${attributes ? ` ${attributes}` : ''}>${escapeXml(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, attributes = ''): string {
  return `<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${stroke}"${attributes ? ` ${attributes}` : ''}/>`;
}

function shorten(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function num(value: number): string {
  return String(Math.round(value * 10) / 10);
}
