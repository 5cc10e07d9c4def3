import { describe, expect, it, vi } from 'vitest';
import { main, parseCommand } from '../../../src/raft/sim/index.js';

describe('sim command line', () => {
  it('parses a batch and a replay', () => {
    expect(parseCommand(['--seeds', '100'])).toEqual({ kind: 'batch', count: 100, from: 1, nodes: 3, choice: { forced: [], plain: false } });
    expect(parseCommand(['--seeds', '10', '--from', '500', '--nodes', '5'])).toEqual({ kind: 'batch', count: 10, from: 500, nodes: 5, choice: { forced: [], plain: false } });
    expect(parseCommand(['--seed', '7', '--trace'])).toEqual({ kind: 'replay', seed: 7, nodes: 3, trace: true, choice: { forced: [], plain: false } });
  });

  it('parses feature flags: each forces its feature on; --plain turns the others off', () => {
    expect(parseCommand(['--seeds', '5', '--drift', '--reads'])).toMatchObject({ choice: { forced: ['drift', 'reads'], plain: false } });
    expect(parseCommand(['--seed', '3', '--plain', '--disk-faults'])).toMatchObject({ kind: 'replay', choice: { forced: ['disk-faults'], plain: true } });
    expect(typeof parseCommand(['--seeds', '5', '--clock-skew'])).toBe('string');
  });

  it('rejects bad usage with a message', () => {
    for (const bad of [
      [],
      ['--seeds', '10', '--seed', '3'],
      ['--seeds', 'ten'],
      ['--seeds', '0'],
      ['--seeds', '5', '--nodes', '4'],
      ['--seed', '-1'],
      ['--seed', '3', '--from', '2'],
      ['--seeds', '3', '--trace'],
      ['--bogus'],
      ['stray'],
    ]) {
      expect(typeof parseCommand(bad), bad.join(' ')).toBe('string');
    }
  });

  it('exits 2 on bad usage, 0 on a clean replay and a clean batch', async () => {
    const writes: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (writes.push(String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (writes.push(String(s)), true));
    try {
      expect(await main(['--nodes', '4', '--seeds', '1'])).toBe(2);
      expect(writes.join('')).toContain('usage:');
      expect(await main(['--seed', '3'])).toBe(0);
      expect(writes.join('')).toContain('seed 3 ok');
      expect(await main(['--seeds', '2', '--from', '10'])).toBe(0);
      expect(writes.join('')).toMatch(/seeds run: 2, violations: 0, seeds per minute: \d+, worst time to leader: \d+ ms/);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
