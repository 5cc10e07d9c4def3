import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CampaignReport, LeaderSample, ScenarioReport, ThroughputSample } from '../../../chaos/campaign.js';
import { formatCampaign, formatDuration, replayCommand } from '../../../chaos/campaign-summary.js';
import { invariantReport, notExercised } from '../../../chaos/report.js';
import { writeCampaign } from '../../../chaos/report-files.js';
import { leaderSpans, ratesPerSecond, timelineFileName, timelineSvg } from '../../../chaos/timeline.js';

// ─── a campaign, by hand ───────────────────────────────────────────────────────

/** Cumulative samples every second: `perSecond[i]` runs completed (and twice as many webhooks accepted) in second i. */
function throughput(perSecond: number[]): ThroughputSample[] {
  let runs = 0;
  const samples: ThroughputSample[] = [{ atMs: 0, webhooksAccepted: 0, runsCompleted: 0 }];
  perSecond.forEach((count, i) => {
    runs += count;
    samples.push({ atMs: (i + 1) * 1000, webhooksAccepted: runs * 2, runsCompleted: runs });
  });
  return samples;
}

function leaders(...samples: [number, string | null, number][]): LeaderSample[] {
  return samples.map(([atMs, leader, term]) => ({ atMs, leader, term }));
}

/** Passed: three faults on two targets (one named `a<b&c`), all recovered; 3 leader changes (one a re-election). */
const leaderKill: ScenarioReport = {
  scenario: 'leader-kill',
  seed: 101,
  durationMs: 40_000,
  settleMs: 10_000,
  topology: { nodes: 3, workers: 2, agents: 4 },
  rate: 2,
  schedule: [
    { id: 1, atMs: 5000, kind: 'kill-leader', target: 'node-1', holdMs: 0, detail: 'SIGKILL the leader node-1, restart at once' },
    { id: 2, atMs: 12_000, kind: 'pause-node', target: 'a<b&c', holdMs: 1500, detail: 'SIGSTOP a<b&c for 1500 ms' },
    { id: 3, atMs: 30_000, kind: 'kill-node', target: 'node-1', holdMs: 0, detail: 'SIGKILL node-1' },
  ],
  faults: [
    { id: 1, kind: 'kill-leader', target: 'node-1', startedMs: 5000, healedMs: 5000, recoveredMs: 6200, recoveryMs: 1200, notes: ['leader was node-1 (term 1)'] },
    { id: 2, kind: 'pause-node', target: 'a<b&c', startedMs: 12_000, healedMs: 13_500, recoveredMs: 13_800, recoveryMs: 300, notes: [] },
    { id: 3, kind: 'kill-node', target: 'node-1', startedMs: 30_000, healedMs: 30_000, recoveredMs: 30_800, recoveryMs: 800, notes: [] },
  ],
  figures: {
    webhooksSent: 120,
    webhooksAccepted: 117,
    webhooksRefused: 3,
    redeliveries: 5,
    runsCreated: 117,
    runsCompleted: 117,
    jobsRun: 234,
    leaderChanges: 3,
    orphansReclaimed: 2,
    recovery: { p50Ms: 800, maxMs: 1200, count: 3 },
    harnessLag: { p99Ms: 12, maxMs: 40 },
    reviews: { plans: { approve: 60, reject: 17, expire: 12, race: 22 }, hurried: 3, answers: { '200': 95, '404': 4, 'no answer': 2 } },
  },
  throughput: throughput([0, 2, 4, 3, 3, 0, 1, 5]),
  leaders: leaders([0, 'node-1', 1], [5000, null, 1], [6000, 'node-2', 2], [20_000, 'node-2', 3], [25_000, 'node-3', 4], [49_000, 'node-3', 4]),
  invariants: [invariantReport(1, [], ['checked 117 deliveries']), invariantReport(3, [], []), notExercised(4, 'no environment has a concurrency limit')],
  verdict: 'passed',
};

