import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeaderSample } from '../../../chaos/campaign.js';
import { Observer } from '../../../chaos/observer.js';
import type { Testbed } from '../../../chaos/testbed.js';
import type { Workload } from '../../../chaos/workload.js';

// Only the counting is tested here: no cluster, no database. The observer is given stand-ins for
// the testbed and workload, and its samples are fed by hand (leaders) or through a stubbed fetch
// of the coordinators' /metrics (orphans reclaimed).

interface FakeCoordinator {
  name: string;
  url: string;
  running: boolean;
}

function observer(coordinators: FakeCoordinator[] = []): Observer {
  return new Observer({ coordinators } as unknown as Testbed, {} as Workload, 0);
}

const sample = (atMs: number, leader: string | null, term: number): LeaderSample => ({ atMs, leader, term });

describe('Observer.leaderChanges', () => {
  it('is 0 with no samples, one leader throughout, or no leader at all', () => {
    expect(observer().leaderChanges).toBe(0);
    const steady = observer();
    steady.leaders.push(sample(0, 'node-1', 3), sample(1000, 'node-1', 3), sample(2000, 'node-1', 3));
    expect(steady.leaderChanges).toBe(0);
    const none = observer();
    none.leaders.push(sample(0, null, 0), sample(1000, null, 0));
    expect(none.leaderChanges).toBe(0);
  });

  it('counts a new leader, and a new term of the same leader', () => {
    const o = observer();
    o.leaders.push(
      sample(0, 'node-1', 1),
      sample(1000, 'node-2', 2), // another node
      sample(2000, 'node-2', 2),
      sample(3000, 'node-2', 3), // re-elected: a change of term
      sample(4000, 'node-1', 4),
    );
    expect(o.leaderChanges).toBe(3);
  });

  it('skips samples where no leader was agreed on, comparing with the last one named', () => {
    const same = observer();
    same.leaders.push(sample(0, 'node-1', 1), sample(1000, null, 0), sample(2000, null, 0), sample(3000, 'node-1', 1));
    expect(same.leaderChanges).toBe(0);
    const changed = observer();
    changed.leaders.push(sample(0, null, 0), sample(1000, 'node-1', 1), sample(2000, null, 0), sample(3000, 'node-3', 2));
    expect(changed.leaderChanges).toBe(1);
  });
});

describe('Observer.orphansReclaimed', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  /** Feeds each coordinator's counter, one scrape per step; undefined: the node did not answer. */
  async function scrape(coordinators: FakeCoordinator[], steps: Record<string, number | undefined>[]): Promise<number[]> {
    const o = observer(coordinators);
    const seen: number[] = [];
    for (const step of steps) {
      vi.stubGlobal(
        'fetch',
        vi.fn(async (url: string) => {
          const node = coordinators.find((c) => url === `${c.url}/metrics`);
          const value = node ? step[node.name] : undefined;
          if (value === undefined) throw new Error('connection refused');
          const text = `# HELP kici_orphans_reclaimed_total x\n# TYPE kici_orphans_reclaimed_total counter\nkici_orphans_reclaimed_total ${value}\nkici_other_total 99\n`;
          return { text: async () => text } as Response;
        }),
      );
      await (o as unknown as { countReclaimed(): Promise<void> }).countReclaimed();
      seen.push(o.orphansReclaimed);
    }
    return seen;
  }

  const nodes = (): FakeCoordinator[] => [
    { name: 'node-1', url: 'http://127.0.0.1:1', running: true },
    { name: 'node-2', url: 'http://127.0.0.1:2', running: true },
  ];

  it('sums the counters of every coordinator', async () => {
    expect(await scrape(nodes(), [{ 'node-1': 0, 'node-2': 0 }, { 'node-1': 2, 'node-2': 1 }, { 'node-1': 4, 'node-2': 1 }])).toEqual([0, 3, 5]);
  });

  it('keeps what a node reclaimed before it restarted and counted from zero again', async () => {
    expect(
      await scrape(nodes(), [
        { 'node-1': 3, 'node-2': 1 },
        { 'node-1': 5, 'node-2': 1 },
        { 'node-1': 1, 'node-2': 1 }, // node-1 restarted: 5 before, 1 since
        { 'node-1': 2, 'node-2': 1 },
        { 'node-1': 0, 'node-2': 1 }, // and again
      ]),
    ).toEqual([4, 6, 7, 8, 8]);
  });

  it('keeps the last count of a node that does not answer', async () => {
    expect(await scrape(nodes(), [{ 'node-1': 3, 'node-2': 2 }, { 'node-1': undefined, 'node-2': 2 }, { 'node-1': 4, 'node-2': 2 }])).toEqual([5, 5, 6]);
  });

  it('does not ask a coordinator that is not running', async () => {
    const coordinators = nodes();
    coordinators[1]!.running = false;
    expect(await scrape(coordinators, [{ 'node-1': 1, 'node-2': 50 }])).toEqual([1]);
  });
});
