import WebSocket from 'ws';

/** What a `job.dispatch` frame told the agent, and when it arrived (`performance.now()` of this process). */
export interface SeenDispatch {
  runId: string;
  jobId: string;
  jobName: string;
  branch?: string;
  attempt: number;
  /** The run's shard epoch the sender stamped on the frame: above the old owner's once a new node owns the run. */
  epoch: number;
  at: number;
}

/**
 * An agent for benchmarks: it speaks the real protocol and answers each dispatch as the real agent
 * does (`job.ack`, `job.status running`, `step.status` running then success for each step, and the
 * final `job.status` with its step results; the terminal statuses wait for the node's `ack`), but
 * runs no step, so the figures measure kici, not steps. Its labels and slots are its own choosing,
 * each dispatch frame is handed to the watcher, and it remembers which node's socket it holds
 * (`node`), for the cluster figures that care.
 */
export class BenchAgent {
  readonly seen: SeenDispatch[] = [];
  /** `performance.now()` when the node acknowledged the registration. */
  registeredAt = Number.NaN;
  /** Jobs whose final status the node has acknowledged. */
  finished = 0;
  /** `rate.limit.warning` and `error` frames the node sent. */
  rateWarnings = 0;
  errors = 0;
  /** How the node closed the link, if it did (the agent's own close() is not counted). */
  closedByNode?: { code: number; reason: string };
  /** Called each time the node acknowledges a job's final status. */
  onFinished?: () => void;
  private ws?: WebSocket;
  private stopKeepAlive?: () => void;
  private closing = false;
  private watcher?: (d: SeenDispatch) => void;
  private readonly settled = new Map<string, () => void>();
  private seq = 0;

  constructor(
    readonly node: string,
    private readonly url: string,
    private readonly token: string,
    readonly agentId: string,
    private readonly labels: string[],
    private readonly slots: number,
  ) {}

  connect(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${this.agentId}: not registered with ${this.node} after ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.on('close', (code, reason) => {
        this.stopKeepAlive?.();
        if (!this.closing) this.closedByNode = { code, reason: reason.toString() };
      });
      ws.on('open', () => this.send({ type: 'auth.request', token: this.token, protocolVersion: 1 }));
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        if (msg.type === 'auth.success') {
          this.send({ type: 'agent.register', agentId: this.agentId, labels: this.labels, platform: 'linux', arch: 'x64', version: 'bench', hostname: 'bench', maxConcurrency: this.slots });
        } else if (msg.type === 'auth.failure') {
          clearTimeout(timer);
          reject(new Error(`${this.agentId}: ${String(msg.reason)}`));
        } else if (msg.type === 'register.ack') {
          clearTimeout(timer);
          this.registeredAt = performance.now();
          resolve();
        } else if (msg.type === 'job.dispatch') {
          this.finish(msg);
        } else if (msg.type === 'ack') {
          const done = this.settled.get(msg.messageId as string);
          this.settled.delete(msg.messageId as string);
          done?.();
        } else if (msg.type === 'rate.limit.warning') {
          this.rateWarnings++;
        } else if (msg.type === 'error') {
          this.errors++;
        }
      });
    });
  }

  /** Called with each `job.dispatch` as it arrives, before the agent answers it. */
  watch(fn: ((d: SeenDispatch) => void) | undefined): void {
    this.watcher = fn;
  }

  /** Resolves when the node has acknowledged every final status sent so far. */
  async drained(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.settled.size > 0) {
      if (performance.now() > deadline) throw new Error(`${this.agentId}: ${this.settled.size} final statuses unacknowledged after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /**
   * Keep the link alive as an idle kici-agent does: a WebSocket ping every `pingMs` (its link watch
   * pings a quiet link every quarter of its ping timeout) and a `heartbeat` frame every
   * `heartbeatMs`, so an idle agent costs the node what a real one costs. Stopped by close().
   */
  keepAlive(pingMs: number, heartbeatMs: number): void {
    this.stopKeepAlive?.();
    const ping = setInterval(() => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.ping();
    }, pingMs);
    const beat = setInterval(() => this.send({ type: 'heartbeat', timestamp: Date.now() }), heartbeatMs);
    this.stopKeepAlive = () => {
      clearInterval(ping);
      clearInterval(beat);
    };
  }

  close(): void {
    this.closing = true;
    this.stopKeepAlive?.();
    this.ws?.close(1000);
  }

  private finish(msg: Record<string, unknown>): void {
    const d: SeenDispatch = {
      runId: msg.runId as string,
      jobId: msg.jobId as string,
      jobName: msg.jobName as string,
      branch: msg.branch as string | undefined,
      attempt: msg.attempt as number,
      epoch: msg.epoch as number,
      at: performance.now(),
    };
    this.seen.push(d);
    this.watcher?.(d);
    const { runId, jobId } = d;
    const steps = ((msg.jobConfig as { steps?: { name?: string }[] } | undefined)?.steps ?? []).map((step, index) => ({ index, name: step.name ?? `step-${index + 1}` }));
    this.send({ type: 'job.ack', messageId: this.id(), timestamp: Date.now(), runId, jobId });
    this.send({ type: 'job.status', runId, jobId, state: 'running', messageId: this.id(), timestamp: Date.now() });
    const stepResults = steps.map(({ index, name }) => {
      this.send({ type: 'step.status', messageId: this.id(), timestamp: Date.now(), runId, jobId, stepIndex: index, stepName: name, state: 'running' });
      const messageId = this.id();
      this.settled.set(messageId, () => {});
      this.send({ type: 'step.status', messageId, timestamp: Date.now(), runId, jobId, stepIndex: index, stepName: name, state: 'success', exitCode: 0, attempt: 1, durationMs: 0, logBytesStreamed: 0 });
      return { index, name, state: 'success', exitCode: 0, attempts: 1, durationMs: 0, outputs: {} };
    });
    const messageId = this.id();
    this.settled.set(messageId, () => {
      this.finished++;
      this.onFinished?.();
    });
    this.send({ type: 'job.status', runId, jobId, state: 'success', messageId, timestamp: Date.now(), data: { outputs: {}, stepResults } });
  }

  private id(): string {
    return `${this.agentId}-${++this.seq}`;
  }

  private send(msg: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }
}
