/**
 * The kinds a peer link carries, each with the zod schema its body must pass. The transport knows
 * no kind of its own: cluster/ registers `raft`, `snapshot_chunk`, later `actor`, and the codec
 * validates every decoded body against the schema registered for its kind, so a frame of a kind
 * this node does not know is refused at the edge instead of reaching a handler half-understood.
 *
 * Bodies travel as the schema's output and are parsed again on arrival, so a schema should not
 * transform (what it accepts and what it returns must be the same shape).
 */
import type { z } from 'zod';

/** Kind names: short, lowercase, safe to repeat in a close reason or a log line. */
export const PEER_KIND_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** A one-way message kind; the handle `send` and `onMessage` take. */
export interface PeerMessageKind<T> {
  readonly style: 'message';
  readonly kind: string;
  readonly body: z.ZodType<T>;
}

/** A request kind with the schemas of its request body and of its answer. */
export interface PeerRequestKind<Req, Res> {
  readonly style: 'request';
  readonly kind: string;
  readonly request: z.ZodType<Req>;
  readonly response: z.ZodType<Res>;
}

export type AnyPeerKind = PeerMessageKind<unknown> | PeerRequestKind<unknown, unknown>;

export class PeerKinds {
  private readonly kinds = new Map<string, AnyPeerKind>();

  /** Register a one-way message kind. A name is registered once, as a message or as a request. */
  message<S extends z.ZodType>(kind: string, body: S): PeerMessageKind<z.output<S>> {
    const entry: PeerMessageKind<z.output<S>> = { style: 'message', kind, body: body as z.ZodType<z.output<S>> };
    this.add(entry as AnyPeerKind);
    return entry;
  }

  /** Register a request kind: `request` validates what is asked, `response` what comes back. */
  request<Q extends z.ZodType, R extends z.ZodType>(kind: string, request: Q, response: R): PeerRequestKind<z.output<Q>, z.output<R>> {
    const entry: PeerRequestKind<z.output<Q>, z.output<R>> = {
      style: 'request',
      kind,
      request: request as z.ZodType<z.output<Q>>,
      response: response as z.ZodType<z.output<R>>,
    };
    this.add(entry as AnyPeerKind);
    return entry;
  }

  messageKind(kind: string): PeerMessageKind<unknown> | undefined {
    const entry = this.kinds.get(kind);
    return entry?.style === 'message' ? entry : undefined;
  }

  requestKind(kind: string): PeerRequestKind<unknown, unknown> | undefined {
    const entry = this.kinds.get(kind);
    return entry?.style === 'request' ? entry : undefined;
  }

  /** Is `entry` the very handle this registry made (not a look-alike from another registry)? */
  owns(entry: AnyPeerKind): boolean {
    return this.kinds.get(entry.kind) === entry;
  }

  get names(): string[] {
    return [...this.kinds.keys()];
  }

  private add(entry: AnyPeerKind): void {
    if (!PEER_KIND_PATTERN.test(entry.kind)) throw new TypeError(`peer kind ${JSON.stringify(entry.kind)} is not 1–64 lowercase letters, digits, ".", "_" or "-" starting with a letter`);
    if (this.kinds.has(entry.kind)) throw new TypeError(`peer kind "${entry.kind}" is already registered`);
    this.kinds.set(entry.kind, entry);
  }
}
