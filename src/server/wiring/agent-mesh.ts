/**
 * This node's agents in the mesh (the agents room's MeshLinks) over the transport's peer links:
 * the `agents.*` peer kinds, whose bodies the links check against their zod schemas both ways
 * (transport/peer-protocol/agent-mesh.ts), and the node's judgement of who is a current member.
 */
import { MeshLinks, type AgentHub, type MeshMessages, type MeshPeers, type MeshRequests, type MeshSender } from '../../agents/index.js';
import type { Clock } from '../../clock/index.js';
import {
  PeerLinkDownError,
  PeerRequestTimeoutError,
  type AgentMeshKinds,
  type PeerIdentity,
  type PeerLinks,
  type PeerMessageKind,
  type PeerRequestKind,
} from '../../transport/index.js';
import type { Logger } from '../logger.js';

export interface AgentMeshParts {
  links: PeerLinks;
  kinds: AgentMeshKinds;
  hub: AgentHub;
  clock: Clock;
  log: Pick<Logger, 'warn'>;
  trusts(from: PeerIdentity): boolean;
}

export function joinAgentMesh(p: AgentMeshParts): () => void {
  const mesh = new MeshLinks({ hub: p.hub, peers: meshPeers(p), clock: p.clock, warn: (fields, msg) => p.log.warn(fields, msg) });
  mesh.start();
  return () => mesh.stop();
}

function meshPeers({ links, kinds, trusts }: AgentMeshParts): MeshPeers {
  const sender = (from: PeerIdentity): MeshSender => ({ node: from.nodeId, member: trusts(from), ownsRuns: from.role === 'coordinator' });
  // The registered kinds, seen kind by kind, so each body and answer keeps its own type.
  const messages: { [K in keyof MeshMessages]: PeerMessageKind<MeshMessages[K]> } = kinds;
  const requests: { [K in keyof MeshRequests]: PeerRequestKind<MeshRequests[K]['body'], MeshRequests[K]['answer']> } = kinds;
  return {
    connected: () => links.connectedPeers().map((peer) => peer.nodeId),
    tell: (node, kind, body) => void links.send(node, messages[kind], body),
    request: (node, kind, body, timeoutMs) => links.request(node, requests[kind], body, { timeoutMs }),
    // A link down before the request left ("not connected") never sent it; one that dropped while it waited may have.
    unanswered: (e) => e instanceof PeerRequestTimeoutError || (e instanceof PeerLinkDownError && e.reason !== 'not connected'),
    onMessage: (kind, listener) => links.onMessage(messages[kind], (from, body) => listener(sender(from), body)),
    handle: (kind, handler) => links.handle(requests[kind], (from, body) => handler(sender(from), body)),
    onLinkUp: (listener) => links.on('peerUp', (e) => listener(e.nodeId)),
    onNodeGone: (listener) => links.on('peerDown', (e) => listener(e.nodeId)),
  };
}
