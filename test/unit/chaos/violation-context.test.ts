import { describe, expect, it } from 'vitest';
import type { FaultOutcome, LeaderSample } from '../../../chaos/campaign.js';
import { eventsAround } from '../../../chaos/violation-context.js';

function fault(id: number, startedMs: number, healedMs: number | null, recoveredMs: number | null): FaultOutcome {
  return { id, kind: 'kill-node', target: `node-${id}`, startedMs, healedMs, recoveredMs, recoveryMs: null, notes: [] };
}

const leaders: LeaderSample[] = [
  { atMs: 0, leader: 'node-1', term: 2 },
  { atMs: 21_000, leader: 'node-2', term: 3 },
  { atMs: 40_000, leader: 'node-3', term: 5 },
];

describe('eventsAround: what to look at first when an invariant broke', () => {
  const faults = [fault(1, 2000, 4000, 5000), fault(2, 18_000, 20_000, 22_000), fault(3, 60_000, 62_000, null)];

  it('names the faults from 5 s before they began to 15 s after the cluster was whole, and the leader changes within 10 s', () => {
    const text = eventsAround(19_500, faults, leaders);
    expect(text).toMatch(/^first violation at 19\.5 s into the run; /);
    // #1 was whole at 5 s, 14.5 s before: still near; #3 begins 40 s later: not.
    expect(text).toContain('#1 kill-node node-1 from 2.0 s to 4.0 s, whole at 5.0 s; #2 kill-node node-2 from 18.0 s to 20.0 s, whole at 22.0 s;');
    expect(text).not.toContain('#3');
    expect(text).toContain('leader changes within 10 s: node-2 (term 3) at 21.0 s');
    expect(text).not.toContain('node-3 (term 5)');
  });

  it('keeps a fault never healed near until the end, and says when nothing was near', () => {
    expect(eventsAround(90_000, faults, leaders)).toContain('#3 kill-node node-3 from 60.0 s to 62.0 s, never whole again');
    const alone = eventsAround(8000 + 15_000 + 1, [fault(1, 2000, 4000, 8000)], []);
    expect(alone).toContain('faults around it: none (no fault within 5 s before to 15 s after)');
    expect(alone).toContain('leader changes within 10 s: none');
  });
});