/** Failed: a fault healed but never recovered, one never healed, one never ran; invariant 3 broken. */
const partitions: ScenarioReport = {
  scenario: 'partitions',
  seed: 202,
  durationMs: 20_000,
  settleMs: 5000,
  topology: { nodes: 5, workers: 1, agents: 2 },
  rate: 3,
  schedule: [
    { id: 1, atMs: 3000, kind: 'partition-leader', target: 'node-1→node-3', holdMs: 4000, detail: 'cut node-1 off from node-3' },
    { id: 2, atMs: 9000, kind: 'kill-agent', target: 'agent-2', holdMs: 2000, detail: 'SIGKILL agent-2' },
    { id: 3, atMs: 18_000, kind: 'delay', target: 'cluster', holdMs: 1000, detail: '200 ms on every link' },
  ],
  faults: [
    { id: 1, kind: 'partition-leader', target: 'node-1→node-3', startedMs: 3000, healedMs: 7000, recoveredMs: null, recoveryMs: null, notes: [] },
    { id: 2, kind: 'kill-agent', target: 'agent-2', startedMs: 9000, healedMs: null, recoveredMs: null, recoveryMs: null, notes: ['agent-2 would not restart'] },
  ],
  figures: {
    webhooksSent: 40,
    webhooksAccepted: 38,
    webhooksRefused: 2,
    redeliveries: 0,
    runsCreated: 38,
    runsCompleted: 30,
    jobsRun: 61,
    leaderChanges: 1,
    orphansReclaimed: 0,
    recovery: null,
    harnessLag: { p99Ms: 3, maxMs: 9 },
  },
  throughput: throughput([1, 1, 2]),
  leaders: leaders([0, 'node-1', 1], [4000, 'node-4', 2]),
  invariants: [
    invariantReport(3, ['run r-1 job j-1 "build": attempt 1 ran step 0 2 times'], []),
    notExercised(4, 'no environment has a concurrency limit'),
  ],
  verdict: 'failed',
  dataDir: '/tmp/chaos/partitions-202',
};

const campaign: CampaignReport = {
  version: 1,
  startedAt: '2026-03-01T12:00:00.000Z',
  seed: 7,
  profile: 'smoke',
  scenarios: [leaderKill, partitions],
  passed: false,
};

// ─── a small XML reader, to hold the SVG to well-formedness ─────────────────────

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, entities decoded. */
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
const TOKEN =
  /<!--[\s\S]*?-->|<\?xml[^?]*\?>|<\/([A-Za-z_][\w.:-]*)\s*>|<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/y;
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function decode(raw: string, where: string): string {
  if (raw.replace(ENTITY, '').includes('&')) throw new Error(`bare & in ${where}: ${raw}`);
  return raw.replace(ENTITY, (e) =>
    e === '&amp;' ? '&' : e === '&lt;' ? '<' : e === '&gt;' ? '>' : e === '&quot;' ? '"' : e === '&apos;' ? "'" : String.fromCodePoint(Number(e.slice(2, -1).replace(/^x/, '0x'))),
  );
}

