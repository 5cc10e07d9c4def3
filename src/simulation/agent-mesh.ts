/**
 * A simulated node's agents in the mesh: the agents room's real MeshLinks, as the orchestrator
 * runs it (server/wiring/agent-mesh.ts), over the simulated peer calls. Kinds travel as the peer
 * links name them (`agents.slots`, `agents.offer`, `agents.command`), unchecked (no zod here: the
 * frames carry the simulation's dispatch attempt too). Every node counts as a member, and a
 * request to a peer whose link is down is refused before it leaves, as the peer links refuse it.
 */
import { MeshLinks, type AgentHub, type MeshPeers } from '../agents/index.js';
import type { LinkWatch } from './link-watch.js';
import { PeerCallTimeoutError, type PeerCalls } from './peer-calls.js';
import { traceLog } from './trace.js';
import type { ProcessClock } from './process-clock.js';

export interface AgentMeshParts {
  hub: AgentHub;
  calls: PeerCalls;
  links: LinkWatch;
  clock: ProcessClock;
  trace(line: string): void;
}

export class AgentMesh {
  private readonly up = new Set<(node: string) => void>();
  private readonly gone = new Set<(node: string) => void>();
  private readonly mesh: MeshLinks;

  constructor(p: AgentMeshParts) {
    this.mesh = new MeshLinks({
      hub: p.hub,
      peers: this.peers(p),
      clock: p.clock,
      warn: traceLog(p.trace),
    });
  }

  start(): void {
    this.mesh.start();
  }

  /** The link watch saw `node` come up. */
  linkUp(node: string): void {
    for (const listener of this.up) listener(node);
  }

  /** The link watch judged the link to `node` down. */
  linkDown(node: string): void {
    for (const listener of this.gone) listener(node);
  }

  private peers({ calls, links }: AgentMeshParts): MeshPeers {
    const wire = (kind: string) => `agents.${kind}`;
    const listen = (set: Set<(node: string) => void>, listener: (node: string) => void) => {
      set.add(listener);
      return () => void set.delete(listener);
    };
    return {
      connected: () => links.connected(),
      tell: (node, kind, body) => calls.tell(node, wire(kind), body),
      request: (node, kind, body, timeoutMs) =>
        links.isUp(node) ? calls.request(node, wire(kind), body, timeoutMs) : Promise.reject(new Error(`${node} is not connected`)),
      unanswered: (e) => e instanceof PeerCallTimeoutError,
      // A simulated process leaves the mesh only by dying, which takes its handlers with it: nothing to detach.
      onMessage: (kind, listener) => {
        calls.handle(wire(kind), (from, body) => listener({ node: from, member: true, ownsRuns: true }, body as never));
        return () => undefined;
      },
      handle: (kind, handler) => {
        calls.handle(wire(kind), (from, body) => handler({ node: from, member: true, ownsRuns: true }, body as never));
        return () => undefined;
      },
      onLinkUp: (listener) => listen(this.up, listener),
      onNodeGone: (listener) => listen(this.gone, listener),
    };
  }
}
