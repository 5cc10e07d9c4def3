/**
 * How many jobs at once (slots) an agent may declare in `agent.register`. The cap is set per agent
 * token, because an agent's frame budget grows with its slots: without a cap, a hostile agent
 * could declare any number and flood its node unthrottled.
 */

/**
 * The cap of a token made without `--max-concurrency`: room for a large build box (the agent's own
 * limit is 1000), small enough that one agent's budget stays a fraction of what a node can take.
 */
export const DEFAULT_AGENT_SLOT_CAP = 64;

/** The highest cap a token may carry. */
export const MAX_AGENT_SLOT_CAP = 10_000;

/** The slots a token admits: its own cap, or the default when it was made without one. */
export function agentSlotCap(tokenCap: number | null): number {
  return tokenCap ?? DEFAULT_AGENT_SLOT_CAP;
}
