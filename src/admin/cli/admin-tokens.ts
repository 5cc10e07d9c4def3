import { Command, Option } from 'commander';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';

interface AdminTokenView extends Record<string, unknown> {
  id: string;
  name: string;
  prefix: string;
  role: string;
  revokedAt: string | null;
  token?: string;
  self?: boolean;
}

/** A token's state as an operator reads it in a list. */
const withStatus = (t: AdminTokenView) => ({ ...t, status: t.revokedAt ? 'revoked' : 'live' });

/** `kici-admin admin-token create|list|revoke`: the tokens of the admin API, by name. */
export function adminTokenCommands(): Command {
  const token = new Command('admin-token').description('admin tokens: named, each creation and revocation audited');

  token
    .command('create')
    .description('create an admin token; it is shown once and stored only as a hash')
    .requiredOption('--name <name>', 'who holds it (unique among live tokens; the name reviewers and the audit use)')
    .addOption(new Option('--role <role>', 'admin: every route; viewer: reads runs, agents, the event log and the cluster, and votes on holds that name it').choices(['admin', 'viewer']).default('admin'))
    .action(async (o: { name: string; role: string }, cmd: Command) => {
      const created = await apiFor(cmd).call<AdminTokenView>('POST', '/admin-tokens', { name: o.name, role: o.role });
      if (globals(cmd).json) return printJson(created);
      printFields(created, ['id', 'name', 'role', 'prefix', 'createdAt']);
      process.stdout.write(`\ntoken (shown once): ${created.token}\n`);
    });

  token
    .command('list')
    .description('list admin tokens, live and revoked (prefixes only)')
    .action(async (_o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ tokens: AdminTokenView[] }>('GET', '/admin-tokens');
      if (globals(cmd).json) return printJson(list.tokens);
      printTable(list.tokens.map(withStatus), ['id', 'name', 'role', 'prefix', 'status', 'createdAt', 'revokedAt']);
    });

  token
    .command('revoke <idOrName>')
    .description('revoke a token by its id or by the name of a live token (the last live admin token cannot be revoked)')
    .action(async (ref: string, _o, cmd: Command) => {
      const revoked = await apiFor(cmd).call<AdminTokenView>('DELETE', `/admin-tokens/${encodeURIComponent(ref)}`);
      if (globals(cmd).json) return printJson(revoked);
      process.stdout.write(`revoked ${revoked.id} (${revoked.name})\n`);
      if (revoked.self) process.stdout.write('that was the token this command used: use another one from now on\n');
    });

  return token;
}
