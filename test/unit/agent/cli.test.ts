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
      url: ['ws://h:4000/ws'],
      token: 'kat_secret_from_env',
      labels: ['a', 'b', 'c'],
      maxConcurrency: 3,
      workDir: '/tmp/w',
      jobHeartbeatIntervalMs: 5000,
    });
  });

  it('uses KICI_AGENT_URL when --url is absent and defaults concurrency to 1', () => {
    const parsed = parseAgentArgs([], { ...env, KICI_AGENT_URL: 'wss://o.example/ws' });
    expect(parsed.ok && parsed.args.url).toEqual(['wss://o.example/ws']);
    expect(parsed.ok && parsed.args.maxConcurrency).toBe(1);
  });

  it.each([
    [['--url', 'http://h/ws'], env, '--url'],
    [['--url', 'ws://h/ws'], {}, '--token'],
    [['--url', 'ws://h/ws', '--max-concurrency', 'zero'], env, '--max-concurrency'],
    [['--url', 'ws://h/ws', '--agent-id', '../etc'], env, '--agent-id'],
    [['--url', 'ws://h/ws', '--bogus'], env, 'unknown option'],
    [['--url', 'ws://a/ws', '--url', 'http://b/ws'], env, '--url (entry 2) must be a ws:// or wss:// URL'],
    [['--url', ' , '], env, '--url is required'],
    [['--url', 'ws://h/ws'], { ...env, KICI_AGENT_PING_TIMEOUT_MS: 'soon' }, 'KICI_AGENT_PING_TIMEOUT_MS'],
    [['--url', 'ws://h/ws'], { ...env, KICI_AGENT_PING_TIMEOUT_MS: '5' }, 'KICI_AGENT_PING_TIMEOUT_MS'],
    [['--url', 'ws://h/ws'], { ...env, KICI_AGENT_OUTBOX_MAX_BYTES: '-1' }, 'KICI_AGENT_OUTBOX_MAX_BYTES'],
    [[], { ...env, KICI_AGENT_URL: 'ws://a/ws,ftp://b' }, '--url (entry 2)'],
  ])('refuses bad usage %j with exit code 2 and the usage', (argv, environment, mention) => {
    const parsed = parseAgentArgs(argv, environment);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.exitCode).toBe(2);
    expect(parsed.message).toContain(mention);
    expect(parsed.message).toContain('Usage: kici-agent');
    expect(parsed.message).not.toContain('kat_secret_from_env');
  });

  it('takes several orchestrators: --url repeated, comma lists, or KICI_AGENT_URL as a comma list', () => {
    const flags = parseAgentArgs(['--url', 'ws://a:4000/ws', '--url', 'ws://b:4000/ws, wss://c/ws', '--url', 'ws://a:4000/ws'], env);
    expect(flags.ok && flags.args.url).toEqual(['ws://a:4000/ws', 'ws://b:4000/ws', 'wss://c/ws']);
    const fromEnv = parseAgentArgs([], { ...env, KICI_AGENT_URL: 'ws://a/ws,ws://b/ws,' });
    expect(fromEnv.ok && fromEnv.args.url).toEqual(['ws://a/ws', 'ws://b/ws']);
    // The command line wins over the environment, as for every other setting.
    const both = parseAgentArgs(['--url', 'ws://flag/ws'], { ...env, KICI_AGENT_URL: 'ws://a/ws,ws://b/ws' });
    expect(both.ok && both.args.url).toEqual(['ws://flag/ws']);
  });

  it('reads the ping timeout and the outbox bound from the environment', () => {
    const parsed = parseAgentArgs(['--url', 'ws://h/ws'], { ...env, KICI_AGENT_PING_TIMEOUT_MS: '1500', KICI_AGENT_OUTBOX_MAX_BYTES: '1048576' });
    expect(parsed.ok && parsed.args).toMatchObject({ pingTimeoutMs: 1500, outboxMaxBytes: 1048576 });
    const defaults = parseAgentArgs(['--url', 'ws://h/ws'], env);
    expect(defaults.ok && defaults.args.pingTimeoutMs).toBeUndefined();
  });
});
