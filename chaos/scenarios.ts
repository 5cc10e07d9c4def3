/**
 * The named scenarios of `npm run chaos`, and the fault schedule a seed draws for one. A schedule
 * is a pure function of (scenario, seed, duration, topology): printed before the run, it replays
 * the same faults in the same order against the same targets (real processes still vary in timing,
 * so what the faults meet may differ).
 */
import { SeededRandom, type Random } from '../src/clock/index.js';
import { FAULT_KINDS, type FaultEvent, type FaultKind, type Topology } from './campaign.js';

export interface Scenario {
  name: string;
  description: string;
  kinds: readonly FaultKind[];
  /** A regression: the seed and duration that found a bug, replayed as they were whatever the options say. */
  fixed?: { seed: number; durationMs: number };
}

/** Faults that need an edge worker, or two coordinators; a topology without leaves them out. */
const NEEDS_WORKER: ReadonlySet<FaultKind> = new Set(['freeze-worker']);
const NEEDS_PEERS: ReadonlySet<FaultKind> = new Set(['partition-leader', 'one-way-partition', 'flapping-link', 'delay', 'bandwidth', 'half-open-peer']);

const GROUPS: Scenario[] = [
  { name: 'crash', description: 'processes die: a node, the leader again and again, an agent mid-job, PostgreSQL', kinds: ['kill-node', 'kill-leader', 'kill-agent', 'restart-postgres'] },
  { name: 'pause', description: 'processes stop answering and come back: a node past the election timeout, an edge worker, a node on a skewed clock', kinds: ['pause-node', 'freeze-worker', 'clock-skew'] },
  { name: 'network', description: 'links fail: the leader partitioned, one-way cuts, a flapping link, delay with jitter, a bandwidth cap, half-open peer and agent links', kinds: ['partition-leader', 'one-way-partition', 'flapping-link', 'delay', 'bandwidth', 'half-open-peer', 'half-open'] },
  { name: 'webhooks', description: 'the sender misbehaves: deliveries sent again, duplicated and out of order', kinds: ['redeliver'] },
  { name: 'mixed', description: 'every fault of the vocabulary, drawn at random', kinds: FAULT_KINDS },
  { name: 'starved', description: 'a node that gets the CPU only now and then, as on an overloaded machine', kinds: ['starve-node', 'kill-agent', 'redeliver'] },
];

/**
 * Every bug the harness found, as the schedule that found it: each runs in the `ci` profile so the
 * bug stays fixed. The name says what broke.
 */
const REGRESSIONS: Scenario[] = [
  {
    name: 'regression-postgres-restart-mid-query',
    description: 'PostgreSQL crashed twice under load: a pooled connection lost while checked out ended the node (unheard client error)',
    kinds: ['restart-postgres'],
    fixed: { seed: 5, durationMs: 12_000 },
  },
];

/** Every scenario by name: the groups above, one per fault kind, and the regressions. */
export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map(
  [...GROUPS, ...FAULT_KINDS.map((kind) => ({ name: kind, description: `only ${kind}`, kinds: [kind] })), ...REGRESSIONS].map((s) => [s.name, s]),
);

/** The regressions' names (`--scenario regressions` runs them all). */
export const REGRESSION_SCENARIOS = REGRESSIONS.map((s) => s.name);

/** `--scenario all`: the groups, each on a cluster of its own. */
export const ALL_SCENARIOS = ['crash', 'pause', 'network', 'webhooks', 'starved', 'mixed'];

/** What a profile runs: scenarios, and the duration and topology of each. */
export interface Profile {
  scenarios: string[];
  durationMs: number;
  topology: Topology;
  rate: number;
}

/** `--profile ci`: the core scenarios, sized to finish in under five minutes on two cores. */
export const PROFILES: Readonly<Record<string, Profile>> = {
  ci: { scenarios: ['crash', 'network', 'pause', ...REGRESSION_SCENARIOS], durationMs: 30_000, topology: { nodes: 3, workers: 1, agents: 4 }, rate: 2 },
};

/** Hold ranges per kind, ms: long enough to matter (past the 0.5–1 s election timeout), short enough to fit. */
const HOLD_MS: Record<FaultKind, [number, number]> = {
  'kill-node': [1000, 3000],
  'kill-leader': [500, 2000],
  'pause-node': [1500, 3500],
  'partition-leader': [2000, 4000],
  'one-way-partition': [2000, 4000],
  'flapping-link': [3000, 5000],
  delay: [3000, 5000],
  bandwidth: [3000, 5000],
  'half-open': [3000, 6000],
  'restart-postgres': [500, 2000],
  'kill-agent': [1000, 3000],
  redeliver: [0, 0],
  'clock-skew': [5000, 8000],
  'freeze-worker': [2000, 4000],
  'starve-node': [5000, 10_000],
  'half-open-peer': [2000, 4000],
};

/** The clock-skew fault's offset: more than the Raft timings, less than anything a run waits out. */
const SKEW_MS = 3000;

/** Time the schedule allows for recovery after a fault before the next one is due. */
const SETTLE_GAP_MS: [number, number] = [2000, 4000];
const FIRST_FAULT_MS = 3000;

