import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, type ClusterHealth } from '../../../cluster/processes.js';
import { OrchestratorProcess } from './orchestrator.js';
import { waitUntil } from './wait.js';

export type { ClusterHealth };

export interface MemberOptions {
  name: string;
  /** The founder's database; a joiner takes its own from the join. */
  databaseUrl?: string;
  /** Join through these members' cluster ports with this token. */
  join?: { token: string; peers: string[] };
  adminToken?: string;
  env?: Record<string, string>;
}

/**
 * One orchestrator of a test cluster on loopback: its own data directory, HTTP port and cluster
 * port; blobs in the database (as every member of a cluster keeps them); the fault hook on.
 */
export class ClusterMember {
  readonly process: OrchestratorProcess;

  private constructor(
    readonly name: string,
    readonly address: string,
    readonly dataDir: string,
    options: MemberOptions,
    clusterPort: number,
  ) {
    this.process = new OrchestratorProcess({
      dataDir,
      logFile: path.join(dataDir, 'orchestrator.log'),
      databaseUrl: options.databaseUrl,
      adminToken: options.adminToken,
      env: {
        KICI_CLUSTER_INSTANCE_ID: name,
        KICI_CLUSTER_PORT: String(clusterPort),
        KICI_CLUSTER_ADDRESS: address,
        KICI_STORAGE_TYPE: 'database',
        KICI_DEV: 'true',
        KICI_FAULT_INJECTION: 'true',
        ...(options.join ? { KICI_CLUSTER_JOIN_TOKEN: options.join.token, KICI_CLUSTER_PEERS: options.join.peers.join(',') } : {}),
        ...options.env,
      },
    });
  }

  static async create(root: string, options: MemberOptions): Promise<ClusterMember> {
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(root, `${options.name}-`));
    return new ClusterMember(options.name, `127.0.0.1:${port}`, dataDir, options, port);
  }

  get url(): string {
    return this.process.url;
  }

  async health(): Promise<ClusterHealth> {
    const res = await fetch(`${this.url}/cluster/health`);
    return (await res.json()) as ClusterHealth;
  }

  async ready(): Promise<number> {
    return (await fetch(`${this.url}/ready`)).status;
  }

  /** A single-use coordinator join token from this member. */
  async joinToken(): Promise<string> {
    return (await this.process.api<{ token: string }>('POST', '/peers/tokens', { role: 'coordinator' })).token;
  }
}

export function clusterRoot(): string {
  return mkdtempSync(path.join(tmpdir(), 'kici-cluster-'));
}

/** Waits until every one of `members` reports the same leader, a voter among `expected` members. */
export async function agreedLeader(members: ClusterMember[], expected: string[]): Promise<ClusterHealth> {
  return waitUntil(
    `members ${members.map((m) => m.name).join(', ')} to agree on a leader with ${expected.length} voters`,
    async () => {
      const views = await Promise.all(members.map((m) => m.health().catch(() => undefined)));
      const first = views[0];
      if (!first?.leader || views.some((v) => v?.leader?.node !== first.leader!.node || !v.ready)) return undefined;
      const voters = first.members.filter((m) => m.standing === 'voter').map((m) => m.node).sort();
      return JSON.stringify(voters) === JSON.stringify([...expected].sort()) ? first : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

/**
 * Three (or more) orchestrators on one PostgreSQL: the first makes the cluster, the others join it
 * with tokens of their own; resolves once they agree on a leader with every one of them a voter.
 */
export async function formCluster(root: string, databaseUrl: string, names = ['node-a', 'node-b', 'node-c'], env: Record<string, string> = {}): Promise<ClusterMember[]> {
  const [first, ...rest] = names;
  const founder = await ClusterMember.create(root, { name: first!, databaseUrl, env });
  await founder.process.start();
  const joiners: ClusterMember[] = [];
  for (const name of rest) joiners.push(await ClusterMember.create(root, { name, join: { token: await founder.joinToken(), peers: [founder.address] }, adminToken: founder.process.adminToken, env }));
  await Promise.all(joiners.map((m) => m.process.start()));
  const members = [founder, ...joiners];
  await agreedLeader(members, names);
  return members;
}
