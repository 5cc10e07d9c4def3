/**
 * This node's agents in the mesh: it reports the free slots of the agents whose sockets it holds
 * to every peer (on change, when a link comes up, and every few seconds so a lost report heals),
 * answers other nodes' job offers and commands for those agents, and gives its hub the port to
 * offer jobs to agents elsewhere. Only current members are listened to.
 */
import type { AgentHub, MeshPort, OfferAnswer } from '../../agents/index.js';
import type { Clock } from '../../clock/index.js';
import { PeerLinkDownError, PeerRequestTimeoutError, type AgentCommandBody, type AgentMeshKinds, type PeerIdentity, type PeerLinks } from '../../transport/index.js';
import type { Logger } from '../logger.js';

export interface AgentMeshParts {
  links: PeerLinks;
  kinds: AgentMeshKinds;
  hub: AgentHub;
  clock: Clock;
  log: Pick<Logger, 'warn'>;
  trusts(from: PeerIdentity): boolean;
}

/** Changes within this long go out as one report. */
const REPORT_COALESCE_MS = 2;
/** Every report is also repeated this often, so one lost on the wire is replaced. */
const REPORT_EVERY_MS = 2_000;
/** An offer is answered at once by a live node; past this it counts as unanswered. */
const OFFER_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 5_000;

export function joinAgentMesh(p: AgentMeshParts): () => void {
  const { links, kinds, hub, clock } = p;
  const report = (to?: string) => {
    const body = { agents: hub.directory.slots() };
    for (const node of to ? [to] : links.connectedPeers().map((peer) => peer.nodeId)) {
      try {
        links.send(node, kinds.slots, body);
      } catch {
        // A full queue or a link going down: the next report carries the same news.
      }
    }
  };
  let coalescing: (() => void) | undefined;
  const unwatch = hub.directory.watch(() => {
    coalescing ??= clock.setTimer(REPORT_COALESCE_MS, () => {
      coalescing = undefined;
      report();
    });
  });
  let stopPeriodic = () => {};
  const periodic = () => {
    stopPeriodic = clock.setTimer(REPORT_EVERY_MS, () => {
      report();
      periodic();
    });
  };
  periodic();

  const detach = [
    links.onMessage(kinds.slots, (from, body) => {
      if (p.trusts(from)) hub.placement.slotsReported(from.nodeId, body.agents);
    }),
    links.handle(kinds.offer, (from, body) => (p.trusts(from) ? hub.offered(body) : { status: 'refused' as const, reason: 'not a member of the cluster' })),
    links.handle(kinds.command, (from, body) => ({ reached: p.trusts(from) && hub.commanded(body) })),
    links.on('peerUp', (e) => report(e.nodeId)),
    links.on('peerDown', (e) => hub.placement.nodeGone(e.nodeId)),
    unwatch,
  ];
  hub.placement.connect(meshPort(p));
  return () => {
    coalescing?.();
    stopPeriodic();
    for (const d of detach) d();
  };
}

function meshPort(p: AgentMeshParts): MeshPort {
  const { links, kinds } = p;
  return {
    offer: async (node, agentId, request): Promise<OfferAnswer> => {
      const { runId, jobId, attempt, runsOn, frame } = request;
      try {
        return await links.request(node, kinds.offer, { agentId, runId, jobId, attempt, runsOn, frame }, { timeoutMs: OFFER_TIMEOUT_MS });
      } catch (e) {
        // Never sent: the link was down before the offer left. Sent but unanswered: it may be running.
        if (e instanceof PeerRequestTimeoutError || (e instanceof PeerLinkDownError && e.reason !== 'not connected')) return { status: 'unanswered', reason: e.message };
        return { status: 'refused', reason: (e as Error).message };
      }
    },
    command: (node, command: AgentCommandBody) => {
      const nodes = node ? [node] : links.connectedPeers().map((peer) => peer.nodeId);
      for (const n of nodes) {
        links.request(n, kinds.command, command, { timeoutMs: COMMAND_TIMEOUT_MS }).catch((e: Error) =>
          p.log.warn({ node: n, agentId: command.agentId, command: command.command, err: e.message }, 'agent command not delivered to another node'),
        );
      }
    },
  };
}
