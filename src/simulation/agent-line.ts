/**
 * One agent's WebSocket to its orchestrator, simulated: text frames each way, in order, after a
 * small seeded delay, and nothing more once either end closes it. The orchestrator's end is the
 * real AgentSession's socket port; the agent's end is a simulated agent.
 */
import type { AgentSession, AgentSocket } from '../agents/index.js';
import type { SimRandom } from '../raft/index.js';
import type { SimLoop } from './loop.js';

export interface LineEnd {
  frame(line: AgentLine, text: string): void;
  closed(line: AgentLine, code: number): void;
}

/** Agent and orchestrator share a machine room: a frame takes 0.1–2 ms. */
const MIN_DELAY_MS = 0.1;
const MAX_DELAY_MS = 2;

export class AgentLine implements AgentSocket {
  readonly remoteAddress: string;
  private open = true;
  private session: AgentSession | undefined;
  /** When the last frame each way lands: a later one never overtakes it (TCP keeps order). */
  private toAgentAt = 0;
  private toOrchestratorAt = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: SimRandom,
    private readonly agent: LineEnd,
    agentId: string,
  ) {
    this.remoteAddress = `${agentId}.agents.sim`;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** The orchestrator's session on this line (it is made by the hub from this socket). */
  bind(session: AgentSession): void {
    this.session = session;
  }

  // ---- the orchestrator's end (AgentSocket) --------------------------------------------------

  send(text: string): void {
    if (!this.open) return;
    this.toAgentAt = this.arrival(this.toAgentAt);
    this.loop.at(this.toAgentAt, () => {
      if (this.open) this.agent.frame(this, text);
    });
  }

  close(code: number): void {
    if (!this.open) return;
    this.open = false;
    this.loop.after(this.delay(), () => this.agent.closed(this, code));
  }

  // ---- the agent's end -----------------------------------------------------------------------

  toOrchestrator(text: string): void {
    if (!this.open) return;
    this.toOrchestratorAt = this.arrival(this.toOrchestratorAt);
    this.loop.at(this.toOrchestratorAt, () => {
      if (this.open) this.session?.receive(text);
    });
  }

  /** The orchestrator's process died: the agent sees the connection drop, nobody else hears of it. */
  drop(): void {
    if (!this.open) return;
    this.open = false;
    this.loop.after(this.delay(), () => this.agent.closed(this, 1006));
  }

  private delay(): number {
    return this.rng.between(MIN_DELAY_MS, MAX_DELAY_MS);
  }

  private arrival(last: number): number {
    return Math.max(this.loop.elapsed() + this.delay(), last);
  }
}
