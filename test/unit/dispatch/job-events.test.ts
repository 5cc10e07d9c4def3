/**
 * An agent's final report reaching a run that was just deposed (its shard moved, its writes fenced
 * off) is not taken as recorded: it is asked again until the run's new owner answers, and never
 * acknowledged to the agent before that.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import type { JobRef } from '../../../src/agents/index.js';
import { RUN_ACTOR_KIND, type RunReply } from '../../../src/runs/index.js';
import { jobEventsToRuns, RunMovedError } from '../../../src/dispatch/index.js';

const MOVED: RunReply = { ok: false, ignored: 'another node owns this run now', moved: true };

function rig(answers: RunReply[]) {
  const clock = new ManualClock(0);
  const system = new ActorSystem({ nodeId: 'n1', clock });
  const seen: string[] = [];
  system.register(RUN_ACTOR_KIND, () => ({
    receive: (msg: { type: string }) => {
      seen.push(msg.type);
      return answers.shift() ?? { ok: true };
    },
  }));
  const events = jobEventsToRuns({ system, held: async () => [], log: () => {} });
  const finished = () => events.finished({ runId: 'r1', jobId: 'j1' }, 'agent-1', { type: 'job.status', runId: 'r1', jobId: 'j1', state: 'success', messageId: 'm1', timestamp: 0 } as never);
  /** Let timers due by now fire, and the asks they start settle. */
  const tick = async (ms: number) => {
    await new Promise((r) => setImmediate(r));
    clock.advance(ms);
    await new Promise((r) => setImmediate(r));
  };
  return { system, seen, finished, tick };
}

describe('agent reports to a run that moved', () => {
  it('asks again until the new owner records the report, and only then resolves', async () => {
    const r = rig([MOVED, MOVED]);
    let done = false;
    const recorded = r.finished().then(() => (done = true));
    await r.tick(50);
    expect(done).toBe(false);
    await r.tick(100);
    await recorded;
    expect(r.seen).toEqual(['job_finished', 'job_finished', 'job_finished']);
  });

  it('gives up with RunMovedError after its last try, so the agent keeps the report and sends it again', async () => {
    const r = rig(Array.from({ length: 20 }, () => MOVED));
    const outcome = r.finished().then(
      () => 'acked',
      (e: Error) => e,
    );
    for (let i = 0; i < 10; i++) await r.tick(4_000);
    expect(await outcome).toBeInstanceOf(RunMovedError);
  });

  it('an ignored report that is not a move (a duplicate, say) counts as handled', async () => {
    const r = rig([{ ok: false, ignored: 'job is success' }]);
    await r.finished();
    expect(r.seen).toEqual(['job_finished']);
  });
});

describe('an agent that registers', () => {
  function registering(held: (agentId: string) => JobRef[] | Promise<JobRef[]>) {
    const clock = new ManualClock(0);
    const system = new ActorSystem({ nodeId: 'n1', clock });
    const told: { key: string; msg: { type: string; jobIds?: string[] } }[] = [];
    system.register(RUN_ACTOR_KIND, (ctx: { key: string }) => ({
      receive: (msg: { type: string; jobIds?: string[] }) => void told.push({ key: ctx.key, msg }),
    }));
    const logged: [fields: object, msg: string][] = [];
    const events = jobEventsToRuns({ system, held, log: (fields, msg) => void logged.push([fields, msg]) });
    return { events, told, logged };
  }
  const settle = () => new Promise((r) => setImmediate(r));

  it('with a store that answers at once, tells the runs of jobs it no longer lists in the same turn', async () => {
    const r = registering(() => [{ runId: 'r1', jobId: 'j1' }, { runId: 'r1', jobId: 'j2' }, { runId: 'r2', jobId: 'j3' }]);
    r.events.agentRegistered('agent-1', [{ runId: 'r1', jobId: 'j1' }], 500);
    expect(r.logged.map(([fields, msg]) => [msg.split(':')[0], fields])).toEqual([
      ['agent back, reporting jobs in flight', { agentId: 'agent-1', jobs: ['j1'] }],
      ['agent registered without jobs on record as its own', { agentId: 'agent-1', jobs: ['j2', 'j3'] }],
    ]);
    await settle();
    // Each run's actor takes its own mail; across runs the order is theirs.
    expect(r.told.map((t) => [t.key, t.msg.type, t.msg.jobIds]).sort()).toEqual([
      ['r1', 'agent_back', ['j1']],
      ['r1', 'agent_restarted', ['j2']],
      ['r2', 'agent_restarted', ['j3']],
    ]);
  });

  it('with a store that answers later, tells them once it has answered; a failed lookup is logged', async () => {
    let answer: (jobs: JobRef[]) => void = () => {};
    const r = registering(() => new Promise((resolve) => (answer = resolve)));
    r.events.agentRegistered('agent-1', [], 500);
    expect(r.logged).toEqual([]);
    answer([{ runId: 'r1', jobId: 'j1' }]);
    await settle();
    expect(r.told.map((t) => [t.key, t.msg.type, t.msg.jobIds])).toEqual([['r1', 'agent_restarted', ['j1']]]);

    const failing = registering(async () => {
      throw new Error('database gone');
    });
    failing.events.agentRegistered('agent-2', [], 500);
    await settle();
    expect(failing.logged).toEqual([[{ agentId: 'agent-2', err: 'database gone' }, 'jobs of a registering agent not checked']]);
    expect(failing.told).toEqual([]);
  });
});
