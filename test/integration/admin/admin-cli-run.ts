import { Readable } from 'node:stream';
import { vi } from 'vitest';
import { runAdmin } from '../../../src/admin/index.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs kici-admin in this process, as the binary would, capturing what it prints. `stdin` stands
 * in for a pipe (`cat secret | kici-admin … --stdin`).
 */
export async function kiciAdmin(argv: string[], options: { stdin?: string } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  const originalStdin = Object.getOwnPropertyDescriptor(process, 'stdin');
  if (options.stdin !== undefined) {
    Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(options.stdin)]), configurable: true });
  }
  try {
    const code = await runAdmin(argv);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    if (options.stdin !== undefined && originalStdin) Object.defineProperty(process, 'stdin', originalStdin);
  }
}
