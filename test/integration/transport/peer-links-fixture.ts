/**
 * A cluster to test peer links with: a CA, node credentials issued by it the way a joiner gets
 * them, nodes listening on loopback, a raw TLS WebSocket client for playing a misbehaving peer,
 * and waits on events (never on time).
 */
import { afterEach } from 'vitest';
import { type ClientOptions, WebSocket } from 'ws';
import { z } from 'zod';
import {
  type ClusterCa,
  createClusterCa,
  createNodeRequest,
  newCertificateSerial,
  type NodeCredentials,
  nodeIdentity,
  type NodeRole,
  readClusterCaCertificate,
  signNodeCertificate,
} from '../../../src/certificates/index.js';
import { Packr } from 'msgpackr';
import {
  PeerKinds,
  PeerLinks,
  type PeerLinksEventMap,
  type PeerLinksOptions,
  type PeerLogger,
  type PeerMessageKind,
  type PeerRequestKind,
} from '../../../src/transport/index.js';

export async function cluster(clusterId = 'alpha'): Promise<ClusterCa> {
  // node:tls judges certificate dates by the real clock, so certificates are made at real now.
  return createClusterCa({ clusterId, now: new Date() });
}

/** Credentials as `loadNodeCredentials` would return them, for a node the CA signed. */
export async function credentials(ca: ClusterCa, nodeId: string, role: NodeRole = 'coordinator'): Promise<NodeCredentials> {
  const { privateKey, requestPem } = await createNodeRequest({ clusterId: ca.clusterId, nodeId, role });
  const certificatePem = await signNodeCertificate({
    ca,
    csrPem: requestPem,
    clusterId: ca.clusterId,
    nodeId,
    role,
    serial: newCertificateSerial(),
    now: new Date(),
  });
  return { certificatePem, privateKey, ca: readClusterCaCertificate(ca.certificatePem), identity: nodeIdentity(certificatePem) };
}

export const noteBody = z.strictObject({ seq: z.number().int(), text: z.string() });
export const echoRequest = z.strictObject({ text: z.string() });
export const echoResponse = z.strictObject({ text: z.string(), by: z.string() });

export interface TestKinds {
  registry: PeerKinds;
  note: PeerMessageKind<z.infer<typeof noteBody>>;
  echo: PeerRequestKind<z.infer<typeof echoRequest>, z.infer<typeof echoResponse>>;
}

export function testKinds(): TestKinds {
  const registry = new PeerKinds();
  return { registry, note: registry.message('note', noteBody), echo: registry.request('echo', echoRequest, echoResponse) };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg?: string;
}

const logListeners = new WeakMap<LogLine[], Set<(line: LogLine) => void>>();

