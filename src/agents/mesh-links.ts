/**
 * This node's agents in the mesh: it reports the free slots of the agents whose sockets it holds
 * to every peer (on change, when a link comes up, and every few seconds so a lost report heals),
 * answers other nodes' job offers and commands for those agents, and gives its hub the port to
 * offer jobs to agents elsewhere. Only current members are listened to.
 *
 * The peers come in through MeshPeers: the orchestrator adapts the transport's peer links to it
 * (validating every body at the edge), the cluster simulator its simulated peer calls.
 */
import type { Clock } from '../clock/index.js';
import type { AgentCommandBody, AgentSlotsBody, JobOfferAnswer, JobOfferBody } from '../transport/index.js';
import type { AgentHub } from './hub.js';
import type { MeshPort, OfferAnswer } from './mesh-placement.js';

/** What a node tells its peers about its agents, one way, by kind. */
export interface MeshMessages {
  slots: AgentSlotsBody;
}

/** What a node asks a peer about the agents it holds, and the answer, by kind. */
export interface MeshRequests {
  offer: { body: JobOfferBody; answer: JobOfferAnswer };
  command: { body: AgentCommandBody; answer: { reached: boolean } };
}

/** Who sent a message or a request. */
export interface MeshSender {
  node: string;
  /** A current member of the cluster: only members are listened to. */
  member: boolean;
  /**
   * A coordinator: it owns runs, so it may offer their jobs and command agents here. An edge worker
   * owns none: it only reports its agents' slots.
   */
  ownsRuns: boolean;
}

/** The links to the other nodes, as the agents' mesh needs them. */
export interface MeshPeers {
  /** The peers whose link is up now. */
  connected(): readonly string[];
  /** One way, no answer; may throw when the link cannot take it now. */
  tell<K extends keyof MeshMessages>(node: string, kind: K, body: MeshMessages[K]): void;
  /** Resolves with the peer's answer; rejects when it was never sent, was refused, or no answer came in time. */
  request<K extends keyof MeshRequests>(node: string, kind: K, body: MeshRequests[K]['body'], timeoutMs: number): Promise<MeshRequests[K]['answer']>;
  /**
   * Did this failed request leave, with no answer back (timed out, or the link dropped while it
   * waited)? Then the peer may have acted on it. Otherwise it was never sent, or was refused.
   */
  unanswered(error: unknown): boolean;
  onMessage<K extends keyof MeshMessages>(kind: K, listener: (from: MeshSender, body: MeshMessages[K]) => void): () => void;
  handle<K extends keyof MeshRequests>(kind: K, handler: (from: MeshSender, body: MeshRequests[K]['body']) => MeshRequests[K]['answer']): () => void;
  /** A link to `node` came up (again). */
  onLinkUp(listener: (node: string) => void): () => void;
  /** The link to `node` went down, or it left. */
  onNodeGone(listener: (node: string) => void): () => void;
}

export interface MeshLinksParts {
  hub: AgentHub;
  peers: MeshPeers;
  /** Runs the report timers. */
  clock: Clock;
  /** A command to another node's agent that did not get through (warn level). */
  warn?(fields: object, msg: string): void;
}

/** Changes within this long go out as one report. */
const REPORT_COALESCE_MS = 2;
/** Every report is also repeated this often, so one lost on the wire is replaced. */
const REPORT_EVERY_MS = 2_000;
/** An offer is answered at once by a live node; past this it counts as unanswered. */
const OFFER_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 5_000;

export class MeshLinks {
  private coalescing: (() => void) | undefined;
  private stopPeriodic: (() => void) | undefined;
  private readonly detach: (() => void)[];

  /** Listens to the peers and connects the hub at once; the periodic reports wait for `start`. */
  constructor(private readonly p: MeshLinksParts) {
    const { hub, peers } = p;
    this.detach = [
      peers.onMessage('slots', (from, body) => {
        if (from.member) hub.placement.slotsReported(from.node, body.agents);
      }),
      peers.handle('offer', (from, body) => (from.member && from.ownsRuns ? hub.offered(body) : { status: 'refused' as const, reason: 'only coordinators of the cluster offer jobs' })),
      peers.handle('command', (from, body) => ({ reached: from.member && from.ownsRuns && hub.commanded(body) })),
      peers.onLinkUp((node) => this.report(node)),
      peers.onNodeGone((node) => hub.placement.nodeGone(node)),
      hub.directory.watch(() => {
        this.coalescing ??= p.clock.setTimer(REPORT_COALESCE_MS, () => {
          this.coalescing = undefined;
          this.report();
        });
      }),
    ];
    hub.placement.connect(this.port());
  }

  /** Repeat the report to every peer every REPORT_EVERY_MS from now on. */
  start(): void {
    const periodic = () => {
      this.stopPeriodic = this.p.clock.setTimer(REPORT_EVERY_MS, () => {
        this.report();
        periodic();
      });
    };
    periodic();
  }

  stop(): void {
    this.coalescing?.();
    this.stopPeriodic?.();
    for (const d of this.detach) d();
  }

  private report(to?: string): void {
    // Sent every REPORT_EVERY_MS, so another node's view of when an agent was last heard from is that stale at most.
    const body = { agents: this.p.hub.directory.slots().map((a) => withLastSeen(a, this.p.hub.lastSeenOf(a.agentId))) };
    for (const node of to ? [to] : this.p.peers.connected()) {
      try {
        this.p.peers.tell(node, 'slots', body);
      } catch {
        // A full queue or a link going down: the next report carries the same news.
      }
    }
  }

  private port(): MeshPort {
    const { peers } = this.p;
    return {
      offer: async (node, agentId, request): Promise<OfferAnswer> => {
        const { runId, jobId, attempt, runsOn, frame } = request;
        try {
          return await peers.request(node, 'offer', { agentId, runId, jobId, attempt, runsOn, frame }, OFFER_TIMEOUT_MS);
        } catch (e) {
          // Sent but unanswered: it may be running. Never sent (the link was down before the offer left) or refused: it is not.
          if (peers.unanswered(e)) return { status: 'unanswered', reason: (e as Error).message };
          return { status: 'refused', reason: (e as Error).message };
        }
      },
      command: (node, command) => {
        for (const n of node ? [node] : peers.connected()) {
          peers.request(n, 'command', command, COMMAND_TIMEOUT_MS).catch((e: Error) =>
            this.p.warn?.({ node: n, agentId: command.agentId, command: command.command, err: e.message }, 'agent command not delivered to another node'),
          );
        }
      },
    };
  }
}

function withLastSeen<A extends object>(agent: A, lastSeenAt: number | undefined): A & { lastSeenAt?: number } {
  return lastSeenAt === undefined ? agent : { ...agent, lastSeenAt: Math.trunc(lastSeenAt) };
}
