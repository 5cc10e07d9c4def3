import { Command } from 'commander';
import { clusterNodeId, type RevokeFailure } from '../api/cluster.js';
import type { ClusterMemberView, RevokedMember } from '../api/deps.js';
import { DEFAULT_JOIN_ROLE, JOIN_TOKEN_EXPIRY_HOURS, joinTokenId } from '../api/peers.js';
import { MEMBER_COLUMNS, memberRow } from './cluster.js';
import { apiFor, globals } from './context.js';
import { ExitStatus } from './exit-status.js';
import { printFields, printJson, printTable } from './output.js';
import { UsageError } from './secret-input.js';

const ROLES = ['coordinator', 'worker'] as const;

interface JoinTokenView extends Record<string, unknown> {
  id: string;
  role: string;
  state: string;
  expiresAt: string;
  token?: string;
}

export interface JoinTokenOptions {
  role: (typeof ROLES)[number];
  expiryHours: number;
}

/** A value quoted back in a usage error, cut short: a pasted join token's secret is its last part, never its first 20 characters. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
}

/** `--role` and `--expiry-hours` as typed, checked before anything is sent; a UsageError names the flag. */
export function joinTokenOptions(raw: { role?: unknown; expiryHours?: unknown }): JoinTokenOptions {
  const role = raw.role === undefined ? DEFAULT_JOIN_ROLE : String(raw.role);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be coordinator or worker, not ${quoted(role)}`);
  const { min, max } = JOIN_TOKEN_EXPIRY_HOURS;
  const hours = raw.expiryHours === undefined ? String(JOIN_TOKEN_EXPIRY_HOURS.default) : String(raw.expiryHours).trim();
  const expiryHours = /^\d{1,4}$/.test(hours) ? Number(hours) : Number.NaN;
  if (!Number.isInteger(expiryHours) || expiryHours < min || expiryHours > max) {
    throw new UsageError(`--expiry-hours must be a whole number of hours from ${min} to ${max} (30 days), not ${quoted(hours)}`);
  }
  return { role: role as JoinTokenOptions['role'], expiryHours };
}

/** A token id as given to `peer revoke-token`; the id, not the token (which holds a secret). */
export function joinTokenIdArgument(raw: string): string {
  const id = joinTokenId.safeParse(raw.trim());
  if (id.success) return id.data;
  // A whole token pasted by mistake: say so without echoing it (its last part is the secret).
  if (raw.trim().startsWith('kici1.')) throw new UsageError('give the token id (16 hex digits, shown by `peer tokens`), not the token itself');
  throw new UsageError('a join token id is 16 hex digits (see `kici-admin peer tokens`)');
}

/** The node given to `peer revoke --instance-id`, checked before anything is sent. */
export function instanceIdArgument(raw: string): string {
  const id = clusterNodeId.safeParse(raw.trim());
  if (id.success) return id.data;
  // A join token pasted by mistake: say so without a word of it (its last part is the secret).
  if (raw.trim().startsWith('kici1.')) throw new UsageError('--instance-id takes a node id (see `kici-admin peer list`), not a join token');
  throw new UsageError(`--instance-id must be a node id, 1–64 letters, digits, dots, dashes or underscores (see \`kici-admin peer list\`), not ${quoted(raw.trim())}`);
}

/** `peer revoke-all` cuts off every other member for good; only --confirm lets it be sent. */
export function revokeAllConfirmed(raw: { confirm?: unknown }): true {
  if (raw.confirm === true) return true;
  throw new UsageError('peer revoke-all revokes every member of the cluster but the node answering, for good; add --confirm to do it');
}

function printRevoked(r: RevokedMember): void {
  const serials = r.serials.length ? ` (certificates ${r.serials.join(', ')})` : '';
  process.stdout.write(r.newlyRevoked ? `revoked node ${r.nodeId}${serials}\n` : `node ${r.nodeId} was already revoked${serials}\n`);
}

