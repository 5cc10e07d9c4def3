import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// Imported from the files themselves so these tests do not load the whole composition root.
import { ConfigError, loadConfig } from '../../../src/server/config.js';
import { problemsOf } from './config-problems.js';
import { ORCHESTRATOR_VARIABLE_TABLE, closestVariable, orchestratorVariable, orchestratorVariableTable, ownerOf } from '../../../src/server/variables.js';


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
      preparedStatements: true,
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
      KICI_DATABASE_PREPARED_STATEMENTS: 'false',
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
      preparedStatements: false,
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

describe('every orchestrator variable the seeds and reference name', () => {
  // Seeds 002 and 003, and the configuration table of reference/cluster.md §4.
  const named = [
    'KICI_MODE', 'KICI_INSTANCE_MODE', 'KICI_DATABASE_URL', 'KICI_SECRET_KEY', 'KICI_SECRET_KEY_FILE', 'KICI_SECRET_KEY_OLD',
    'KICI_AUTO_MIGRATE', 'KICI_BOOTSTRAP_ADMIN_TOKEN', 'KICI_PLATFORM_URL', 'KICI_PLATFORM_TOKEN', 'KICI_PORT', 'KICI_BASE_PATH',
    'KICI_LOG_LEVEL', 'KICI_LOG_FORMAT', 'KICI_LOG_DIR', 'KICI_LOG_MAX_SIZE', 'KICI_LOG_RETENTION_DAYS', 'KICI_STORAGE_TYPE',
    'KICI_STORAGE_BUCKET', 'KICI_STORAGE_LOG_BUCKET', 'KICI_STORAGE_PREFIX', 'KICI_STORAGE_REGION', 'KICI_STORAGE_ENDPOINT',
    'KICI_STORAGE_FORCE_PATH_STYLE', 'KICI_STORAGE_EXTERNAL_ENDPOINT', 'KICI_STORAGE_UPLOAD_ENDPOINT', 'KICI_CACHE_TTL_DAYS',
    'KICI_AGENT_AUTH', 'KICI_AGENT_TOKEN_TTL_MS', 'KICI_CLUSTER_ROLE', 'KICI_CLUSTER_INSTANCE_ID', 'KICI_CLUSTER_ADDRESS',
    'KICI_CLUSTER_PEERS', 'KICI_CLUSTER_JOIN_TOKEN', 'KICI_CLUSTER_CREDENTIAL_FILE', 'KICI_CLUSTER_COORDINATOR_URL',
    'KICI_CLUSTER_COORDINATOR_URLS', 'KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS', 'KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS',
    'KICI_CLUSTER_RAFT_HEARTBEAT_MS', 'KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS', 'KICI_CLUSTER_PEER_STALE_TIMEOUT_MS',
    'KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS', 'KICI_CLUSTER_ELECTION_GRACE_PERIOD_MS', 'KICI_CLUSTER_SINGLE_NODE',
    'KICI_CLUSTER_TRUSTED_PROXIES', 'KICI_DISPATCH_ACK_TIMEOUT_MS', 'KICI_JOB_HEARTBEAT_INTERVAL_MS',
    'KICI_STALE_DETECTOR_SCAN_INTERVAL_MS', 'KICI_STALE_DETECTOR_THRESHOLD_MULTIPLIER', 'KICI_QUEUE_MAX_DEPTH', 'KICI_QUEUE_TIMEOUT_MS',
    'KICI_QUEUE_BACKPRESSURE_THRESHOLD', 'KICI_EVENT_ROUTER_MAX_DISPATCH_ATTEMPTS', 'KICI_EVENT_ROUTER_LEASE_DURATION_MS',
    'KICI_EVENT_ROUTER_RETRY_BASE_BACKOFF_MS', 'KICI_EVENT_ROUTER_RETRY_MAX_BACKOFF_MS', 'KICI_ROSTER_GRACE_MS', 'KICI_ROSTER_TTL_MS',
    'KICI_CONFIG', 'KICI_DEV', 'KICI_SCALER_CONFIG_PATH', 'KICI_SKIP_S3_SENTINEL_VALIDATION',
  ];

  it('knows each one, and says for each whether it is read, ignored or refused (with a reason)', () => {
    for (const name of named) {
      const v = orchestratorVariable(name);
      expect(v, name).toBeDefined();
      expect(ownerOf(name), name).toBe('orchestrator');
      if (v!.handling !== 'read') expect(v!.reason?.length ?? 0, name).toBeGreaterThan(20);
    }
  });

  it('accepts every ignored variable, and reports it with its reason', () => {
    const ignoredNames = ORCHESTRATOR_VARIABLE_TABLE.filter((v) => v.handling === 'ignored');
    expect(ignoredNames.length).toBeGreaterThan(10);
    const env = Object.fromEntries(ignoredNames.map((v) => [v.name, 'some-value']));
    const c = loadConfig(env);
    for (const v of ignoredNames) expect(c.warnings).toContain(`${v.name} is ignored: ${v.reason}`);
  });

  it('refuses every refused variable by name, with its reason, all at once', () => {
    const refusedNames = ORCHESTRATOR_VARIABLE_TABLE.filter((v) => v.handling === 'refused');
    const problems = problemsOf(Object.fromEntries(refusedNames.map((v) => [v.name, '/some/value'])));
    expect(problems).toHaveLength(refusedNames.length);
    for (const v of refusedNames) expect(problems).toContain(`${v.name}: ${v.reason}`);
  });

  it('reads KICI_CLUSTER_PEERS, which needs the address the peers reach this node at', () => {
    expect(problemsOf({ KICI_CLUSTER_PEERS: 'a:4001,b:4001' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEERS: set KICI_CLUSTER_ADDRESS too/)]);
    expect(loadConfig({ KICI_CLUSTER_PEERS: 'a:4001,b:4001', KICI_CLUSTER_ADDRESS: 'c:4001' }).cluster.peers).toEqual(['a:4001', 'b:4001']);
  });

  it('accepts KICI_STORAGE_TYPE=s3 with a bucket (storage-config.test.ts), and filesystem', () => {
    expect(loadConfig({ KICI_STORAGE_TYPE: 's3', KICI_STORAGE_BUCKET: 'kici-ci' }).storageType).toBe('s3');
    expect(loadConfig({ KICI_STORAGE_TYPE: 'filesystem' }).warnings).toEqual([]);
    expect(problemsOf({ KICI_STORAGE_TYPE: 'gcs' })[0].startsWith('KICI_STORAGE_TYPE:')).toBe(true);
  });

  it('accepts KICI_AGENT_AUTH=token and both cluster roles, refuses the rest with a reason', () => {
    expect(loadConfig({ KICI_AGENT_AUTH: 'token', KICI_CLUSTER_ROLE: 'coordinator' })).toMatchObject({ mode: 'independent', role: 'coordinator' });
    expect(loadConfig({ KICI_CLUSTER_ROLE: 'worker', KICI_CLUSTER_COORDINATOR_URL: 'coord:4001' }).role).toBe('worker');
    expect(problemsOf({ KICI_AGENT_AUTH: 'mtls' })).toEqual([expect.stringMatching(/^KICI_AGENT_AUTH: .*token/)]);
    expect(problemsOf({ KICI_CLUSTER_ROLE: 'edge' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_ROLE:/)]);
    // A worker without a coordinator to dial is refused, naming both variables.
    expect(problemsOf({ KICI_CLUSTER_ROLE: 'worker' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_ROLE=worker: set KICI_CLUSTER_COORDINATOR_URL or KICI_CLUSTER_COORDINATOR_URLS/)]);
  });

  it('reads KICI_PUBLIC_URL without its trailing slash; refuses one that is not a plain http(s) address', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ KICI_PUBLIC_URL: 'https://ci.example.com/kici/' }).publicUrl).toBe('https://ci.example.com/kici');
    for (const bad of ['ci.example.com', 'ftp://ci.example.com', 'https://ci.example.com/?a=1', 'https://ci.example.com/#/runs']) {
      expect(problemsOf({ KICI_PUBLIC_URL: bad })).toEqual([expect.stringMatching(/^KICI_PUBLIC_URL: /)]);
    }
  });

  it('reads KICI_LOG_FORMAT=auto as JSON and refuses pretty with a reason', () => {
    expect(loadConfig({ KICI_LOG_FORMAT: 'auto' }).logFormat).toBe('json');
    expect(problemsOf({ KICI_LOG_FORMAT: 'pretty' })).toEqual([expect.stringMatching(/^KICI_LOG_FORMAT: .*pino-pretty/)]);
  });

  it('with KICI_DEV=true an unknown name is a warning, not a refusal', () => {
    const c = loadConfig({ KICI_DEV: 'true', KICI_PROT: '1' });
    expect(c.warnings).toEqual([expect.stringContaining('KICI_PROT')]);
    expect(problemsOf({ KICI_DEV: 'false', KICI_PROT: '1' })[0].startsWith('KICI_PROT:')).toBe(true);
  });

  it('treats KICI_ENV as a step variable, not an orchestrator setting', () => {
    expect(ownerOf('KICI_ENV')).toBe('step');
    expect(loadConfig({ KICI_ENV: '/tmp/env' }).warnings).toEqual([]);
  });
});

