/**
 * One seed, one scenario. The seed draws the network's noise levels and a schedule of fault
 * episodes over a fixed stretch of virtual time; then everything heals and the cluster must
 * converge within the bounds. The rates below are the documented ones (also in README.md).
 *
 * | what                         | value (drawn once per seed unless noted)                        |
 * |------------------------------|-----------------------------------------------------------------|
 * | tick / heartbeat / election  | 50 ms / 1 tick (50 ms) / 10 ticks, randomised in [500, 1000) ms  |
 * | one-way delay                | uniform in [1 ms, D], D drawn in [2, 20] ms                     |
 * | drop / duplicate / reorder   | per message, rates drawn in [0, 5 %] / [0, 2 %] / [0, 5 %]      |
 * |                              | (drop 0 in measured seeds)                                       |
 * | reorder                      | the message is held back an extra 1–4 × D                       |
 * | server driver                | ½ production RaftDriver (fsync in-line), ½ simulator loop       |
 * | fsync latency (loop only)    | uniform in [0.05, 2] ms; the node is blocked meanwhile          |
 * | log compaction               | every 40 applied entries, keeping 10 below the applied index    |
 * | client proposals             | Poisson, mean gap 150 ms, until healing                          |
 * | fault stretch                | from 1 s to 21 s of virtual time, then heal                      |
 * | mode                         | 70 % storm: episodes overlap freely, drops on                   |
 * |                              | 30 % measured: one episode at a time (2 s settle after each),   |
 * |                              | no drops; the term-growth bound is checked on these             |
 * | fault episodes               | Poisson arrivals, mean gap 1.5 s (≈ 13 per storm seed, ≈ 4–5    |
 * |                              | per measured seed)                                               |
 * | episode target               | the current leader with probability 1/2, else a random node     |
 * | episode kinds (weight %)     | see KINDS below                                                   |
 *
 * A seed also draws its features (features.ts): storage, disk faults, clocks, bandwidth, load,
 * reads, membership. Disk-fault and extra membership episodes come from the features' own
 * stream, so a seed's main schedule above is the same whichever features it has.
 *
 * Bounds after healing (election timeout E = 500 ms, the configured minimum): an agreed leader
 * within 10 E; every acknowledged proposal applied on every node within 20 E; and in measured
 * seeds, for each partition episode, the highest term grows by at most 2 between its start and
 * 2 s after its end (terms lost to plain split votes, where every campaigner could reach a
 * quorum, are not counted: they come from coinciding timeouts, not from the partition).
 */
import { DEFAULT_CHOICE, describeFeatures, drawFeatures, type FeatureChoice, type Features } from './features.js';
import type { NetworkParams } from './network.js';
import { SimRandom } from './random.js';

export type EpisodeKind =
  | 'isolate'
  | 'split'
  | 'one_way_out'
  | 'one_way_in'
  | 'one_way_link'
  | 'partial'
  | 'flap'
  | 'pause'
  | 'crash'
  | 'crash_many'
  | 'transfer'
  | 'membership'
  | 'grow'
  | 'shrink'
  | 'disk_flip'
  | 'disk_full'
  | 'disk_eio';

/** Kind, weight (% of episodes), duration bounds in ms. */
export const KINDS: readonly { kind: EpisodeKind; weight: number; min: number; max: number; partition: boolean }[] = [
  { kind: 'isolate', weight: 13, min: 200, max: 4000, partition: true },
  { kind: 'split', weight: 10, min: 200, max: 4000, partition: true },
  { kind: 'one_way_out', weight: 8, min: 200, max: 4000, partition: true },
  { kind: 'one_way_in', weight: 8, min: 200, max: 4000, partition: true },
  { kind: 'one_way_link', weight: 6, min: 200, max: 4000, partition: true },
  { kind: 'partial', weight: 10, min: 200, max: 4000, partition: true },
  { kind: 'flap', weight: 10, min: 1000, max: 5000, partition: true },
  { kind: 'pause', weight: 11, min: 100, max: 3000, partition: false },
  { kind: 'crash', weight: 12, min: 50, max: 3000, partition: false },
  { kind: 'crash_many', weight: 4, min: 100, max: 2000, partition: false },
  { kind: 'transfer', weight: 4, min: 0, max: 0, partition: false },
  { kind: 'membership', weight: 4, min: 3000, max: 8000, partition: false },
];

/** Share of seeds in 'measured' mode: one episode at a time, a network that drops nothing. */
export const MEASURED_SHARE = 0.3;

export type ScenarioMode = 'storm' | 'measured';

export interface Episode {
  kind: EpisodeKind;
  start: number;
  duration: number;
  /** The current leader when the episode starts, or a fixed node. */
  target: 'leader' | number;
  /** Other nodes named by offset from the target (1..n-1), so they never equal it. */
  offsets: number[];
  /** flap only: the down and up phase lengths in ms. */
  phases?: number[];
  partition: boolean;
}

export interface ScenarioConfig {
  nodes: 3 | 5;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  faultStart: number;
  healAt: number;
  proposalGap: number;
  episodeGap: number;
  leaderBound: number;
  appliedBound: number;
  settle: number;
  maxTermGrowth: number;
}