export function recordingLogger(lines: LogLine[]): PeerLogger {
  const at = (level: LogLine['level']) => (fields: object, msg?: string) => {
    const line: LogLine = { level, fields: fields as Record<string, unknown>, msg };
    lines.push(line);
    for (const listener of logListeners.get(lines) ?? []) listener(line);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The next line logged to `lines` that `match` accepts. Subscribe before causing it. */
export function nextLog(lines: LogLine[], match: (line: LogLine) => boolean): Promise<LogLine> {
  const set = logListeners.get(lines) ?? new Set();
  logListeners.set(lines, set);
  return new Promise((resolve) => {
    const listener = (line: LogLine): void => {
      if (!match(line)) return;
      set.delete(listener);
      resolve(line);
    };
    set.add(listener);
  });
}

export interface TestNode {
  id: string;
  links: PeerLinks;
  kinds: TestKinds;
  credentials: NodeCredentials;
  port: number;
  address: string;
  logs: LogLine[];
  /** Every `note` received, in order, as `from:seq`. */
  notes: string[];
}

const started: PeerLinks[] = [];
afterEach(async () => {
  for (const links of started.splice(0)) await links.close();
});

/** Fast reconnects, so tests that wait for a reconnect do not wait long. */
export const QUICK: Partial<PeerLinksOptions> = { initialReconnectDelayMs: 10, maxReconnectDelayMs: 100 };

export async function startNode(
  ca: ClusterCa,
  id: string,
  options: Partial<PeerLinksOptions> & { role?: NodeRole; credentials?: NodeCredentials } = {},
): Promise<TestNode> {
  const creds = options.credentials ?? (await credentials(ca, id, options.role));
  const kinds = testKinds();
  const logs: LogLine[] = [];
  const links = new PeerLinks({ listen: { host: '127.0.0.1', port: 0 }, logger: recordingLogger(logs), ...QUICK, ...options, credentials: creds, kinds: kinds.registry });
  started.push(links);
  const bound = await links.start();
  const notes: string[] = [];
  links.onMessage(kinds.note, (from, body) => notes.push(`${from.nodeId}:${body.seq}`));
  links.handle(kinds.echo, (from, body) => ({ text: body.text, by: `${id} for ${from.nodeId}` }));
  return { id, links, kinds, credentials: creds, port: bound!.port, address: `127.0.0.1:${bound!.port}`, logs, notes };
}

/** The next event `name` of `links` that `match` accepts. Subscribe before causing it. */
export function nextEvent<K extends keyof PeerLinksEventMap>(
  links: PeerLinks,
  name: K,
  match: (event: PeerLinksEventMap[K]) => boolean = () => true,
): Promise<PeerLinksEventMap[K]> {
  return new Promise((resolve) => {
    const off = links.on(name, (event) => {
      if (!match(event)) return;
      off();
      resolve(event);
    });
  });
}

/** Resolves once `links` has a link up to each of `peerIds`. */
export function allUp(links: PeerLinks, peerIds: string[]): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (peerIds.every((p) => links.isUp(p))) {
        off();
        resolve();
      }
    };
    const off = links.on('peerUp', check);
    check();
  });
}

/** Resolves once `count` notes have arrived at `node`. */
export function notesArrived(node: TestNode, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (node.notes.length >= count) {
        off();
        resolve(node.notes.slice());
      }
    };
    const off = node.links.onMessage(node.kinds.note, () => queueMicrotask(check));
    check();
  });
}

const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false });

/** MessagePack bytes of `value`, as a misbehaving peer would send them. */
export function packed(value: unknown): Buffer {
  return packr.pack(value);
}

export interface RawPeer {
  ws: WebSocket;
  /** Frames received, decoded (no validation: this is the test's side). */
  received: unknown[];
  opened: Promise<void>;
  /** The close code and reason the server sent, or the error that ended the socket. */
  closed: Promise<{ code: number; reason: string; error?: Error }>;
}

/**
 * A hand-made client on the peer port: what an attacker or a broken peer could do. `cert`/`key`
 * may be left out (no client certificate) or come from another cluster.
 */
export function rawPeer(port: number, tls: { key?: string; cert?: string; ca: string }): RawPeer {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/ws/peer`, {
    key: tls.key,
    cert: tls.cert,
    ca: [tls.ca],
    // This client checks nothing of the server: it is the server's checks under test.
    checkServerIdentity: () => undefined,
    perMessageDeflate: false,
  } as unknown as ClientOptions);
  const received: unknown[] = [];
  let error: Error | undefined;
  ws.on('error', (e) => (error = e));
  ws.on('message', (data: Buffer) => received.push(packr.unpack(data)));
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string; error?: Error }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8'), error })),
  );
  return { ws, received, opened, closed };
}

export function rawTls(node: NodeCredentials): { key: string; cert: string; ca: string } {
  return { key: node.privateKey.toPem(), cert: node.certificatePem, ca: node.ca.certificatePem };
}

/** A valid hello for `node`'s credentials (override fields to make it lie). */
export function helloOf(node: NodeCredentials, override: Record<string, unknown> = {}): Buffer {
  return packed({ type: 'hello', protocolVersion: 1, clusterId: node.identity.clusterId, nodeId: node.identity.nodeId, role: node.identity.role, ...override });
}

/** Resolves when the raw peer has received a frame that `match` accepts. */
export function rawReceived(peer: RawPeer, match: (frame: unknown) => boolean): Promise<unknown> {
  return new Promise((resolve) => {
    const found = peer.received.find(match);
    if (found !== undefined) return resolve(found);
    const listener = (): void => {
      const hit = peer.received.find(match);
      if (hit === undefined) return;
      peer.ws.off('message', listener);
      resolve(hit);
    };
    peer.ws.on('message', listener);
  });
}
