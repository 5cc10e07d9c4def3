/**
 * One seed's scenario, drawn before anything runs: the nodes and when the joiners ask to join,
 * the agents, the runs (when their webhooks arrive, their jobs and needs), the network's faults
 * and the fault episodes (partitions, one-way cuts, crashes) until everything heals. The same
 * seed draws the same scenario, whatever happens while it runs.
 */
import type { SimRandom } from '../raft/index.js';
import type { NetworkParams } from './network.js';

export type EpisodeKind = 'isolate' | 'one-way' | 'pair' | 'crash';

export interface Episode {
  kind: EpisodeKind;
  /** Virtual ms since the start. */
  at: number;
  durationMs: number;
  /** The node it hits (isolate, crash), or the link's first end (one-way: from, pair: a). */
  node: string;
  /** The link's other end (one-way: to, pair: b). */
  other?: string;
}

export interface PlannedJob {
  /** Indexes of earlier jobs of the run it needs (to end in success). */
  needs: number[];
}

/** A workflow `concurrency` group (one workflow, one group string): at most `max` of its runs admitted at once. */
export interface PlannedGroup {
  group: string;
  max: number;
}

/** The groups a seed's grouped runs are drawn from. */
export const GROUPS: readonly PlannedGroup[] = [
  { group: 'deploy', max: 1 },
  { group: 'e2e', max: 2 },
];

export interface PlannedRun {
  id: string;
  /** When its webhook arrives, virtual ms since the start. */
  at: number;
  jobs: PlannedJob[];
  /** The workflow `concurrency` its run record carries (cancel-in-progress off), when it has one. */
  concurrency?: PlannedGroup;
}

export interface PlannedAgent {
  id: string;
  node: string;
  capacity: number;
}

export interface ClusterScenario {
  seed: number;
  /** n1 founds the cluster; the others join. */
  nodes: { id: string; raftId: number; joinAt: number }[];
  agents: PlannedAgent[];
  runs: PlannedRun[];
  network: NetworkParams;
  episodes: Episode[];
  /** Every fault heals here (virtual ms since the start). */
  healAt: number;
  /** How long a job runs on its agent. */
  jobMs: readonly [number, number];
  failShare: number;
}

export interface ScenarioShape {
  nodes: number;
  /** The network's mode (see network.ts): `ordered` links as the peer links give, or `lossy` frames. */
  network: 'ordered' | 'lossy';
  runs: readonly [number, number];
  /** Webhooks arrive in [first, last] virtual ms. */
  arrivals: readonly [number, number];
  healAt: number;
  faults: boolean;
  /** The share of runs whose workflow has a `concurrency` group, drawn from GROUPS. */
  groupedShare: number;
}

export const DEFAULT_SHAPE: ScenarioShape = { nodes: 3, network: 'ordered', runs: [8, 12], arrivals: [300, 8_000], healAt: 10_000, faults: true, groupedShare: 0.4 };

/** Episode kinds by weight. */
const KINDS: readonly [EpisodeKind, number][] = [
  ['isolate', 35],
  ['one-way', 15],
  ['pair', 15],
  ['crash', 35],
];

