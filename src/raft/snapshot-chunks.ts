/**
 * Snapshot chunking: the transport-side codec that carries one `snapshot` Message as several
 * frames and puts it back together on the other side. The core never sees chunks: it sends and
 * receives whole snapshot messages. It lives in raft/ so every transport splits and reassembles
 * the same way.
 *
 * Sender:   splitSnapshot(m, chunkBytes) -> frames; if any frame cannot be sent, the transport
 *           reports the snapshot as failed so the leader probes again instead of waiting.
 * Receiver: validateSnapshotChunk(decoded frame) -> SnapshotAssembly.add(chunk, now) -> the whole
 *           Message once every chunk is in and the length and CRC-32 check out.
 *
 * A receiver that drops a partial snapshot (refused chunk, expire) tells nobody: the leader's
 * snapshot state times out on its own (it falls back to probing after an election timeout).
 */
import { crc32 } from './crc32.js';
import { copyConf } from './membership.js';
import type { ConfState, Message, NodeId, SnapshotMeta } from './types.js';

/** One frame of a chunked snapshot message. Every chunk is self-describing (see splitSnapshot). */
export interface SnapshotChunk {
  /** The snapshot message's sender, receiver and (leader's) term. */
  from: NodeId;
  to: NodeId;
  term: number;
  /** The snapshot's index, term and configuration; the same on every chunk. */
  meta: SnapshotMeta;
  /** Position of this chunk, in [0, total). */
  seq: number;
  /** Number of chunks of this snapshot (at least 1). */
  total: number;
  /** Byte length of the whole snapshot data. */
  totalBytes: number;
  /** CRC-32 of the whole snapshot data, checked once it is reassembled. */
  crc: number;
  /** This chunk's slice of the data. */
  data: Uint8Array;
}

/** What was wrong with a refused chunk; the message says which field and which values. */
export type SnapshotChunkProblem =
  /** A field has the wrong type or is out of range (including seq >= total, data > totalBytes). */
  | 'malformed'
  /** The declared size is over the assembly's maximum. */
  | 'too_large'
  /** The chunk disagrees with the first chunk seen for the same snapshot. */
  | 'mismatch'
  /** The chunks received so far hold more bytes than declared. */
  | 'data_too_long'
  /** Every chunk is in but the bytes add up to a different length than declared. */
  | 'length_mismatch'
  /** Every chunk is in but the CRC-32 of the data is not the declared one. */
  | 'crc_mismatch';

export class SnapshotChunkError extends Error {
  constructor(
    readonly problem: SnapshotChunkProblem,
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotChunkError';
  }
}

/**
 * Splits a `snapshot` message into chunks of at most `chunkBytes` data bytes each; empty data
 * still gives one chunk, so the receiver has something to reassemble.
 *
 * Every chunk carries the full header, configuration included, not just the first: chunks may
 * arrive in any order, so whichever arrives first must be able to open the assembly, and every
 * later one is checked against it. The configuration is a few node ids, nothing next to a chunk.
 *
 * Chunk data are views into `m.snapshot.data` (no copy): do not change it while the chunks are
 * being sent.
 */
export function splitSnapshot(m: Message, chunkBytes: number): SnapshotChunk[] {
  if (m.type !== 'snapshot' || m.snapshot === undefined) {
    throw new Error(`splitSnapshot: expected a snapshot message, got ${m.type}${m.snapshot ? '' : ' without a snapshot'}`);
  }
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new Error(`splitSnapshot: chunkBytes must be an integer >= 1, got ${chunkBytes}`);
  }
  const { meta, data } = m.snapshot;
  const total = Math.max(1, Math.ceil(data.length / chunkBytes));
  const crc = crc32(data);
  const chunks: SnapshotChunk[] = [];
  for (let seq = 0; seq < total; seq++) {
    chunks.push({
      from: m.from,
      to: m.to,
      term: m.term,
      meta: { index: meta.index, term: meta.term, conf: copyConf(meta.conf) },
      seq,
      total,
      totalBytes: data.length,
      crc,
      data: data.subarray(seq * chunkBytes, Math.min(data.length, (seq + 1) * chunkBytes)),
    });
  }
  return chunks;
}

