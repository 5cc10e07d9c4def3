/**
 * A coordinator's side of its edge workers. Each worker that links in is told the cluster as this
 * coordinator sees it (members, shard map, agent tokens' hashes), at once and whenever it changes;
 * its forwarded webhooks go through this node's intake, its agents are recorded, and what it
 * reports it holds is kept for `kici-admin cluster status`. When a worker's link drops, the running
 * jobs of its agents whose runs this node owns wait as `recovering` for the worker outage limit,
 * so results the worker replays within it are applied, and none is run twice meanwhile.
 */
import type { ActorSystem } from '../../actors/index.js';
import type { Clock } from '../../clock/index.js';
import type { ClusterRaft } from '../../cluster/index.js';
import { runRef, type RunMessage } from '../../runs/index.js';
import type { Store } from '../../store/index.js';
import type { PeerIdentity, PeerLinks, WorkerLinkKinds, WorkerStatusBody, WorkerViewBody } from '../../transport/index.js';
import type { IntakeRequest } from '../../webhooks/index.js';
import type { Logger } from '../logger.js';
import type { WebhookAnswer } from '../routes/webhooks.js';

export interface EdgeWorkersParts {
  nodeId: string;
  links: PeerLinks;
  kinds: WorkerLinkKinds;
  raft: Pick<ClusterRaft, 'state' | 'onApplied' | 'status'>;
  store: Pick<Store, 'agents' | 'jobs'>;
  system: ActorSystem;
  clock: Clock;
  /** Is this link a current member's own certificate? */
  trusts(from: PeerIdentity): boolean;
  /** A forwarded webhook, through this node's intake as if it had arrived here. */
  receiveWebhook(request: IntakeRequest, address: () => string): Promise<WebhookAnswer>;
  /** How long the running jobs of an unreachable worker's agents wait for it. */
  outageMaxMs: number;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** Views are sent again this often, so a token made or revoked in the database reaches workers. */
const VIEW_REFRESH_MS = 5_000;
/** Applied Raft entries come in bursts (a rebalance): one view after the burst. */
const VIEW_SETTLE_MS = 100;

export class EdgeWorkers {
  private readonly reports = new Map<string, WorkerStatusBody & { at: number }>();
  private readonly detach: (() => void)[] = [];
  private cancelRefresh: (() => void) | undefined;
  private cancelSettle: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly p: EdgeWorkersParts) {
    const { links, kinds } = p;
    const worker = (from: PeerIdentity) => from.role === 'worker' && p.trusts(from);
    this.detach.push(
      links.on('peerUp', (e) => {
        if (e.role === 'worker' && this.connectedWorkers().includes(e.nodeId)) void this.sendViews([e.nodeId]);
      }),
      links.on('peerDown', (e) => {
        if (this.isWorker(e.nodeId)) void this.workerGone(e.nodeId);
      }),
      p.raft.onApplied(() => this.settleThenSend()),
      links.handle(kinds.webhook, async (from, body) => {
        if (!worker(from)) throw new Error('only edge workers of this cluster forward webhooks');
        const request: IntakeRequest = { route: body.route, orgId: body.orgId, sourceId: body.sourceId, headers: body.headers, rawBody: Buffer.from(body.body, 'base64') };
        return p.receiveWebhook(request, () => `${from.nodeId} (edge worker)`);
      }),
      links.handle(kinds.jobsHeld, async (from, body) => {
        if (!worker(from)) throw new Error('only edge workers of this cluster ask');
        const jobs = await p.store.jobs.listByStatus(['queued', 'running', 'recovering', 'cancelling'], { agentId: body.agentId });
        return { jobs: jobs.map((j) => ({ runId: j.runId, jobId: j.id })) };
      }),
      links.handle(kinds.agentToken, async (from, body) => {
        if (!worker(from)) throw new Error('only edge workers of this cluster ask');
        const found = await p.store.agents.findValidToken(body.hash, new Date(p.clock.now()));
        return { token: found ? { id: found.id, labels: found.labels, maxConcurrency: found.maxConcurrency, expiresAt: found.expiresAt?.getTime() ?? null } : null };
      }),
      links.onMessage(kinds.agentRegistered, (from, body) => {
        if (!worker(from)) return;
        const record = { id: body.agentId, tokenId: body.tokenId, labels: body.labels, hostname: body.hostname, connectedNode: from.nodeId };
        p.store.agents.register(record, new Date(p.clock.now())).catch((e: Error) => p.log.warn({ agentId: body.agentId, worker: from.nodeId, err: e.message }, 'agent registration not recorded'));
      }),
      links.onMessage(kinds.status, (from, body) => {
        if (worker(from)) this.reports.set(from.nodeId, { ...body, at: p.clock.now() });
      }),
    );
    this.scheduleRefresh();
  }

