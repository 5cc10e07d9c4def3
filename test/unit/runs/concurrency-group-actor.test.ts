import { describe, expect, it } from 'vitest';
import { ActorSystem, type Envelope, type RemoteSend, type ShardMap } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import {
  CONCURRENCY_GROUP_KIND,
  RECHECK_MS,
  RUN_ACTOR_KIND,
  RunAdmission,
  SUPERSEDED_REASON,
  concurrencyGroupRef,
  groupKey,
  groupOf,
  isTerminalRunStatus,
  registerConcurrencyGroupActor,
  runRef,
  type AdmissionRun,
  type GroupIdentity,
  type RunMessage,
  type RunStatus,
} from '../../../src/runs/index.js';

/**
 * The store and the RunActors as the group actor sees them: runs with a status, started by a
 * `start` and stopped by a `cancel`, in creation order. Every change wakes whoever waits on it,
 * so the tests wait for events, not for time.
 */
class Runs {
  private readonly runs = new Map<string, AdmissionRun>();
  readonly starts: string[] = [];
  readonly cancels: { runId: string; reason?: string }[] = [];
  /** Runs whose RunActor takes a `cancel` without acting on it yet. */
  readonly slowCancels = new Set<string>();
  /** The most runs of one group running at the same moment. */
  peak = 0;
  private waiters: { ready: () => boolean; resolve: () => void }[] = [];

  add(runId: string, concurrency: AdmissionRun['concurrency'], status: RunStatus = 'pending'): void {
    this.runs.set(runId, { runId, status, sourceId: 'src_1', workflowName: 'deploy', concurrency });
    this.changed();
  }

  status(runId: string): RunStatus {
    return this.runs.get(runId)!.status;
  }

  running(): string[] {
    return [...this.runs.values()].filter((r) => r.status === 'running' || r.status === 'cancelling').map((r) => r.runId);
  }

  /** What the RunActor does with `start`: a pending run begins; anything else is left as it is. */
  start(runId: string): void {
    this.starts.push(runId);
    const run = this.runs.get(runId);
    if (run?.status === 'pending') run.status = 'running';
    this.changed();
  }

  /** What the RunActor does with `cancel`: a run not finished is on its way out. */
  cancel(runId: string, reason?: string): void {
    this.cancels.push({ runId, reason });
    const run = this.runs.get(runId);
    if (run && !this.slowCancels.has(runId) && !isTerminalRunStatus(run.status)) run.status = run.status === 'pending' ? 'cancelled' : 'cancelling';
    this.changed();
  }

  /** The run ends (the RunActor completed it); the store says so before anyone is told. */
  finish(runId: string, status: RunStatus = 'success'): void {
    this.runs.get(runId)!.status = status;
    this.changed();
  }

  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  readonly store = {
    groupRuns: async (group: GroupIdentity) =>
      [...this.runs.values()].filter((r) => !isTerminalRunStatus(r.status) && matches(r, group)).map((r) => ({ ...r })),
    describe: async (runId: string) => {
      const run = this.runs.get(runId);
      return run ? { ...run } : null;
    },
  };

