/**
 * The on-disk record framing shared by log segments and snapshot files:
 *   [u32 LE payload length][u32 LE crc32(payload)][payload]
 * and the payloads the log writes (entries, hard states, a "log restarts here" marker).
 */
import { crc32 } from './crc32.js';
import type { Entry, HardState } from './types.js';

export const HEADER_BYTES = 8;
/** Anything larger is certainly a corrupt length field, not a record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export const KIND_ENTRY = 1;
export const KIND_HARD_STATE = 2;
/** Everything logged before this record is superseded by the snapshot at `index`. */
export const KIND_RESET = 3;

export type LogRecord =
  | { kind: typeof KIND_ENTRY; entry: Entry }
  | { kind: typeof KIND_HARD_STATE; hardState: HardState }
  | { kind: typeof KIND_RESET; index: number };

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, HEADER_BYTES);
  return out;
}

export function entryPayload(e: Entry): Uint8Array {
  const b = Buffer.allocUnsafe(18 + e.data.length);
  b.writeUInt8(KIND_ENTRY, 0);
  b.writeUInt8(e.type === 'conf_change' ? 1 : 0, 1);
  b.writeDoubleLE(e.index, 2);
  b.writeDoubleLE(e.term, 10);
  b.set(e.data, 18);
  return b;
}

export function hardStatePayload(hs: HardState): Uint8Array {
  const b = Buffer.allocUnsafe(25);
  b.writeUInt8(KIND_HARD_STATE, 0);
  b.writeDoubleLE(hs.term, 1);
  b.writeDoubleLE(hs.vote, 9);
  b.writeDoubleLE(hs.commit, 17);
  return b;
}

export function resetPayload(index: number): Uint8Array {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt8(KIND_RESET, 0);
  b.writeDoubleLE(index, 1);
  return b;
}

export function decodeLogRecord(p: Buffer): LogRecord | undefined {
  if (p.length < 1) return undefined;
  const kind = p.readUInt8(0);
  if (kind === KIND_ENTRY && p.length >= 18) {
    const t = p.readUInt8(1);
    if (t > 1) return undefined;
    const entry: Entry = {
      type: t === 1 ? 'conf_change' : 'normal',
      index: p.readDoubleLE(2),
      term: p.readDoubleLE(10),
      data: new Uint8Array(p.subarray(18)),
    };
    return validNumbers(entry.index, entry.term) ? { kind, entry } : undefined;
  }
  if (kind === KIND_HARD_STATE && p.length === 25) {
    const hardState = { term: p.readDoubleLE(1), vote: p.readDoubleLE(9), commit: p.readDoubleLE(17) };
    return validNumbers(hardState.term, hardState.vote, hardState.commit) ? { kind, hardState } : undefined;
  }
  if (kind === KIND_RESET && p.length === 9) {
    const index = p.readDoubleLE(1);
    return validNumbers(index) ? { kind, index } : undefined;
  }
  return undefined;
}

function validNumbers(...ns: number[]): boolean {
  return ns.every((n) => Number.isSafeInteger(n) && n >= 0);
}

/**
 * Walk the framed records of `buf`. Returns the offset just past the last intact record: anything
 * after it is a torn or corrupt tail.
 */
export function scanRecords(buf: Buffer, visit: (payload: Buffer) => boolean): number {
  let off = 0;
  while (off + HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(off);
    const sum = buf.readUInt32LE(off + 4);
    const end = off + HEADER_BYTES + len;
    if (len > MAX_RECORD_BYTES || end > buf.length) break;
    if (crc32(buf, off + HEADER_BYTES, end) !== sum) break;
    if (!visit(buf.subarray(off + HEADER_BYTES, end))) break;
    off = end;
  }
  return off;
}
