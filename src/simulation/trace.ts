/**
 * What happened in one simulated seed, line by line, and a digest of it: the same seed must give
 * the same lines, byte for byte, so the digest is what a replay is compared by.
 */
import { createHash, type Hash } from 'node:crypto';

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly kept: string[] = [];
  private count = 0;

  constructor(
    private readonly elapsed: () => number,
    /** Told each line as it is written (--verbose). */
    private readonly echo?: (line: string) => void,
  ) {}

  line(text: string): void {
    const line = `${this.elapsed().toFixed(3).padStart(10)} ${text}`;
    this.hash.update(line);
    this.hash.update('\n');
    this.count++;
    this.kept.push(line);
    this.echo?.(line);
  }

  get lines(): readonly string[] {
    return this.kept;
  }

  get size(): number {
    return this.count;
  }

  /** The digest of every line so far (hex, first 16 characters). */
  digest(): string {
    return this.hash.copy().digest('hex').slice(0, 16);
  }
}

/** The orchestrator's log calls (fields, message) as one trace line each: the message, then the fields as JSON. */
export function traceLog(trace: (line: string) => void): (fields: object, message: string) => void {
  return (fields, message) => trace(`${message} ${JSON.stringify(fields)}`);
}
