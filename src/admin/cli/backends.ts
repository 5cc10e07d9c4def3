/**
 * `kici-admin backend add|list|remove|test`: secret backends besides the database (HashiCorp Vault
 * KV v2), over `/api/v1/backends`, as seed 000 writes them:
 *
 *   kici-admin backend add my-vault --type vault --vault-url https://vault.example.com \
 *     --vault-auth-method token --vault-token hvs.xxx --vault-mount-path secret --vault-base-path kici/secrets
 *
 * The credential (the token, or with AppRole the secret id) goes in as the option's value, `@file`,
 * `--from-env VAR` or `--stdin`, once; it is never printed back, and nothing shows it: `list`
 * gives the URL, auth method, mount, base path, namespace, scope filter and health.
 */
import { Command, Option } from 'commander';
import { apiFor, globals } from './context.js';
import { ExitStatus } from './exit-status.js';
import type { SecretBackendView } from '../../secrets/index.js';
import { printJson, printTable } from './output.js';
import { resolveSecret, UsageError } from './secret-input.js';

/** The API's answer (`SecretBackendView`), as printTable takes rows. */
type BackendView = SecretBackendView & Record<string, unknown>;

interface TestReport {
  name: string;
  healthy: boolean;
  version: string | null;
  checks: { check: string; ok: boolean; detail: string }[];
  error: string | null;
}

const backendPath = (name: string, rest = '') => `/backends/${encodeURIComponent(name)}${rest}`;

/** The `vault` object of the API's body, from the options; the credential read once, from wherever it was given. */
async function vaultBody(o: Record<string, string | boolean | undefined>): Promise<Record<string, unknown>> {
  const method = (o.vaultAuthMethod as string | undefined) ?? 'token';
  const given = { fromEnv: o.fromEnv as string | undefined, stdin: o.stdin === true };
  if (method === 'token') {
    if (o.vaultRoleId !== undefined || o.vaultSecretId !== undefined) throw new UsageError('--vault-role-id and --vault-secret-id go with --vault-auth-method approle');
    const token = await resolveSecret({ value: o.vaultToken as string | undefined, ...given }, 'the Vault token');
    if (token === undefined) throw new UsageError('the Vault token: give --vault-token TOKEN (or @file), --from-env VAR or --stdin');
    return { authMethod: 'token', token };
  }
  if (o.vaultToken !== undefined) throw new UsageError('--vault-token goes with --vault-auth-method token');
  if (o.vaultRoleId === undefined) throw new UsageError('--vault-role-id is required with --vault-auth-method approle');
  const secretId = await resolveSecret({ value: o.vaultSecretId as string | undefined, ...given }, 'the AppRole secret id');
  if (secretId === undefined) throw new UsageError('the AppRole secret id: give --vault-secret-id ID (or @file), --from-env VAR or --stdin');
  return { authMethod: 'approle', roleId: o.vaultRoleId, secretId, ...(o.vaultApproleMount !== undefined ? { approleMount: o.vaultApproleMount } : {}) };
}

export function backendCommands(): Command {
  const backend = new Command('backend').description('secret backends besides the database (HashiCorp Vault KV v2): add, list, test, remove; credentials are never shown');

  backend
    .command('add <name>')
    .description('register a Vault backend (one for every organisation: their secrets live under <mount>/data/<base-path>/<org>/<scope>)')
    .addOption(new Option('--type <type>', 'backend type').choices(['vault']).makeOptionMandatory())
    .requiredOption('--vault-url <url>', "Vault's address (https://vault.example.com:8200)")
    .addOption(new Option('--vault-auth-method <method>', 'how to authenticate').choices(['token', 'approle']).default('token'))
    .option('--vault-token <token>', 'the token (token auth): a value or @file')
    .option('--vault-role-id <id>', 'the AppRole role id (approle auth)')
    .option('--vault-secret-id <id>', 'the AppRole secret id (approle auth): a value or @file')
    .option('--vault-approle-mount <path>', 'where the AppRole auth method is mounted (default approle)')
    .option('--from-env <var>', 'read the token (or AppRole secret id) from this environment variable')
    .option('--stdin', 'read the token (or AppRole secret id) from standard input (one trailing newline dropped)')
    .option('--vault-mount-path <path>', 'the KV version 2 mount', 'secret')
    .requiredOption('--vault-base-path <path>', 'the folder under the mount holding the organisations (kici/secrets)')
    .option('--vault-namespace <ns>', 'Vault Enterprise namespace (X-Vault-Namespace)')
    .option('--scope-filter <glob>', "only this backend's scopes matching this picomatch glob are used", '**')
    .action(async (name: string, o, cmd: Command) => {
      const auth = await vaultBody(o);
      const vault = { url: o.vaultUrl, ...auth, mountPath: o.vaultMountPath, basePath: o.vaultBasePath, ...(o.vaultNamespace !== undefined ? { namespace: o.vaultNamespace } : {}) };
      const added = await apiFor(cmd).call<BackendView>('POST', '/backends', { name, type: o.type, scopeFilter: o.scopeFilter, vault });
      if (globals(cmd).json) return printJson(added);
      process.stdout.write(
        `added secret backend ${added.name} (vault ${added.url}, ${added.authMethod} auth, mount ${added.mountPath}, base path ${added.basePath}${added.namespace ? `, namespace ${added.namespace}` : ''}, scopes ${added.scopeFilter}); check it with: kici-admin backend test ${added.name}\n`,
      );
    });

  backend
    .command('list')
    .description('the registered backends (the database backend pg is always there and not listed); never a credential')
    .action(async (_o, cmd: Command) => {
      const { backends } = await apiFor(cmd).call<{ backends: BackendView[] }>('GET', '/backends');
      if (globals(cmd).json) return printJson(backends);
      printTable(
        backends.map((b) => ({ ...b, auth: b.authMethod, mount: b.mountPath, base_path: b.basePath, scope_filter: b.scopeFilter, health: b.configError ? 'config-unreadable' : b.healthStatus, checked: b.lastHealthCheckAt })),
        ['name', 'type', 'url', 'auth', 'mount', 'base_path', 'namespace', 'scope_filter', 'enabled', 'health', 'checked'],
      );
    });

  backend
    .command('test <name>')
    .description("check a backend now: Vault's sys/health, then the credentials against a LIST of the base path; exits 1 when unhealthy")
    .action(async (name: string, _o, cmd: Command) => {
      const report = await apiFor(cmd).call<TestReport>('POST', backendPath(name, '/test'));
      if (globals(cmd).json) printJson(report);
      else {
        for (const c of report.checks) process.stdout.write(`${c.ok ? 'ok    ' : 'FAILED'}  ${c.check}: ${c.detail}\n`);
        process.stdout.write(`${report.name}: ${report.healthy ? 'healthy' : 'unhealthy'}\n`);
      }
      if (!report.healthy) throw new ExitStatus(1);
    });

  backend
    .command('remove <name>')
    .description('remove a backend (refused while an environment binding names it: unbind first)')
    .action(async (name: string, _o, cmd: Command) => {
      const removed = await apiFor(cmd).call<BackendView>('DELETE', backendPath(name));
      if (globals(cmd).json) return printJson(removed);
      process.stdout.write(`removed secret backend ${removed.name}\n`);
    });

  return backend;
}
