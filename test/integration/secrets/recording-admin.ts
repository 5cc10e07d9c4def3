/**
 * The admin API and `kici-admin` as the secrets tests drive them, keeping every answer and every
 * line of output, so a test can search all of it for a value that must never come out.
 */
import type { CliResult, TestOrchestrator } from '../admin-surface/cli.js';

export interface Reply {
  status: number;
  body: Record<string, any>;
}

export class RecordingAdmin {
  /** Every API answer body and every CLI output so far. */
  readonly seen: string[] = [];

  constructor(
    private readonly orchestrator: () => TestOrchestrator,
    private readonly token: () => string,
  ) {}

  async api(method: string, apiPath: string, body?: unknown): Promise<Reply> {
    const res = await fetch(`${this.orchestrator().orch.url}/api/v1${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${this.token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    this.seen.push(text);
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  }

  async admin(argv: string[], options?: { stdin?: string }): Promise<CliResult> {
    const r = await this.orchestrator().admin(argv, options);
    this.seen.push(r.out, r.err);
    return r;
  }

  async adminJson<T = Record<string, any>>(argv: string[], options?: { stdin?: string }): Promise<T> {
    const r = await this.admin(['--json', ...argv], options);
    if (r.code !== 0) throw new Error(`kici-admin ${argv.join(' ')} exited ${r.code}: ${r.err}`);
    return JSON.parse(r.out) as T;
  }
}
