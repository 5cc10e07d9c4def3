import { describe, expect, it } from 'vitest';
import { ActorSystem, type RemoteSend, type ShardMap } from '../../../src/actors/index.js';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import {
  ENV_GROUP_KIND,
  RELOAD_MS,
  envGroupKey,
  envGroupOfKey,
  envGroupRef,
  registerEnvGroupActor,
  type EnvGroupIdentity,
  type EnvGroupMessage,
  type EnvGroupPorts,
  type EnvGroupSnapshot,
  type GroupSettings,
  type JobRef,
  type SlotAnswer,
  type SlotNotice,
  type StoredEnvGroup,
} from '../../../src/environments/index.js';

const PROD: EnvGroupIdentity = { orgId: 'acme', group: 'production' };
const ASK_MS = 5_000;

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The runs as the group sees them: a job holds a slot from the moment it is told `admitted`
 * (an answer or a notice) until it releases it. Counting them is what invariant 4 is about.
 */
class Runs {
  readonly holding = new Set<string>();
  readonly admittedOrder: string[] = [];
  readonly notices: SlotNotice[] = [];
  peak = 0;

  heard(answerOrNotice: SlotAnswer | SlotNotice, job: JobRef): void {
    if (answerOrNotice.verdict !== 'admitted') return;
    const key = `${job.runId}/${job.jobId}`;
    if (this.holding.has(key)) return;
    this.holding.add(key);
    this.admittedOrder.push(job.runId);
    this.peak = Math.max(this.peak, this.holding.size);
  }

  released(job: JobRef): void {
    this.holding.delete(`${job.runId}/${job.jobId}`);
  }

  readonly ports: EnvGroupPorts = {
    notify: (_group, notice) => {
      this.notices.push(notice);
      this.heard(notice, notice);
    },
  };
}

const job = (runId: string, jobId = 'deploy'): JobRef => ({ runId, jobId });
const queue = (limit: number | null): GroupSettings => ({ limit, strategy: 'queue' });

function node(nodeId: string, clock: ManualClock, ports: EnvGroupPorts, shardMap?: ShardMap, remote?: RemoteSend) {
  const system = new ActorSystem({ nodeId, clock, shardMap, remote, idleTimeoutMs: 5_000 });
  registerEnvGroupActor(system, ports);
  const group = envGroupRef(system, PROD);
  return {
    system,
    request: (j: JobRef, settings: GroupSettings) => group.ask<SlotAnswer>({ type: 'request', ...j, ...settings }, ASK_MS),
    release: (j: JobRef) => group.ask({ type: 'release', ...j }, ASK_MS),
    snapshot: () => group.ask<EnvGroupSnapshot>({ type: 'snapshot' }, ASK_MS),
    tell: (msg: EnvGroupMessage) => group.tell(msg),
  };
}

/** Two nodes sharing a shard map (even shards on n1, odd on n2), linked as the peer mesh links them. */
function cluster() {
  const clock = new ManualClock(1_000);
  const runs = new Runs();
  const shardMap: ShardMap = { ownerOf: (shard) => ({ node: shard % 2 === 0 ? 'n1' : 'n2', epoch: 1 }) };
  const systems = new Map<string, ActorSystem>();
  let forwarded = 0;
  const remote: RemoteSend = {
    tell: (to, envelope) => {
      forwarded++;
      void systems.get(to)!.receiveRemote(envelope, false);
    },
    ask: (to, envelope, timeoutMs) => {
      forwarded++;
      return systems.get(to)!.receiveRemote(envelope, true, timeoutMs);
    },
  };
  const n1 = node('n1', clock, runs.ports, shardMap, remote);
  const n2 = node('n2', clock, runs.ports, shardMap, remote);
  systems.set('n1', n1.system).set('n2', n2.system);
  return { clock, runs, nodes: [n1, n2] as const, forwarded: () => forwarded };
}

