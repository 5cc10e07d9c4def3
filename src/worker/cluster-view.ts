/**
 * What an edge worker knows of its cluster, having no database and no Raft log: the members, the
 * shard map and the agent tokens' hashes, as the coordinators it reaches last told it. The copy is
 * kept on disk (replaced whole, by rename) so a worker restarted while every coordinator is out of
 * reach still admits its agents and knows where each run lives.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ShardTable } from '../cluster/index.js';
import { hashToken } from '../secrets/index.js';
import { replaceFileDurably } from '../spool/index.js';
import { workerViewBody, type PeerIdentity, type WorkerViewBody } from '../transport/index.js';

export interface ViewMember {
  node: string;
  address: string;
  role: 'coordinator' | 'worker';
}

export interface AgentTokenGrant {
  tokenId: string;
  labels: string[] | null;
  maxConcurrency: number | null;
}

const EMPTY: WorkerViewBody = { members: [], revokedSerials: [], shards: [], agentTokens: [] };

export class ClusterView {
  /** The actor system's shard map: updated in place, so the system always routes by the latest view. */
  readonly shards = new ShardTable([]);
  private view: WorkerViewBody = EMPTY;
  private tokens = new Map<string, WorkerViewBody['agentTokens'][number]>();
  /** The view as JSON, and what of it is on disk (a failed write is tried again with the next view). */
  private text = '';
  private written = '';

  constructor(
    private readonly file: string,
    private readonly clock: { now(): number },
  ) {}

  /** Read what an earlier process kept; a missing or unreadable file is an empty view (reported). */
  load(): { loaded: boolean; problem?: string } {
    if (!existsSync(this.file)) return { loaded: false };
    try {
      const parsed = workerViewBody.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (!parsed.success) return { loaded: false, problem: `${this.file} does not hold a cluster view; it is replaced when a coordinator is reached` };
      this.take(parsed.data);
      this.written = this.text;
      return { loaded: true };
    } catch {
      return { loaded: false, problem: `${this.file} is not JSON; it is replaced when a coordinator is reached` };
    }
  }

  /** A coordinator's word, unless older than the one held: taken whole, kept on disk when it differs from what is kept. */
  apply(view: WorkerViewBody): boolean {
    // Older than what is held (a coordinator behind the others): ignored, whatever else it says.
    if ((view.appliedIndex ?? 0) < (this.view.appliedIndex ?? 0)) return false;
    const text = JSON.stringify(view);
    if (text === this.written) return false;
    if (text !== this.text) this.take(view);
    replaceFileDurably(this.file, text, 0o600);
    this.written = text;
    return true;
  }

  coordinators(): ViewMember[] {
    return this.view.members.filter((m) => m.role === 'coordinator' && m.address !== '').map(({ node, address, role }) => ({ node, address, role }));
  }

  revokedSerials(): string[] {
    return this.view.revokedSerials;
  }

  /**
   * Is this a current coordinator's own certificate? Before any view arrived, the CA's word (the
   * links checked it) is all the worker has; after, the serial must be the one the cluster recorded.
   */
  trusts(from: PeerIdentity): boolean {
    if (from.role !== 'coordinator') return false;
    if (this.view.members.length === 0) return true;
    return this.view.members.some((m) => m.node === from.nodeId && m.serial === from.serial);
  }

  /** The grant of a valid agent token, checked against the hashes the coordinators sent. */
  grantFor(token: string): AgentTokenGrant | null {
    const found = this.tokens.get(hashToken(token));
    if (!found || (found.expiresAt !== null && found.expiresAt <= this.clock.now())) return null;
    return { tokenId: found.id, labels: found.labels, maxConcurrency: found.maxConcurrency };
  }

  get hasView(): boolean {
    return this.view.members.length > 0;
  }

  private take(view: WorkerViewBody): void {
    this.view = view;
    this.text = JSON.stringify(view);
    this.tokens = new Map(view.agentTokens.map((t) => [t.hash, t]));
    for (const s of view.shards) this.shards.assign(s.shard, { node: s.node, epoch: s.epoch });
  }
}
