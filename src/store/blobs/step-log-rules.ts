/**
 * The byte rules every StepLogStore keeps, whatever holds the bytes, so the filesystem and the
 * database backends cannot drift apart: the cap with its single truncation notice, and reads that
 * hand back whole characters. Offsets and sizes are bytes of UTF-8 text.
 */
import type { StepLogChunk } from './step-logs.js';

export const STEP_LOG_CAP_BYTES = 10 * 1024 * 1024;

/** The most one read hands back when its caller names no limit. */
export const STEP_LOG_READ_BYTES = 1024 * 1024;

export function truncationNotice(capBytes: number): string {
  return `\n[kici] log truncated: this step's output exceeded ${capBytes} bytes; the rest was dropped\n`;
}

/** What one append writes at the log's end, and how many bytes of its text that keeps. */
export interface CappedAppend {
  write: Buffer;
  kept: number;
}

/**
 * The cap rule for appending `text` to a log of `size` bytes. The append that crosses the cap keeps
 * what fits (never half a character), then the notice; a log longer than the cap already has its
 * notice, so everything later is dropped. Nothing but the size is needed, so the rule survives a
 * restart.
 */
export function appendUnderCap(size: number, text: string, capBytes: number): CappedAppend {
  const nothing = { write: Buffer.alloc(0), kept: 0 };
  if (size > capBytes) return nothing;
  const bytes = Buffer.from(text, 'utf8');
  const room = capBytes - size;
  if (bytes.length <= room) return { write: bytes, kept: bytes.length };
  const kept = bytes.subarray(0, utf8Boundary(bytes, room));
  return { write: Buffer.concat([kept, Buffer.from(truncationNotice(capBytes), 'utf8')]), kept: kept.length };
}

/** The bytes a read covers: offsets past either end are clamped, so a reader past the end gets nothing. */
export function readWindow(size: number, fromOffset: number, maxBytes: number): { start: number; length: number } {
  const start = Math.max(0, Math.min(fromOffset, size));
  return { start, length: Math.min(maxBytes, size - start) };
}

/**
 * The chunk for `bytes` read from `start` of a log of `size` bytes. Never hand back half a
 * character: a window that stops inside the log stops before an incomplete trailing sequence, and
 * the next read starts there. (A read that starts inside a character decodes its tail as U+FFFD.)
 */
export function chunkOf(bytes: Buffer, start: number, size: number): StepLogChunk {
  const end = start + bytes.length < size ? completeUtf8Length(bytes) : bytes.length;
  return { text: bytes.subarray(0, end).toString('utf8'), nextOffset: start + end, size };
}

/**
 * The largest cut ≤ `limit` that does not split a UTF-8 sequence: step back over continuation
 * bytes (10xxxxxx) to the lead byte, and cut before it unless the whole sequence fits.
 */
export function utf8Boundary(bytes: Uint8Array, limit: number): number {
  if (limit >= bytes.length) return bytes.length;
  let cut = limit;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

/** Length of `bytes` without an incomplete UTF-8 sequence at its end. */
export function completeUtf8Length(bytes: Uint8Array): number {
  let lead = bytes.length - 1;
  while (lead >= 0 && bytes.length - lead < 4 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return bytes.length;
  const first = bytes[lead]!;
  const needed = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return bytes.length - lead >= needed ? bytes.length : lead;
}
