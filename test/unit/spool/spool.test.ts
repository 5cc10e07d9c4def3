import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { replaceFileDurably, Spool } from '../../../src/spool/index.js';

const note = z.object({ id: z.string(), n: z.number() });
type Note = z.infer<typeof note>;

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kici-spool-'));
  dir = join(root, 'spool');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A fresh process's view of the same directory. */
function reopen(): { spool: Spool<Note>; load: ReturnType<Spool<Note>['load']> } {
  const spool = new Spool(dir, note);
  return { spool, load: spool.load() };
}

const ids = (load: { entries: { value: Note }[] }): string[] => load.entries.map((e) => e.value.id);

describe('spool', () => {
  it('reads entries back in the order they were spooled, with the bytes each takes on disk', () => {
    const { spool } = reopen();
    const first = spool.append({ id: 'a', n: 1 });
    spool.append({ id: 'b', n: 2 });
    spool.append({ id: 'c', n: 3 });
    expect(first).toEqual({ seq: 1, value: { id: 'a', n: 1 }, bytes: Buffer.byteLength(JSON.stringify({ id: 'a', n: 1 })) });
    expect(spool.bytesOf({ id: 'a', n: 1 })).toBe(first.bytes);

    const { spool: again, load } = reopen();
    expect(ids(load)).toEqual(['a', 'b', 'c']);
    expect(load.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (const e of load.entries) expect(e.bytes).toBe(statSync(join(dir, `${String(e.seq).padStart(16, '0')}.json`)).size);
    // A new process numbers on after the highest entry it found.
    expect(again.append({ id: 'd', n: 4 }).seq).toBe(4);
    expect(ids(reopen().load)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('forgets a removed entry, and removing one twice is harmless', () => {
    const { spool } = reopen();
    spool.append({ id: 'a', n: 1 });
    const b = spool.append({ id: 'b', n: 2 });
    spool.remove(b.seq);
    spool.remove(b.seq);
    expect(ids(reopen().load)).toEqual(['a']);
  });

  it('replaces an entry in its place in the order', () => {
    const { spool } = reopen();
    const a = spool.append({ id: 'a', n: 1 });
    spool.append({ id: 'b', n: 2 });
    const bytes = spool.replace(a.seq, { id: 'a2', n: 100 });
    const { load } = reopen();
    expect(ids(load)).toEqual(['a2', 'b']);
    expect(load.entries[0]!.bytes).toBe(bytes);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('drops half-written files, sets aside what does not parse, and never reuses a set-aside number', () => {
    const { spool } = reopen();
    spool.append({ id: 'a', n: 1 });
    spool.append({ id: 'b', n: 2 });
    // A crash mid-write (a new entry, or a replacement of entry 1) leaves only a temporary file.
    writeFileSync(join(dir, '0000000000000003.json.tmp'), '{"id":"c","n"');
    writeFileSync(join(dir, '0000000000000001.json.tmp'), '{"id":"a2"');
    // A damaged file and one of the wrong shape.
    writeFileSync(join(dir, '0000000000000002.json'), '{"id":"b","n');
    writeFileSync(join(dir, '0000000000000007.json'), JSON.stringify({ id: 'x' }));
    writeFileSync(join(dir, 'README'), 'not an entry');

    const { spool: again, load } = reopen();
    expect(ids(load)).toEqual(['a']);
    expect(load.unfinished).toBe(2);
    expect(load.corrupt).toEqual(['0000000000000002.json', '0000000000000007.json']);
    expect(readdirSync(dir).sort()).toEqual(['0000000000000001.json', '0000000000000002.json.corrupt', '0000000000000007.json.corrupt', 'README']);
    expect(again.append({ id: 'd', n: 4 }).seq).toBe(8);
    // Still past the set-aside numbers after the next start too.
    const { spool: third, load: thirdLoad } = reopen();
    expect(ids(thirdLoad)).toEqual(['a', 'd']);
    expect(third.append({ id: 'e', n: 5 }).seq).toBe(9);
  });

  it('keeps its files to the owner', () => {
    const { spool } = reopen();
    const { seq } = spool.append({ id: 'a', n: 1 });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, `${String(seq).padStart(16, '0')}.json`)).mode & 0o777).toBe(0o600);
  });

  it('throws when the directory cannot be written', () => {
    const { spool } = reopen();
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    expect(() => spool.append({ id: 'a', n: 1 })).toThrow();
  });
});

describe('replaceFileDurably', () => {
  it('replaces a whole file and leaves no temporary behind', () => {
    const file = join(root, 'view.json');
    replaceFileDurably(file, '{"v":1}', 0o600);
    replaceFileDurably(file, '{"v":2}', 0o600);
    expect(readFileSync(file, 'utf8')).toBe('{"v":2}');
    expect(existsSync(`${file}.tmp`)).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
