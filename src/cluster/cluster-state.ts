/**
 * The Raft-replicated cluster state: cluster metadata only (members, the shard map with an epoch
 * per shard, the agent directory, revoked certificates, settings). Runs, jobs and secrets stay in
 * PostgreSQL. `apply` is deterministic: every node applies the same entries in the same order and
 * so refuses the same commands for the same reasons. Snapshots are JSON, validated on restore.
 */
import { z } from 'zod';
import { SHARD_COUNT } from '../actors/index.js';
import { decodeCommand, memberRole, memberStanding, type ClusterCommand, type MemberRole, type MemberStanding } from './commands.js';

export interface Member {
  node: string;
  raftId: number;
  address: string;
  role: MemberRole;
  standing: MemberStanding;
  certificateSerial?: string;
}

export interface ShardOwnership {
  node: string;
  epoch: number;
}

export interface PlacedAgent {
  node: string;
  labels: string[];
  capacity: number;
}

/** What applying one entry did. */
export type Outcome = { applied: true } | { applied: false; reason: string };

const SNAPSHOT_VERSION = 1;

const snapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  members: z.array(
    z.object({
      node: z.string(),
      raftId: z.number().int().positive(),
      address: z.string(),
      role: memberRole,
      standing: memberStanding,
      certificateSerial: z.string().optional(),
    }),
  ),
  removedRaftIds: z.array(z.number().int().positive()),
  shards: z.array(z.object({ shard: z.number().int().min(0).max(SHARD_COUNT - 1), node: z.string(), epoch: z.number().int().positive() })),
  agents: z.array(z.object({ agent: z.string(), node: z.string(), labels: z.array(z.string()), capacity: z.number().int().min(0) })),
  revokedSerials: z.array(z.string()),
  settings: z.record(z.string(), z.string()),
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ClusterState {
  private members = new Map<string, Member>();
  /** Raft ids of removed members: never handed out again. */
  private removedRaftIds = new Set<number>();
  private shards = new Map<number, ShardOwnership>();
  private agents = new Map<string, PlacedAgent>();
  private revokedSerials = new Set<string>();
  private settings = new Map<string, string>();

  /** Apply one committed entry's data. Never throws: a bad entry is refused, identically everywhere. */
  apply(data: Uint8Array): Outcome {
    const decoded = decodeCommand(data);
    if ('refused' in decoded) return { applied: false, reason: decoded.refused };
    return this.applyCommand(decoded.command);
  }

  private applyCommand(c: ClusterCommand): Outcome {
    switch (c.type) {
      case 'member_added': {
        if (this.members.has(c.node)) return refuse(`node ${c.node} is already a member`);
        if (this.raftIdTaken(c.raftId)) return refuse(`raft id ${c.raftId} is taken or was used before`);
        const standing: MemberStanding = c.role === 'worker' ? 'worker' : 'learner';
        this.members.set(c.node, { node: c.node, raftId: c.raftId, address: c.address, role: c.role, standing, certificateSerial: c.certificateSerial });
        return ok();
      }
      case 'member_promoted': {
        const m = this.members.get(c.node);
        if (!m || m.standing !== 'learner') return refuse(`node ${c.node} is not a learner`);
        m.standing = 'voter';
        return ok();
      }
      case 'member_address': {
        const m = this.members.get(c.node);
        if (!m) return refuse(`node ${c.node} is not a member`);
        m.address = c.address;
        return ok();
      }
      case 'member_removed': {
        const m = this.members.get(c.node);
        if (!m) return refuse(`node ${c.node} is not a member`);
        this.members.delete(c.node);
        this.removedRaftIds.add(m.raftId);
        if (m.certificateSerial) this.revokedSerials.add(m.certificateSerial);
        for (const [agent, placed] of this.agents) if (placed.node === c.node) this.agents.delete(agent);
        return ok();
      }
      case 'certificate_revoked':
        this.revokedSerials.add(c.serial);
        return ok();
      case 'shard_assigned': {
        const refusal = this.assignmentRefusal(c);
        if (refusal) return refuse(refusal);
        this.shards.set(c.shard, { node: c.node, epoch: c.epoch });
        return ok();
      }
      case 'shards_assigned': {
        const shards = new Set<number>();
        for (const a of c.assignments) {
          if (shards.has(a.shard)) return refuse(`shard ${a.shard} is assigned twice`);
          shards.add(a.shard);
          const refusal = this.assignmentRefusal(a);
          if (refusal) return refuse(refusal);
        }
        for (const a of c.assignments) this.shards.set(a.shard, { node: a.node, epoch: a.epoch });
        return ok();
      }
      case 'agent_placed':
        if (!this.members.has(c.node)) return refuse(`node ${c.node} is not a member`);
        this.agents.set(c.agent, { node: c.node, labels: [...c.labels], capacity: c.capacity });
        return ok();
      case 'agent_left': {
        // Only the node that holds the agent may say it left: a late message from its previous
        // node must not erase where it is now.
        if (this.agents.get(c.agent)?.node !== c.node) return refuse(`agent ${c.agent} is not on ${c.node}`);
        this.agents.delete(c.agent);
        return ok();
      }
      case 'setting_set':
        this.settings.set(c.key, c.value);
        return ok();
    }
  }

  /** Epochs only grow: an old decision replayed or raced can never take a shard back. */
  private assignmentRefusal(a: { shard: number; node: string; epoch: number }): string | undefined {
    const prev = this.shards.get(a.shard);
    if (prev && a.epoch <= prev.epoch) return `shard ${a.shard} is at epoch ${prev.epoch} already`;
    if (this.members.get(a.node)?.role !== 'coordinator') return `node ${a.node} is not a coordinator`;
    return undefined;
  }

  private raftIdTaken(id: number): boolean {
    if (this.removedRaftIds.has(id)) return true;
    for (const m of this.members.values()) if (m.raftId === id) return true;
    return false;
  }

  // ---- reading -------------------------------------------------------------------------------

  member(node: string): Member | undefined {
    const m = this.members.get(node);
    return m ? { ...m } : undefined;
  }

  memberByRaftId(raftId: number): Member | undefined {
    for (const m of this.members.values()) if (m.raftId === raftId) return { ...m };
    return undefined;
  }

  memberCount(): number {
    return this.members.size;
  }

  memberList(): Member[] {
    return [...this.members.values()].map((m) => ({ ...m })).sort((a, b) => a.raftId - b.raftId);
  }

  /** Forget every shard's owner (a forced recovery: the leader places them again from the database). */
  clearShardMap(): void {
    this.shards.clear();
  }

  /** Was this Raft id a member's that was removed? (Never handed out again.) */
  wasRemoved(raftId: number): boolean {
    return this.removedRaftIds.has(raftId);
  }

  /** The Raft id the next joiner gets: above every id ever used, so none is reused. */
  nextRaftId(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.raftId);
    for (const id of this.removedRaftIds) max = Math.max(max, id);
    return max + 1;
  }

  shardOwner(shard: number): ShardOwnership | undefined {
    const s = this.shards.get(shard);
    return s ? { ...s } : undefined;
  }

  /** The map as it stands (a copy). */
  shardOwners(): Map<number, ShardOwnership> {
    return new Map([...this.shards].map(([shard, o]) => [shard, { ...o }]));
  }

  shardMap(): { shard: number; node: string; epoch: number }[] {
    return [...this.shards.entries()].sort((a, b) => a[0] - b[0]).map(([shard, s]) => ({ shard, ...s }));
  }

  agent(agent: string): PlacedAgent | undefined {
    const a = this.agents.get(agent);
    return a ? { ...a, labels: [...a.labels] } : undefined;
  }

  agentCount(): number {
    return this.agents.size;
  }

  isRevoked(serial: string): boolean {
    return this.revokedSerials.has(serial);
  }

  revoked(): string[] {
    return [...this.revokedSerials].sort();
  }

  setting(key: string): string | undefined {
    return this.settings.get(key);
  }

  // ---- snapshots -----------------------------------------------------------------------------

  snapshot(): Uint8Array {
    const body: z.infer<typeof snapshotSchema> = {
      version: SNAPSHOT_VERSION,
      members: this.memberList(),
      removedRaftIds: [...this.removedRaftIds].sort((a, b) => a - b),
      shards: this.shardMap(),
      agents: [...this.agents.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([agent, a]) => ({ agent, ...a })),
      revokedSerials: this.revoked(),
      settings: Object.fromEntries([...this.settings.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    };
    return encoder.encode(JSON.stringify(body));
  }

  /** Replace the whole state by a snapshot's (an empty one is the state of a new cluster). */
  restore(data: Uint8Array): void {
    const fresh = new ClusterState();
    if (data.length > 0) {
      const body = snapshotSchema.parse(JSON.parse(decoder.decode(data)));
      for (const m of body.members) fresh.members.set(m.node, { ...m });
      for (const id of body.removedRaftIds) fresh.removedRaftIds.add(id);
      for (const s of body.shards) fresh.shards.set(s.shard, { node: s.node, epoch: s.epoch });
      for (const a of body.agents) fresh.agents.set(a.agent, { node: a.node, labels: a.labels, capacity: a.capacity });
      for (const s of body.revokedSerials) fresh.revokedSerials.add(s);
      for (const [k, v] of Object.entries(body.settings)) fresh.settings.set(k, v);
    }
    this.members = fresh.members;
    this.removedRaftIds = fresh.removedRaftIds;
    this.shards = fresh.shards;
    this.agents = fresh.agents;
    this.revokedSerials = fresh.revokedSerials;
    this.settings = fresh.settings;
  }
}

function ok(): Outcome {
  return { applied: true };
}

function refuse(reason: string): Outcome {
  return { applied: false, reason };
}
