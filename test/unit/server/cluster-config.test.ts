/**
 * The cluster variables of loadConfig: what they parse to, and the combinations refused (each
 * refusal names the variable and says why).
 */
import { describe, expect, it } from 'vitest';
// Imported from the file itself so these tests do not load the whole composition root.
import { ConfigError, loadConfig, shardLeaseLimit } from '../../../src/server/config.js';
import { orchestratorVariable } from '../../../src/server/variables.js';
import { problemsOf } from './config-problems.js';


const TOKEN = `kici1.${'ab'.repeat(32)}.${'01'.repeat(8)}.${'A'.repeat(43)}`;

describe('cluster variables: defaults', () => {
  it('a node with no cluster variables is a cluster of one with the documented timings', () => {
    const c = loadConfig({});
    expect(c.cluster).toEqual({
      port: 4001,
      address: undefined,
      peers: [],
      joinToken: undefined,
      raft: { heartbeatMs: 50, electionMinMs: 500, electionMaxMs: 1000 },
      peerHeartbeatMs: 500,
      peerStaleMs: 1500,
      maxReconnectDelayMs: 5000,
      // 1500 less a tenth (150) less a Raft heartbeat (50).
      shardLeaseMs: 1300,
      rebalanceShardsPerSecond: 16,
      coordinators: [],
      workerOutageMaxMs: 600_000,
    });
    expect(c.role).toBe('coordinator');
    expect(c.workerOutboxMaxBytes).toBe(64 * 1024 * 1024);
    expect(c.storageType).toBe('filesystem');
    expect(c.faultInjection).toBe(false);
  });
});

describe('cluster variables: parsing', () => {
  it('reads the port, address, peers and join token', () => {
    const c = loadConfig({
      KICI_CLUSTER_PORT: '5001',
      KICI_CLUSTER_ADDRESS: 'node-b.internal:5001',
      KICI_CLUSTER_PEERS: 'node-a.internal:4001, 10.0.0.3:4001,[fd00::1]:4001,,',
      KICI_CLUSTER_JOIN_TOKEN: TOKEN,
    });
    expect(c.cluster).toMatchObject({
      port: 5001,
      address: 'node-b.internal:5001',
      peers: ['node-a.internal:4001', '10.0.0.3:4001', '[fd00::1]:4001'],
      joinToken: TOKEN,
    });
    expect(c.warnings).toEqual([]);
  });

  it('trims the address', () => {
    expect(loadConfig({ KICI_CLUSTER_ADDRESS: '  node-b:4001 ' }).cluster.address).toBe('node-b:4001');
  });

  it('reads the Raft and peer-link timings', () => {
    const c = loadConfig({
      KICI_CLUSTER_RAFT_HEARTBEAT_MS: '20',
      KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: '100',
      KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '200',
      KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS: '100',
      KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '200',
      KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS: '1000',
    });
    expect(c.cluster).toMatchObject({
      raft: { heartbeatMs: 20, electionMinMs: 100, electionMaxMs: 200 },
      peerHeartbeatMs: 100,
      peerStaleMs: 200,
      maxReconnectDelayMs: 1000,
    });
  });

  it('accepts the timing boundaries exactly (min = 5 × heartbeat, max = min + heartbeat + 1, stale = 2 × ping)', () => {
    const c = loadConfig({
      KICI_CLUSTER_RAFT_HEARTBEAT_MS: '100',
      KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: '500',
      KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '601',
      KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS: '300',
      KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '600',
    });
    expect(c.cluster.raft).toEqual({ heartbeatMs: 100, electionMinMs: 500, electionMaxMs: 601 });
    expect(c.cluster.peerStaleMs).toBe(600);
  });

  it('reads the shard lease, and derives it from the stale timeout and the Raft heartbeat when unset', () => {
    expect(loadConfig({ KICI_CLUSTER_SHARD_LEASE_MS: '900' }).cluster.shardLeaseMs).toBe(900);
    // At the limit exactly: accepted.
    expect(loadConfig({ KICI_CLUSTER_SHARD_LEASE_MS: '1300' }).cluster.shardLeaseMs).toBe(1300);
    const derived = loadConfig({ KICI_CLUSTER_RAFT_HEARTBEAT_MS: '20', KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: '100', KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '200', KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '3000' });
    expect(derived.cluster.shardLeaseMs).toBe(3000 - 300 - 20);
    expect(shardLeaseLimit({ peerStaleMs: 3000, raftHeartbeatMs: 20 })).toBe(2680);
    // The README's default is the derived one.
    expect(orchestratorVariable('KICI_CLUSTER_SHARD_LEASE_MS')?.default).toBe(String(loadConfig({}).cluster.shardLeaseMs));
  });

  it('accepts KICI_STORAGE_TYPE=database', () => {
    const c = loadConfig({ KICI_STORAGE_TYPE: 'database' });
    expect(c.storageType).toBe('database');
    expect(c.warnings).toEqual([]);
    expect(loadConfig({ KICI_STORAGE_TYPE: 'fs' }).storageType).toBe('filesystem');
  });

  it('accepts KICI_FAULT_INJECTION=true with KICI_DEV=true', () => {
    expect(loadConfig({ KICI_FAULT_INJECTION: 'true', KICI_DEV: 'true' }).faultInjection).toBe(true);
    expect(loadConfig({ KICI_FAULT_INJECTION: 'false' }).faultInjection).toBe(false);
  });

  it('accepts KICI_FAULT_CLOCK_OFFSET_MS with fault injection, either way up to a day, and says so at start', () => {
    const faults = { KICI_FAULT_INJECTION: 'true', KICI_DEV: 'true' };
    expect(loadConfig(faults).faultClockOffsetMs).toBe(0);
    expect(loadConfig(faults).warnings).toEqual([]);
    const behind = loadConfig({ ...faults, KICI_FAULT_CLOCK_OFFSET_MS: '-3600000' });
    expect(behind.faultClockOffsetMs).toBe(-3_600_000);
    expect(behind.warnings).toEqual([expect.stringMatching(/^KICI_FAULT_CLOCK_OFFSET_MS=-3600000: .*3600000 ms behind/)]);
    expect(loadConfig({ ...faults, KICI_FAULT_CLOCK_OFFSET_MS: '86400000' }).faultClockOffsetMs).toBe(86_400_000);
    expect(loadConfig({ ...faults, KICI_FAULT_CLOCK_OFFSET_MS: '0' }).warnings).toEqual([]);
    expect(orchestratorVariable('KICI_FAULT_CLOCK_OFFSET_MS')?.handling).toBe('read');
  });
});