export interface Scenario {
  seed: number;
  mode: ScenarioMode;
  /** How each server drives the core: see ClusterOptions.host. */
  host: 'loop' | 'driver';
  config: ScenarioConfig;
  network: NetworkParams;
  minSync: number;
  maxSync: number;
  compactEvery: number;
  compactKeep: number;
  episodes: Episode[];
  features: Features;
}

/** Disk-fault episodes: what each does to the one server whose disk fails, and for how long. */
const DISK_KINDS: readonly { kind: EpisodeKind; min: number; max: number }[] = [
  // A bit rots, and the server restarts after `duration` (reading its log finds it, or not).
  { kind: 'disk_flip', min: 200, max: 3000 },
  // The disk is full for `duration`: the next write fails after writing part of its bytes.
  { kind: 'disk_full', min: 500, max: 4000 },
  // The next fsync within `duration` fails.
  { kind: 'disk_eio', min: 500, max: 4000 },
];

/** Extra membership episodes: grow by one server, shrink by one (not below 3 voters), replace one. */
const MEMBERSHIP_KINDS: readonly EpisodeKind[] = ['grow', 'shrink', 'membership'];

export function defaultConfig(nodes: 3 | 5): ScenarioConfig {
  const tickMs = 50;
  const electionTick = 10;
  const election = tickMs * electionTick;
  return {
    nodes,
    tickMs,
    electionTick,
    heartbeatTick: 1,
    faultStart: 1000,
    healAt: 21_000,
    proposalGap: 150,
    episodeGap: 1500,
    leaderBound: 10 * election,
    appliedBound: 20 * election,
    settle: 2000,
    maxTermGrowth: 2,
  };
}

/** Draw the whole scenario from the seed (nothing here depends on how the run goes). */
export function drawScenario(seed: number, config: ScenarioConfig, choice: FeatureChoice = DEFAULT_CHOICE): Scenario {
  const rng = new SimRandom(seed).fork('scenario');
  const maxDelay = rng.between(2, 20);
  // Measured seeds play one episode at a time on a network that loses nothing: there the
  // term-growth bound is checked per episode. (A lost vote can legitimately cost an election
  // round, and overlapping faults cannot be told apart, so storm seeds only check safety.)
  const mode: ScenarioMode = rng.chance(MEASURED_SHARE) ? 'measured' : 'storm';
  // Half the seeds run the production RaftDriver, half the simulator's loop with fsync latency.
  const host: 'loop' | 'driver' = rng.chance(0.5) ? 'driver' : 'loop';
  const drop = rng.between(0, 0.05);
  const network: NetworkParams = {
    minDelay: 1,
    maxDelay,
    drop: mode === 'storm' ? drop : 0,
    duplicate: rng.between(0, 0.02),
    reorder: rng.between(0, 0.05),
  };
  const features = drawFeatures(seed, choice);
  network.bandwidth = features.bandwidth;
  const episodes: Episode[] = [];
  let t = config.faultStart + rng.exponential(config.episodeGap);
  while (t < config.healAt) {
    const ep = drawEpisode(rng, t, config);
    episodes.push(ep);
    // Storm: arrivals overlap freely. Measured: the next waits until this one has settled.
    const after = mode === 'measured' ? ep.duration + config.settle : 0;
    t += after + rng.exponential(config.episodeGap);
  }
  episodes.push(...drawFeatureEpisodes(seed, config, features));
  episodes.sort((a, b) => a.start - b.start);
  return { seed, mode, host, config, network, minSync: 0.05, maxSync: 2, compactEvery: 40, compactKeep: 10, episodes, features };
}

/**
 * Disk faults hit one server only (its `target`), so a quorum of healthy servers remains
 * whatever it does; extra membership episodes come at random points of the fault stretch.
 */
function drawFeatureEpisodes(seed: number, config: ScenarioConfig, f: Features): Episode[] {
  const rng = new SimRandom(seed).fork('feature episodes');
  const out: Episode[] = [];
  const last = config.healAt - 2000;
  const victim = rng.int(1, config.nodes);
  const disk = rng.int(1, 2);
  for (let i = 0; i < disk; i++) {
    const spec = rng.pick(DISK_KINDS);
    const start = rng.between(config.faultStart, last);
    const duration = Math.min(rng.between(spec.min, spec.max), config.healAt - start);
    if (f.diskFaults) out.push({ kind: spec.kind, start, duration, target: victim, offsets: [], partition: false });
  }
  const moves = rng.int(1, 3);
  for (let i = 0; i < moves; i++) {
    const kind = rng.pick(MEMBERSHIP_KINDS);
    const start = rng.between(config.faultStart, last);
    const duration = Math.min(rng.between(3000, 8000), config.healAt - start);
    const pick = rng.int(0, config.nodes - 1);
    if (f.membership) out.push({ kind, start, duration, target: 'leader', offsets: [pick], partition: false });
  }
  return out;
}