/** One root element, every tag closed in order, attributes quoted and unique, `&` only in entities. */
function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) throw new Error(`not XML at ${at}: ${source.slice(at, at + 60)}`);
    const [token, closing, opening, attributeText, selfClosing, text] = match;
    if (text !== undefined) {
      const decoded = decode(text, `text at ${at}`);
      if (stack.length === 0 && decoded.trim() !== '') throw new Error(`text outside the root at ${at}`);
      if (stack.length) stack.at(-1)!.text += decoded;
    } else if (opening) {
      const attributes: Record<string, string> = {};
      for (const [, name, double, single] of attributeText.matchAll(ATTRIBUTE)) {
        if (name in attributes) throw new Error(`attribute ${name} twice in <${opening}> at ${at}`);
        attributes[name] = decode(double ?? single, `attribute ${name} at ${at}`);
      }
      const element: XmlElement = { name: opening, attributes, children: [], text: '' };
      if (stack.length) stack.at(-1)!.children.push(element);
      else if (root) throw new Error(`a second root <${opening}> at ${at}`);
      else root = element;
      if (!selfClosing) stack.push(element);
    } else if (closing) {
      const open = stack.pop();
      if (open?.name !== closing) throw new Error(`</${closing}> at ${at} closes <${open?.name ?? 'nothing'}>`);
    } else if (!token.startsWith('<!--') && !(token.startsWith('<?xml') && at === 0)) {
      throw new Error(`unexpected ${token} at ${at}`);
    }
  }
  if (stack.length) throw new Error(`<${stack.at(-1)!.name}> never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

function all(element: XmlElement): XmlElement[] {
  return [element, ...element.children.flatMap(all)];
}

function withClass(root: XmlElement, name: string): XmlElement[] {
  return all(root).filter((e) => (e.attributes.class ?? '').split(' ').includes(name));
}

function titleOf(element: XmlElement): string {
  return element.children.find((c) => c.name === 'title')?.text ?? '';
}

function faultGroup(root: XmlElement, id: number): XmlElement {
  const group = all(root).find((e) => e.attributes['data-fault'] === String(id));
  if (!group) throw new Error(`no fault ${id}`);
  return group;
}

function band(root: XmlElement, id: number): { x: number; y: number; width: number; fill: string } {
  const rect = faultGroup(root, id).children.find((c) => c.attributes.class === 'fault-band');
  if (!rect) throw new Error(`fault ${id} has no band`);
  const { x, y, width, fill } = rect.attributes;
  return { x: Number(x), y: Number(y), width: Number(width), fill };
}

describe('parseXml (the test\'s own reader)', () => {
  it('refuses what is not well-formed', () => {
    expect(() => parseXml('<svg><g></svg>')).toThrow(/closes <g>/);
    expect(() => parseXml('<svg><text>a<b</text></svg>')).toThrow(/not XML/);
    expect(() => parseXml('<svg><text>a&b</text></svg>')).toThrow(/bare &/);
    expect(() => parseXml('<svg a="1" a="2"/>')).toThrow(/twice/);
    expect(() => parseXml('<svg><g>')).toThrow(/never closed/);
    expect(parseXml('<svg><text>a&lt;b&amp;c</text></svg>').children[0].text).toBe('a<b&c');
  });
});

// ─── the summary ───────────────────────────────────────────────────────────────

describe('formatCampaign', () => {
  const summary = formatCampaign(campaign);
  const lines = summary.split('\n');

  it('heads each scenario with its name, seed, duration and topology', () => {
    expect(summary).toContain('=== scenario leader-kill (seed 101) ===');
    expect(summary).toContain('40.0 s with faults + 10.0 s settling');
    expect(summary).toContain('3 nodes, 2 workers, 4 agents');
    expect(summary).toContain('=== scenario partitions (seed 202) ===');
    expect(summary).toMatch(/^data kept in {2}\/tmp\/chaos\/partitions-202$/m);
  });

  it('lists every scheduled fault with what became of it', () => {
    expect(summary).toMatch(/^ +1 +5\.0 s +kill-leader +node-1 +0 ms +1\.2 s +SIGKILL the leader node-1, restart at once$/m);
    expect(summary).toMatch(/^ +2 +12\.0 s +pause-node +a<b&c +1\.5 s +300 ms +SIGSTOP a<b&c for 1500 ms$/m);
    expect(summary).toMatch(/^ +3 +30\.0 s +kill-node +node-1 +0 ms +800 ms +SIGKILL node-1$/m);
    expect(summary).toMatch(/^ +1 +3\.0 s +partition-leader +node-1→node-3 +4\.0 s +not recovered +cut node-1 off/m);
    expect(summary).toMatch(/^ +2 +9\.0 s +kill-agent +agent-2 +2\.0 s +not healed +SIGKILL agent-2$/m);
    expect(summary).toMatch(/^ +3 +18\.0 s +delay +cluster +1\.0 s +not run +200 ms on every link$/m);
    expect(summary).toContain('#1: leader was node-1 (term 1)');
    expect(summary).toContain('#2: agent-2 would not restart');
  });

  it('aligns the fault table in columns', () => {
    const header = lines.findIndex((l) => l.includes('partition-leader')) - 1;
    const [head, first, second, third] = lines.slice(header, header + 4);
    expect(head.indexOf('kind')).toBe(first.indexOf('partition-leader'));
    expect(head.indexOf('kind')).toBe(second.indexOf('kill-agent'));
    expect(head.indexOf('target')).toBe(third.indexOf('cluster'));
    expect(head.indexOf('detail')).toBe(first.indexOf('cut node-1'));
    // numbers right-aligned: the column ends where its header ends
    expect(head.indexOf('recovered in') + 'recovered in'.length).toBe(first.indexOf('not recovered') + 'not recovered'.length);
    expect(head.indexOf('recovered in') + 'recovered in'.length).toBe(third.indexOf('not run') + 'not run'.length);
  });

  it('gives the figures, recovery included', () => {
    expect(summary).toContain('120 sent, 117 accepted, 3 refused, 5 redeliveries');
    expect(summary).toContain('117 created, 117 completed');
    expect(summary).toMatch(/^ {2}jobs run +234$/m);
    expect(summary).toMatch(/^ {2}leader changes +3$/m);
    expect(summary).toMatch(/^ {2}orphans reclaimed +2$/m);
    expect(summary).toMatch(/^ {2}recovery +p50 800 ms, max 1\.2 s \(3 of the 3 faults that ran recovered\)$/m);
    expect(summary).toMatch(/^ {2}recovery +none of the 2 faults that ran recovered$/m);
    expect(summary).toMatch(/^ {2}holds reviewed +60 approve, 17 reject, 12 left to expire, 22 racing the expiry \(3 voted at once when the workload ended\); answers 200×95, 404×4, no answer×2$/m);
    // A scenario without a reviewer's record (older reports) has no such line.
    expect(summary.match(/holds reviewed/g)).toHaveLength(1);
  });

  it('prints the invariants through formatReport and a verdict per scenario', () => {
    expect(summary).toContain('  invariant 3: a job never runs on two agents at the same time, nor twice for one attempt: BROKEN');
    expect(summary).toContain('    ✗ run r-1 job j-1 "build": attempt 1 ran step 0 2 times');
    expect(summary).toContain('  invariant 4: an environment\'s concurrency limit is never exceeded, cluster-wide: NOT EXERCISED');
    expect(lines).toContain('verdict: PASSED (not exercised: 4)');
    expect(lines).toContain('verdict: FAILED (invariant 3 broken; not exercised: 4)');
  });

  it('ends with a line per scenario and the command that replays it', () => {
    expect(lines.at(-1)).toBe('');
    const tail = lines.slice(-4, -1);
    expect(tail[0]).toBe('=== campaign FAILED (1 of 2 scenarios failed) ===');
    expect(tail[1]).toBe(
      'PASSED  leader-kill  seed 101  replay: npm run chaos -- --scenario leader-kill --seed 101 --duration 40s --settle 10s --nodes 3 --workers 2 --agents 4 --rate 2',
    );
    expect(tail[2]).toBe(
      'FAILED  partitions   seed 202  replay: npm run chaos -- --scenario partitions --seed 202 --duration 20s --settle 5s --nodes 5 --workers 1 --agents 2 --rate 3',
    );
  });

  it('says so when the run itself failed and nothing was checked', () => {
    const crashed: ScenarioReport = { ...partitions, invariants: [], error: 'node-2 did not start' };
    const text = formatCampaign({ ...campaign, scenarios: [crashed], passed: false });
    expect(text).toContain('error: node-2 did not start');
    expect(text).toContain('invariants: not checked');
    expect(text).toContain('verdict: FAILED (the run failed (error above))');
    expect(text).not.toContain('no invariant broken');
  });

  it('prints a passing campaign, no colours', () => {
    const text = formatCampaign({ ...campaign, scenarios: [leaderKill], passed: true, profile: null });
    expect(text).toContain('seed 7 · profile none · 1 scenario\n');
    expect(text).toContain('=== campaign PASSED (1 of 1 scenarios passed) ===');
    expect(summary + text).not.toMatch(/\x1b\[/);
  });

  it('writes times as ms below a second and seconds with one decimal above', () => {
    expect([0, 999.4, 999.6, 1000, 12_345, 61_050].map(formatDuration)).toEqual(['0 ms', '999 ms', '1.0 s', '1.0 s', '12.3 s', '61.0 s']);
  });

  it('replays with what the schedule was drawn from, and quotes a name the shell would split', () => {
    const odd = { ...leaderKill, scenario: "it's odd", seed: 3, durationMs: 12_500, settleMs: 60_000 };
    expect(replayCommand(odd)).toBe(`npm run chaos -- --scenario 'it'\\''s odd' --seed 3 --duration 12500ms --settle 60s --nodes 3 --workers 2 --agents 4 --rate 2`);
  });
});

