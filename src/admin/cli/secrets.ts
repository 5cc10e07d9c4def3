/**
 * `kici-admin secret set|unset|list`: secrets in scopes, over `/api/v1/secrets`. A value goes in
 * as an argument, `@file`, `--from-env VAR` or `--stdin` (standard input also when none is given);
 * it is never printed back, and nothing here can read one: `list` shows names only.
 */
import { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printJson, printTable } from './output.js';
import { resolveSecret } from './secret-input.js';

interface ScopeView {
  scope: string;
  names: string[];
}

/** `/secrets/<scope>/<NAME>?org=…`: the scope is one URL segment (its `/` encoded). */
function secretPath(scope: string, name: string, org: string): string {
  return `/secrets/${encodeURIComponent(scope)}/${encodeURIComponent(name)}?org=${encodeURIComponent(org)}`;
}

export function secretCommands(): Command {
  const secret = new Command('secret').description('secrets in scopes (aws/prod, aws/prod/db): set and remove values, list names; values are never shown');

  secret
    .command('set <scope> <name> [value]')
    .description('store a secret (create or replace); the value: VALUE, @file, --from-env VAR or --stdin (standard input when none is given)')
    .requiredOption('--org <org>', 'organisation id')
    .option('--from-env <var>', 'read the value from this environment variable')
    .option('--stdin', 'read the value from standard input (one trailing newline dropped)')
    .action(async (scope: string, name: string, value: string | undefined, o, cmd: Command) => {
      const given = value !== undefined || o.fromEnv !== undefined || o.stdin === true;
      if (!given && process.stdin.isTTY) process.stderr.write('kici-admin: reading the value from standard input (end it with Ctrl-D)\n');
      const resolved = await resolveSecret(given ? { value, fromEnv: o.fromEnv, stdin: o.stdin } : { stdin: true }, 'the value');
      const set = await apiFor(cmd).call<{ orgId: string; scope: string; name: string }>('PUT', secretPath(scope, name, o.org), { value: resolved });
      if (globals(cmd).json) return printJson(set);
      process.stdout.write(`set secret ${set.name} in scope ${set.scope} (${set.orgId})\n`);
    });

  secret
    .command('unset <scope> <name>')
    .description('remove a secret')
    .requiredOption('--org <org>', 'organisation id')
    .action(async (scope: string, name: string, o, cmd: Command) => {
      const gone = await apiFor(cmd).call<{ orgId: string; scope: string; name: string }>('DELETE', secretPath(scope, name, o.org));
      if (globals(cmd).json) return printJson(gone);
      process.stdout.write(`removed secret ${gone.name} from scope ${gone.scope} (${gone.orgId})\n`);
    });

  secret
    .command('list')
    .description("an organisation's scopes and the names of their secrets (never values)")
    .requiredOption('--org <org>', 'organisation id')
    .option('--scope <scope>', 'only this scope and the scopes under it')
    .action(async (o, cmd: Command) => {
      const params = new URLSearchParams({ org: o.org });
      if (o.scope !== undefined) params.set('scope', o.scope);
      const list = await apiFor(cmd).call<{ scopes: ScopeView[] }>('GET', `/secrets?${params}`);
      if (globals(cmd).json) return printJson(list.scopes);
      printTable(
        list.scopes.flatMap((s) => s.names.map((name) => ({ scope: s.scope, name }))),
        ['scope', 'name'],
      );
    });

  return secret;
}
