/**
 * An agent's final report reaching a run that was just deposed (its shard moved, its writes fenced
 * off) is not taken as recorded: it is asked again until the run's new owner answers, and never
 * acknowledged to the agent before that.
 */
import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { RUN_ACTOR_KIND, type RunReply } from '../../../src/runs/index.js';
import { jobEventsToRuns, RunMovedError } from '../../../src/server/wiring/job-events.js';

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
  const events = jobEventsToRuns(system, { info: () => {} }, async () => []);
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