// ─── the timeline ──────────────────────────────────────────────────────────────

describe('timelineSvg', () => {
  const svg = timelineSvg(leaderKill);
  const root = parseXml(svg);

  it('is a well-formed, self-contained SVG about 1200 px wide', () => {
    expect(root.name).toBe('svg');
    expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(Number(root.attributes.width)).toBe(1200);
    expect(svg).not.toMatch(/<script|href=|url\(|@import|@font-face/);
    expect(() => parseXml(timelineSvg(partitions))).not.toThrow();
  });

  it('draws one band per fault, in a row per target, coloured by kind', () => {
    expect(withClass(root, 'fault-band')).toHaveLength(3);
    const [kill, pause, later] = [band(root, 1), band(root, 2), band(root, 3)];
    expect(kill.y).toBe(later.y); // both on node-1
    expect(pause.y).not.toBe(kill.y);
    expect(new Set([kill.fill, pause.fill, later.fill]).size).toBe(3); // three kinds
    // to scale: 1.5 s of pause against the 18 s between its start and fault 3's
    expect(kill.x).toBeLessThan(pause.x);
    expect(pause.width / (later.x - pause.x)).toBeCloseTo(1500 / 18_000, 2);
    expect(titleOf(faultGroup(root, 1))).toContain('#1 kill-leader node-1: injected at 5.0 s, healed at 5.0 s, recovered in 1.2 s');
  });

  it('continues each band thinner until recovery', () => {
    expect(withClass(root, 'fault-recovery')).toHaveLength(3);
    const pause = band(root, 2);
    const recovery = faultGroup(root, 2).children.find((c) => c.attributes.class === 'fault-recovery')!;
    expect(Number(recovery.attributes.x)).toBeCloseTo(pause.x + pause.width, 0);
    expect(Number(recovery.attributes.width) / pause.width).toBeCloseTo(300 / 1500, 1);
    expect(Number(recovery.attributes.height)).toBeLessThan(Number(faultGroup(root, 2).children.find((c) => c.attributes.class === 'fault-band')!.attributes.height));
  });

  it('shows faults never recovered, never healed and never run', () => {
    const failed = parseXml(timelineSvg(partitions));
    expect(withClass(failed, 'fault-band')).toHaveLength(2);
    expect(withClass(failed, 'fault-unrecovered')).toHaveLength(1);
    expect(withClass(failed, 'fault-unrun')).toHaveLength(1);
    expect(titleOf(faultGroup(failed, 2))).toContain('never healed');
    expect(titleOf(faultGroup(failed, 3))).toContain('never ran');
    // the band of a fault never healed runs to the end of the axis: as far right as the unrecovered line
    const unrecovered = withClass(failed, 'fault-unrecovered')[0];
    const neverHealed = band(failed, 2);
    expect(neverHealed.x + neverHealed.width).toBeCloseTo(Number(unrecovered.attributes.x2), 0);
  });

  it('escapes every text it prints', () => {
    expect(svg).not.toContain('a<b&c');
    expect(svg).toContain('a&lt;b&amp;c');
    const labels = all(root).filter((e) => e.name === 'text').map((e) => e.text);
    expect(labels).toContain('a<b&c');
    expect(titleOf(faultGroup(root, 2))).toContain('SIGSTOP a<b&c for 1500 ms');
    const hostile = parseXml(timelineSvg({ ...leaderKill, scenario: '"><script>&', leaders: leaders([0, '<n1>', 1], [1000, "n'2", 2]) }));
    expect(all(hostile).some((e) => e.name === 'script')).toBe(false);
    expect(all(hostile).map((e) => e.text)).toContain('leader <n1>');
  });

  it('marks every change of leader and leaves a gap where none was agreed', () => {
    const markers = withClass(root, 'leader-change');
    expect(markers).toHaveLength(3);
    expect(markers.map(titleOf)).toEqual(['6.0 s: node-2 leads, term 2', '20.0 s: node-2 leads, term 3', '25.0 s: node-3 leads, term 4']);
    const spans = withClass(root, 'leader-span').map((e) => ({ x: Number(e.attributes.x), width: Number(e.attributes.width), fill: e.attributes.fill }));
    expect(spans).toHaveLength(4);
    expect(spans[0].x + spans[0].width).toBeLessThan(spans[1].x); // 5 s to 6 s: no leader
    expect(spans[1].fill).toBe(spans[2].fill); // node-2 in both terms
    expect(spans[2].fill).not.toBe(spans[3].fill);
  });

  it('plots runs completed and webhooks accepted per second', () => {
    const runs = withClass(root, 'runs-completed')[0].attributes.points.split(' ');
    const webhooks = withClass(root, 'webhooks-accepted')[0].attributes.points.split(' ');
    expect(runs).toHaveLength(8);
    expect(webhooks).toHaveLength(8);
    const heights = runs.map((p) => Number(p.split(',')[1]));
    // y grows downwards: the busiest second (5 runs) highest, the idle ones (0) lowest
    expect(Math.min(...heights)).toBe(heights[7]);
    expect(heights[0]).toBe(heights[5]);
    expect(heights[2]).toBeLessThan(heights[3]);
  });

  it('gives a legend of the fault kinds used, and second ticks up to the end of settling', () => {
    const legend = withClass(root, 'legend')[0].children.filter((e) => e.name === 'text').map((e) => e.text);
    expect(legend).toEqual(['kill-node', 'kill-leader', 'pause-node', 'leader node-1', 'leader node-2', 'leader node-3']);
    const axis = withClass(root, 'time-axis')[0];
    expect(axis.children.filter((e) => e.name === 'line')).toHaveLength(1 + 51); // the axis, and a tick for 0 … 50 s
    expect(axis.children.filter((e) => e.name === 'text').at(-1)!.text).toBe('50 s');
  });

  it('draws an empty scenario', () => {
    const empty = parseXml(timelineSvg({ ...partitions, schedule: [], faults: [], throughput: [], leaders: [], durationMs: 0, settleMs: 0 }));
    expect(withClass(empty, 'fault-band')).toHaveLength(0);
    expect(all(empty).map((e) => e.text)).toEqual(expect.arrayContaining(['no faults', 'not enough throughput samples']));
  });

  it('names its file after the scenario and seed, safely', () => {
    expect(timelineFileName(leaderKill)).toBe('timeline-leader-kill-101.svg');
    expect(timelineFileName({ scenario: '../a b', seed: 9 })).toBe('timeline-.._a_b-9.svg');
  });
});

describe('ratesPerSecond', () => {
  const runs = (s: ThroughputSample) => s.runsCompleted;
  const sample = (atMs: number, runsCompleted: number): ThroughputSample => ({ atMs, runsCompleted, webhooksAccepted: 0 });

  it('turns cumulative samples into counts per whole second', () => {
    expect(ratesPerSecond([sample(0, 0), sample(1000, 3), sample(2000, 5)], runs)).toEqual([
      { second: 0, count: 3 },
      { second: 1, count: 2 },
    ]);
  });

  it('interpolates between samples off the second, and leaves out seconds not spanned', () => {
    expect(ratesPerSecond([sample(500, 0), sample(1500, 4), sample(2500, 8), sample(4500, 8)], runs)).toEqual([
      { second: 1, count: 4 },
      { second: 2, count: 2 },
      { second: 3, count: 0 },
    ]);
    expect(ratesPerSecond([sample(0, 5)], runs)).toEqual([]);
  });

  it('does not go below zero when a counter goes back', () => {
    expect(ratesPerSecond([sample(1000, 5), sample(0, 0), sample(2000, 4)], runs)).toEqual([
      { second: 0, count: 5 },
      { second: 1, count: 0 },
    ]);
  });
});

describe('leaderSpans', () => {
  it('merges samples of one leader and term, and counts a new leader or a new term as a change', () => {
    const { spans, changes } = leaderSpans(leaders([0, 'a', 1], [1000, 'a', 1], [2000, null, 1], [3000, 'a', 1], [4000, 'a', 2], [5000, 'b', 3]), 6000);
    expect(spans).toEqual([
      { leader: 'a', term: 1, fromMs: 0, toMs: 2000 },
      { leader: 'a', term: 1, fromMs: 3000, toMs: 4000 },
      { leader: 'a', term: 2, fromMs: 4000, toMs: 5000 },
      { leader: 'b', term: 3, fromMs: 5000, toMs: 6000 },
    ]);
    expect(changes).toEqual([
      { atMs: 4000, leader: 'a', term: 2 },
      { atMs: 5000, leader: 'b', term: 3 },
    ]);
  });
});

// ─── the files ─────────────────────────────────────────────────────────────────

describe('writeCampaign', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes report.json, summary.txt and a timeline per scenario into a directory it creates', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kici-campaign-'));
    const out = path.join(dir, 'runs', 'latest');
    const files = await writeCampaign(out, campaign);
    expect(files).toEqual({
      json: path.join(out, 'report.json'),
      summary: path.join(out, 'summary.txt'),
      timelines: [path.join(out, 'timeline-leader-kill-101.svg'), path.join(out, 'timeline-partitions-202.svg')],
    });
    expect(readdirSync(out).sort()).toEqual(['report.json', 'summary.txt', 'timeline-leader-kill-101.svg', 'timeline-partitions-202.svg']);
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(campaign);
    expect(readFileSync(files.json, 'utf8')).toContain('\n  "version": 1,\n');
    expect(readFileSync(files.summary, 'utf8')).toBe(formatCampaign(campaign));
    expect(readFileSync(files.timelines[1], 'utf8')).toBe(timelineSvg(partitions));
    for (const file of files.timelines) expect(() => parseXml(readFileSync(file, 'utf8'))).not.toThrow();
  });

  it('keeps apart two scenarios that would share a timeline file', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kici-campaign-'));
    const twice = { ...campaign, scenarios: [leaderKill, { ...leaderKill, verdict: 'failed' as const }] };
    const files = await writeCampaign(dir, twice);
    expect(files.timelines.map((f) => path.basename(f))).toEqual(['timeline-leader-kill-101.svg', 'timeline-leader-kill-101-2.svg']);
    expect(readFileSync(files.timelines[1], 'utf8')).toContain('leader-kill · seed 101 · failed');
  });
});