describe('cluster variables: refusals', () => {
  it('refuses a join token without peers to join through', () => {
    const problems = problemsOf({ KICI_CLUSTER_JOIN_TOKEN: TOKEN, KICI_CLUSTER_ADDRESS: 'b:4001' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_JOIN_TOKEN: .*KICI_CLUSTER_PEERS/)]);
    // The token itself is not echoed back.
    expect(problems.join('\n')).not.toContain(TOKEN);
  });

  it('refuses peers without this node\'s own address', () => {
    expect(problemsOf({ KICI_CLUSTER_PEERS: 'a:4001' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEERS: .*KICI_CLUSTER_ADDRESS/)]);
  });

  it('refuses a join token with neither peers nor address, naming both', () => {
    expect(problemsOf({ KICI_CLUSTER_JOIN_TOKEN: TOKEN })).toEqual([expect.stringMatching(/^KICI_CLUSTER_JOIN_TOKEN:/)]);
    const both = problemsOf({ KICI_CLUSTER_JOIN_TOKEN: TOKEN, KICI_CLUSTER_PEERS: 'a:4001' });
    expect(both).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEERS: .*KICI_CLUSTER_ADDRESS/)]);
  });

  it('refuses a join token that is not one', () => {
    const problems = problemsOf({ KICI_CLUSTER_JOIN_TOKEN: 'secret-looking-thing', KICI_CLUSTER_PEERS: 'a:4001', KICI_CLUSTER_ADDRESS: 'b:4001' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_JOIN_TOKEN: .*kici1\./)]);
    expect(problems.join('\n')).not.toContain('secret-looking-thing');
  });

  it.each([
    ['no port', 'node-a'],
    ['port 0', 'node-a:0'],
    ['port too large', 'node-a:65536'],
    ['a URL', 'https://node-a:4001'],
    ['a space inside', 'node a:4001'],
    ['bare IPv6', 'fd00::1:4001'],
  ])('refuses a peer with %s, naming the entry', (_, bad) => {
    const problems = problemsOf({ KICI_CLUSTER_PEERS: `good:4001,${bad},also-good:4002`, KICI_CLUSTER_ADDRESS: 'me:4001' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KICI_CLUSTER_PEERS: /);
    expect(problems[0]).toContain(`${bad} is not host:port`);
    expect(problems[0]).not.toContain('good:4001 is not');
  });

  it('names every bad peer entry', () => {
    const problems = problemsOf({ KICI_CLUSTER_PEERS: 'x,y:1,z', KICI_CLUSTER_ADDRESS: 'me:4001' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEERS: x is not host:port/), expect.stringMatching(/^KICI_CLUSTER_PEERS: z is not host:port/)]);
  });

  it.each([['node-a'], ['node-a:0'], ['node-a:99999'], ['a,b:4001']])('refuses the address %s', (bad) => {
    expect(problemsOf({ KICI_CLUSTER_ADDRESS: bad })).toEqual([expect.stringMatching(/^KICI_CLUSTER_ADDRESS: must be host:port/)]);
  });

  it('refuses a cluster port out of range', () => {
    expect(problemsOf({ KICI_CLUSTER_PORT: '70000' })[0]).toMatch(/^KICI_CLUSTER_PORT:/);
    expect(problemsOf({ KICI_CLUSTER_PORT: 'peer' })[0]).toMatch(/^KICI_CLUSTER_PORT:/);
  });

  it('refuses an election timeout under 5 Raft heartbeats', () => {
    const problems = problemsOf({ KICI_CLUSTER_RAFT_HEARTBEAT_MS: '100', KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: '499', KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '2000' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS \(499\) must be at least 5 × KICI_CLUSTER_RAFT_HEARTBEAT_MS \(100\)/)]);
  });

  it('refuses an election timeout range no wider than a heartbeat', () => {
    const problems = problemsOf({ KICI_CLUSTER_RAFT_HEARTBEAT_MS: '100', KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: '500', KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '600' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS \(600\) must exceed KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS \(500\) by more than a heartbeat \(100\)/)]);
    // max below min: refused the same way.
    expect(problemsOf({ KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '400' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS \(400\)/)]);
  });

  it('judges the defaults against a changed heartbeat', () => {
    // 200 ms heartbeats with the default 500 ms minimum: min < 5 × 200, and max 1000 > 700 is fine.
    expect(problemsOf({ KICI_CLUSTER_RAFT_HEARTBEAT_MS: '200' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS \(500\) .*\(200\)/)]);
  });

  it('refuses a peer stale timeout under 2 peer heartbeats', () => {
    const problems = problemsOf({ KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS: '500', KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '999' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEER_STALE_TIMEOUT_MS \(999\) must be at least 2 × KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS \(500\)/)]);
  });

  it('lists every timing problem at once', () => {
    const problems = problemsOf({
      KICI_CLUSTER_RAFT_HEARTBEAT_MS: '100',
      KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: '300',
      KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: '350',
      KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '600',
    });
    expect(problems).toHaveLength(3);
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS',
      'KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS',
      'KICI_CLUSTER_PEER_STALE_TIMEOUT_MS',
    ]);
  });

  it('refuses a shard lease the leader could outlast: above the stale timeout less the drift margin', () => {
    const problems = problemsOf({ KICI_CLUSTER_SHARD_LEASE_MS: '1301' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_SHARD_LEASE_MS \(1301\) must be at most KICI_CLUSTER_PEER_STALE_TIMEOUT_MS \(1500\) less a drift margin \(a tenth of it plus KICI_CLUSTER_RAFT_HEARTBEAT_MS, 200\) = 1300: /)]);
    // Judged against the stale timeout and heartbeat given.
    expect(problemsOf({ KICI_CLUSTER_SHARD_LEASE_MS: '1000', KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '1000' })).toEqual([expect.stringMatching(/^KICI_CLUSTER_SHARD_LEASE_MS \(1000\) .* = 850: /)]);
    expect(problemsOf({ KICI_CLUSTER_SHARD_LEASE_MS: '49' })[0]).toMatch(/^KICI_CLUSTER_SHARD_LEASE_MS:/);
  });

  it('refuses a stale timeout that leaves no room for the shard lease', () => {
    const problems = problemsOf({ KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS: '10', KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: '100' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEER_STALE_TIMEOUT_MS \(100\) leaves no room for the shard lease: .* = 40\) must be at least 50 ms/)]);
  });

  it('refuses timings below their floors', () => {
    expect(problemsOf({ KICI_CLUSTER_RAFT_HEARTBEAT_MS: '5' })[0]).toMatch(/^KICI_CLUSTER_RAFT_HEARTBEAT_MS:/);
    expect(problemsOf({ KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS: '1.5' })[0]).toMatch(/^KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS:/);
  });

  it('refuses KICI_FAULT_INJECTION=true without KICI_DEV=true', () => {
    expect(problemsOf({ KICI_FAULT_INJECTION: 'true' })).toEqual([expect.stringMatching(/^KICI_FAULT_INJECTION=true is refused unless KICI_DEV=true/)]);
    expect(problemsOf({ KICI_FAULT_INJECTION: 'yes', KICI_DEV: 'false' })).toEqual([expect.stringMatching(/^KICI_FAULT_INJECTION=true/)]);
  });

  it('refuses KICI_FAULT_CLOCK_OFFSET_MS without fault injection, even 0 and even with KICI_DEV=true', () => {
    const refusal = /^KICI_FAULT_CLOCK_OFFSET_MS is refused unless KICI_FAULT_INJECTION=true/;
    expect(problemsOf({ KICI_FAULT_CLOCK_OFFSET_MS: '5000' })).toEqual([expect.stringMatching(refusal)]);
    expect(problemsOf({ KICI_FAULT_CLOCK_OFFSET_MS: '0', KICI_DEV: 'true' })).toEqual([expect.stringMatching(refusal)]);
    expect(problemsOf({ KICI_FAULT_CLOCK_OFFSET_MS: '-5000', KICI_FAULT_INJECTION: 'false', KICI_DEV: 'true' })).toEqual([expect.stringMatching(refusal)]);
    // Fault injection asked for without KICI_DEV: that refusal is the one to mend first, and is enough.
    expect(problemsOf({ KICI_FAULT_CLOCK_OFFSET_MS: '5000', KICI_FAULT_INJECTION: 'true' })).toEqual([
      expect.stringMatching(/^KICI_FAULT_INJECTION=true is refused/),
    ]);
  });

  it('refuses a clock offset beyond a day, a fraction or a word, naming the variable', () => {
    const faults = { KICI_FAULT_INJECTION: 'true', KICI_DEV: 'true' };
    for (const value of ['86400001', '-86400001', '1.5', 'an hour']) {
      expect(problemsOf({ ...faults, KICI_FAULT_CLOCK_OFFSET_MS: value })).toEqual([expect.stringMatching(/^KICI_FAULT_CLOCK_OFFSET_MS: /)]);
    }
  });

  it('refuses a storage type it does not know', () => {
    expect(problemsOf({ KICI_STORAGE_TYPE: 'postgres' })[0]).toMatch(/^KICI_STORAGE_TYPE:/);
  });
});

