/**
 * Frames to bytes and back. Encoding is MessagePack (msgpackr) of plain maps: no records, no
 * structured-clone extensions, so a frame is a self-contained value any MessagePack reader can
 * read. Decoding never throws and never trusts: the size is checked before a byte is parsed, the
 * bytes must be exactly one MessagePack value, the envelope must pass its schema and the body the
 * schema of its kind. Error texts name what was wrong, never the bytes received.
 */
import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { type PeerFrame, peerFrame } from './frames.js';
import type { PeerKinds } from './kinds.js';

/** Frames are capped so one peer cannot make another buffer without bound; raft chunks snapshots below it. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export type DecodeResult = { ok: true; frame: PeerFrame } | { ok: false; error: string };

/** A frame this node was about to send is larger than the cap: a bug of the sender (chunk it). */
export class PeerFrameTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxFrameBytes: number,
  ) {
    super(`the frame is ${bytes} bytes, over the ${maxFrameBytes}-byte cap of a peer frame`);
    this.name = 'PeerFrameTooLargeError';
  }
}

export interface PeerCodecOptions {
  kinds: PeerKinds;
  maxFrameBytes?: number;
}

export class PeerCodec {
  readonly maxFrameBytes: number;
  private readonly kinds: PeerKinds;
  // useRecords off: records need both sides to share structure tables and are decoded with
  // generated code; plain maps cost a few bytes and keep every frame independent.
  private readonly packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true });

  constructor(options: PeerCodecOptions) {
    this.kinds = options.kinds;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(this.maxFrameBytes) || this.maxFrameBytes < 64) throw new TypeError('maxFrameBytes must be an integer of at least 64');
  }

  /** The bytes of `frame`; throws PeerFrameTooLargeError past the cap. Bodies are the caller's to validate first. */
  encode(frame: PeerFrame): Buffer {
    const bytes = this.packr.pack(frame);
    if (bytes.length > this.maxFrameBytes) throw new PeerFrameTooLargeError(bytes.length, this.maxFrameBytes);
    return bytes;
  }

  /** One frame from `bytes`, envelope and body validated. Never throws. */
  decode(bytes: Uint8Array): DecodeResult {
    if (bytes.length > this.maxFrameBytes) return { ok: false, error: `frame of ${bytes.length} bytes is over the ${this.maxFrameBytes}-byte cap` };
    if (bytes.length === 0) return { ok: false, error: 'empty frame' };
    let value: unknown;
    try {
      value = this.packr.unpack(bytes);
    } catch (error) {
      // msgpackr's own messages may quote the data read; ours say only what kind of fault it was.
      if (error instanceof RangeError && /call stack/i.test(error.message)) return { ok: false, error: 'frame nests too deeply' };
      return { ok: false, error: 'frame is not one MessagePack value' };
    }
    const envelope = peerFrame.safeParse(value);
    if (!envelope.success) return { ok: false, error: `frame: ${describeIssues(envelope.error.issues)}` };
    const frame = envelope.data;
    switch (frame.type) {
      case 'message': {
        const entry = this.kinds.messageKind(frame.kind);
        if (!entry) return { ok: false, error: `unknown message kind "${frame.kind}"` };
        return this.withBody(frame, entry.body, `message "${frame.kind}"`);
      }
      case 'request': {
        const entry = this.kinds.requestKind(frame.kind);
        if (!entry) return { ok: false, error: `unknown request kind "${frame.kind}"` };
        return this.withBody(frame, entry.request, `request "${frame.kind}"`);
      }
      case 'response': {
        const entry = this.kinds.requestKind(frame.kind);
        if (!entry) return { ok: false, error: `response of unknown request kind "${frame.kind}"` };
        return frame.ok ? this.withBody(frame, entry.response, `response "${frame.kind}"`) : { ok: true, frame };
      }
      default:
        return { ok: true, frame };
    }
  }

  private withBody<F extends PeerFrame & { body: unknown }>(frame: F, schema: z.ZodType, what: string): DecodeResult {
    const body = schema.safeParse(frame.body);
    if (!body.success) return { ok: false, error: `body of ${what}: ${describeIssues(body.error.issues)}` };
    return { ok: true, frame: { ...frame, body: body.data } as PeerFrame };
  }
}

/**
 * The first few faults by path. Zod's messages describe the expected shape, never the value
 * received, so nothing the peer sent is echoed into a close reason or a log line.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(value)'}: ${issue.message}`)
    .join('; ');
}
