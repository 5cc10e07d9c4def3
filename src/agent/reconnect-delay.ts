import type { Random } from '../clock/index.js';

export interface ReconnectDelayOptions {
  baseMs?: number;
  maxMs?: number;
}

/**
 * KiCI's backoff: `min(base · 1.5^n · (1 + U[0, 0.5)), max)`. The jitter keeps a fleet of agents
 * from reconnecting in lock-step after an orchestrator restart.
 */
export function reconnectDelay(attempt: number, random: Random, options: ReconnectDelayOptions = {}): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 60_000;
  const jitter = 1 + random.next() * 0.5;
  return Math.min(Math.round(base * 1.5 ** attempt * jitter), max);
}
