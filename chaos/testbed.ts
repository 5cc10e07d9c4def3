/**
 * The cluster a chaos scenario runs against, every part real and on loopback: a throw-away
 * PostgreSQL (commits durable, so crashing it loses nothing acknowledged), coordinators that
 * formed one cluster from join tokens, edge workers, and agents whose steps append to the journal.
 *
 * A fault proxy sits on every link a nemesis may break: one in front of each coordinator's cluster
 * port (the address it advertises, so every peer link to it passes the proxy, workers' too) and one
 * between each agent and the node it connects to. The nodes run with the fault hook on
 * (KICI_FAULT_INJECTION, KICI_DEV), which partitions individual peer links from inside.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { postgresStopShell, startLocalPostgres, type LocalPostgres } from '../cluster/postgres.js';
import { agreement, Coordinator, EdgeWorker, freePort, startAgent, Supervisor, waitUntil, type ClusterHealth, type KiciProcess } from '../cluster/processes.js';
import { FaultProxy } from './fault-proxy.js';
import { REVIEWER_NAME } from './reviewer.js';
import { makeWorkloadRepository, WORKLOAD_ENVIRONMENT, WORKLOAD_ORG, WORKLOAD_RELEASE_ENVIRONMENT } from './workload-repository.js';
import type { Topology } from './campaign.js';

/** Settings every node of a chaos cluster runs with. */
const NODE_ENV: Record<string, string> = {
  KICI_DEV: 'true',
  KICI_FAULT_INJECTION: 'true',
  // Every run is one the workload made: no reconcile pass invents deliveries behind its back.
  KICI_GIT_RECONCILE_INTERVAL_MS: '3600000',
  // Short enough that the faults' holds (a few seconds) reach them: a silent agent link is closed,
  // and a paused node must not close agents whose pings wait unread.
  KICI_AGENT_HEARTBEAT_TIMEOUT_MS: '5000',
};

export interface TestbedOptions extends Topology {
  /** A directory of its own (created); everything the run keeps lives under it. */
  root: string;
  /** Deliveries the workload may send: a branch is made for each up front. */
  maxDeliveries: number;
  /** Progress lines for the terminal. */
  say: (line: string) => void;
}

/** An agent of the testbed: its process, the proxy on its link, and the node it connects to. */
export class ChaosAgent {
  proc?: KiciProcess;

  constructor(
    readonly name: string,
    readonly host: Coordinator | EdgeWorker,
    readonly proxy: FaultProxy,
    readonly token: string,
    readonly workDir: string,
    private readonly logFile: string,
    private readonly supervisor: Supervisor,
  ) {}

