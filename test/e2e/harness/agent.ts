import { binPath } from './build.js';
import { baseEnv, NodeProcess } from './process.js';

export interface AgentOptions {
  /** ws://host:port/ws — the orchestrator's, or a proxy's. */
  url: string;
  token: string;
  workDir: string;
  logFile: string;
  labels?: string[];
  maxConcurrency?: number;
  /** Caps the reconnect backoff so tests that cut links do not wait a minute. */
  maxReconnectDelayMs?: number;
  /** More variables in the agent's own environment (to prove they do not reach steps). */
  extraEnv?: Record<string, string>;
}

/** Start a `kici-agent` process; the token travels in the environment, as operators are told to pass it. */
export function startAgent(o: AgentOptions): NodeProcess {
  const args = ['--url', o.url, '--work-dir', o.workDir];
  if (o.labels?.length) args.push('--labels', o.labels.join(','));
  if (o.maxConcurrency) args.push('--max-concurrency', String(o.maxConcurrency));
  return new NodeProcess(
    'agent',
    binPath('kici-agent'),
    args,
    baseEnv({
      KICI_AGENT_TOKEN: o.token,
      KICI_LOG_LEVEL: 'info',
      KICI_AGENT_MAX_RECONNECT_DELAY_MS: o.maxReconnectDelayMs === undefined ? undefined : String(o.maxReconnectDelayMs),
      ...o.extraEnv,
    }),
    o.logFile,
  );
}