export interface SnapshotAssemblyOptions {
  /**
   * Largest snapshot (declared bytes) this node will buffer, per sender; a chunk declaring more
   * is refused before anything is kept. Default 1 GiB.
   */
  maxBytes?: number;
}

export const DEFAULT_MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;

/** A snapshot being put back together, from one sender. */
interface PartialSnapshot {
  /** The first chunk seen; every later chunk of the same snapshot must agree with it. */
  first: SnapshotChunk;
  /** Received chunk data by seq. A Map, not an array of `total`: total is only declared. */
  pieces: Map<number, Uint8Array>;
  receivedBytes: number;
  /** When a chunk last brought new data: a big snapshot still arriving is not stale. */
  lastProgress: number;
}

/**
 * Receiver side: one per node. Holds at most one partial snapshot per sender (only a leader
 * sends snapshots, and a newer one supersedes the older), so memory is bounded by maxBytes per
 * sender. Chunk data are kept by reference until the snapshot is complete: a transport must not
 * reuse a chunk's buffer after handing it over.
 */
export class SnapshotAssembly {
  private readonly maxBytes: number;
  private readonly partials = new Map<NodeId, PartialSnapshot>();

  constructor(opts: SnapshotAssemblyOptions = {}) {
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new Error(`SnapshotAssembly: maxBytes must be an integer >= 0, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
  }

  /**
   * Takes one chunk received at `now` (any clock, as long as expire() is given the same one).
   * Returns the whole snapshot message when this chunk completes it, otherwise undefined
   * (more chunks to come, a duplicate, or a chunk of an older snapshot than the one being
   * assembled). Throws SnapshotChunkError for a chunk it refuses; if that chunk belongs to the
   * snapshot being assembled from its sender, the partial snapshot is discarded too, since one
   * bad chunk means the rest cannot be trusted either.
   */
  add(chunk: SnapshotChunk, now: number): Message | undefined {
    let c: SnapshotChunk;
    try {
      c = validateSnapshotChunk(chunk);
    } catch (err) {
      this.discardIfSameSnapshot(chunk);
      throw err;
    }

    let partial = this.partials.get(c.from);
    if (partial !== undefined) {
      const order = compareSnapshots(c, partial.first);
      if (order < 0) return undefined; // a late chunk of a snapshot the sender has moved past
      if (order > 0) {
        // The sender moved on to a newer snapshot: the older one will never be needed.
        this.partials.delete(c.from);
        partial = undefined;
      }
    }

    if (partial === undefined) {
      if (c.totalBytes > this.maxBytes) {
        throw new SnapshotChunkError(
          'too_large',
          `${describe(c)}: declares ${c.totalBytes} bytes, over the maximum of ${this.maxBytes}`,
        );
      }
      partial = { first: c, pieces: new Map(), receivedBytes: 0, lastProgress: now };
      this.partials.set(c.from, partial);
    } else {
      const disagreement = disagreementWith(partial.first, c);
      if (disagreement !== undefined) {
        this.partials.delete(c.from);
        throw new SnapshotChunkError('mismatch', `${describe(c)}: ${disagreement}`);
      }
    }

    // A duplicate adds nothing. The first copy is kept; the CRC judges the whole at the end.
    if (partial.pieces.has(c.seq)) return undefined;
    if (partial.receivedBytes + c.data.length > c.totalBytes) {
      this.partials.delete(c.from);
      throw new SnapshotChunkError(
        'data_too_long',
        `${describe(c)}: chunks hold ${partial.receivedBytes + c.data.length} bytes, more than the declared ${c.totalBytes}`,
      );
    }
    partial.pieces.set(c.seq, c.data);
    partial.receivedBytes += c.data.length;
    partial.lastProgress = now;
    if (partial.pieces.size < c.total) return undefined;

    this.partials.delete(c.from);
    return reassemble(partial);
  }

  /**
   * Drops every partial snapshot that has received no new chunk for more than `maxAgeMs` before
   * `now` (a sender that died or gave up mid-transfer). Returns the senders whose partial was
   * dropped, for logging.
   */
  expire(now: number, maxAgeMs: number): NodeId[] {
    const dropped: NodeId[] = [];
    for (const [from, partial] of this.partials) {
      if (now - partial.lastProgress > maxAgeMs) {
        this.partials.delete(from);
        dropped.push(from);
      }
    }
    return dropped;
  }

  /** Bytes of chunk data held across all partial snapshots (for metrics and tests). */
  get bufferedBytes(): number {
    let n = 0;
    for (const p of this.partials.values()) n += p.receivedBytes;
    return n;
  }

  /** Senders with a partial snapshot in progress. */
  pendingSenders(): NodeId[] {
    return [...this.partials.keys()];
  }

  /** After a refused malformed chunk: drop the sender's partial if the chunk claims to be of it. */
  private discardIfSameSnapshot(chunk: SnapshotChunk): void {
    // Read defensively: the chunk just failed validation, any field may be missing or mistyped.
    const c = chunk as unknown as { from?: unknown; term?: unknown; meta?: { index?: unknown; term?: unknown } | null };
    if (typeof c !== 'object' || c === null || typeof c.from !== 'number') return;
    const first = this.partials.get(c.from)?.first;
    if (first === undefined) return;
    const sameSnapshot = c.term === first.term && c.meta?.index === first.meta.index && c.meta?.term === first.meta.term;
    if (sameSnapshot) this.partials.delete(c.from);
  }
}

/**
 * Orders two chunks' snapshots from the same sender: by snapshot term, then snapshot index, then
 * the message term. The last one separates a resend of the same snapshot by a leader re-elected
 * in a later term: the newer copy restarts the assembly, so the message handed to the core
 * carries the current term (the core would drop one with the stale term anyway).
 */
function compareSnapshots(a: SnapshotChunk, b: SnapshotChunk): number {
  return a.meta.term - b.meta.term || a.meta.index - b.meta.index || a.term - b.term;
}

/** Why `c` cannot belong to the snapshot `first` opened, or undefined if it can. */
function disagreementWith(first: SnapshotChunk, c: SnapshotChunk): string | undefined {
  if (c.to !== first.to) return `to ${c.to} disagrees with ${first.to} from the first chunk`;
  if (c.total !== first.total) return `total ${c.total} disagrees with ${first.total} from the first chunk`;
  if (c.totalBytes !== first.totalBytes) {
    return `totalBytes ${c.totalBytes} disagrees with ${first.totalBytes} from the first chunk`;
  }
  if (c.crc !== first.crc) return `crc ${c.crc} disagrees with ${first.crc} from the first chunk`;
  if (!sameConf(c.meta.conf, first.meta.conf)) {
    return `conf ${JSON.stringify(c.meta.conf)} disagrees with ${JSON.stringify(first.meta.conf)} from the first chunk`;
  }
  return undefined;
}

function sameConf(a: ConfState, b: ConfState): boolean {
  return sameIds(a.voters, b.voters) && sameIds(a.learners, b.learners) && sameIds(a.removed ?? [], b.removed ?? []);
}

function sameIds(a: NodeId[], b: NodeId[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function reassemble(partial: PartialSnapshot): Message {
  const { first, pieces, receivedBytes } = partial;
  if (receivedBytes !== first.totalBytes) {
    throw new SnapshotChunkError(
      'length_mismatch',
      `${describe(first)}: chunks hold ${receivedBytes} bytes, the sender declared ${first.totalBytes}`,
    );
  }
  const data = new Uint8Array(first.totalBytes);
  let offset = 0;
  for (let seq = 0; seq < first.total; seq++) {
    const piece = pieces.get(seq) as Uint8Array; // all of [0, total) are present
    data.set(piece, offset);
    offset += piece.length;
  }
  const crc = crc32(data);
  if (crc !== first.crc) {
    throw new SnapshotChunkError('crc_mismatch', `${describe(first)}: data CRC-32 ${crc} is not the declared ${first.crc}`);
  }
  return {
    type: 'snapshot',
    from: first.from,
    to: first.to,
    term: first.term,
    snapshot: { meta: { index: first.meta.index, term: first.meta.term, conf: copyConf(first.meta.conf) }, data },
  };
}

function describe(c: SnapshotChunk): string {
  return `snapshot chunk ${c.seq}/${c.total} from ${c.from} (snapshot index ${c.meta.index} term ${c.meta.term}, message term ${c.term})`;
}

// ---- validation of frames decoded off the wire -------------------------------------------------

/**
 * Checks that `x` is a well-formed SnapshotChunk (every field's type and range) and returns a
 * clean copy holding only the known fields (the data is not copied). Throws SnapshotChunkError
 * ('malformed') naming the first bad field. No schema library: raft/ depends on no npm package.
 */
export function validateSnapshotChunk(x: unknown): SnapshotChunk {
  const o = record(x, 'chunk');
  const from = nodeId(o.from, 'from');
  const to = nodeId(o.to, 'to');
  if (from === to) malformed(`from and to are both ${from}: a node never sends itself a snapshot`);
  const term = integer(o.term, 'term', 1); // a snapshot comes from a leader, whose term is >= 1
  const m = record(o.meta, 'meta');
  const meta: SnapshotMeta = {
    index: integer(m.index, 'meta.index', 0), // 0: the bootstrap snapshot a joiner is sent
    term: integer(m.term, 'meta.term', 0),
    conf: confState(m.conf, 'meta.conf'),
  };
  const totalBytes = integer(o.totalBytes, 'totalBytes', 0);
  const total = integer(o.total, 'total', 1);
  // Every chunk carries at least one byte unless the data is empty (then there is exactly one),
  // which also bounds the number of chunks a receiver may be asked to track.
  if (total > Math.max(1, totalBytes)) malformed(`total ${total} is more chunks than the ${totalBytes} bytes need`);
  const seq = integer(o.seq, 'seq', 0);
  if (seq >= total) malformed(`seq ${seq} is out of range for total ${total}`);
  const crc = integer(o.crc, 'crc', 0);
  if (crc > 0xffffffff) malformed(`crc ${crc} is not a 32-bit value`);
  if (!(o.data instanceof Uint8Array)) malformed(`data must be a Uint8Array, got ${typeName(o.data)}`);
  const data = o.data as Uint8Array;
  if (data.length > totalBytes) malformed(`data holds ${data.length} bytes, more than the declared ${totalBytes}`);
  return { from, to, term, meta, seq, total, totalBytes, crc, data };
}

function malformed(why: string): never {
  throw new SnapshotChunkError('malformed', `malformed snapshot chunk: ${why}`);
}

function record(x: unknown, field: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) malformed(`${field} must be an object, got ${typeName(x)}`);
  return x as Record<string, unknown>;
}

function integer(x: unknown, field: string, min: number): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) {
    malformed(`${field} must be an integer >= ${min}, got ${typeof x === 'number' ? x : typeName(x)}`);
  }
  return x;
}

function nodeId(x: unknown, field: string): NodeId {
  return integer(x, field, 1); // 0 is NONE, never a real node
}

function nodeIds(x: unknown, field: string): NodeId[] {
  if (!Array.isArray(x)) malformed(`${field} must be an array of node ids, got ${typeName(x)}`);
  return (x as unknown[]).map((id, i) => nodeId(id, `${field}[${i}]`));
}

function confState(x: unknown, field: string): ConfState {
  const c = record(x, field);
  const conf: ConfState = { voters: nodeIds(c.voters, `${field}.voters`), learners: nodeIds(c.learners, `${field}.learners`) };
  if (c.removed !== undefined) conf.removed = nodeIds(c.removed, `${field}.removed`);
  return conf;
}

function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return typeof x;
}
