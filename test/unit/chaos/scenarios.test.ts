import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, type FaultEvent, type Topology } from '../../../chaos/campaign.js';
import { ALL_SCENARIOS, drawSchedule, PROFILES, type Scenario, SCENARIOS, scenarioSeed } from '../../../chaos/scenarios.js';

const TOPOLOGY: Topology = { nodes: 3, workers: 1, agents: 4 };
const TOPOLOGIES: Topology[] = [
  { nodes: 1, workers: 0, agents: 1 },
  { nodes: 2, workers: 1, agents: 2 },
  TOPOLOGY,
  { nodes: 5, workers: 2, agents: 8 },
  { nodes: 7, workers: 4, agents: 32 },
];
const SEEDS = [0, 1, 2, 42, 1234, 0xdeadbeef, 0xffffffff];
const TEN_MINUTES = 600_000;

function scenario(name: string): Scenario {
  const found = SCENARIOS.get(name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
}

const GROUP_NAMES = ['crash', 'pause', 'network', 'webhooks', 'mixed'];

describe('drawSchedule', () => {
  it('is a pure function of (scenario, seed, duration, topology)', () => {
    for (const name of [...GROUP_NAMES, ...FAULT_KINDS]) {
      for (const seed of [7, 0xffffffff]) {
        const first = drawSchedule(scenario(name), seed, 120_000, TOPOLOGY);
        const again = drawSchedule(scenario(name), seed, 120_000, TOPOLOGY);
        expect(again, `${name} seed ${seed}`).toEqual(first);
        expect(first.length, `${name} seed ${seed}`).toBeGreaterThan(0);
      }
    }
    // A Scenario object built anew with the same content draws the same schedule: no hidden state.
    const copy: Scenario = { ...scenario('mixed'), kinds: [...scenario('mixed').kinds] };
    expect(drawSchedule(copy, 99, 300_000, { ...TOPOLOGY })).toEqual(drawSchedule(scenario('mixed'), 99, 300_000, TOPOLOGY));
  });

  it('draws a different schedule for a different seed', () => {
    const mixed = scenario('mixed');
    const schedules = SEEDS.map((seed) => JSON.stringify(drawSchedule(mixed, seed, 120_000, TOPOLOGY)));
    expect(new Set(schedules).size).toBe(SEEDS.length);
    expect(drawSchedule(mixed, 1, 120_000, TOPOLOGY)).not.toEqual(drawSchedule(mixed, 2, 120_000, TOPOLOGY));
  });

  it('depends on the topology and the duration too', () => {
    const mixed = scenario('mixed');
    const small = drawSchedule(mixed, 5, 120_000, TOPOLOGY);
    const long = drawSchedule(mixed, 5, 240_000, TOPOLOGY);
    // A longer run keeps the shorter run's faults and adds more after them.
    expect(long.length).toBeGreaterThan(small.length);
    expect(long.slice(0, small.length)).toEqual(small);
    expect(drawSchedule(mixed, 5, 120_000, { nodes: 7, workers: 4, agents: 32 })).not.toEqual(small);
  });

  it('numbers events 1, 2, … in time order, without overlap, all within the duration', () => {
    const problems: string[] = [];
    for (const name of [...GROUP_NAMES, ...FAULT_KINDS]) {
      for (const topology of TOPOLOGIES) {
        for (const seed of SEEDS) {
          for (const duration of [5_000, 30_000, 60_000, 180_000]) {
            const events = drawSchedule(scenario(name), seed, duration, topology);
            const where = `${name} seed ${seed} ${duration} ms ${JSON.stringify(topology)}`;
            events.forEach((e, i) => {
              const previous = events[i - 1];
              if (e.id !== i + 1) problems.push(`${where}: event ${i} has id ${e.id}`);
              if (e.atMs < 0 || e.holdMs < 0) problems.push(`${where}: #${e.id} at ${e.atMs} for ${e.holdMs}`);
              if (e.atMs + e.holdMs > duration) problems.push(`${where}: #${e.id} ends at ${e.atMs + e.holdMs}`);
              if (previous && e.atMs <= previous.atMs + previous.holdMs) problems.push(`${where}: #${e.id} starts before #${previous.id} is over`);
              if (e.detail.length === 0) problems.push(`${where}: #${e.id} has no detail`);
            });
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('fits nothing into a duration shorter than the first fault', () => {
    expect(drawSchedule(scenario('mixed'), 3, 1_000, TOPOLOGY)).toEqual([]);
  });

  it('deals every kind of a scenario before any kind repeats', () => {
    for (const name of GROUP_NAMES) {
      const group = scenario(name);
      for (const seed of SEEDS) {
        const events = drawSchedule(group, seed, TEN_MINUTES, TOPOLOGY);
        const kinds = events.map((e) => e.kind);
        expect(kinds.length, `${name} seed ${seed}`).toBeGreaterThan(group.kinds.length);
        // Round by round: each block of k events is the k kinds, each once.
        for (let round = 0; (round + 1) * group.kinds.length <= kinds.length; round++) {
          const dealt = kinds.slice(round * group.kinds.length, (round + 1) * group.kinds.length);
          expect([...dealt].sort(), `${name} seed ${seed} round ${round}`).toEqual([...group.kinds].sort());
        }
      }
    }
  });

  it('never freezes an edge worker on a topology without one, and still draws the other kinds', () => {
    for (const name of ['pause', 'mixed', 'freeze-worker']) {
      for (const seed of SEEDS) {
        const events = drawSchedule(scenario(name), seed, TEN_MINUTES, { nodes: 3, workers: 0, agents: 4 });
        expect(events.map((e) => e.kind), `${name} seed ${seed}`).not.toContain('freeze-worker');
        if (name === 'freeze-worker') expect(events).toEqual([]);
        else expect(events.length).toBeGreaterThan(0);
      }
    }
    // With one worker, it is drawn.
    expect(drawSchedule(scenario('pause'), 1, TEN_MINUTES, TOPOLOGY).map((e) => e.kind)).toContain('freeze-worker');
  });

  it('picks targets that exist in the topology', () => {
    const numbered = (target: string, prefix: string, max: number, where: string) => {
      const found = new RegExp(`^${prefix}-(\\d+)$`).exec(target);
      expect(found, `${where}: ${target}`).not.toBeNull();
      const n = Number(found![1]);
      expect(n, `${where}: ${target}`).toBeGreaterThanOrEqual(1);
      expect(n, `${where}: ${target}`).toBeLessThanOrEqual(max);
      return n;
    };
    // Links need two coordinators (see the test of a single node below).
    for (const topology of TOPOLOGIES.filter((t) => t.nodes >= 2)) {
      for (const seed of SEEDS) {
        for (const e of drawSchedule(scenario('mixed'), seed, TEN_MINUTES, topology)) {
          const where = `seed ${seed} ${JSON.stringify(topology)} #${e.id} ${e.kind}`;
          checkTarget(e, topology, where, numbered);
        }
      }
    }
  });

  it('spreads link targets over every ordered pair of coordinators', () => {
    const seen = new Set<string>();
    for (const seed of SEEDS) {
      for (const e of drawSchedule(scenario('one-way-partition'), seed, TEN_MINUTES, TOPOLOGY)) seen.add(e.target);
    }
    expect([...seen].sort()).toEqual(['node-1→node-2', 'node-1→node-3', 'node-2→node-1', 'node-2→node-3', 'node-3→node-1', 'node-3→node-2']);
  });

  it('describes each event with its target and hold', () => {
    for (const e of drawSchedule(scenario('mixed'), 11, TEN_MINUTES, TOPOLOGY)) {
      if (e.kind === 'redeliver') {
        expect(e.holdMs).toBe(0);
        continue;
      }
      expect(e.detail, e.kind).toContain(`${e.holdMs} ms`);
      if (/^(node|agent|edge)-\d+$/.test(e.target)) expect(e.detail, e.kind).toContain(e.target);
    }
  });
});

type Numbered = (target: string, prefix: string, max: number, where: string) => number;

function checkTarget(e: FaultEvent, t: Topology, where: string, numbered: Numbered): void {
  switch (e.kind) {
    case 'kill-leader':
    case 'partition-leader':
      expect(e.target, where).toBe('leader');
      return;
    case 'kill-node':
    case 'pause-node':
    case 'clock-skew':
    case 'starve-node':
      numbered(e.target, 'node', t.nodes, where);
      return;
    case 'bandwidth':
    case 'half-open-peer':
      // node-1 dials every link: its own cluster port carries none.
      expect(numbered(e.target, 'node', t.nodes, where), `${where}: a port that carries peer links`).toBeGreaterThan(1);
      return;
    case 'one-way-partition':
    case 'flapping-link': {
      const [from, to, ...rest] = e.target.split('→');
      expect(rest, where).toEqual([]);
      const a = numbered(from ?? '', 'node', t.nodes, where);
      const b = numbered(to ?? '', 'node', t.nodes, where);
      expect(a, `${where}: a link from a node to itself`).not.toBe(b);
      return;
    }
    case 'half-open':
    case 'kill-agent':
      numbered(e.target, 'agent', t.agents, where);
      return;
    case 'freeze-worker':
      numbered(e.target, 'edge', t.workers, where);
      return;
    case 'delay':
      expect(e.target, where).toBe('peer links');
      return;
    case 'restart-postgres':
      expect(e.target, where).toBe('postgres');
      return;
    case 'redeliver':
      expect(e.target, where).toBe('webhooks');
      return;
  }
}

describe('the scenario catalogue', () => {
  it('has a scenario of its own for every fault kind, drawing only that kind', () => {
    for (const kind of FAULT_KINDS) {
      const single = SCENARIOS.get(kind);
      expect(single, kind).toBeDefined();
      expect(single!.name).toBe(kind);
      expect(single!.kinds).toEqual([kind]);
      const events = drawSchedule(single!, 8, 120_000, TOPOLOGY);
      expect(events.length, kind).toBeGreaterThan(0);
      expect(new Set(events.map((e) => e.kind)), kind).toEqual(new Set([kind]));
    }
  });

  it('keys every scenario by its own name, with a description and known kinds', () => {
    for (const [name, s] of SCENARIOS) {
      expect(s.name).toBe(name);
      expect(s.description.length, name).toBeGreaterThan(0);
      expect(s.kinds.length, name).toBeGreaterThan(0);
      for (const kind of s.kinds) expect(FAULT_KINDS, name).toContain(kind);
    }
    // The mixed scenario draws from the whole vocabulary; the other groups' kinds cover it too.
    expect([...scenario('mixed').kinds].sort()).toEqual([...FAULT_KINDS].sort());
    const grouped = new Set(['crash', 'pause', 'network', 'webhooks', 'starved'].flatMap((n) => scenario(n).kinds));
    expect([...grouped].sort()).toEqual([...FAULT_KINDS].sort());
  });

  it('names only existing scenarios in ALL_SCENARIOS and the profiles', () => {
    expect(ALL_SCENARIOS.length).toBeGreaterThan(0);
    expect(new Set(ALL_SCENARIOS).size).toBe(ALL_SCENARIOS.length);
    for (const name of ALL_SCENARIOS) expect(SCENARIOS.has(name), name).toBe(true);
    expect(Object.keys(PROFILES)).toContain('ci');
    for (const [profile, p] of Object.entries(PROFILES)) {
      expect(p.scenarios.length, profile).toBeGreaterThan(0);
      for (const name of p.scenarios) expect(SCENARIOS.has(name), `${profile}: ${name}`).toBe(true);
      // Within what the CLI itself accepts (cli.ts: --duration 5s–24h, --nodes 1–7, --workers 0–4, --agents 1–32, --rate 1–100).
      expect(p.durationMs, profile).toBeGreaterThanOrEqual(5_000);
      expect(p.topology.nodes, profile).toBeGreaterThanOrEqual(1);
      expect(p.topology.nodes, profile).toBeLessThanOrEqual(7);
      expect(p.topology.workers, profile).toBeGreaterThanOrEqual(0);
      expect(p.topology.workers, profile).toBeLessThanOrEqual(4);
      expect(p.topology.agents, profile).toBeGreaterThanOrEqual(1);
      expect(p.topology.agents, profile).toBeLessThanOrEqual(32);
      expect(p.rate, profile).toBeGreaterThanOrEqual(1);
      // Every scenario of the profile gets at least one fault in its duration.
      for (const name of p.scenarios) expect(drawSchedule(scenario(name), 1, p.durationMs, p.topology).length, `${profile}: ${name}`).toBeGreaterThan(0);
    }
  });
});

describe('scenarioSeed', () => {
  it('gives each scenario of a campaign a seed of its own, a 32-bit unsigned one', () => {
    for (const campaign of SEEDS) {
      const seeds = Array.from({ length: 20 }, (_, i) => scenarioSeed(campaign, i));
      expect(new Set(seeds).size, `campaign ${campaign}`).toBe(seeds.length);
      for (const s of seeds) {
        expect(Number.isInteger(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(0xffffffff);
      }
    }
  });

  it('is deterministic, and the first scenario keeps the campaign seed', () => {
    expect(scenarioSeed(1234, 3)).toBe(scenarioSeed(1234, 3));
    expect(scenarioSeed(1234, 0)).toBe(1234);
    expect(scenarioSeed(1234, 1)).not.toBe(scenarioSeed(1235, 1));
    // Wraps instead of leaving 32 bits.
    expect(scenarioSeed(0xffffffff, 1)).toBe(7918);
  });

  it('draws different schedules for the scenarios of one campaign', () => {
    const mixed = scenario('mixed');
    const a = drawSchedule(mixed, scenarioSeed(42, 0), 120_000, TOPOLOGY);
    const b = drawSchedule(mixed, scenarioSeed(42, 1), 120_000, TOPOLOGY);
    expect(a).not.toEqual(b);
  });
});

describe('a single coordinator', () => {
  // --nodes 1 is allowed (cli.ts count(1, 7)), but a link needs two coordinators: a one-way
  // partition or flapping link must not be drawn as node-1→node-1 (a fault that cuts nothing).
  it('draws no link from a node to itself, nor any fault that needs two coordinators, on one', () => {
    const one: Topology = { nodes: 1, workers: 1, agents: 2 };
    for (const seed of SEEDS) {
      const drawn = drawSchedule(scenario('network'), seed, TEN_MINUTES, one);
      expect(drawn.length, `seed ${seed}: the half-open agent link still fits`).toBeGreaterThan(0);
      for (const e of drawn) {
        expect(['partition-leader', 'one-way-partition', 'flapping-link', 'delay', 'bandwidth', 'half-open-peer'], `seed ${seed} #${e.id}`).not.toContain(e.kind);
        if (e.kind === 'one-way-partition' || e.kind === 'flapping-link') {
          const [from, to] = e.target.split('→');
          expect(from, `seed ${seed} #${e.id} ${e.kind}`).not.toBe(to);
        }
      }
    }
  });
});
