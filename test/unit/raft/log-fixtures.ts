import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Entry } from '../../../src/raft/index.js';

const enc = new TextEncoder();

/** Entries from..to (inclusive) of one term; `payload` says what each one holds. */
export function entriesOf(from: number, to: number, term: number, payload: (index: number) => string): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: 'normal', data: enc.encode(payload(i)) });
  return out;
}

/** The segment files of a FileStorage directory, oldest first. */
export function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => path.join(dir, n));
}
