/**
 * The fault hook's draws and the rule that decides whether it may exist at all.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/clock/index.js';
import { createPeerFaults, FaultInjectionRefusedError, faultInjectionAllowed, PeerFaults } from '../../../src/transport/index.js';

describe('fault plans', () => {
  it('with no rule every frame goes at once', () => {
    const faults = new PeerFaults(new SeededRandom(1));
    expect(faults.plan('node-b', 'outbound')).toEqual({ delaysMs: [0] });
  });

  it('drops, duplicates and delays at the rates and in the range the rule gives', () => {
    const faults = new PeerFaults(new SeededRandom(5));
    faults.set('node-b', 'outbound', { dropRate: 0.3, duplicateRate: 0.2, delayMs: { min: 10, max: 30 } });
    const plans = Array.from({ length: 10_000 }, () => faults.plan('node-b', 'outbound'));
    const dropped = plans.filter((p) => p.delaysMs.length === 0).length;
    const doubled = plans.filter((p) => p.delaysMs.length === 2).length;
    expect(dropped / 10_000).toBeCloseTo(0.3, 1);
    expect(doubled / (10_000 - dropped)).toBeCloseTo(0.2, 1);
    const delays = plans.flatMap((p) => p.delaysMs);
    expect(Math.min(...delays)).toBe(10);
    expect(Math.max(...delays)).toBe(30);
    // Rules are per peer and per direction.
    expect(faults.plan('node-b', 'inbound')).toEqual({ delaysMs: [0] });
    expect(faults.plan('node-c', 'outbound')).toEqual({ delaysMs: [0] });
  });

  it('the same seed draws the same fates', () => {
    const draw = () => {
      const faults = new PeerFaults(new SeededRandom(77));
      faults.set('node-b', 'both', { dropRate: 0.5, delayMs: { min: 0, max: 100 } });
      return Array.from({ length: 100 }, () => faults.plan('node-b', 'inbound'));
    };
    expect(draw()).toEqual(draw());
  });

  it('a one-way cut drops every frame in its direction only; heal lifts it', () => {
    const faults = new PeerFaults(new SeededRandom(1));
    faults.set('node-b', 'outbound', { delayMs: { min: 5, max: 5 } });
    faults.cut('node-b', 'outbound');
    expect(faults.plan('node-b', 'outbound')).toEqual({ delaysMs: [] });
    expect(faults.plan('node-b', 'inbound')).toEqual({ delaysMs: [0] });
    expect(faults.isPartitioned('node-b')).toBe(false);
    faults.heal('node-b');
    expect(faults.plan('node-b', 'outbound')).toEqual({ delaysMs: [0] });
  });

  it('a cut both ways is a partition its listeners hear of at once', () => {
    const faults = new PeerFaults(new SeededRandom(1));
    const heard: string[] = [];
    faults.onPartition((peer) => heard.push(peer));
    faults.cut('node-c', 'both');
    expect(heard).toEqual(['node-c']);
    expect(faults.isPartitioned('node-c')).toBe(true);
    faults.heal();
    expect(faults.isPartitioned('node-c')).toBe(false);
  });

  it('refuses rules outside their ranges', () => {
    const faults = new PeerFaults(new SeededRandom(1));
    expect(() => faults.set('node-b', 'both', { dropRate: 1.5 })).toThrow(/dropRate/);
    expect(() => faults.set('node-b', 'both', { delayMs: { min: 10, max: 5 } })).toThrow(/min must not exceed max/);
    expect(() => faults.set('node-b', 'both', { loss: 1 } as never)).toThrow(/rule/);
  });
});

describe('faultInjectionAllowed', () => {
  it('is off unless KICI_FAULT_INJECTION=true', () => {
    for (const env of [{}, { KICI_FAULT_INJECTION: '' }, { KICI_FAULT_INJECTION: 'false' }, { KICI_DEV: 'true' }]) {
      expect(faultInjectionAllowed(env)).toMatchObject({ requested: false, allowed: false });
      expect(createPeerFaults(env, new SeededRandom(1))).toBeUndefined();
    }
  });

  it('allows it only with KICI_DEV=true', () => {
    expect(faultInjectionAllowed({ KICI_FAULT_INJECTION: 'true', KICI_DEV: 'true' })).toMatchObject({ requested: true, allowed: true });
    expect(createPeerFaults({ KICI_FAULT_INJECTION: 'true', KICI_DEV: 'true' }, new SeededRandom(1))).toBeInstanceOf(PeerFaults);
  });

  it('refuses it in production, with the reason', () => {
    for (const env of [{ KICI_FAULT_INJECTION: 'true' }, { KICI_FAULT_INJECTION: 'true', KICI_DEV: 'false' }, { KICI_FAULT_INJECTION: 'true', KICI_DEV: '1' }]) {
      const verdict = faultInjectionAllowed(env);
      expect(verdict).toMatchObject({ requested: true, allowed: false });
      expect(verdict.reason).toMatch(/refused unless KICI_DEV=true/);
      expect(() => createPeerFaults(env, new SeededRandom(1))).toThrow(FaultInjectionRefusedError);
    }
  });

  it('refuses a value that is neither true nor false rather than guessing', () => {
    for (const value of ['1', 'yes', 'TRUE']) {
      expect(faultInjectionAllowed({ KICI_FAULT_INJECTION: value, KICI_DEV: 'true' })).toMatchObject({ requested: true, allowed: false, reason: 'KICI_FAULT_INJECTION must be true or false' });
    }
  });
});
