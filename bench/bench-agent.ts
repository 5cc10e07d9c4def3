import WebSocket from 'ws';

/**
 * An agent for benchmarks: it speaks the real protocol (auth, register, ack, running, final status
 * with its outbox ack) but finishes every job at once, so the figures measure kici, not steps.
 */
export class BenchAgent {
  readonly dispatchTimes: number[] = [];
  private ws?: WebSocket;
  private onDispatch?: (runId: string) => void;
  private settled = new Map<string, () => void>();
  private seq = 0;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly agentId: string,
    private readonly slots: number,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.on('error', reject);
      ws.on('open', () => this.send({ type: 'auth.request', token: this.token, protocolVersion: 1 }));
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        if (msg.type === 'auth.success') {
          this.send({ type: 'agent.register', agentId: this.agentId, labels: ['bench'], platform: 'linux', arch: 'x64', version: 'bench', hostname: 'bench', maxConcurrency: this.slots });
        } else if (msg.type === 'register.ack') {
          resolve();
        } else if (msg.type === 'job.dispatch') {
          this.finish(msg.runId as string, msg.jobId as string);
        } else if (msg.type === 'ack') {
          const done = this.settled.get(msg.messageId as string);
          this.settled.delete(msg.messageId as string);
          done?.();
        }
      });
    });
  }

  /** Called with the run id each time a job.dispatch arrives. */
  watch(fn: (runId: string) => void): void {
    this.onDispatch = fn;
  }

  /** Resolves when the orchestrator has acknowledged every final status sent so far. */
  async drained(): Promise<void> {
    while (this.settled.size > 0) await new Promise((r) => setTimeout(r, 1));
  }

  close(): void {
    this.ws?.close(1000);
  }

  private finish(runId: string, jobId: string): void {
    this.dispatchTimes.push(performance.now());
    this.onDispatch?.(runId);
    this.send({ type: 'job.ack', runId, jobId });
    this.send({ type: 'job.status', runId, jobId, state: 'running', messageId: this.id(), timestamp: Date.now() });
    const messageId = this.id();
    this.settled.set(messageId, () => {});
    this.send({ type: 'job.status', runId, jobId, state: 'success', messageId, timestamp: Date.now(), data: { outputs: {}, stepResults: [] } });
  }

  private id(): string {
    return `${this.agentId}-${++this.seq}`;
  }

  private send(msg: Record<string, unknown>): void {
    this.ws?.send(JSON.stringify(msg));
  }
}
