import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/agent/index.js';

const env = { KICI_AGENT_TOKEN: 'kat_secret_from_env' };

describe('kici-agent arguments', () => {
  it('takes flags and fills the rest from the environment', () => {
    const parsed = parseAgentArgs(['--url', 'ws://h:4000/ws', '--labels', 'a, b,,c', '--max-concurrency', '3', '--work-dir', '/tmp/w'], {
      ...env,
      KICI_JOB_HEARTBEAT_INTERVAL_MS: '5000',
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.args).toMatchObject({
      url: 'ws://h:4000/ws',
      token: 'kat_secret_from_env',
      labels: ['a', 'b', 'c'],
      maxConcurrency: 3,
      workDir: '/tmp/w',
      jobHeartbeatIntervalMs: 5000,
    });
  });

  it('uses KICI_AGENT_URL when --url is absent and defaults concurrency to 1', () => {
    const parsed = parseAgentArgs([], { ...env, KICI_AGENT_URL: 'wss://o.example/ws' });
    expect(parsed.ok && parsed.args.url).toBe('wss://o.example/ws');
    expect(parsed.ok && parsed.args.maxConcurrency).toBe(1);
  });

  it.each([
    [['--url', 'http://h/ws'], env, '--url'],
    [['--url', 'ws://h/ws'], {}, '--token'],
    [['--url', 'ws://h/ws', '--max-concurrency', 'zero'], env, '--max-concurrency'],
    [['--url', 'ws://h/ws', '--agent-id', '../etc'], env, '--agent-id'],
    [['--url', 'ws://h/ws', '--bogus'], env, 'unknown option'],
  ])('refuses bad usage %j with exit code 2 and the usage', (argv, environment, mention) => {
    const parsed = parseAgentArgs(argv, environment);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.exitCode).toBe(2);
    expect(parsed.message).toContain(mention);
    expect(parsed.message).toContain('Usage: kici-agent');
    expect(parsed.message).not.toContain('kat_secret_from_env');
  });
});
