import type { AgentSocket } from '../../../src/agents/index.js';

/** The AgentSocket port in a test: it keeps every frame sent and the close it was given. */
export class RecordingSocket implements AgentSocket {
  readonly sent: Record<string, unknown>[] = [];
  closedWith?: { code: number; reason: string };
  /** Where the connection comes from, as the server's adapter would report it. */
  remoteAddress?: string;

  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }

  types(): string[] {
    return this.sent.map((f) => f.type as string);
  }

  last(type: string): Record<string, unknown> | undefined {
    return [...this.sent].reverse().find((f) => f.type === type);
  }
}

/** Let pending promise callbacks (a token check, a persisted status) run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const authRequest = (token = 'tok-good') => JSON.stringify({ type: 'auth.request', token, protocolVersion: 1 });

export function register(agentId: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'agent.register',
    agentId,
    labels: ['linux'],
    platform: 'linux',
    arch: 'x64',
    version: '0.1.0',
    hostname: 'box',
    maxConcurrency: 1,
    ...extra,
  });
}

export const heartbeat = (at = 1) => JSON.stringify({ type: 'heartbeat', timestamp: at });

/** Resolve or reject a promise from the outside, to hold a port's answer back. */
export function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
