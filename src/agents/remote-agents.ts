import { labelsSatisfy, type LabelMatcher } from '../workflows/index.js';

/** One agent on another node, as that node last told its slots. */
export interface RemoteAgent {
  node: string;
  agentId: string;
  labels: string[];
  maxConcurrency: number;
  active: number;
  /** What its node reported of it for operators (absent from older nodes). */
  version?: string;
  hostname?: string;
  connectedAt?: number;
  lastSeenAt?: number;
}

export type AgentSlots = Omit<RemoteAgent, 'node'>;

/**
 * The agents whose sockets other nodes hold, as those nodes last reported their slots. A report
 * replaces the node's whole list, so a lost report is healed by the next one. Between reports the
 * view moves on what this node did: a job it placed takes a slot, a refusal marks the agent full.
 * It is a hint for choosing; the agent's own node decides.
 */
export class RemoteAgents {
  private readonly byNode = new Map<string, Map<string, RemoteAgent>>();

  /** A node's report; true when it shows a free slot this view did not (queued jobs may go now). */
  replace(node: string, agents: readonly AgentSlots[]): boolean {
    const before = this.freeOf(node);
    this.byNode.set(node, new Map(agents.map((a) => [a.agentId, { ...a, labels: [...a.labels], node }])));
    return this.freeOf(node) > before;
  }

  /** The node is gone (its link is down, or it left): none of its agents can be chosen. */
  forget(node: string): void {
    this.byNode.delete(node);
  }

  /** Where an agent's socket is, as far as the reports say. */
  nodeOf(agentId: string): string | undefined {
    for (const [node, agents] of this.byNode) if (agents.has(agentId)) return node;
    return undefined;
  }

  /** Agents elsewhere able to take a job with these labels now, most free slots first. */
  candidates(runsOn: readonly LabelMatcher[] | undefined): RemoteAgent[] {
    const able: RemoteAgent[] = [];
    for (const agents of this.byNode.values()) {
      for (const a of agents.values()) if (a.active < a.maxConcurrency && labelsSatisfy(runsOn, a.labels)) able.push(a);
    }
    // Ties by node and id, so the same view always gives the same order.
    return able.sort((x, y) => y.maxConcurrency - y.active - (x.maxConcurrency - x.active) || x.node.localeCompare(y.node) || x.agentId.localeCompare(y.agentId));
  }

  /** This node placed a job there: one slot fewer until the node's next report. */
  took(node: string, agentId: string): void {
    const a = this.byNode.get(node)?.get(agentId);
    if (a) a.active += 1;
  }

  /** The node refused: treat the agent as full until the node's next report. */
  full(node: string, agentId: string): void {
    const a = this.byNode.get(node)?.get(agentId);
    if (a) a.active = a.maxConcurrency;
  }

  list(): RemoteAgent[] {
    return [...this.byNode.values()].flatMap((agents) => [...agents.values()]);
  }

  private freeOf(node: string): number {
    let free = 0;
    for (const a of this.byNode.get(node)?.values() ?? []) free += Math.max(0, a.maxConcurrency - a.active);
    return free;
  }
}
