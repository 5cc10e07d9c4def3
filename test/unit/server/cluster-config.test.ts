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
    });
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

  it('refuses a storage type it does not know', () => {
    expect(problemsOf({ KICI_STORAGE_TYPE: 'postgres' })[0]).toMatch(/^KICI_STORAGE_TYPE:/);
  });
});