  start(): void {
    this.proc = startAgent(
      {
        name: this.name,
        url: this.proxy.wsUrl,
        token: this.token,
        workDir: this.workDir,
        logFile: this.logFile,
        maxConcurrency: 4,
        // The journal lives on the host: steps must be able to append to it.
        // A half-open link (3–6 s) is noticed by the agent's ping deadline, not only by the heal.
        env: { KICI_AGENT_SANDBOX: 'none', KICI_AGENT_MAX_RECONNECT_DELAY_MS: '1000', KICI_AGENT_PING_TIMEOUT_MS: '3000' },
      },
      this.supervisor,
    );
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /**
   * kill -9 of the agent and of every process it started (its steps): the machine lost power.
   * Resolves with the moment (µs, the journal's clock) every step it had started was dead: the
   * agent is stopped first, so none starts between listing its steps and killing them, and none
   * of a later dispatch can start before it (its socket closes only after).
   */
  async killTree(): Promise<number | undefined> {
    const proc = this.proc;
    if (!proc?.running) return undefined;
    process.kill(proc.pid, 'SIGSTOP');
    for (const pid of descendants(proc.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    const at = Date.now() * 1000;
    await proc.kill9();
    return at;
  }
}

/** Every process below `pid` (children, their children, …), as `ps` lists them. */
function descendants(pid: number): number[] {
  const text = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of text.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (child === undefined || parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** The git source the workload's webhooks are signed for. */
export interface WorkloadSource {
  id: string;
  orgId: string;
  secret: string;
  /** The commit every workload branch points at. */
  sha: string;
}

export class Testbed {
  readonly coordinators: Coordinator[] = [];
  readonly workers: EdgeWorker[] = [];
  readonly agents: ChaosAgent[] = [];
  /** The proxy in front of each coordinator's cluster port, by node name. */
  readonly peerProxies = new Map<string, FaultProxy>();
  readonly journal: string;
  postgres!: LocalPostgres;
  source!: WorkloadSource;
  /** The admin token named `REVIEWER_NAME`, which the reviewer votes on holds with (invariant 5). */
  reviewerToken = '';
  /** Secret values the run handed out (admin token, webhook secret, agent and join tokens): invariant 7 looks for them. */
  readonly secrets: { name: string; value: string }[] = [];
  /** Processes that exited without the harness stopping them: a crash is a finding of its own. */
  readonly crashes: string[] = [];
  private readonly supervisor: Supervisor;
  /** Exits the harness itself is about to cause, by process name. */
  private readonly intendedExits = new Map<string, number>();
  private stopping = false;

  private constructor(readonly options: TestbedOptions) {
    this.journal = path.join(options.root, 'journal.ndjson');
    const cleanup = postgresStopShell(path.join(options.root, 'postgres'));
    this.supervisor = new Supervisor(path.join(options.root, 'run'), cleanup);
    this.supervisor.onChildExit((p, how) => this.exited(p.name, how));
  }

  /** The harness is about to stop or kill `name`: its exit is no crash. */
  expectExit(name: string): void {
    this.intendedExits.set(name, (this.intendedExits.get(name) ?? 0) + 1);
  }

  private exited(name: string, how: { code: number | null; signal: NodeJS.Signals | null }): void {
    const intended = this.intendedExits.get(name) ?? 0;
    if (intended > 0) return void this.intendedExits.set(name, intended - 1);
    if (this.stopping) return;
    this.crashes.push(`${name} exited on its own (${how.signal ?? `code ${how.code}`})`);
  }

  static async start(options: TestbedOptions): Promise<Testbed> {
    mkdirSync(options.root, { recursive: true });
    // The postgres user must reach root/postgres.
    chmodSync(options.root, 0o755);
    const bed = new Testbed(options);
    try {
      await bed.startCluster();
      await bed.startWorkers();
      await bed.makeSource();
      await bed.startAgents();
    } catch (e) {
      await bed.stop();
      throw e;
    }
    return bed;
  }

  get adminToken(): string {
    return this.coordinators[0]?.adminToken ?? '';
  }

  /** Every node a webhook may be sent to: coordinators and edge workers. */
  get webhookTargets(): (Coordinator | EdgeWorker)[] {
    return [...this.coordinators, ...this.workers];
  }

  /** The coordinators' view once they agree on one ready leader (undefined otherwise). */
  async agreedHealth(): Promise<ClusterHealth | undefined> {
    return agreement(this.coordinators, this.coordinators.map((c) => c.name));
  }

  /** The leader some live coordinator reports (undefined when none answers or none knows one). */
  async leader(): Promise<{ node: string; term: number } | undefined> {
    for (const c of this.coordinators) {
      if (!c.running) continue;
      const health = await c.health(1000).catch(() => undefined);
      if (health?.leader) return { node: health.leader.node, term: health.term };
    }
    return undefined;
  }

  /**
   * The cluster is whole: every coordinator up and agreeing on one ready leader, every worker
   * reaching a coordinator, every agent registered somewhere.
   */
  async whole(): Promise<boolean> {
    return (await this.missing()) === undefined;
  }

  /** What keeps the cluster from being whole (undefined: nothing). */
  async missing(): Promise<string | undefined> {
    const down = [...this.coordinators, ...this.workers].filter((n) => !n.running).map((n) => n.name);
    if (down.length > 0) return `not running: ${down.join(', ')}`;
    if (!(await this.agreedHealth())) return `coordinators not agreed on one ready leader: ${await this.healthSummary()}`;
    for (const w of this.workers) {
      const ready = await w.ready(1000).catch((e: Error) => e);
      if (ready instanceof Error || ready.status !== 200) return `${w.name} not ready: ${ready instanceof Error ? ready.message : ready.body.checks.cluster}`;
    }
    const registered = await this.agentsRegistered();
    return registered === this.agents.length ? undefined : `${registered} of ${this.agents.length} agents registered`;
  }

  /** Each coordinator's view in one line: its leader, term, readiness and the members it sees down. */
  private async healthSummary(): Promise<string> {
    const views = await Promise.all(
      this.coordinators.map(async (c) => {
        const h = await c.health(1000).catch((e: Error) => e);
        if (h instanceof Error) return `${c.name}: ${h.message}`;
        const down = h.members.filter((m) => !m.connected).map((m) => m.node);
        return `${c.name}: leader ${h.leader?.node ?? 'none'} term ${h.term}${h.ready ? '' : ` not ready (${h.reason})`}${down.length ? `, sees down ${down.join(' ')}` : ''}`;
      }),
    );
    return views.join('; ');
  }

  /** Agents registered on the coordinators (their agent lists) and the workers (their gauge). */
  async agentsRegistered(): Promise<number> {
    let n = 0;
    for (const c of this.coordinators) n += (await c.api<{ agents: unknown[] }>('GET', '/agents').catch(() => ({ agents: [] }))).agents.length;
    for (const w of this.workers) n += await w.agentsConnected(1000).catch(() => 0);
    return n;
  }

  /** Every log file a node, agent or PostgreSQL wrote: invariant 7 reads them. */
  logFiles(): string[] {
    return [
      ...this.coordinators.map((c) => c.logFile),
      ...this.workers.map((w) => w.logFile),
      ...this.agents.map((a) => path.join(this.options.root, `${a.name}.log`)),
      this.postgres?.logFile,
    ].filter((f): f is string => f !== undefined);
  }

  /** Agents first, then workers, coordinators and PostgreSQL; nothing is left running. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.agents.map((a) => a.proc?.stop(5000)));
    await Promise.all(this.workers.map((w) => w.stop(5000)));
    await Promise.all(this.coordinators.map((c) => c.stop(5000)));
    this.supervisor.killAllSync();
    await Promise.all([...this.peerProxies.values(), ...this.agents.map((a) => a.proxy)].map((p) => p.stop()));
    await this.postgres?.stop().catch(() => undefined);
    this.supervisor.release();
  }

  private async startCluster(): Promise<void> {
    const { root, nodes, say } = this.options;
    say(`starting PostgreSQL and ${nodes} coordinators under ${root}`);
    this.postgres = await startLocalPostgres(path.join(root, 'postgres'), { durableCommits: true });
    for (let i = 0; i < nodes; i++) {
      const name = `node-${i + 1}`;
      const clusterPort = await freePort();
      const proxy = new FaultProxy(clusterPort);
      await proxy.start();
      this.peerProxies.set(name, proxy);
      const spec = { name, dataDir: path.join(root, name), httpPort: await freePort(), clusterPort, advertisedPort: proxy.port, env: NODE_ENV };
      this.coordinators.push(new Coordinator(spec, this.supervisor));
    }
    const [founder, ...joiners] = this.coordinators as [Coordinator, ...Coordinator[]];
    founder.spec.databaseUrl = this.postgres.url;
    await founder.start();
    this.secrets.push({ name: 'admin token', value: founder.adminToken });
    for (const node of joiners) {
      const token = await founder.joinToken();
      this.secrets.push({ name: `join token of ${node.name}`, value: token });
      node.spec.join = { token, peers: [founder.address] };
      node.spec.adminToken = founder.adminToken;
    }
    // One at a time: each join is a configuration change the leader makes in turn.
    for (const node of joiners) await node.start();
    await waitUntil('the coordinators to agree on a leader', () => this.agreedHealth(), { timeoutMs: 90_000, intervalMs: 100 });
  }

  private async startWorkers(): Promise<void> {
    const founder = this.coordinators[0]!;
    for (let i = 0; i < this.options.workers; i++) {
      const name = `edge-${i + 1}`;
      const joinToken = await founder.joinToken('worker');
      this.secrets.push({ name: `join token of ${name}`, value: joinToken });
      const spec = { name, dataDir: path.join(this.options.root, name), httpPort: await freePort(), coordinators: this.coordinators.map((c) => c.address), joinToken, env: NODE_ENV };
      const worker = new EdgeWorker(spec, this.supervisor);
      this.workers.push(worker);
      await worker.start();
    }
  }

  /** The workload's repository (workload-repository.ts), its source, its environments, and the reviewer's token. */
  private async makeSource(): Promise<void> {
    const { origin, sha } = makeWorkloadRepository(path.join(this.options.root, 'repo'), this.options.maxDeliveries, this.journal);
    const secret = `chaos-webhook-secret-${sha.slice(0, 12)}`;
    this.secrets.push({ name: 'webhook secret', value: secret });
    const created = await this.coordinators[0]!.api<{ id: string }>('POST', '/sources', {
      kind: 'git',
      orgId: WORKLOAD_ORG,
      name: 'chaos-workload',
      url: `file://${origin}`,
      defaultBranch: 'main',
      secret,
    });
    this.source = { id: created.id, orgId: WORKLOAD_ORG, secret, sha };
    await this.coordinators[0]!.api('POST', '/environments', { orgId: WORKLOAD_ORG, ...WORKLOAD_ENVIRONMENT });
    await this.coordinators[0]!.api('POST', '/environments', { orgId: WORKLOAD_ORG, ...WORKLOAD_RELEASE_ENVIRONMENT, requiredReviewers: [...WORKLOAD_RELEASE_ENVIRONMENT.requiredReviewers] });
    const reviewer = await this.coordinators[0]!.api<{ token: string }>('POST', '/admin-tokens', { name: REVIEWER_NAME });
    this.reviewerToken = reviewer.token;
    this.secrets.push({ name: `admin token of ${REVIEWER_NAME}`, value: reviewer.token });
  }

  /** Agents spread round-robin over the coordinators and workers, each through a proxy of its own. */
  private async startAgents(): Promise<void> {
    const { root, agents, say } = this.options;
    const founder = this.coordinators[0]!;
    const hosts = this.webhookTargets;
    say(`starting ${agents} agents on ${hosts.map((h) => h.name).join(', ')}`);
    for (let i = 0; i < agents; i++) {
      const name = `agent-${i + 1}`;
      const host = hosts[i % hosts.length]!;
      const { token } = await founder.api<{ token: string }>('POST', '/agent-tokens', { name });
      this.secrets.push({ name: `agent token of ${name}`, value: token });
      const proxy = new FaultProxy(host.spec.httpPort);
      await proxy.start();
      const agent = new ChaosAgent(name, host, proxy, token, path.join(root, name), path.join(root, `${name}.log`), this.supervisor);
      agent.start();
      this.agents.push(agent);
    }
    await waitUntil(`${agents} agents to register`, async () => {
      for (const a of this.agents) if (!a.running) throw new Error(`${a.name} exited:\n${a.proc?.tail()}`);
      return (await this.agentsRegistered()) === agents ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  }

  /** The last lines a process of the testbed printed (for an error). */
  tail(file: string, lines = 20): string {
    try {
      return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