/** The schedule `seed` draws for `scenario` over `durationMs` on `topology`. */
export function drawSchedule(scenario: Scenario, seed: number, durationMs: number, topology: Topology): FaultEvent[] {
  const random = new SeededRandom(seed);
  const kinds = scenario.kinds.filter((k) => (topology.workers > 0 || !NEEDS_WORKER.has(k)) && (topology.nodes > 1 || !NEEDS_PEERS.has(k)));
  const events: FaultEvent[] = [];
  let at = FIRST_FAULT_MS;
  // Kinds are dealt in shuffled rounds, so every kind of the scenario comes up before any repeats.
  let deck: FaultKind[] = [];
  while (kinds.length > 0) {
    if (deck.length === 0) deck = shuffle([...kinds], random);
    const kind = deck.pop()!;
    const [lo, hi] = HOLD_MS[kind];
    const holdMs = random.int(lo, hi);
    if (at + holdMs > durationMs) break;
    const target = drawTarget(kind, topology, random);
    const clockOffsetMs = kind === 'clock-skew' ? (random.next() < 0.5 ? -SKEW_MS : SKEW_MS) : undefined;
    events.push({ id: events.length + 1, atMs: at, kind, target, holdMs, detail: describe(kind, target, holdMs, clockOffsetMs), ...(clockOffsetMs !== undefined && { clockOffsetMs }) });
    at += holdMs + random.int(...SETTLE_GAP_MS);
  }
  return events;
}

/** A scenario's own seed, from the campaign's seed and the scenario's place in it. */
export function scenarioSeed(campaignSeed: number, index: number): number {
  return (campaignSeed + index * 7919) >>> 0;
}

function drawTarget(kind: FaultKind, t: Topology, random: Random): string {
  const node = () => `node-${random.int(1, t.nodes)}`;
  switch (kind) {
    case 'kill-leader':
    case 'partition-leader':
      // Who leads is known only when the fault strikes.
      return 'leader';
    case 'kill-node':
    case 'pause-node':
    case 'clock-skew':
    case 'starve-node':
      return node();
    case 'bandwidth':
    case 'half-open-peer':
      // A link is dialled by the lower node id (node-1 < node-2 < …), so node-1's cluster port
      // carries none until links are dialled again: a fault on it would touch nothing.
      return `node-${random.int(2, t.nodes)}`;
    case 'one-way-partition':
    case 'flapping-link': {
      const from = random.int(1, t.nodes);
      const to = ((from + random.int(0, t.nodes - 2)) % t.nodes) + 1;
      return `node-${from}→node-${to}`;
    }
    case 'half-open':
    case 'kill-agent':
      return `agent-${random.int(1, t.agents)}`;
    case 'freeze-worker':
      return `edge-${random.int(1, t.workers)}`;
    case 'delay':
      return 'peer links';
    case 'restart-postgres':
      return 'postgres';
    case 'redeliver':
      return 'webhooks';
  }
}

function describe(kind: FaultKind, target: string, holdMs: number, clockOffsetMs?: number): string {
  const hold = `${holdMs} ms`;
  switch (kind) {
    case 'kill-node':
      return `kill -9 ${target}, start it again after ${hold}`;
    case 'kill-leader':
      return `kill -9 whoever leads, start it again after ${hold}`;
    case 'pause-node':
      return `SIGSTOP ${target} for ${hold} (past the election timeout), then SIGCONT`;
    case 'partition-leader':
      return `cut whoever leads off from every other node, both ways, for ${hold}`;
    case 'one-way-partition':
      return `drop every frame ${target.replace('→', ' sends to ')} for ${hold} (the other way passes)`;
    case 'flapping-link':
      return `partition ${target.replace('→', ' and ')} on and off every few hundred ms for ${hold}`;
    case 'delay':
      return `delay every peer link's bytes by 20–120 ms (jitter, order kept) for ${hold}`;
    case 'bandwidth':
      return `cap ${target}'s incoming peer links at 16 KiB/s each way for ${hold}`;
    case 'half-open':
      return `freeze ${target}'s link half-open (nothing passes, nobody is told) for ${hold}`;
    case 'half-open-peer':
      return `freeze the peer links dialled to ${target} half-open (nothing passes either way, no close, new ones hang too) for ${hold}`;
    case 'restart-postgres':
      return `crash PostgreSQL (immediate stop), start it again after ${hold}`;
    case 'kill-agent':
      return `kill -9 ${target} and its steps, start it again after ${hold}`;
    case 'redeliver':
      return 'send 20 accepted deliveries again, shuffled, to random nodes';
    case 'clock-skew':
      return `restart ${target} with its clock ${Math.abs(clockOffsetMs ?? SKEW_MS) / 1000} s ${(clockOffsetMs ?? SKEW_MS) < 0 ? 'behind' : 'ahead'}, for ${hold}, then restart it with the right time`;
    case 'freeze-worker':
      return `SIGSTOP ${target} for ${hold}, then SIGCONT`;
    case 'starve-node':
      return `starve ${target} for ${hold}: stopped 200–1200 ms at a time with 100–300 ms to run between`;
  }
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
