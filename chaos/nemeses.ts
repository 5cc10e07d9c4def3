/**
 * The nemeses: how each fault of the vocabulary is done to a testbed, and undone. `strike` injects
 * one scheduled fault and hands back its `heal`; the runner holds the fault for its time, heals it,
 * and times the recovery. Process faults use signals (kill -9, SIGSTOP/SIGCONT), link faults the
 * proxies in front of every cluster port and agent link, and partitions between two coordinators
 * the nodes' own fault hook (`POST /api/v1/cluster/faults`, on only in chaos clusters).
 */
import { sleep, type Coordinator, type EdgeWorker } from '../cluster/processes.js';
import type { Random } from '../src/clock/index.js';
import type { FaultEvent } from './campaign.js';
import type { FaultProxy } from './fault-proxy.js';
import type { ChaosAgent, Testbed } from './testbed.js';
import type { Workload } from './workload.js';

export interface Strike {
  /** The fault's actual target, when the schedule named a role ("leader"). */
  target: string;
  notes: string[];
  heal(): Promise<void>;
  /** kill-agent: when its steps were all dead (µs), for the checker's `agentDeaths`. */
  killedAtMicros?: number;
}

export interface NemesisContext {
  bed: Testbed;
  workload: Workload;
  /** The fault's own draws (delays, flaps), from the scenario's seed and the fault's id. */
  random: Random;
}

