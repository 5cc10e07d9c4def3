/**
 * The nemeses: how each fault of the vocabulary is done to a testbed, and undone. `strike` injects
 * one scheduled fault and hands back its `heal`; the runner holds the fault for its time, heals it,
 * and times the recovery. Process faults use signals (kill -9, SIGSTOP/SIGCONT), link faults the
 * proxies in front of every cluster port and agent link, and partitions between two coordinators
 * the nodes' own fault hook (`POST /api/v1/cluster/faults`, on only in chaos clusters).
 */
import type { Random } from '../src/clock/index.js';
import type { Coordinator, EdgeWorker } from '../cluster/processes.js';
import type { FaultEvent } from './campaign.js';
import type { ChaosAgent, Testbed } from './testbed.js';
import type { Workload } from './workload.js';

export interface Strike {
  /** The fault's actual target, when the schedule named a role ("leader"). */
  target: string;
  notes: string[];
  heal(): Promise<void>;
}

export interface NemesisContext {
  bed: Testbed;
  workload: Workload;
  random: Random;
}

/** The clock offset of the clock-skew nemesis: more than the Raft timings, less than any lease a test could wait out. */
const SKEW_MS = 3000;

export async function strike(event: FaultEvent, ctx: NemesisContext): Promise<Strike> {
  const { bed } = ctx;
  switch (event.kind) {
    case 'kill-node':
      return killNode(coordinator(bed, event.target));
    case 'kill-leader':
      return killNode(await leader(bed));
    case 'pause-node':
      return pause(coordinator(bed, event.target));
    case 'freeze-worker':
      return pause(worker(bed, event.target));
    case 'partition-leader':
      return partitionFromAll(bed, await leader(bed));
    case 'one-way-partition': {
      const [from, to] = link(bed, event.target);
      await hook(from, { action: 'cut', peer: to.name, direction: 'outbound' });
      return { target: event.target, notes: [], heal: () => hook(from, { action: 'heal', peer: to.name }) };
    }
    case 'flapping-link':
      return flap(link(bed, event.target), ctx.random, event.target);
    case 'delay': {
      const proxies = [...bed.peerProxies.values()];
      for (const p of proxies) p.delay({ minMs: 20, maxMs: 120 }, ctx.random);
      return { target: event.target, notes: [], heal: async () => proxies.forEach((p) => p.heal()) };
    }
    case 'bandwidth': {
      const proxy = bed.peerProxies.get(event.target);
      if (!proxy) throw new Error(`no peer proxy for ${event.target}`);
      proxy.bandwidth(16 * 1024);
      return { target: event.target, notes: [], heal: async () => proxy.heal() };
    }
    case 'half-open': {
      const a = agent(bed, event.target);
      a.proxy.freeze({ newConnections: true });
      return { target: event.target, notes: [], heal: async () => a.proxy.heal() };
    }
    case 'restart-postgres':
      await bed.postgres.crash();
      return { target: event.target, notes: [], heal: () => bed.postgres.restart() };
    case 'kill-agent':
      return await killAgent(agent(bed, event.target));
    case 'redeliver': {
      const sent = await ctx.workload.redeliver(20);
      return { target: event.target, notes: [`${sent} deliveries sent again`], heal: async () => undefined };
    }
    case 'clock-skew':
      return skewClock(coordinator(bed, event.target), ctx.random.next() < 0.5 ? -SKEW_MS : SKEW_MS);
  }
}

function coordinator(bed: Testbed, name: string): Coordinator {
  const c = bed.coordinators.find((x) => x.name === name);
  if (!c) throw new Error(`no coordinator ${name}`);
  return c;
}

function worker(bed: Testbed, name: string): EdgeWorker {
  const w = bed.workers.find((x) => x.name === name);
  if (!w) throw new Error(`no edge worker ${name}`);
  return w;
}

function agent(bed: Testbed, name: string): ChaosAgent {
  const a = bed.agents.find((x) => x.name === name);
  if (!a) throw new Error(`no agent ${name}`);
  return a;
}

/** `node-1→node-3`: the two coordinators of a link. */
function link(bed: Testbed, target: string): [Coordinator, Coordinator] {
  const [from, to] = target.split('→');
  return [coordinator(bed, from ?? ''), coordinator(bed, to ?? '')];
}

async function leader(bed: Testbed): Promise<Coordinator> {
  const known = await bed.leader();
  if (!known) throw new Error('no coordinator knows a leader to strike');
  return coordinator(bed, known.node);
}

async function hook(node: Coordinator, body: Record<string, string>): Promise<void> {
  await node.api('POST', '/cluster/faults', body);
}

function killNode(node: Coordinator): Strike {
  const killed = node.kill9();
  return {
    target: node.name,
    notes: [],
    heal: async () => {
      await killed;
      await node.start();
    },
  };
}

function pause(node: Coordinator | EdgeWorker): Strike {
  const pid = node.proc?.pid;
  if (!pid || !node.running) throw new Error(`${node.name} is not running`);
  process.kill(pid, 'SIGSTOP');
  return { target: node.name, notes: [], heal: async () => void process.kill(pid, 'SIGCONT') };
}

/** Both ways between `victim` and every other coordinator, told on both sides of each link. */
async function partitionFromAll(bed: Testbed, victim: Coordinator): Promise<Strike> {
  const others = bed.coordinators.filter((c) => c !== victim && c.running);
  for (const other of others) {
    await hook(victim, { action: 'cut', peer: other.name, direction: 'both' });
    await hook(other, { action: 'cut', peer: victim.name, direction: 'both' });
  }
  return {
    target: victim.name,
    notes: [`partitioned from ${others.map((o) => o.name).join(', ')}`],
    heal: async () => {
      for (const node of [victim, ...others]) await hook(node, { action: 'heal' });
    },
  };
}

/** A partition between two coordinators switched on and off every 300–700 ms until healed. */
function flap([a, b]: [Coordinator, Coordinator], random: Random, target: string): Strike {
  let stopped = false;
  let flips = 0;
  const loop = (async () => {
    let cut = false;
    while (!stopped) {
      cut = !cut;
      flips++;
      const action = cut ? 'cut' : 'heal';
      await Promise.all([hook(a, { action, peer: b.name, ...(cut && { direction: 'both' }) }), hook(b, { action, peer: a.name, ...(cut && { direction: 'both' }) })]).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, random.int(300, 700)));
    }
  })();
  const notes: string[] = [];
  return {
    target,
    notes,
    heal: async () => {
      stopped = true;
      await loop;
      await Promise.all([hook(a, { action: 'heal', peer: b.name }), hook(b, { action: 'heal', peer: a.name })]);
      notes.push(`${flips} flips`);
    },
  };
}

/** Resolves once the agent and its steps are dead: the journal's cut-short executions started before. */
async function killAgent(a: ChaosAgent): Promise<Strike> {
  await a.killTree();
  return { target: a.name, notes: [], heal: async () => a.start() };
}

/** Restart `node` with its clock `offsetMs` off; healing restarts it with the right time. */
async function skewClock(node: Coordinator, offsetMs: number): Promise<Strike> {
  const env = node.spec.env ?? {};
  await node.stop(10_000);
  node.spec.env = { ...env, KICI_FAULT_CLOCK_OFFSET_MS: String(offsetMs) };
  await node.start();
  return {
    target: node.name,
    notes: [`clock ${offsetMs > 0 ? '+' : ''}${offsetMs} ms`],
    heal: async () => {
      await node.stop(10_000);
      node.spec.env = env;
      await node.start();
    },
  };
}
