import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { Liveness } from '../../../src/cluster/index.js';

describe('Liveness', () => {
  it('counts a member dead only once its link has been down for the stale timeout', () => {
    const clock = new ManualClock();
    const live = new Liveness('a', clock, 1500);
    expect(live.alive('a', false)).toBe(true);
    expect(live.alive('b', true)).toBe(true);
    // Never heard from: counted from this node's start.
    clock.advance(1499);
    expect(live.alive('b', false)).toBe(true);
    clock.advance(1);
    expect(live.alive('b', false)).toBe(false);
    // A link that came up and went down again starts a new count.
    live.linkUp('b');
    live.linkDown('b');
    clock.advance(1000);
    expect(live.alive('b', false)).toBe(true);
    clock.advance(500);
    expect(live.alive('b', false)).toBe(false);
    live.linkUp('b');
    expect(live.alive('b', false)).toBe(false);
    expect(live.alive('b', true)).toBe(true);
  });
});
