import path from 'node:path';
import { describe, expect, it } from 'vitest';
// Imported from the files themselves so these tests do not load the whole composition root.
import { ConfigError, loadConfig } from '../../../src/server/config.js';
import { closestVariable, ownerOf } from '../../../src/server/variables.js';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected loadConfig to refuse this environment');
}

describe('loadConfig defaults', () => {
  it('runs independent on 0.0.0.0:4000 with PGlite in ./.kici-data', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mode: 'independent',
      port: 4000,
      host: '0.0.0.0',
      basePath: '',
      dataDir: path.resolve('./.kici-data'),
      autoMigrate: true,
      logLevel: 'info',
      logFormat: 'json',
      dispatchAckTimeoutMs: 10_000,
      jobHeartbeatIntervalMs: 60_000,
      agentRecoveryWindowMs: 120_000,
      agentHeartbeatTimeoutMs: 180_000,
      staleThresholdMs: 120_000,
      staleScanIntervalMs: 60_000,
    });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.bootstrapAdminToken).toBeUndefined();
  });

  it('reads the variables it is given', () => {
    const c = loadConfig({
      KICI_PORT: '0',
      KICI_HOST: '127.0.0.1',
      KICI_BASE_PATH: '/ci/',
      KICI_DATA_DIR: '/tmp/kici-x',
      KICI_DATABASE_URL: 'postgresql://kici@db:5432/kici',
      KICI_AUTO_MIGRATE: 'no',
      KICI_LOG_LEVEL: 'silent',
      KICI_JOB_HEARTBEAT_INTERVAL_MS: '1000',
      KICI_STALE_DETECTOR_THRESHOLD_MULTIPLIER: '3',
    });
    expect(c).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      basePath: '/ci',
      dataDir: '/tmp/kici-x',
      databaseUrl: 'postgresql://kici@db:5432/kici',
      autoMigrate: false,
      logLevel: 'silent',
      staleThresholdMs: 3000,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ KICI_PORT: '', KICI_DATABASE_URL: '' })).toMatchObject({ port: 4000, databaseUrl: undefined });
  });

  it('accepts KICI_MODE=independent spelled out, and KICI_INSTANCE_MODE', () => {
    expect(loadConfig({ KICI_MODE: 'independent' }).mode).toBe('independent');
    expect(loadConfig({ KICI_INSTANCE_MODE: 'independent' }).mode).toBe('independent');
  });
});