export function peerCommands(): Command {
  const peer = new Command('peer').description("the cluster's members, their revocation, and join tokens for new nodes");

  peer
    .command('list')
    .description('the members of the cluster as this node sees them: who leads, who is connected, how far behind, when certificates expire')
    .action(async (_o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ members: ClusterMemberView[] }>('GET', '/peers');
      if (globals(cmd).json) return printJson(list.members);
      printTable(list.members.map(memberRow), MEMBER_COLUMNS);
    });

  peer
    .command('revoke')
    .description('revoke a member for good: its certificates stop working on every member and it loses its vote')
    .requiredOption('--instance-id <id>', 'the node to revoke (as `peer list` shows it)')
    .action(async (o, cmd: Command) => {
      const id = instanceIdArgument(String(o.instanceId));
      const reply = await apiFor(cmd).call<{ nodeId: string; revoked: boolean; serials: string[] }>('DELETE', `/peers/${id}`);
      if (globals(cmd).json) return printJson(reply);
      printRevoked({ nodeId: reply.nodeId, newlyRevoked: reply.revoked, serials: reply.serials });
    });

  peer
    .command('revoke-all')
    .description('revoke every member but the node answering, one after another (to rebuild a cluster from one node)')
    .option('--confirm', 'yes, revoke them all')
    .action(async (o, cmd: Command) => {
      const confirm = revokeAllConfirmed({ confirm: o.confirm });
      const reply = await apiFor(cmd).call<{ revoked: RevokedMember[]; failed: RevokeFailure[] }>('POST', '/peers/revoke-all', { confirm });
      if (globals(cmd).json) printJson(reply);
      else {
        for (const r of reply.revoked) printRevoked(r);
        for (const f of reply.failed) process.stdout.write(`could not revoke node ${f.nodeId}: ${f.error.message}\n`);
        if (reply.revoked.length + reply.failed.length === 0) process.stdout.write('no other members to revoke\n');
      }
      // Printed in full either way; a member still in the cluster is a failure a script must see.
      if (reply.failed.length > 0) throw new ExitStatus(1);
    });

  peer
    .command('create-token')
    .description('create a single-use join token for a new node; it is shown once and stored only as a hash')
    .option('--role <role>', `what the new node may be: coordinator or worker (default ${DEFAULT_JOIN_ROLE})`)
    .option('--expiry-hours <hours>', `how long the token is valid, ${JOIN_TOKEN_EXPIRY_HOURS.min}–${JOIN_TOKEN_EXPIRY_HOURS.max} (default ${JOIN_TOKEN_EXPIRY_HOURS.default})`)
    .action(async (o, cmd: Command) => {
      const input = joinTokenOptions({ role: o.role, expiryHours: o.expiryHours });
      const created = await apiFor(cmd).call<JoinTokenView>('POST', '/peers/tokens', input);
      if (globals(cmd).json) return printJson(created);
      printFields(created, ['id', 'role', 'clusterId', 'caFingerprint', 'expiresAt']);
      process.stdout.write(`\njoin token (shown once; one node may join with it until ${created.expiresAt}):\n${created.token}\n`);
    });

  peer
    .command('tokens')
    .description('list join tokens and what became of them (never their secrets)')
    .action(async (_o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ tokens: JoinTokenView[] }>('GET', '/peers/tokens');
      if (globals(cmd).json) return printJson(list.tokens);
      printTable(list.tokens, ['id', 'role', 'state', 'createdAt', 'expiresAt', 'usedBy', 'usedAt', 'revokedAt']);
    });

  peer
    .command('revoke-token <id>')
    .description('withdraw an unused join token')
    .action(async (raw: string, _o, cmd: Command) => {
      const id = joinTokenIdArgument(raw);
      const revoked = await apiFor(cmd).call<JoinTokenView & { revoked: boolean }>('DELETE', `/peers/tokens/${id}`);
      if (globals(cmd).json) return printJson(revoked);
      process.stdout.write(revoked.revoked ? `revoked join token ${revoked.id}\n` : `join token ${revoked.id} was already revoked\n`);
    });

  return peer;
}