describe('KICI_SECRET_KEY_FILE', () => {
  const key = 'ab'.repeat(32);

  it('reads the master key from the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kici-key-'));
    try {
      const file = path.join(dir, 'key');
      writeFileSync(file, `${key}\n`);
      expect(loadConfig({ KICI_SECRET_KEY_FILE: file }).secretKey).toBe(key);
      const both = problemsOf({ KICI_SECRET_KEY_FILE: file, KICI_SECRET_KEY: key });
      expect(both).toEqual([expect.stringMatching(/^KICI_SECRET_KEY_FILE: set either/)]);
      expect(both.join()).not.toContain(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the variable and the path when the file cannot be read', () => {
    expect(problemsOf({ KICI_SECRET_KEY_FILE: '/nonexistent/kici-key' })).toEqual(['KICI_SECRET_KEY_FILE: cannot read /nonexistent/kici-key (ENOENT)']);
  });
});

describe('the README configuration table', () => {
  it('is the table generated from the registry', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration (orchestrator)'));
    expect(section).toContain(orchestratorVariableTable());
  });
});

describe('KICI_CLUSTER_INSTANCE_ID', () => {
  it('is read as the node id, and refused by name when it is not a plain identifier', () => {
    expect(loadConfig({ KICI_CLUSTER_INSTANCE_ID: 'coord-1' }).instanceId).toBe('coord-1');
    expect(loadConfig({}).instanceId).toBeUndefined();
    expect(problemsOf({ KICI_CLUSTER_INSTANCE_ID: 'a b/c' })[0].startsWith('KICI_CLUSTER_INSTANCE_ID:')).toBe(true);
  });
});

describe('KICI_TRUSTED_PROXIES', () => {
  it('trusts nobody by default', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
  });

  it('reads a comma-separated list of IP addresses, IPv6 included', () => {
    expect(loadConfig({ KICI_TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2,,::1' }).trustedProxies).toEqual(['10.0.0.1', '10.0.0.2', '::1']);
  });

  it('refuses an entry that is not an IP address, naming the variable and the entry', () => {
    expect(problemsOf({ KICI_TRUSTED_PROXIES: '10.0.0.1,proxy.local' })).toEqual([expect.stringMatching(/^KICI_TRUSTED_PROXIES: proxy\.local is not an IP address/)]);
  });

  it('is in the registry as a variable the orchestrator reads', () => {
    expect(orchestratorVariable('KICI_TRUSTED_PROXIES')?.handling).toBe('read');
    expect(ownerOf('KICI_TRUSTED_PROXIES')).toBe('orchestrator');
  });
});