describe('loadConfig refusals', () => {
  it.each([
    ['KICI_PORT', '70000'],
    ['KICI_PORT', 'http'],
    ['KICI_LOG_LEVEL', 'loud'],
    ['KICI_AUTO_MIGRATE', 'maybe'],
    ['KICI_BASE_PATH', 'no-leading-slash'],
    ['KICI_DISPATCH_ACK_TIMEOUT_MS', '10'],
    ['KICI_BOOTSTRAP_ADMIN_TOKEN', 'short'],
  ])('names %s when it is %s', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${name}:`)).toBe(true);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ KICI_PORT: '-1', KICI_LOG_FORMAT: 'xml', KICI_PROT: '1' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['KICI_LOG_FORMAT', 'KICI_PORT', 'KICI_PROT']);
  });

  it('refuses a typo with a "did you mean" hint', () => {
    const problems = problemsOf({ KICI_PROT: '4000' });
    expect(problems).toEqual([expect.stringContaining('did you mean KICI_PORT')]);
    expect(problems[0].startsWith('KICI_PROT:')).toBe(true);
  });

  it('refuses an unknown KICI_ name with no near neighbour, without a hint', () => {
    const problems = problemsOf({ KICI_SOMETHING_ENTIRELY_DIFFERENT: 'x' });
    expect(problems[0]).toContain('KICI_SOMETHING_ENTIRELY_DIFFERENT');
    expect(problems[0]).not.toContain('did you mean');
  });

  it('ignores names that belong to the agent, kici-admin or a step, and names outside KICI_', () => {
    const c = loadConfig({
      KICI_AGENT_TOKEN: 'kici_agent_secret',
      KICI_AGENT_LABELS: 'linux',
      KICI_ADMIN_URL: 'http://x',
      KICI_ADMIN_TOKEN: 'adm',
      KICI_RUN_ID: 'r1',
      KICI_MATRIX_NODE: '20',
      KICI_NEEDS_BUILD_VERSION: '1.0',
      PATH: '/usr/bin',
      HOME: '/root',
    });
    expect(c.mode).toBe('independent');
    expect(ownerOf('KICI_AGENT_TOKEN')).toBe('agent');
    expect(ownerOf('KICI_ADMIN_TOKEN')).toBe('admin');
    expect(ownerOf('KICI_MATRIX_NODE')).toBe('step');
    expect(ownerOf('KICI_MATRIX_')).toBeUndefined();
  });

  it.each(['platform', 'hybrid'])('refuses KICI_MODE=%s with a clear message', (mode) => {
    const problems = problemsOf({ KICI_MODE: mode });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`KICI_MODE=${mode}`);
    expect(problems[0]).toContain('KICI_MODE=independent');
    expect(problems[0]).toMatch(/not implement/);
  });

  it('refuses KICI_INSTANCE_MODE=platform too', () => {
    expect(problemsOf({ KICI_INSTANCE_MODE: 'platform' })[0]).toContain('platform');
  });

  it('refuses an unknown mode by name', () => {
    expect(problemsOf({ KICI_MODE: 'standalone' })[0].startsWith('KICI_MODE:')).toBe(true);
  });
});

describe('loadConfig and secrets', () => {
  it('never echoes a database password back', () => {
    let message = '';
    const problems = problemsOf({ KICI_DATABASE_URL: 'mysql://user:pw-s3cr3t@x/db' });
    try {
      loadConfig({ KICI_DATABASE_URL: 'mysql://user:pw-s3cr3t@x/db' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(problems[0].startsWith('KICI_DATABASE_URL:')).toBe(true);
    expect(message).toContain('KICI_DATABASE_URL');
    expect(message).not.toContain('pw-s3cr3t');
    expect(message).not.toContain('mysql://');
  });

  it.each([
    ['KICI_BOOTSTRAP_ADMIN_TOKEN', 'tiny-s3cr3t'],
    ['KICI_DATABASE_URL', 'http://admin:hunter2-s3cr3t@db'],
    ['KICI_LOG_LEVEL', 'tok-s3cr3t'],
    ['KICI_PORT', 's3cr3t-port'],
    ['KICI_PROT', 'value-s3cr3t'],
  ])('does not put the value of %s in the error', (name, value) => {
    let message = '';
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(name);
    expect(message).not.toContain('s3cr3t');
  });
});

describe('variable registry', () => {
  it('suggests the nearest known name for a typo, and nothing for a stranger', () => {
    expect(closestVariable('KICI_PROT')).toBe('KICI_PORT');
    expect(closestVariable('KICI_DATA_DRI')).toBe('KICI_DATA_DIR');
    expect(closestVariable('KICI_AGENT_TOKN')).toBe('KICI_AGENT_TOKEN');
    expect(closestVariable('KICI_TOTALLY_UNRELATED_NAME')).toBeUndefined();
  });

  it('knows who reads each name', () => {
    expect(ownerOf('KICI_PORT')).toBe('orchestrator');
    expect(ownerOf('KICI_AGENT_URL')).toBe('agent');
    expect(ownerOf('KICI_ADMIN_URL')).toBe('admin');
    expect(ownerOf('KICI_SHA')).toBe('step');
    expect(ownerOf('KICI_VAULT_DEPLOY_KEY')).toBe('step');
    expect(ownerOf('KICI_PROT')).toBeUndefined();
  });
});