export async function strike(event: FaultEvent, ctx: NemesisContext): Promise<Strike> {
  const { bed } = ctx;
  switch (event.kind) {
    case 'kill-node':
      return killNode(bed, coordinator(bed, event.target));
    case 'kill-leader':
      return killNode(bed, await leader(bed));
    case 'pause-node':
      return pause(coordinator(bed, event.target));
    case 'freeze-worker':
      return pause(worker(bed, event.target));
    case 'partition-leader':
      return partitionFromAll(bed, await leader(bed));
    case 'one-way-partition': {
      const [from, to] = link(bed, event.target);
      await hook(from, { action: 'cut', peer: to.name, direction: 'outbound' });
      return { target: event.target, notes: [], heal: () => healEach([[from, to.name]]) };
    }
    case 'flapping-link':
      return flap(link(bed, event.target), ctx.random, event.target);
    case 'delay': {
      const proxies = [...bed.peerProxies.values()];
      for (const p of proxies) p.delay({ minMs: 20, maxMs: 120 }, ctx.random);
      return { target: event.target, notes: [], heal: async () => proxies.forEach((p) => p.heal()) };
    }
    case 'bandwidth': {
      const proxy = peerProxy(bed, event.target);
      proxy.bandwidth(16 * 1024);
      return { target: event.target, notes: [linksThrough(proxy, event.target)], heal: async () => proxy.heal() };
    }
    case 'half-open-peer': {
      const proxy = peerProxy(bed, event.target);
      proxy.freeze({ newConnections: true });
      return { target: event.target, notes: [linksThrough(proxy, event.target)], heal: async () => proxy.heal() };
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
      return await killAgent(bed, agent(bed, event.target));
    case 'redeliver': {
      const sent = await ctx.workload.redeliver(20);
      return { target: event.target, notes: [`${sent} deliveries sent again`], heal: async () => undefined };
    }
    case 'starve-node':
      return starve(coordinator(bed, event.target), ctx.random);
    case 'clock-skew':
      return skewClock(bed, coordinator(bed, event.target), event.clockOffsetMs ?? 3000);
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

function peerProxy(bed: Testbed, name: string): FaultProxy {
  const proxy = bed.peerProxies.get(name);
  if (!proxy) throw new Error(`no peer proxy for ${name}`);
  return proxy;
}

/** How many peer links the fault met: which node dialled which decides the port a link passes. */
function linksThrough(proxy: FaultProxy, name: string): string {
  const n = proxy.connections;
  return n === 0 ? `no peer link passed ${name}'s cluster port when struck: only links dialled meanwhile were touched` : `${n} peer link(s) through ${name}'s cluster port`;
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

/**
 * Lift the fault hook's rules on each (node, peer) pair — all of them, whatever one refuses, each
 * tried twice — and throw once at the end if any is left: a fault half-healed would haunt every
 * later fault of the run.
 */
async function healEach(pairs: readonly [Coordinator, string | undefined][]): Promise<void> {
  const heal = ([node, peer]: [Coordinator, string | undefined]) => hook(node, { action: 'heal', ...(peer && { peer }) });
  const results = await Promise.allSettled(pairs.map((pair) => heal(pair).catch(() => heal(pair))));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${pairs[i]![0].name}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) throw new Error(`the fault hook could not be healed on ${failed.join('; ')}`);
}

function killNode(bed: Testbed, node: Coordinator): Strike {
  bed.expectExit(node.name);
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
  const cut: [Coordinator, string][] = [];
  try {
    for (const other of others) {
      for (const [node, peer] of [[victim, other.name], [other, victim.name]] as const) {
        cut.push([node, peer]);
        await hook(node, { action: 'cut', peer, direction: 'both' });
      }
    }
  } catch (e) {
    // Undo what was cut before the failure: a fault that did not strike must leave nothing behind.
    await healEach(cut).catch(() => undefined);
    throw e;
  }
  return {
    target: victim.name,
    notes: [`partitioned from ${others.map((o) => o.name).join(', ')}`],
    heal: () => healEach(cut),
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
      await sleep(random.int(300, 700));
    }
  })();
  const notes: string[] = [];
  return {
    target,
    notes,
    heal: async () => {
      stopped = true;
      await loop;
      notes.push(`${flips} flips`);
      await healEach([[a, b.name], [b, a.name]]);
    },
  };
}

/**
 * A node that runs only now and then, as on a machine with more work than cores: stopped for
 * 200–1200 ms at a time (past the election timeout, near the peer links' stale timeout), let run
 * for 100–300 ms in between, until healed.
 */
function starve(node: Coordinator, random: Random): Strike {
  const pid = node.proc?.pid;
  if (!pid || !node.running) throw new Error(`${node.name} is not running`);
  let stopped = false;
  let stops = 0;
  const loop = (async () => {
    while (!stopped) {
      process.kill(pid, 'SIGSTOP');
      stops++;
      await sleep(random.int(200, 1200));
      process.kill(pid, 'SIGCONT');
      await sleep(random.int(100, 300));
    }
  })();
  const notes: string[] = [];
  return {
    target: node.name,
    notes,
    heal: async () => {
      stopped = true;
      await loop;
      process.kill(pid, 'SIGCONT');
      notes.push(`${stops} stops`);
    },
  };
}

/** Resolves once the agent and its steps are dead: the journal's cut-short executions started before. */
async function killAgent(bed: Testbed, a: ChaosAgent): Promise<Strike> {
  bed.expectExit(a.name);
  const killedAtMicros = await a.killTree();
  if (killedAtMicros === undefined) throw new Error(`${a.name} was not running`);
  return { target: a.name, notes: [], heal: async () => a.start(), killedAtMicros };
}

/** Restart `node` with its clock `offsetMs` off; healing restarts it with the right time. */
async function skewClock(bed: Testbed, node: Coordinator, offsetMs: number): Promise<Strike> {
  const env = node.spec.env ?? {};
  bed.expectExit(node.name);
  await node.stop(10_000);
  node.spec.env = { ...env, KICI_FAULT_CLOCK_OFFSET_MS: String(offsetMs) };
  await node.start();
  return {
    target: node.name,
    notes: [`clock ${offsetMs > 0 ? '+' : ''}${offsetMs} ms`],
    heal: async () => {
      bed.expectExit(node.name);
      await node.stop(10_000);
      node.spec.env = env;
      await node.start();
    },
  };
}