describe('EnvGroupActor across two nodes', () => {
  it('admits no more than the limit however many jobs ask at once, then the line in order', async () => {
    const c = cluster();
    const jobs = Array.from({ length: 60 }, (_, i) => job(`run-${i}`));
    const answers = await Promise.all(jobs.map((j, i) => c.nodes[i % 2].request(j, queue(3))));
    answers.forEach((a, i) => c.runs.heard(a, jobs[i]!));
    expect(answers.filter((a) => a.verdict === 'admitted')).toHaveLength(3);
    expect(answers.filter((a) => a.verdict === 'queued')).toHaveLength(57);
    expect(c.forwarded()).toBeGreaterThan(0);
    const line = (await c.nodes[0].snapshot()).waiting.map((j) => j.runId);
    expect(line).toHaveLength(57);

    // Each job that ends, told from either node, lets exactly the next in line in.
    const firsts = [...c.runs.admittedOrder];
    for (let i = 0; i < 60; i++) {
      const done = c.runs.admittedOrder[i]!;
      // The job ends first, then its run gives the slot back.
      c.runs.released(job(done));
      await c.nodes[i % 2].release(job(done));
      expect(c.runs.holding.size).toBeLessThanOrEqual(3);
    }
    expect(c.runs.admittedOrder).toEqual([...firsts, ...line]);
    expect(c.runs.peak).toBe(3);
    expect(await c.nodes[1].snapshot()).toMatchObject({ running: [], waiting: [] });
  });

  it('keeps the limit under a seeded storm of requests, repeats and releases', async () => {
    const c = cluster();
    const random = new SeededRandom(16);
    const asked: JobRef[] = [];
    for (let step = 0; step < 400; step++) {
      const via = c.nodes[random.int(0, 1)];
      const roll = random.next();
      if (roll < 0.5 || asked.length === 0) {
        const j = job(`run-${step}`);
        asked.push(j);
        c.runs.heard(await via.request(j, queue(2)), j);
      } else if (roll < 0.7) {
        const again = asked[random.int(0, asked.length - 1)]!;
        c.runs.heard(await via.request(again, queue(2)), again);
      } else {
        const holding = [...c.runs.holding];
        if (holding.length === 0) continue;
        const [runId, jobId] = holding[random.int(0, holding.length - 1)]!.split('/');
        c.runs.released({ runId: runId!, jobId: jobId! });
        await via.release({ runId: runId!, jobId: jobId! });
      }
      expect(c.runs.holding.size).toBeLessThanOrEqual(2);
      const snap = await c.nodes[0].snapshot();
      expect(snap.running.length).toBe(c.runs.holding.size);
    }
    expect(c.runs.peak).toBe(2);
  });

  it('tells the replaced waiters of cancel-pending through the notify port, naming the newer run', async () => {
    const c = cluster();
    const cp: GroupSettings = { limit: 1, strategy: 'cancel-pending' };
    expect(await c.nodes[0].request(job('r1'), cp)).toEqual({ verdict: 'admitted' });
    expect(await c.nodes[1].request(job('r2'), cp)).toEqual({ verdict: 'queued' });
    expect(await c.nodes[0].request(job('r3'), cp)).toEqual({ verdict: 'queued' });
    expect(c.runs.notices).toEqual([
      { runId: 'r2', jobId: 'deploy', verdict: 'cancelled', reason: "cancel-pending: replaced by newer run r3 (job deploy) in concurrency group 'production'" },
    ]);
    expect(await c.nodes[1].request(job('r2'), cp)).toMatchObject({ verdict: 'cancelled' });
    await c.nodes[1].release(job('r1'));
    expect(c.runs.notices.at(-1)).toEqual({ runId: 'r3', jobId: 'deploy', verdict: 'admitted' });
  });
});

/** One node holding every shard, with a store the test controls. */
function single(withStore: boolean) {
  const clock = new ManualClock(1_000);
  const runs = new Runs();
  const stored: StoredEnvGroup = { running: [], waiting: [], settings: queue(1) };
  let loads = 0;
  const ports: EnvGroupPorts = withStore
    ? {
        ...runs.ports,
        load: async (group) => {
          expect(group).toEqual(PROD);
          loads++;
          return { running: [...stored.running], waiting: [...stored.waiting], settings: stored.settings };
        },
      }
    : runs.ports;
  const n = node('n1', clock, ports);
  const active = () => n.system.isActive(ENV_GROUP_KIND, envGroupKey(PROD));
  return { clock, runs, stored, loads: () => loads, active, ...n };
}