function drawEpisode(rng: SimRandom, start: number, config: ScenarioConfig): Episode {
  const total = KINDS.reduce((s, k) => s + k.weight, 0);
  let roll = rng.next() * total;
  let spec = KINDS[KINDS.length - 1];
  for (const k of KINDS) {
    roll -= k.weight;
    if (roll < 0) {
      spec = k;
      break;
    }
  }
  const n = config.nodes;
  const duration = Math.min(rng.between(spec.min, spec.max), config.healAt - start);
  const target: 'leader' | number = rng.chance(0.5) ? 'leader' : rng.int(1, n);
  const offsets = drawOffsets(rng, spec.kind, n);
  const ep: Episode = { kind: spec.kind, start, duration, target, offsets, partition: spec.partition };
  if (spec.kind === 'flap') {
    const phases: number[] = [];
    let left = duration;
    while (left > 0) {
      const p = Math.min(rng.between(50, 600), left);
      phases.push(p);
      left -= p;
    }
    ep.phases = phases;
  }
  return ep;
}

/** Which other nodes an episode involves, as distinct offsets from the target. */
function drawOffsets(rng: SimRandom, kind: EpisodeKind, n: number): number[] {
  const all = Array.from({ length: n - 1 }, (_, i) => i + 1);
  shuffle(rng, all);
  switch (kind) {
    case 'one_way_link':
    case 'partial':
    case 'flap':
    case 'transfer':
      return all.slice(0, 1);
    case 'split':
      // The target's side is a minority: itself plus ⌊(n-1)/2⌋ - 1 others.
      return all.slice(0, Math.floor((n - 1) / 2) - 1);
    case 'crash_many':
      // A majority goes down together: the target plus ⌊n/2⌋ others.
      return all.slice(0, Math.floor(n / 2));
    case 'membership':
      // Which voter to remove, as an index into the voters at that moment.
      return [rng.int(0, n - 1)];
    default:
      return [];
  }
}

function shuffle<T>(rng: SimRandom, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
}

/** The schedule as a person reads it. */
export function describeScenario(s: Scenario): string {
  const c = s.config;
  const net = s.network;
  const lines = [
    `seed ${s.seed}: ${c.nodes} nodes, ${s.mode} mode, ${s.host === 'driver' ? 'RaftDriver' : 'simulator loop with fsync latency'}, heal at ${secs(c.healAt)}`,
    `network: delay 1–${net.maxDelay.toFixed(1)} ms, drop ${pct(net.drop)}, duplicate ${pct(net.duplicate)}, reorder ${pct(net.reorder)}`,
    `features: ${describeFeatures(s.features)}`,
    `faults (${s.episodes.length}):`,
  ];
  for (const e of s.episodes) lines.push(`  ${secs(e.start).padStart(8)}  ${describeEpisode(e, c.nodes)}`);
  lines.push(`  ('the leader+k' is the k-th node after whichever node leads when the fault starts)`);
  return lines.join('\n');
}

export function describeEpisode(e: Episode, nodes: number): string {
  const who = e.target === 'leader' ? 'the leader' : `node ${e.target}`;
  const name = (o: number): string =>
    e.target === 'leader' ? `the leader+${o}` : `node ${((e.target - 1 + o) % nodes) + 1}`;
  const others = e.offsets.map(name).join(', ');
  const d = `for ${secs(e.duration)}`;
  switch (e.kind) {
    case 'isolate':
      return `isolate ${who} both ways ${d}`;
    case 'split':
      return `split {${[who, ...e.offsets.map(name)].join(', ')}} from the rest ${d}`;
    case 'one_way_out':
      return `${who} cannot send to anyone (still hears) ${d}`;
    case 'one_way_in':
      return `${who} cannot hear anyone (still sends) ${d}`;
    case 'one_way_link':
      return `link ${who} -> ${others} cut one way ${d}`;
    case 'partial':
      return `cut ${who} <-> ${others} (both still see the rest) ${d}`;
    case 'flap':
      return `flap ${who} <-> ${others} in ${e.phases?.length ?? 0} phases ${d}`;
    case 'pause':
      return `pause ${who} (stall) ${d}`;
    case 'crash':
      return `crash ${who}, restart after ${secs(e.duration)}`;
    case 'crash_many':
      return `crash ${[who, ...e.offsets.map(name)].join(', ')} together, restart after ${secs(e.duration)}`;
    case 'transfer':
      return `${who} hands leadership to ${others} (if it leads)`;
    case 'membership':
      return `replace a voter: add the next id as learner, promote it, remove voter #${(e.offsets[0] ?? 0) + 1} (trying ${d})`;
    case 'grow':
      return `grow: add the next id as learner, then promote it (trying ${d})`;
    case 'shrink':
      return `shrink: remove voter #${(e.offsets[0] ?? 0) + 1} unless only 3 are left (trying ${d})`;
    case 'disk_flip':
      return `flip a bit on ${who}'s disk, restart it after ${secs(e.duration)}`;
    case 'disk_full':
      return `${who}'s disk is full ${d}`;
    case 'disk_eio':
      return `${who}'s next fsync fails (within ${secs(e.duration)})`;
  }
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

function pct(p: number): string {
  return `${(p * 100).toFixed(2)}%`;
}
