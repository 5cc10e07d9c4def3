/**
 * The on-disk record framing shared by log segments and snapshot files:
 *   [u32 LE payload length][u32 LE crc32(payload)][payload]
 * and the payloads written there (entries, hard states, a "log restarts here" marker, the
 * snapshot).
 */
import { copyConf } from './membership.js';
import { crc32 } from './crc32.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

export const HEADER_BYTES = 8;
/**
 * The largest payload the reader accepts: anything larger is taken for a corrupt length field.
 * Writers refuse bigger records up front, so nothing acknowledged is unreadable.
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Bytes an entry payload spends before its data: kind, type, index, term. */
const ENTRY_HEAD_BYTES = 18;
/** The largest entry data a log record can hold; proposals above it can be refused up front. */
export const MAX_ENTRY_DATA_BYTES = MAX_RECORD_BYTES - ENTRY_HEAD_BYTES;

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
  const b = Buffer.allocUnsafe(ENTRY_HEAD_BYTES + e.data.length);
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
  if (kind === KIND_ENTRY && p.length >= ENTRY_HEAD_BYTES) {
    const t = p.readUInt8(1);
    if (t > 1) return undefined;
    const entry: Entry = {
      type: t === 1 ? 'conf_change' : 'normal',
      index: p.readDoubleLE(2),
      term: p.readDoubleLE(10),
      data: new Uint8Array(p.subarray(ENTRY_HEAD_BYTES)),
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

/**
 * The offset of the first intact log record that starts at or after `from`, or -1. Tells a torn
 * tail (a write cut short: nothing intact after the damage) from damage in the middle of a file.
 */
export function findIntactLogRecord(buf: Buffer, from: number): number {
  for (let off = from; off + HEADER_BYTES < buf.length; off++) {
    const len = buf.readUInt32LE(off);
    const end = off + HEADER_BYTES + len;
    if (end > buf.length || !hasLogRecordShape(buf, off + HEADER_BYTES, len)) continue;
    if (crc32(buf, off + HEADER_BYTES, end) !== buf.readUInt32LE(off + 4)) continue;
    if (decodeLogRecord(buf.subarray(off + HEADER_BYTES, end))) return off;
  }
  return -1;
}

/** Cheap test before the checksum: the kind byte and the length fit one of the payloads above. */
function hasLogRecordShape(buf: Buffer, at: number, len: number): boolean {
  if (len < 1) return false;
  const kind = buf[at];
  if (kind === KIND_HARD_STATE) return len === 25;
  if (kind === KIND_RESET) return len === 9;
  return kind === KIND_ENTRY && len >= ENTRY_HEAD_BYTES && buf[at + 1] <= 1;
}

// ---- snapshot file payload ----------------------------------------------------------------------

export function snapshotPayload(snap: Snapshot): Uint8Array {
  const conf = Buffer.from(JSON.stringify(copyConf(snap.meta.conf)), 'utf8');
  const b = Buffer.allocUnsafe(20 + conf.length + snap.data.length);
  b.writeDoubleLE(snap.meta.index, 0);
  b.writeDoubleLE(snap.meta.term, 8);
  b.writeUInt32LE(conf.length, 16);
  b.set(conf, 20);
  b.set(snap.data, 20 + conf.length);
  return b;
}

export function decodeSnapshot(p: Buffer): Snapshot | undefined {
  if (p.length < 20) return undefined;
  const confLen = p.readUInt32LE(16);
  if (20 + confLen > p.length) return undefined;
  try {
    const conf = JSON.parse(p.subarray(20, 20 + confLen).toString('utf8')) as ConfState;
    if (!Array.isArray(conf.voters) || !Array.isArray(conf.learners)) return undefined;
    return {
      meta: { index: p.readDoubleLE(0), term: p.readDoubleLE(8), conf },
      data: new Uint8Array(p.subarray(20 + confLen)),
    };
  } catch {
    return undefined;
  }
}