describe('EnvGroupActor state', () => {
  it('without a store, stays active while it holds a slot, and passivates once empty', async () => {
    const s = single(false);
    await s.request(job('a'), queue(1));
    await settle();
    s.clock.advance(60_000);
    await settle();
    expect(s.active()).toBe(true);
    await s.release(job('a'));
    await settle(); // the mailbox arms its idle timer once the message is done
    s.clock.advance(10_000);
    await settle();
    expect(s.active()).toBe(false);
  });

  it('with a store, rebuilds after passivation and admits nobody twice', async () => {
    const s = single(true);
    expect(await s.request(job('a'), queue(1))).toEqual({ verdict: 'admitted' });
    expect(await s.request(job('b'), queue(1))).toEqual({ verdict: 'queued' });
    s.stored.running = [job('a')];
    s.stored.waiting = [job('b')];
    await s.system.passivateShard(s.system.shardOf(envGroupKey(PROD)));
    expect(s.active()).toBe(false);

    // A repeated request after the move: the store says who holds the slot.
    expect(await s.request(job('b'), queue(1))).toEqual({ verdict: 'queued' });
    expect(await s.request(job('a'), queue(1))).toEqual({ verdict: 'admitted' });
    expect(await s.snapshot()).toMatchObject({ running: [job('a')], waiting: [job('b')] });
    await s.release(job('a'));
    expect(s.runs.notices).toEqual([{ runId: 'b', jobId: 'deploy', verdict: 'admitted' }]);
  });

  it('reads the store again while jobs wait, so a release lost with a node does not stall the line', async () => {
    const s = single(true);
    await s.request(job('a'), queue(1));
    await s.request(job('b'), queue(1));
    // `a` ended and its release was lost: the store shows `b` alone, waiting.
    s.stored.waiting = [job('b')];
    s.clock.advance(RELOAD_MS);
    await settle();
    expect(s.runs.notices).toEqual([{ runId: 'b', jobId: 'deploy', verdict: 'admitted' }]);
    expect(s.loads()).toBe(2);
  });

  it('takes a recover message: the store word, with the rules when known', async () => {
    const s = single(false);
    s.tell({ type: 'recover', running: [job('a'), job('b')], waiting: [job('c'), job('d')], settings: queue(3) });
    await settle();
    expect(s.runs.notices).toEqual([{ runId: 'c', jobId: 'deploy', verdict: 'admitted' }]);
    expect(await s.snapshot()).toMatchObject({ running: [job('a'), job('b'), job('c')], waiting: [job('d')] });
  });

  it('admits the line when the limit is raised by a configure', async () => {
    const s = single(false);
    for (const r of ['a', 'b', 'c']) await s.request(job(r), queue(0));
    s.tell({ type: 'configure', limit: 2, strategy: 'queue' });
    await settle();
    expect(s.runs.notices.map((n) => n.runId)).toEqual(['a', 'b']);
  });

  it('survives a notify that throws: the job asks again and gets its answer', async () => {
    const clock = new ManualClock(1_000);
    const lost: SlotNotice[] = [];
    const system = new ActorSystem({ nodeId: 'n1', clock });
    registerEnvGroupActor(system, {
      notify: () => {
        throw new Error('run unreachable');
      },
      undelivered: (_g, notice) => lost.push(notice),
    });
    const ref = envGroupRef(system, PROD);
    await ref.ask({ type: 'request', ...job('a'), limit: 1, strategy: 'queue' }, ASK_MS);
    await ref.ask({ type: 'request', ...job('b'), limit: 1, strategy: 'queue' }, ASK_MS);
    await ref.ask({ type: 'release', ...job('a') }, ASK_MS);
    expect(lost).toEqual([{ runId: 'b', jobId: 'deploy', verdict: 'admitted' }]);
    expect(await ref.ask({ type: 'request', ...job('b'), limit: 1, strategy: 'queue' }, ASK_MS)).toEqual({ verdict: 'admitted' });
  });
});

describe('envGroupKey', () => {
  it('is reversible and refuses anything else', () => {
    expect(envGroupOfKey(envGroupKey({ orgId: 'acme', group: 'review/PR-1' }))).toEqual({ orgId: 'acme', group: 'review/PR-1' });
    expect(() => envGroupOfKey('["acme"]')).toThrow(/not an environment group key/);
  });
});
