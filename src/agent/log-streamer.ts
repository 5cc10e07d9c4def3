import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Clock } from '../clock/index.js';
import type { AgentMessageOf } from '../transport/index.js';

export type LogChunkMessage = AgentMessageOf<'log.chunk'>;

export interface LogStreamerOptions {
  runId: string;
  jobId: string;
  stepIndex: number;
  maxBytes: number;
  clock: Clock;
  send: (chunk: LogChunkMessage) => void;
  batchLines?: number;
  batchMs?: number;
  /** A batch is sent early once its lines add up to this many bytes. */
  batchBytes?: number;
}

/** A line longer than this is cut into pieces, so a stream with no newline cannot grow memory. */
const MAX_LINE_CHARS = 16 * 1024;
/** Keeps every frame far below the orchestrator's per-frame limit (KiCI closes at 2 MiB). */
const DEFAULT_BATCH_BYTES = 256 * 1024;

/**
 * Turns one step's stdout and stderr into `log.chunk` messages: batched at 50 lines or 100 ms,
 * capped at `maxBytes` per step, after which a single notice replaces the rest.
 */
export class StepLogStreamer {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly partial = { stdout: '', stderr: '' };
  private pending: string[] = [];
  private pendingBytes = 0;
  private cancelTimer: (() => void) | undefined;
  private bytes = 0;
  private truncated = false;

  constructor(private readonly options: LogStreamerOptions) {}

  /** Bytes of step output accepted so far (the notice line not counted). */
  get bytesStreamed(): number {
    return this.bytes;
  }

  write(stream: 'stdout' | 'stderr', data: Buffer): void {
    const text = this.partial[stream] + this.decoders[stream].write(data);
    const pieces = text.split('\n');
    this.partial[stream] = pieces.pop() ?? '';
    for (const piece of pieces) this.line(stripCr(piece));
    while (this.partial[stream].length > MAX_LINE_CHARS) {
      this.line(this.partial[stream].slice(0, MAX_LINE_CHARS));
      this.partial[stream] = this.partial[stream].slice(MAX_LINE_CHARS);
    }
  }

  /** One whole line (also used for the agent's own markers, such as a retry notice). */
  line(text: string): void {
    if (this.truncated) return;
    const size = Buffer.byteLength(text, 'utf8') + 1;
    if (this.bytes + size > this.options.maxBytes) {
      this.truncated = true;
      this.pending.push(`[kici] log truncated: this step's output passed ${this.options.maxBytes} bytes; the rest is dropped`);
      this.flush();
      return;
    }
    this.bytes += size;
    this.pending.push(text);
    this.pendingBytes += size;
    const full =
      this.pending.length >= (this.options.batchLines ?? 50) || this.pendingBytes >= (this.options.batchBytes ?? DEFAULT_BATCH_BYTES);
    if (full) this.flush();
    else this.cancelTimer ??= this.options.clock.setTimer(this.options.batchMs ?? 100, () => this.flush());
  }

  /** At step end: unterminated last lines go out too, then everything pending. */
  finish(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream] + this.decoders[stream].end();
      this.partial[stream] = '';
      if (rest) this.line(stripCr(rest));
    }
    this.flush();
  }

  private flush(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const { runId, jobId, stepIndex, clock } = this.options;
    this.options.send({ type: 'log.chunk', messageId: randomUUID(), timestamp: clock.now(), runId, jobId, stepIndex, lines });
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