export function drawScenario(seed: number, rng: SimRandom, shape: ScenarioShape = DEFAULT_SHAPE): ClusterScenario {
  const nodes = Array.from({ length: shape.nodes }, (_, i) => ({ id: `n${i + 1}`, raftId: i + 1, joinAt: i === 0 ? 0 : Math.round(rng.between(100, 1500)) }));
  const agents: PlannedAgent[] = nodes.flatMap((n) => [1, 2].map((k) => ({ id: `${n.id}-agent${k}`, node: n.id, capacity: rng.int(1, 2) })));
  const runs: PlannedRun[] = [];
  const count = rng.int(shape.runs[0], shape.runs[1]);
  for (let i = 0; i < count; i++) {
    const jobs: PlannedJob[] = [{ needs: [] }];
    const more = rng.int(0, 2);
    for (let j = 1; j <= more; j++) jobs.push({ needs: rng.chance(0.6) ? [rng.int(0, j - 1)] : [] });
    runs.push({ id: `run-${seed}-${i + 1}`, at: Math.round(rng.between(shape.arrivals[0], shape.arrivals[1])), jobs });
  }
  // Groups from their own stream, so the rest of the scenario is drawn as before.
  const groupRng = rng.fork('groups');
  for (const run of runs) if (groupRng.chance(shape.groupedShare)) run.concurrency = groupRng.pick(GROUPS);
  runs.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  const faults = shape.faults;
  const network: NetworkParams = {
    minDelay: 0.2,
    maxDelay: rng.between(2, 20),
    mode: shape.network,
    drop: faults ? rng.between(0, 0.03) : 0,
    duplicate: faults ? rng.between(0, 0.02) : 0,
    reorder: faults ? rng.between(0, 0.05) : 0,
  };
  const episodes: Episode[] = [];
  if (faults) {
    for (let at = 1_000 + rng.exponential(2_000); at < shape.healAt; at += rng.exponential(2_000)) episodes.push(drawEpisode(rng, Math.round(at), nodes.map((n) => n.id)));
  }
  return { seed, nodes, agents, runs, network, episodes, healAt: shape.healAt, jobMs: [100, 1_500], failShare: 0.1 };
}

function drawEpisode(rng: SimRandom, at: number, nodes: readonly string[]): Episode {
  const total = KINDS.reduce((sum, [, w]) => sum + w, 0);
  let roll = rng.next() * total;
  let kind: EpisodeKind = KINDS[0][0];
  for (const [k, w] of KINDS) {
    if (roll < w) {
      kind = k;
      break;
    }
    roll -= w;
  }
  const node = rng.pick(nodes);
  const others = nodes.filter((n) => n !== node);
  switch (kind) {
    case 'isolate':
      return { kind, at, durationMs: Math.round(rng.between(300, 4_000)), node };
    case 'one-way':
    case 'pair':
      return { kind, at, durationMs: Math.round(rng.between(300, 3_000)), node, other: rng.pick(others) };
    case 'crash':
      return { kind, at, durationMs: Math.round(rng.between(100, 3_000)), node };
  }
}

export function describeEpisode(e: Episode): string {
  const span = `at ${e.at} ms for ${e.durationMs} ms`;
  switch (e.kind) {
    case 'isolate':
      return `isolate ${e.node} ${span}`;
    case 'one-way':
      return `cut ${e.node} -> ${e.other} ${span}`;
    case 'pair':
      return `cut ${e.node} <-> ${e.other} ${span}`;
    case 'crash':
      return `crash ${e.node} ${span}, then restart`;
  }
}

export function describeScenario(s: ClusterScenario): string {
  const n = s.network;
  const lines = [
    `seed ${s.seed}: ${s.nodes.length} nodes (${s.nodes.map((x) => (x.joinAt ? `${x.id} joins at ${x.joinAt} ms` : `${x.id} founds`)).join(', ')}), ` +
      `${s.agents.length} agents, ${s.runs.length} runs (${s.runs.reduce((sum, r) => sum + r.jobs.length, 0)} jobs), heal at ${s.healAt} ms`,
    ...GROUPS.map((g) => ({ g, ids: s.runs.filter((r) => r.concurrency?.group === g.group).map((r) => r.id) }))
      .filter(({ ids }) => ids.length > 0)
      .map(({ g, ids }) => `group ${g.group} (max ${g.max}): ${ids.join(', ')}`),
    n.mode === 'lossy'
      ? `network: lossy, delay ${n.minDelay}-${n.maxDelay.toFixed(1)} ms, drop ${(n.drop * 100).toFixed(1)} %, duplicate ${(n.duplicate * 100).toFixed(1)} %, reorder ${(n.reorder * 100).toFixed(1)} %`
      : `network: ordered links, delay ${n.minDelay}-${n.maxDelay.toFixed(1)} ms`,
    ...s.episodes.map((e) => `  ${describeEpisode(e)}`),
  ];
  return lines.join('\n');
}