  /** What a worker last said it holds (undefined: it never reported to this node). */
  report(node: string): (WorkerStatusBody & { at: number }) | undefined {
    return this.reports.get(node);
  }

  stop(): void {
    this.stopped = true;
    this.cancelRefresh?.();
    this.cancelSettle?.();
    for (const d of this.detach) d();
  }

  private isWorker(node: string): boolean {
    return this.p.raft.state.member(node)?.role === 'worker';
  }

  /** Workers linked now whose certificate is the one the cluster recorded (a removed one gets nothing). */
  private connectedWorkers(): string[] {
    return this.p.links.connectedPeers().filter((peer) => peer.role === 'worker' && this.p.trusts(peer)).map((peer) => peer.nodeId);
  }

  private settleThenSend(): void {
    if (this.stopped || this.cancelSettle || this.connectedWorkers().length === 0) return;
    this.cancelSettle = this.p.clock.setTimer(VIEW_SETTLE_MS, () => {
      this.cancelSettle = undefined;
      void this.sendViews(this.connectedWorkers());
    });
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    this.cancelRefresh = this.p.clock.setTimer(VIEW_REFRESH_MS, () => {
      const workers = this.connectedWorkers();
      void (workers.length ? this.sendViews(workers) : Promise.resolve()).finally(() => this.scheduleRefresh());
    });
  }

  private async sendViews(workers: string[]): Promise<void> {
    if (workers.length === 0) return;
    try {
      const view = await this.view();
      for (const w of workers) this.p.links.send(w, this.p.kinds.view, view);
    } catch (e) {
      this.p.log.warn({ workers, err: (e as Error).message }, 'cluster view not sent to edge workers; sent again shortly');
    }
  }

  private async view(): Promise<WorkerViewBody> {
    const state = this.p.raft.state;
    const tokens = await this.p.store.agents.validTokenHashes(new Date(this.p.clock.now()));
    return {
      appliedIndex: this.p.raft.status().applied,
      members: state.memberList().flatMap((m) => (m.certificateSerial ? [{ node: m.node, address: m.address, role: m.role, serial: m.certificateSerial }] : [])),
      revokedSerials: state.revoked(),
      shards: [...state.shardOwners()].map(([shard, owner]) => ({ shard, node: owner.node, epoch: owner.epoch })),
      agentTokens: tokens.map((t) => ({ id: t.id, hash: t.hash, labels: t.labels, maxConcurrency: t.maxConcurrency, expiresAt: t.expiresAt?.getTime() ?? null })),
    };
  }

  /** The worker's link dropped: its agents' running jobs of runs owned here wait for it. */
  private async workerGone(worker: string): Promise<void> {
    try {
      const agents = await this.p.store.agents.list({ connectedNode: worker });
      let held = 0;
      for (const agent of agents) {
        const jobs = await this.p.store.jobs.listByStatus('running', { agentId: agent.id });
        const byRun = new Map<string, string[]>();
        for (const j of jobs) {
          if (this.p.system.locate(j.runId)?.node !== this.p.nodeId) continue;
          byRun.set(j.runId, [...(byRun.get(j.runId) ?? []), j.id]);
        }
        for (const [runId, jobIds] of byRun) {
          // Back already (a flap): its agents' jobs were announced again as it came up; nothing to hold.
          if (this.p.links.isUp(worker)) return;
          runRef(this.p.system, runId).tell({ type: 'agent_unreachable', agentId: agent.id, jobIds, windowMs: this.p.outageMaxMs } satisfies RunMessage);
          held += jobIds.length;
        }
      }
      if (held > 0) this.p.log.warn({ worker, jobs: held, holdMs: this.p.outageMaxMs }, 'edge worker out of reach: its running jobs wait for it');
    } catch (e) {
      this.p.log.warn({ worker, err: (e as Error).message }, 'jobs behind an unreachable edge worker not held; the stale sweep judges them');
    }
  }
}