  private changed(): void {
    this.peak = Math.max(this.peak, [...this.runs.values()].filter((r) => r.status === 'running').length);
    const ready = this.waiters.filter((w) => w.ready());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

function matches(run: AdmissionRun, group: GroupIdentity): boolean {
  const own = groupOf(run);
  return own !== null && groupKey(own) === groupKey(group);
}

const queue = { group: 'prod', cancelInProgress: false, max: 1 };
const replace = { group: 'prod', cancelInProgress: true, max: 1 };
const PROD: GroupIdentity = { sourceId: 'src_1', workflowName: 'deploy', group: 'prod' };

/** A fake RunActor on each node: `start` and `cancel` land in the shared runs, whichever node sent them. */
function registerRuns(system: ActorSystem, runs: Runs): void {
  system.register<RunMessage>(RUN_ACTOR_KIND, (ctx) => ({
    receive(msg) {
      if (msg.type === 'start') runs.start(ctx.key);
      if (msg.type === 'cancel') runs.cancel(ctx.key, msg.reason);
    },
  }));
}

function node(nodeId: string, clock: ManualClock, runs: Runs, shardMap?: ShardMap, remote?: RemoteSend) {
  const system = new ActorSystem({ nodeId, clock, shardMap, remote, idleTimeoutMs: 5_000 });
  registerRuns(system, runs);
  registerConcurrencyGroupActor(system, {
    ...runs.store,
    start: (runId) => runRef(system, runId).tell({ type: 'start' }),
    supersede: (runId) => runRef(system, runId).tell({ type: 'cancel', reason: SUPERSEDED_REASON }),
  });
  const admission = new RunAdmission(system, {
    describe: runs.store.describe,
    start: (runId) => runRef(system, runId).tell({ type: 'start' }),
    unfinishedGroups: async () => [PROD],
    failed: (runId, e) => {
      throw new Error(`admission of ${runId} failed: ${(e as Error).message}`);
    },
  });
  return { system, admission };
}

/**
 * Two nodes that share one shard map: even shards on n1, odd ones on n2. The peer mesh is a
 * RemoteSend that hands envelopes to the other system, as the peer links do.
 */
function cluster() {
  const clock = new ManualClock(1_000);
  const runs = new Runs();
  const shardMap: ShardMap = { ownerOf: (shard) => ({ node: shard % 2 === 0 ? 'n1' : 'n2', epoch: 1 }) };
  const systems = new Map<string, ActorSystem>();
  const forwarded: Envelope[] = [];
  const remote: RemoteSend = {
    tell: (to, envelope) => {
      forwarded.push(envelope);
      void systems.get(to)!.receiveRemote(envelope, false);
    },
    ask: (to, envelope, timeoutMs) => {
      forwarded.push(envelope);
      return systems.get(to)!.receiveRemote(envelope, true, timeoutMs);
    },
  };
  const n1 = node('n1', clock, runs, shardMap, remote);
  const n2 = node('n2', clock, runs, shardMap, remote);
  systems.set('n1', n1.system).set('n2', n2.system);
  /** A run id whose RunActor lives on `owner`. */
  const runOn = (owner: 'n1' | 'n2', name: string): string => {
    for (let i = 0; ; i++) if (n1.system.locate(`${name}-${i}`)!.node === owner) return `${name}-${i}`;
  };
  return { clock, runs, n1, n2, runOn, forwarded, groupHome: n1.system.locate(groupKey(PROD))!.node };
}

describe('ConcurrencyGroupActor across two nodes', () => {
  it('admits one run at a time with max 1, whichever node owns each run', async () => {
    const c = cluster();
    const a = c.runOn('n1', 'a');
    const b = c.runOn('n2', 'b');
    const d = c.runOn('n1', 'd');
    for (const id of [a, b, d]) c.runs.add(id, queue);

    // Each run asks at the node that created it; both nodes reach the one group actor.
    const outcomes = await Promise.all([c.n1.admission.start(a), c.n2.admission.start(b), c.n1.admission.start(d)]);
    expect(outcomes.filter((o) => o === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'waiting')).toHaveLength(2);
    const first = [a, b, d][outcomes.indexOf('started')]!;
    await c.runs.until(() => c.runs.status(first) === 'running');
    expect(c.runs.running()).toEqual([first]);
    expect(c.forwarded.some((e) => e.kind === CONCURRENCY_GROUP_KIND)).toBe(true);

    // Finishing a run, told from the node that owns it, lets exactly the next one go.
    const order = [first];
    for (let i = 0; i < 2; i++) {
      const current = order[order.length - 1]!;
      c.runs.finish(current);
      const owner = c.n1.system.locate(current)!.node === 'n1' ? c.n1 : c.n2;
      await owner.admission.finished(current);
      await c.runs.until(() => c.runs.running().length === 1);
      order.push(c.runs.running()[0]!);
    }
    expect(new Set(order)).toEqual(new Set([a, b, d]));
    expect(c.runs.peak).toBe(1);
  });

  it('supersedes the older run of a cancelInProgress group across nodes', async () => {
    const c = cluster();
    const older = c.runOn('n1', 'old');
    const newer = c.runOn('n2', 'new');
    c.runs.add(older, replace);
    expect(await c.n1.admission.start(older)).toBe('started');
    await c.runs.until(() => c.runs.status(older) === 'running');
    c.runs.add(newer, replace);
    expect(await c.n2.admission.start(newer)).toBe('started');
    await c.runs.until(() => c.runs.status(newer) === 'running' && c.runs.status(older) === 'cancelling');
    expect(c.runs.cancels).toEqual([{ runId: older, reason: SUPERSEDED_REASON }]);
    // The superseded run holds its place until it has finished cancelling; then nothing else changes.
    c.runs.finish(older, 'cancelled');
    await c.n1.admission.finished(older);
    expect(await c.n2.admission.snapshot(PROD, 'prod')).toEqual({ active: [newer], waiting: [] });
  });
});

/** One node holding every shard: the group actor and the runs together. */
function single() {
  const clock = new ManualClock(1_000);
  const runs = new Runs();
  const n = node('n1', clock, runs);
  const group = () => concurrencyGroupRef(n.system, PROD);
  const passivate = () => n.system.passivateShard(n.system.shardOf(groupKey(PROD)));
  return { clock, runs, ...n, group, passivate };
}

describe('ConcurrencyGroupActor rebuilding from the store', () => {
  it('rebuilds its places after passivation and admits nobody twice', async () => {
    const s = single();
    for (const id of ['a', 'b', 'c']) s.runs.add(id, queue);
    for (const id of ['a', 'b', 'c']) await s.admission.start(id);
    expect(s.runs.running()).toEqual(['a']);

    await s.passivate();
    expect(s.system.isActive(CONCURRENCY_GROUP_KIND, groupKey(PROD))).toBe(false);

    // The node gains the runs' shards again: the started run resumes, the pending ones go back.
    await s.admission.restore(await s.runs.store.groupRuns(PROD));
    expect(await s.admission.snapshot(PROD, 'prod')).toEqual({ active: ['a'], waiting: ['b', 'c'] });
    expect(s.runs.running()).toEqual(['a']);

    s.runs.finish('a');
    await s.admission.finished('a');
    expect(s.runs.running()).toEqual(['b']);
    expect(await s.admission.snapshot(PROD, 'prod')).toEqual({ active: ['b'], waiting: ['c'] });
    expect(s.runs.peak).toBe(1);
  });

  it('gives a place up for a run that finished while nobody held the group', async () => {
    const s = single();
    for (const id of ['a', 'b']) s.runs.add(id, queue);
    for (const id of ['a', 'b']) await s.admission.start(id);
    await s.passivate();
    // `a` ends while the group is passivated, and its `finished` is lost with a node.
    s.runs.finish('a');
    // A gain wakes the groups that live here: the rebuild sees `a` gone and lets `b` go.
    await s.admission.restore([]);
    await s.runs.until(() => s.runs.status('b') === 'running');
    expect(s.runs.peak).toBe(1);
  });

  it('reads the store again while runs wait, so an unheard finish does not stall the group', async () => {
    const s = single();
    for (const id of ['a', 'b']) s.runs.add(id, queue);
    for (const id of ['a', 'b']) await s.admission.start(id);
    s.runs.finish('a');
    expect(s.runs.status('b')).toBe('pending');
    s.clock.advance(RECHECK_MS);
    await s.runs.until(() => s.runs.status('b') === 'running');
  });

  it('rebuilds a cancelInProgress group with the newest run winning, in creation order', async () => {
    const s = single();
    s.runs.add('old', replace, 'running');
    s.runs.add('new', replace);
    await s.admission.restore(await s.runs.store.groupRuns(PROD));
    await s.runs.until(() => s.runs.status('new') === 'running');
    expect(s.runs.status('old')).toBe('cancelling');
    expect(s.runs.cancels).toEqual([{ runId: 'old', reason: SUPERSEDED_REASON }]);
  });

  it('does not supersede a run the store shows cancelling already', async () => {
    const s = single();
    s.runs.add('stopping', replace, 'cancelling');
    s.runs.add('next', replace);
    expect(await s.admission.start('next')).toBe('started');
    expect(s.runs.cancels).toEqual([]);
  });
});

describe('ConcurrencyGroupActor taking a message twice', () => {
  it('keeps a waiting run in one place however often it is admitted', async () => {
    const s = single();
    for (const id of ['a', 'b']) s.runs.add(id, queue);
    await s.admission.start('a');
    await s.admission.start('b');
    await s.admission.start('b');
    s.group().tell({ type: 'admit', runId: 'b' });
    expect(await s.admission.snapshot(PROD, 'prod')).toEqual({ active: ['a'], waiting: ['b'] });
    expect(s.runs.starts).toEqual(['a']);
  });

  it('tells an admitted run to start again (its first start may be lost), and nothing more', async () => {
    const s = single();
    s.runs.add('a', queue);
    expect(await s.admission.start('a')).toBe('started');
    expect(await s.admission.start('a')).toBe('started');
    expect(s.runs.starts).toEqual(['a', 'a']);
    expect(await s.admission.snapshot(PROD, 'prod')).toEqual({ active: ['a'], waiting: [] });
  });

  it('does not let a superseded run back in when its admit comes again', async () => {
    const s = single();
    s.runs.slowCancels.add('b');
    s.runs.add('a', replace);
    await s.admission.start('a');
    s.runs.add('b', queue);
    expect(await s.admission.start('b')).toBe('waiting');
    // `c` replaces both: `a` is cancelling, `b`'s cancel has not landed yet (it is still pending).
    s.runs.add('c', replace);
    expect(await s.admission.start('c')).toBe('started');
    expect(s.runs.cancels.map((x) => x.runId)).toEqual(['a', 'b']);
    // Their admits arrive again (a restore, a resend): the stop is repeated, nobody starts.
    expect(await s.admission.start('b')).toBe('superseded');
    expect(await s.admission.start('a')).toBe('cancelling');
    expect(s.runs.cancels.map((x) => x.runId)).toEqual(['a', 'b', 'b']);
    expect(s.runs.starts).toEqual(['a', 'c']);
    expect(await s.admission.snapshot(PROD, 'prod')).toEqual({ active: ['a', 'c'], waiting: [] });
  });

  it('is harmless when a finished run is told finished twice', async () => {
    const s = single();
    for (const id of ['a', 'b', 'c']) s.runs.add(id, queue);
    for (const id of ['a', 'b', 'c']) await s.admission.start(id);
    s.runs.finish('a');
    await s.admission.finished('a');
    await s.admission.finished('a');
    s.group().tell({ type: 'finished', runId: 'a' });
    expect(await s.admission.snapshot(PROD, 'prod')).toEqual({ active: ['b'], waiting: ['c'] });
    expect(s.runs.peak).toBe(1);
  });
});
