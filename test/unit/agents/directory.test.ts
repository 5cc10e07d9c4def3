import { describe, expect, it } from 'vitest';
import { AgentDirectory } from '../../../src/agents/index.js';
import { describeMatchers, labelsSatisfy } from '../../../src/workflows/index.js';

describe('AgentDirectory', () => {
  it('keeps the active count across a re-register and never lets maxConcurrency fall below 1', () => {
    const d = new AgentDirectory();
    d.upsert({ agentId: 'a', node: 'n1', labels: ['linux'], maxConcurrency: 2 });
    expect(d.reserve(undefined)?.agentId).toBe('a');
    const again = d.upsert({ agentId: 'a', node: 'n2', labels: ['linux', 'docker'], maxConcurrency: 0 });
    expect(again).toMatchObject({ active: 1, maxConcurrency: 1, node: 'n2', labels: ['linux', 'docker'] });
    expect(d.size).toBe(1);
  });

  it('reserves only free slots and hands ties out round-robin', () => {
    const d = new AgentDirectory();
    d.upsert({ agentId: 'a', node: 'n', labels: [], maxConcurrency: 2 });
    d.upsert({ agentId: 'b', node: 'n', labels: [], maxConcurrency: 2 });
    const picks = [0, 1, 2, 3].map(() => d.reserve(undefined)?.agentId);
    expect(picks.filter((p) => p === 'a')).toHaveLength(2);
    expect(picks.filter((p) => p === 'b')).toHaveLength(2);
    expect(picks[0]).not.toBe(picks[1]);
    expect(d.reserve(undefined)).toBeUndefined();
  });

  it('does not release below zero, and ignores unknown agents', () => {
    const d = new AgentDirectory();
    d.upsert({ agentId: 'a', node: 'n', labels: [], maxConcurrency: 1 });
    d.release('a');
    d.release('ghost');
    d.occupy('ghost');
    expect(d.get('a')?.active).toBe(0);
    d.occupy('a');
    expect(d.reserve(undefined)).toBeUndefined();
  });

  it('answers whether any agent could ever run a job, free slots aside', () => {
    const d = new AgentDirectory();
    d.upsert({ agentId: 'a', node: 'n', labels: ['gpu'], maxConcurrency: 1 });
    d.reserve(['gpu']);
    expect(d.anyCouldRun(['gpu'])).toBe(true);
    expect(d.anyCouldRun(['tpu'])).toBe(false);
    d.remove('a');
    expect(d.anyCouldRun(undefined)).toBe(false);
    expect(d.list()).toEqual([]);
  });
});

describe('label matching', () => {
  it('requires every matcher to be satisfied', () => {
    expect(labelsSatisfy(['linux', 'docker'], ['linux', 'docker'])).toBe(true);
    expect(labelsSatisfy(['linux', 'docker'], ['linux'])).toBe(false);
    expect(labelsSatisfy(undefined, [])).toBe(true);
    expect(labelsSatisfy([], [])).toBe(true);
  });

  it('matches a regex against any label, honouring flags and ignoring g/y', () => {
    expect(labelsSatisfy([{ regex: '^arch:arm' }], ['arch:arm64'])).toBe(true);
    expect(labelsSatisfy([{ regex: '^gpu', flags: 'i' }], ['GPU-a100'])).toBe(true);
    expect(labelsSatisfy([{ regex: '^gpu' }], ['GPU-a100'])).toBe(false);
    // With g, a cached RegExp would carry lastIndex between calls and alternate true/false.
    const m = [{ regex: 'x', flags: 'g' }];
    expect([1, 2, 3].map(() => labelsSatisfy(m, ['x']))).toEqual([true, true, true]);
  });

  it('describes matchers for people', () => {
    expect(describeMatchers(undefined)).toBe('(any agent)');
    expect(describeMatchers(['linux', { regex: '^gpu', flags: 'i' }])).toBe('linux, /^gpu/i');
  });
});

describe('AgentDirectory.waitReason', () => {
  const directory = () => {
    const d = new AgentDirectory();
    d.upsert({ agentId: 'a', node: 'n', labels: ['linux'], maxConcurrency: 1 });
    d.upsert({ agentId: 'g', node: 'n', labels: ['linux', 'gpu'], maxConcurrency: 1 });
    return d;
  };

  it('names the missing labels and how many agents are connected', () => {
    expect(new AgentDirectory().waitReason(['gpu'])).toBe('no agent is connected');
    expect(directory().waitReason(['tpu'])).toBe('no connected agent has labels tpu; 2 agents connected');
  });

  it('says when every agent that could take the job is busy', () => {
    const d = directory();
    expect(d.reserve(['gpu'])?.agentId).toBe('g');
    expect(d.waitReason(['gpu'])).toBe('the one agent with labels gpu is busy; 2 agents connected');
    d.release('g');
    expect(d.waitReason(['gpu'])).toBe('1 agent with labels gpu can take it; it is being dispatched');
  });
});
