/**
 * Reading the segments back: the log exactly as written (before it meets the snapshot), the
 * latest hard state, and where the damage is. Only a torn tail of the last segment is tolerated;
 * other damage refuses, naming the file and the offset. storage-file.ts says why.
 */
import * as path from 'node:path';
import type { Disk } from './disk.js';
import { KIND_ENTRY, KIND_HARD_STATE, KIND_RESET, decodeLogRecord, findIntactLogRecord, scanRecords, type LogRecord } from './record.js';
import { StorageFailedError, type Entry, type HardState } from './types.js';

export const SEGMENT_RE = /^(\d{16})\.log$/;

export interface Segment {
  seq: number;
  file: string;
  /** Highest entry index written to it, superseded ones included (0: none). */
  maxIndex: number;
}

/** The log exactly as written, before it meets the snapshot: ents[k] has index start + k. */
export class WrittenLog {
  /** 0 while nothing is known (no entry and no RESET read yet). */
  start = 0;
  ents: Entry[] = [];

  add(e: Entry): void {
    const at = e.index - this.start;
    if (this.start === 0 || at < 0 || at > this.ents.length) {
      // Before what we hold, or after a hole: what preceded it is unknown here, and what we hold
      // from its index on is superseded by it.
      this.start = e.index;
      this.ents = [e];
      return;
    }
    this.ents.length = at;
    this.ents.push(e);
  }

  reset(index: number): void {
    this.start = index + 1;
    this.ents = [];
  }
}

/** What replaying the segments found; nothing has been repaired yet. */
export interface Replay {
  hard: HardState;
  log: WrittenLog;
  segments: Segment[];
  /** Segment files before the last gap in the numbering: a deletion that a crash cut short. */
  leftovers: string[];
  /** Length of the intact part of the last segment (anything after it is a torn tail). */
  lastIntact: number;
  /** Whether that intact part holds a hard state (a crash may have torn off its first one). */
  lastHasHardState: boolean;
}

export function replaySegments(disk: Disk, dir: string): Replay {
  const names = disk
    .list(dir)
    .filter((n) => SEGMENT_RE.test(n))
    .sort();
  const seqs = names.map((n) => Number(SEGMENT_RE.exec(n)![1]));
  let live = 0;
  for (let k = 1; k < seqs.length; k++) if (seqs[k] !== seqs[k - 1] + 1) live = k;
  const out: Replay = {
    hard: { term: 0, vote: 0, commit: 0 },
    log: new WrittenLog(),
    segments: [],
    leftovers: names.slice(0, live).map((n) => path.join(dir, n)),
    lastIntact: 0,
    lastHasHardState: false,
  };
  for (let k = live; k < names.length; k++) {
    const seg: Segment = { seq: seqs[k], file: path.join(dir, names[k]), maxIndex: 0 };
    const buf = disk.readFile(seg.file);
    let hasHardState = false;
    const intact = scanRecords(buf, (p) => {
      const rec = decodeLogRecord(p);
      if (!rec) return false;
      hasHardState ||= rec.kind === KIND_HARD_STATE;
      replayRecord(rec, seg, out);
      return true;
    });
    if (intact < buf.length) {
      const next = findIntactLogRecord(buf, intact + 1);
      const last = k === names.length - 1;
      if (!last || next >= 0) {
        const why = next >= 0 ? `an intact record follows at byte ${next}` : 'in a segment that is not the last';
        throw new StorageFailedError(
          `file storage: ${seg.file} is damaged at byte ${intact} (${why}): not a torn write; refusing to start`,
        );
      }
    }
    out.segments.push(seg);
    out.lastIntact = intact;
    out.lastHasHardState = hasHardState;
  }
  return out;
}


/** Apply one record to what replay found. */
function replayRecord(rec: LogRecord, seg: Segment, out: Replay): void {
  switch (rec.kind) {
    case KIND_HARD_STATE:
      out.hard = rec.hardState;
      break;
    case KIND_RESET:
      out.log.reset(rec.index);
      break;
    case KIND_ENTRY:
      seg.maxIndex = Math.max(seg.maxIndex, rec.entry.index);
      out.log.add(rec.entry);
      break;
  }
}

/**
 * What of the written log follows the snapshot (index s, term t). It does when it begins right
 * after s or holds s with term t. Otherwise (another term at s, a log ending before s, a hole
 * between s and the log) a snapshot install was cut short before its RESET was durable, and
 * nothing after s is ours: `conflict` says the log on disk must be restarted.
 */
export function reconcile(log: WrittenLog, s: number, t: number): { kept: Entry[]; conflict: boolean; superseded: number } {
  const { start, ents } = log;
  if (ents.length === 0 || start === s + 1) return { kept: ents, conflict: false, superseded: 0 };
  const at = s - start;
  if (at >= 0 && at < ents.length && ents[at].term === t) return { kept: ents.slice(at + 1), conflict: false, superseded: 0 };
  return { kept: [], conflict: true, superseded: ents.filter((e) => e.index > s).length };
}
