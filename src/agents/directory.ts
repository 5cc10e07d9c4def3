import type { AgentSlots } from './remote-agents.js';
import { describeMatchers, labelsSatisfy, type LabelMatcher } from '../workflows/index.js';

/** What the dispatcher knows about one registered agent. */
export interface AgentEntry {
  agentId: string;
  node: string;
  labels: string[];
  maxConcurrency: number;
  /** Jobs dispatched to it and not yet finished. This counter is authoritative; agent reports never overwrite it. */
  active: number;
  /** Sequence number of its last assignment, to spread ties round-robin. */
  lastAssigned: number;
  /** What the agent said of itself when it registered, for operators. */
  version?: string;
  hostname?: string;
  /** When it registered on this node. */
  since?: number;
}

/** What choosing needs to know of an agent, here or on another node. */
export interface AgentSlotsView {
  labels: readonly string[];
  maxConcurrency: number;
  active: number;
}

/**
 * The agent directory: which agents exist, where they are connected, and how many free slots each
 * has. Picking spreads jobs over agents (most free slots first) rather than filling the first one.
 */
export class AgentDirectory {
  private readonly agents = new Map<string, AgentEntry>();
  private assignments = 0;
  private readonly watchers = new Set<() => void>();

  /** Be told whenever an agent comes, goes, or a slot is taken or freed (the mesh reports slots). */
  watch(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** What each agent offers and holds, for the other nodes of the mesh. */
  slots(): Omit<AgentSlots, 'lastSeenAt'>[] {
    return [...this.agents.values()].map((a) => ({
      agentId: a.agentId,
      labels: a.labels,
      maxConcurrency: a.maxConcurrency,
      active: a.active,
      ...(a.version !== undefined && { version: a.version }),
      ...(a.hostname !== undefined && { hostname: a.hostname }),
      ...(a.since !== undefined && { connectedAt: a.since }),
    }));
  }

  upsert(agent: Omit<AgentEntry, 'active' | 'lastAssigned'> & { active?: number }): AgentEntry {
    const existing = this.agents.get(agent.agentId);
    const entry: AgentEntry = {
      ...agent,
      agentId: agent.agentId,
      node: agent.node,
      labels: [...agent.labels],
      maxConcurrency: Math.max(1, agent.maxConcurrency),
      active: agent.active ?? existing?.active ?? 0,
      lastAssigned: existing?.lastAssigned ?? 0,
    };
    this.agents.set(agent.agentId, entry);
    this.changed();
    return entry;
  }

  remove(agentId: string): void {
    if (this.agents.delete(agentId)) this.changed();
  }

  get(agentId: string): AgentEntry | undefined {
    return this.agents.get(agentId);
  }

  list(): AgentEntry[] {
    return [...this.agents.values()];
  }

  get size(): number {
    return this.agents.size;
  }

  /** Choose an agent with a free slot whose labels satisfy `runsOn`, and reserve the slot. */
  reserve(runsOn: readonly LabelMatcher[] | undefined): AgentEntry | undefined {
    let best: AgentEntry | undefined;
    for (const a of this.agents.values()) {
      const free = a.maxConcurrency - a.active;
      if (free <= 0 || !labelsSatisfy(runsOn, a.labels)) continue;
      if (!best) {
        best = a;
        continue;
      }
      const bestFree = best.maxConcurrency - best.active;
      if (free > bestFree || (free === bestFree && a.lastAssigned < best.lastAssigned)) best = a;
    }
    if (best) this.take(best);
    return best;
  }

  /** Reserve a slot on one named agent, if it has one and its labels satisfy `runsOn`. */
  reserveAgent(agentId: string, runsOn: readonly LabelMatcher[] | undefined): AgentEntry | undefined {
    const a = this.agents.get(agentId);
    if (!a || a.active >= a.maxConcurrency || !labelsSatisfy(runsOn, a.labels)) return undefined;
    this.take(a);
    return a;
  }

  /** Account for a job already running on an agent (e.g. reported after a reconnect). */
  occupy(agentId: string): void {
    const a = this.agents.get(agentId);
    if (!a) return;
    a.active += 1;
    this.changed();
  }

  release(agentId: string): void {
    const a = this.agents.get(agentId);
    if (!a || a.active === 0) return;
    a.active -= 1;
    this.changed();
  }

  private take(a: AgentEntry): void {
    a.active += 1;
    a.lastAssigned = ++this.assignments;
    this.changed();
  }

  private changed(): void {
    for (const w of this.watchers) w();
  }

  /**
   * Why a job with these labels is still waiting, in an operator's words: no agent at all, none
   * with the labels, or all of those busy.
   */
  waitReason(runsOn: readonly LabelMatcher[] | undefined, elsewhere: readonly AgentSlotsView[] = []): string {
    const all: AgentSlotsView[] = [...this.agents.values(), ...elsewhere];
    const connected = all.length;
    const agents = `${connected} agent${connected === 1 ? '' : 's'} connected`;
    if (connected === 0) return 'no agent is connected';
    const able = all.filter((a) => labelsSatisfy(runsOn, a.labels));
    if (able.length === 0) return `no connected agent has labels ${describeMatchers(runsOn)}; ${agents}`;
    const free = able.filter((a) => a.active < a.maxConcurrency).length;
    if (free === 0) {
      const busy = able.length === 1 ? 'the one agent' : `all ${able.length} agents`;
      return `${busy} with labels ${describeMatchers(runsOn)} ${able.length === 1 ? 'is' : 'are'} busy; ${agents}`;
    }
    return `${free} agent${free === 1 ? '' : 's'} with labels ${describeMatchers(runsOn)} can take it; it is being dispatched`;
  }

  /** Whether any registered agent could ever take a job with these labels (ignoring free slots). */
  anyCouldRun(runsOn: readonly LabelMatcher[] | undefined): boolean {
    for (const a of this.agents.values()) if (labelsSatisfy(runsOn, a.labels)) return true;
    return false;
  }
}