describe('edge workers: KICI_CLUSTER_ROLE=worker', () => {
  const worker = (env: NodeJS.ProcessEnv = {}) => ({ KICI_CLUSTER_ROLE: 'worker', ...env });

  it('reads a worker with one coordinator, and the worker defaults', () => {
    const c = loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord-a.internal:4001' }));
    expect(c.role).toBe('worker');
    expect(c.cluster.coordinators).toEqual(['coord-a.internal:4001']);
    expect(c.workerOutboxMaxBytes).toBe(67_108_864);
    expect(c.warnings).toEqual([]);
  });

  it.each([
    ['host:port', 'coord:4001', 'coord:4001'],
    ['a ws URL to /ws/peer', 'ws://coord:4001/ws/peer', 'coord:4001'],
    ['a wss URL', 'wss://coord.example.com:4443/ws/peer', 'coord.example.com:4443'],
    ['an http URL', 'http://10.0.0.1:4001', '10.0.0.1:4001'],
    ['an https URL with a slash', 'HTTPS://coord:4001/', 'coord:4001'],
    ['an IPv6 URL', 'ws://[fd00::1]:4001/ws/peer', '[fd00::1]:4001'],
    ['an IPv6 address', '[fd00::2]:4001', '[fd00::2]:4001'],
    ['spaces around', '  wss://coord:4001/ws/peer ', 'coord:4001'],
  ])('reads %s as host:port', (_, given, read) => {
    expect(loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URL: given })).cluster.coordinators).toEqual([read]);
    expect(loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URLS: given })).cluster.coordinators).toEqual([read]);
  });

  it('reads a comma list, merges both variables in order and keeps each address once', () => {
    expect(loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URLS: 'ws://a:4001/ws/peer, b:4001,,c:4001' })).cluster.coordinators).toEqual(['a:4001', 'b:4001', 'c:4001']);
    const both = loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URL: 'wss://b:4001/ws/peer', KICI_CLUSTER_COORDINATOR_URLS: 'a:4001,http://b:4001,ws://a:4001/ws/peer,c:4001' }));
    expect(both.cluster.coordinators).toEqual(['b:4001', 'a:4001', 'c:4001']);
  });

  it.each([
    ['no port', 'coord'],
    ['a URL without a port', 'ws://coord/ws/peer'],
    ['another scheme', 'ftp://coord:4001'],
    ['port 0', 'coord:0'],
    ['a space inside', 'co ord:4001'],
  ])('refuses a coordinator with %s, naming the variable and the entry', (_, bad) => {
    const problems = problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URLS: `good:4001,${bad}` }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KICI_CLUSTER_COORDINATOR_URLS: /);
    expect(problems[0]).toContain(`${bad.trim()} is not host:port or a ws://, wss://, http:// or https:// URL with a port`);
  });

  it('KICI_CLUSTER_COORDINATOR_URL names one coordinator; a list goes in KICI_CLUSTER_COORDINATOR_URLS', () => {
    expect(problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URL: 'a:4001,b:4001' }))).toEqual([
      'KICI_CLUSTER_COORDINATOR_URL: names one coordinator; list several in KICI_CLUSTER_COORDINATOR_URLS (comma-separated)',
    ]);
  });

  it('refuses a URL with credentials without quoting them', () => {
    const problems = problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URL: 'wss://kici:hunter2@coord:4001/ws/peer' }));
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_COORDINATOR_URL: a URL with credentials .* is refused and not quoted/)]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('refuses a worker with no coordinator, naming both variables', () => {
    const problems = problemsOf(worker());
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_ROLE=worker: set KICI_CLUSTER_COORDINATOR_URL or KICI_CLUSTER_COORDINATOR_URLS/)]);
    expect(problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URLS: ' , ' }))).toEqual(problems);
  });

  it('refuses a database URL on a worker: it keeps no database', () => {
    const problems = problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord:4001', KICI_DATABASE_URL: 'postgres://kici:db-password@db/kici' }));
    expect(problems).toEqual(['KICI_DATABASE_URL: a worker keeps no database (its runs live on the coordinators); unset it']);
    expect(problems.join('\n')).not.toContain('db-password');
  });

  it('refuses KICI_CLUSTER_PEERS on a worker, and only that (not the coordinator rule asking for an address)', () => {
    const problems = problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord:4001', KICI_CLUSTER_PEERS: 'coord:4001' }));
    expect(problems).toEqual([expect.stringMatching(/^KICI_CLUSTER_PEERS: workers dial coordinators through KICI_CLUSTER_COORDINATOR_URLS/)]);
  });

  it('takes a join token without KICI_CLUSTER_PEERS or KICI_CLUSTER_ADDRESS', () => {
    const c = loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URLS: 'a:4001,b:4001', KICI_CLUSTER_JOIN_TOKEN: TOKEN }));
    expect(c.cluster).toMatchObject({ joinToken: TOKEN, coordinators: ['a:4001', 'b:4001'], peers: [], address: undefined });
    expect(c.warnings).toEqual([]);
  });

  it('lists every worker problem at once', () => {
    const problems = problemsOf(worker({ KICI_DATABASE_URL: 'postgres://db/kici', KICI_CLUSTER_PEERS: 'a:4001' }));
    expect(problems.map((p) => p.split(/[:=]/)[0])).toEqual(['KICI_CLUSTER_ROLE', 'KICI_DATABASE_URL', 'KICI_CLUSTER_PEERS']);
  });

  it('warns that a worker does not use an address or the outage bound', () => {
    const c = loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord:4001', KICI_CLUSTER_ADDRESS: 'me:4001', KICI_CLUSTER_WORKER_OUTAGE_MAX_MS: '5000' }));
    expect(c.warnings).toEqual([
      expect.stringMatching(/^KICI_CLUSTER_ADDRESS is not used on a worker/),
      expect.stringMatching(/^KICI_CLUSTER_WORKER_OUTAGE_MAX_MS is not used on a worker/),
    ]);
  });

  it('reads KICI_WORKER_OUTBOX_MAX_BYTES, at least 1 MiB', () => {
    expect(loadConfig(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord:4001', KICI_WORKER_OUTBOX_MAX_BYTES: '1048576' })).workerOutboxMaxBytes).toBe(1_048_576);
    expect(problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord:4001', KICI_WORKER_OUTBOX_MAX_BYTES: '1048575' }))).toEqual([expect.stringMatching(/^KICI_WORKER_OUTBOX_MAX_BYTES: must be at least 1048576/)]);
    expect(problemsOf(worker({ KICI_CLUSTER_COORDINATOR_URL: 'coord:4001', KICI_WORKER_OUTBOX_MAX_BYTES: 'lots' }))[0]).toMatch(/^KICI_WORKER_OUTBOX_MAX_BYTES:/);
  });
});

describe('edge workers: what a coordinator is told', () => {
  it.each([['KICI_CLUSTER_COORDINATOR_URL'], ['KICI_CLUSTER_COORDINATOR_URLS']])('refuses %s on a coordinator: it is for workers', (name) => {
    expect(problemsOf({ [name]: 'coord:4001' })).toEqual([`${name}: is for workers (KICI_CLUSTER_ROLE=worker), which dial the coordinators; a coordinator joins through KICI_CLUSTER_PEERS`]);
    expect(problemsOf({ KICI_CLUSTER_ROLE: 'coordinator', [name]: 'coord:4001' })).toHaveLength(1);
  });

  it('reads KICI_CLUSTER_WORKER_OUTAGE_MAX_MS, at least 1000', () => {
    expect(loadConfig({ KICI_CLUSTER_WORKER_OUTAGE_MAX_MS: '1000' }).cluster.workerOutageMaxMs).toBe(1000);
    expect(loadConfig({ KICI_CLUSTER_WORKER_OUTAGE_MAX_MS: '3600000' }).cluster.workerOutageMaxMs).toBe(3_600_000);
    expect(problemsOf({ KICI_CLUSTER_WORKER_OUTAGE_MAX_MS: '999' })[0]).toMatch(/^KICI_CLUSTER_WORKER_OUTAGE_MAX_MS:/);
  });

  it('warns that a coordinator does not use the worker outbox bound', () => {
    expect(loadConfig({ KICI_WORKER_OUTBOX_MAX_BYTES: '2097152' }).warnings).toEqual([expect.stringMatching(/^KICI_WORKER_OUTBOX_MAX_BYTES is not used on a coordinator/)]);
  });

  it('documents the worker variables as read, with their defaults', () => {
    for (const name of ['KICI_CLUSTER_COORDINATOR_URL', 'KICI_CLUSTER_COORDINATOR_URLS', 'KICI_CLUSTER_WORKER_OUTAGE_MAX_MS', 'KICI_WORKER_OUTBOX_MAX_BYTES']) {
      expect(orchestratorVariable(name)?.handling, name).toBe('read');
    }
    expect(orchestratorVariable('KICI_CLUSTER_WORKER_OUTAGE_MAX_MS')?.default).toBe(String(loadConfig({}).cluster.workerOutageMaxMs));
    expect(orchestratorVariable('KICI_WORKER_OUTBOX_MAX_BYTES')?.default).toBe(String(loadConfig({}).workerOutboxMaxBytes));
    expect(orchestratorVariable('KICI_CLUSTER_ROLE')?.meaning).not.toMatch(/refused/);
  });
});
