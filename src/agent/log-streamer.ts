import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Clock } from '../clock/index.js';
import { SecretMasker, type StreamingMasker } from '../masking/index.js';
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
  /** The job's secrets: masked in every line before it is batched, counted or sent. */
  masker?: SecretMasker;
}

/** A line longer than this is cut into pieces, so a stream with no newline cannot grow memory. */
const MAX_LINE_CHARS = 16 * 1024;
/** Keeps every frame far below the orchestrator's per-frame limit (KiCI closes at 2 MiB). */
const DEFAULT_BATCH_BYTES = 256 * 1024;

/**
 * Turns one step's stdout and stderr into `log.chunk` messages: batched at 50 lines or 100 ms,
 * capped at `maxBytes` per step, after which a single notice replaces the rest.
 *
 * Secrets are masked first, on the decoded text of each stream as it arrives and before it is cut
 * into lines: a secret split across two writes (or across the cut of an over-long line) is still
 * masked, because each stream's masker holds back the few characters that could still become a
 * secret until the next write or the step's end decides them. Nothing after this point (a batch,
 * the connection's ring buffer, the outbox, a frame) ever holds a secret.
 */
export class StepLogStreamer {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly masker: SecretMasker;
  private readonly maskers: { stdout: StreamingMasker; stderr: StreamingMasker };
  private readonly partial = { stdout: '', stderr: '' };
  private pending: string[] = [];
  private pendingBytes = 0;
  private cancelTimer: (() => void) | undefined;
  private bytes = 0;
  private truncated = false;

  constructor(private readonly options: LogStreamerOptions) {
    this.masker = options.masker ?? new SecretMasker();
    this.maskers = { stdout: this.masker.stream(), stderr: this.masker.stream() };
  }

  /** Bytes of step output accepted so far (the notice line not counted). */
  get bytesStreamed(): number {
    return this.bytes;
  }

  write(stream: 'stdout' | 'stderr', data: Buffer): void {
    this.split(stream, this.maskers[stream].write(this.decoders[stream].write(data)));
  }

  /** One whole line of the agent's own (a marker such as a retry notice): masked like output. */
  line(text: string): void {
    this.push(this.masker.mask(text));
  }

  /** At step end: unterminated last lines go out too, then everything pending. */
  finish(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const masker = this.maskers[stream];
      this.split(stream, masker.write(this.decoders[stream].end()) + masker.end());
      const rest = this.partial[stream];
      this.partial[stream] = '';
      if (rest) this.push(stripCr(rest));
    }
    this.flush();
  }

  /** Masked text of one stream into lines; the unterminated rest waits for more. */
  private split(stream: 'stdout' | 'stderr', masked: string): void {
    const pieces = (this.partial[stream] + masked).split('\n');
    this.partial[stream] = pieces.pop() ?? '';
    for (const piece of pieces) this.push(stripCr(piece));
    while (this.partial[stream].length > MAX_LINE_CHARS) {
      this.push(this.partial[stream].slice(0, MAX_LINE_CHARS));
      this.partial[stream] = this.partial[stream].slice(MAX_LINE_CHARS);
    }
  }

  /** One whole, already masked line. */
  private push(text: string): void {
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
