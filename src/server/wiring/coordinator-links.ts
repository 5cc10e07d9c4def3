/**
 * An edge worker's links to the coordinators: dialled from the latest cluster view (the join's
 * member list before any view arrived), and the one way the worker asks a coordinator something
 * only the database knows.
 */
import type { PeerIdentity, PeerLinks, PeerMessageKind, PeerRequestKind } from '../../transport/index.js';
import type { ClusterView } from '../../worker/index.js';
import type { Logger } from '../logger.js';

/** How long one coordinator is given to answer a question the worker cannot answer itself. */
const ASK_MS = 5_000;

export class CoordinatorLinks {
  private readonly dialled = new Map<string, string>();

  constructor(
    private readonly links: PeerLinks,
    private readonly view: ClusterView,
    private readonly log: Pick<Logger, 'error'>,
  ) {}

  /** Dial the coordinators the view names (or `seed`, before any view), and drop those it no longer names. */
  follow(seed: { node: string; address: string }[] = []): void {
    const wanted = this.view.hasView ? this.view.coordinators() : seed.filter((m) => m.address !== '');
    for (const c of wanted) {
      if (this.dialled.get(c.node) === c.address) continue;
      try {
        this.links.addPeer(c.node, c.address);
        this.dialled.set(c.node, c.address);
      } catch (e) {
        this.log.error({ peer: c.node, address: c.address, err: (e as Error).message }, 'a coordinator\'s address cannot be dialled');
      }
    }
    if (!this.view.hasView) return;
    const names = new Set(wanted.map((c) => c.node));
    for (const node of [...this.dialled.keys()]) {
      if (names.has(node)) continue;
      this.dialled.delete(node);
      this.links.removePeer(node);
    }
  }

  /** The coordinators reachable now (a link up, the certificate the cluster recorded). */
  connected(): string[] {
    return this.links.connectedPeers().filter((p: PeerIdentity) => p.role === 'coordinator' && this.view.trusts(p)).map((p) => p.nodeId);
  }

  /** The first reachable coordinator's answer; undefined when none answers. */
  async ask<Q, R>(kind: PeerRequestKind<Q, R>, body: Q): Promise<R | undefined> {
    for (const node of this.connected()) {
      try {
        return await this.links.request(node, kind, body, { timeoutMs: ASK_MS });
      } catch {
        continue;
      }
    }
    return undefined;
  }

  /** A message to every reachable coordinator (or to `node` alone). */
  tell<T>(kind: PeerMessageKind<T>, body: T, node?: string): void {
    for (const c of node ? [node] : this.connected()) this.links.send(c, kind, body);
  }
}
