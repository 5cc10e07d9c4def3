/**
 * A simulated node's agents in the mesh, as src/server/wiring/agent-mesh.ts joins them in the
 * orchestrator: the free slots of its agents are reported to every peer (on change, when a link
 * comes up, and every two seconds), other nodes' offers and commands for its agents are answered
 * by its hub, and its hub gets the port to offer jobs to agents elsewhere.
 */
import type { AgentHub, AgentSlots, MeshPort, OfferAnswer } from '../agents/index.js';
import type { AgentCommandBody } from '../transport/index.js';
import type { LinkWatch } from './link-watch.js';
import { PeerCallTimeoutError, type PeerCalls } from './peer-calls.js';
import type { ProcessClock } from './process-clock.js';

const REPORT_COALESCE_MS = 2;
const REPORT_EVERY_MS = 2_000;
const OFFER_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 5_000;

export interface AgentMeshParts {
  hub: AgentHub;
  calls: PeerCalls;
  links: LinkWatch;
  clock: ProcessClock;
}

export class AgentMesh {
  private coalescing: (() => void) | undefined;

  constructor(private readonly p: AgentMeshParts) {
    const { hub, calls } = p;
    calls.handle('agents.slots', (from, body) => hub.placement.slotsReported(from, (body as { agents: AgentSlots[] }).agents));
    calls.handle('agents.offer', (_from, body) => hub.offered(body as never));
    calls.handle('agents.command', (_from, body) => ({ reached: hub.commanded(body as AgentCommandBody) }));
    hub.directory.watch(() => {
      this.coalescing ??= p.clock.setTimer(REPORT_COALESCE_MS, () => {
        this.coalescing = undefined;
        this.report();
      });
    });
    hub.placement.connect(this.port());
  }

  start(): void {
    const periodic = () => {
      this.report();
      this.p.clock.setTimer(REPORT_EVERY_MS, periodic);
    };
    this.p.clock.setTimer(REPORT_EVERY_MS, periodic);
  }

  linkUp(node: string): void {
    this.report(node);
  }

  linkDown(node: string): void {
    this.p.hub.placement.nodeGone(node);
  }

  private report(to?: string): void {
    const body = { agents: this.p.hub.directory.slots() };
    for (const node of to ? [to] : this.p.links.connected()) this.p.calls.tell(node, 'agents.slots', body);
  }

  private port(): MeshPort {
    const { calls, links } = this.p;
    return {
      offer: async (node, agentId, request): Promise<OfferAnswer> => {
        // Never sent: the link was down before the offer left. Sent but unanswered: it may be running.
        if (!links.isUp(node)) return { status: 'refused', reason: `${node} is not connected` };
        const { runId, jobId, attempt, runsOn, frame } = request;
        try {
          return await calls.request<OfferAnswer>(node, 'agents.offer', { agentId, runId, jobId, attempt, runsOn, frame }, OFFER_TIMEOUT_MS);
        } catch (e) {
          if (e instanceof PeerCallTimeoutError) return { status: 'unanswered', reason: e.message };
          return { status: 'refused', reason: (e as Error).message };
        }
      },
      command: (node, command) => {
        for (const n of node ? [node] : links.connected()) calls.request(n, 'agents.command', command, COMMAND_TIMEOUT_MS).catch(() => undefined);
      },
    };
  }
}
