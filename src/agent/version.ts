/** Sent in agent.register; kept beside the agent so `dist/` and `src/` agree without reading package.json. */
export const AGENT_VERSION = '0.1.0';
