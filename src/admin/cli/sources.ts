import { Command, Option } from 'commander';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';
import { resolveSecret, UsageError } from './secret-input.js';

export interface SourceView extends Record<string, unknown> {
  id: string;
  orgId: string;
  kind: string;
  name: string;
  enabled: boolean;
  webhookPath: string;
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`expected a positive whole number, got "${v}"`);
  return n;
};

export function sourceCommands(): Command {
  const source = new Command('source').description('webhook sources: GitHub Apps, git repositories and generic HTTP senders');
  const add = new Command('add').description('add a source');

  add
    .command('github')
    .description('a GitHub App: its webhooks arrive at /webhook/<org>/github (secrets are sealed, never printed)')
    .requiredOption('--name <name>', 'source name (by convention the GitHub organisation), unique in the organisation')
    .requiredOption('--app-id <id>', 'the GitHub App id')
    .option('--org <org>', 'organisation id (default: the name)')
    .option('--private-key <pem>', "the App's private key: a value or @file (recommended: @app.pem)")
    .option('--from-env <var>', 'read the private key from this environment variable')
    .option('--stdin', 'read the private key from standard input')
    .option('--webhook-secret <secret>', "the App's webhook secret: a value or @file")
    .option('--webhook-secret-from-env <var>', 'read the webhook secret from this environment variable')
    .option('--webhook-secret-stdin', 'read the webhook secret from standard input')
    .action(async (o, cmd: Command) => {
      const { privateKey, webhookSecret } = await githubSecrets(o);
      if (!privateKey) throw new UsageError('the private key is required: --private-key <value|@file>, --from-env <VAR> or --stdin');
      if (!webhookSecret) throw new UsageError('the webhook secret is required: --webhook-secret <value|@file>, --webhook-secret-from-env <VAR> or --webhook-secret-stdin');
      const created = await apiFor(cmd).call<SourceView>('POST', '/sources', {
        kind: 'github',
        orgId: o.org,
        name: o.name,
        appId: o.appId,
        privateKey,
        webhookSecret,
      });
      show(cmd, created);
    });

  add
    .command('git')
    .description('a git repository (http(s) or file://) that a post-receive hook reports pushes from')
    .requiredOption('--org <org>', 'organisation id')
    .requiredOption('--name <name>', 'source name, unique in the organisation')
    .requiredOption('--url <url>', 'repository URL the orchestrator mirrors and agents clone')
    .option('--default-branch <branch>', 'branch whose pushes register webhook workflows', 'main')
    .option('--secret <secret>', 'hook signing secret: a value or @file')
    .option('--from-env <var>', 'read the signing secret from this environment variable')
    .option('--stdin', 'read the signing secret from standard input')
    .option('--token <token>', 'access token for cloning over http(s): a value or @file')
    .action(async (o, cmd: Command) => {
      const secret = await resolveSecret({ value: o.secret, fromEnv: o.fromEnv, stdin: o.stdin }, 'the secret');
      const token = await resolveSecret({ value: o.token }, 'the token');
      const created = await apiFor(cmd).call<SourceView>('POST', '/sources', {
        kind: 'git',
        orgId: o.org,
        name: o.name,
        url: o.url,
        defaultBranch: o.defaultBranch,
        secret,
        token,
      });
      show(cmd, created);
    });

  add
    .command('generic')
    .description('any service that sends HTTP webhooks')
    .requiredOption('--org <org>', 'organisation id')
    .requiredOption('--name <name>', 'source name, unique in the organisation')
    .addOption(new Option('--verification <method>', 'how deliveries prove who sent them').choices(['hmac_sha256', 'bearer_token', 'none']).default('hmac_sha256'))
    .option('--secret <secret>', 'HMAC secret or bearer token: a value or @file')
    .option('--from-env <var>', 'read the secret from this environment variable')
    .option('--stdin', 'read the secret from standard input')
    .option('--signature-header <name>', 'header carrying the signature or token')
    .option('--event-type-header <name>', 'header carrying the event type')
    .option('--event-type-path <path>', 'JSON path of the event type in the body, e.g. $.event.type')
    .option('--rate-limit <perMinute>', 'deliveries accepted per minute', positiveInt)
    .option('--max-payload <bytes>', 'largest accepted body in bytes', positiveInt)
    .option('--allowed-events <list>', 'comma-separated event types to accept (others are filtered)')
    .action(async (o, cmd: Command) => {
      const secret = await resolveSecret({ value: o.secret, fromEnv: o.fromEnv, stdin: o.stdin }, 'the secret');
      if (o.verification !== 'none' && !secret) throw new UsageError(`--verification ${o.verification} needs --secret, --from-env or --stdin`);
      const created = await apiFor(cmd).call<SourceView>('POST', '/sources', {
        kind: 'generic',
        orgId: o.org,
        name: o.name,
        verification: o.verification,
        secret,
        signatureHeader: o.signatureHeader,
        eventTypeHeader: o.eventTypeHeader,
        eventTypePath: o.eventTypePath,
        rateLimit: o.rateLimit,
        maxPayload: o.maxPayload,
        allowedEvents: o.allowedEvents ? String(o.allowedEvents).split(',').map((s) => s.trim()).filter(Boolean) : undefined,
      });
      show(cmd, created);
    });
  source.addCommand(add);

  source
    .command('list')
    .description('list sources')
    .option('--org <org>', 'only this organisation')
    .action(async (o, cmd: Command) => {
      const query = o.org ? `?org=${encodeURIComponent(o.org)}` : '';
      const list = await apiFor(cmd).call<{ sources: SourceView[] }>('GET', `/sources${query}`);
      if (globals(cmd).json) return printJson(list.sources);
      printTable(list.sources, ['id', 'orgId', 'kind', 'name', 'enabled', 'webhookPath']);
    });

  source
    .command('get <sourceId>')
    .description('show one source (never its secrets)')
    .action(async (id: string, _o, cmd: Command) => {
      show(cmd, await apiFor(cmd).call<SourceView>('GET', `/sources/${encodeURIComponent(id)}`));
    });

  source
    .command('install-hook <sourceId>')
    .description("write a post-receive hook into a repository that reports each push to this source")
    .requiredOption('--repo <path>', 'the repository (a bare repository, or a working copy that receives pushes)')
    .option('--secret <secret>', "the source's signing secret (the one given to `source add`): a value or @file")
    .option('--from-env <var>', 'read the signing secret from this environment variable')
    .option('--stdin', 'read the signing secret from standard input')
    .action(async (id: string, o, cmd: Command) => {
      const { installSourceHook } = await import('./install-hook.js');
      const secret = await resolveSecret({ value: o.secret, fromEnv: o.fromEnv, stdin: o.stdin }, 'the secret');
      const api = apiFor(cmd);
      const result = await installSourceHook(api, id, o.repo, secret);
      if (globals(cmd).json) return printJson(result);
      process.stdout.write(`hook installed: ${result.hookPath}\n`);
    });

  source
    .command('redeliver <sourceId>')
    .description('with --repo: send the pushes a repository\'s hook kept while kici was unreachable, oldest first, under their first delivery ids; without: have the orchestrator fetch the source and run the branches that moved without a delivery')
    .option('--repo <path>', 'the repository the hook is installed in (the one given to install-hook)')
    .action(async (id: string, o, cmd: Command) => {
      const json = globals(cmd).json === true;
      if (o.repo === undefined) {
        const { reconcileSource } = await import('./reconcile.js');
        return reconcileSource(apiFor(cmd), id, json);
      }
      const { redeliverSpool } = await import('./redeliver.js');
      await redeliverSpool(id, o.repo, json);
    });

  return source;
}

/**
 * A GitHub source's two secrets, each in any of seed 002's modes. `--from-env`/`--stdin` are the
 * private key's (the seed's `--from-env GITHUB_PRIVATE_KEY`, `cat key.pem | … --stdin`); the
 * webhook secret has its own `--webhook-secret-from-env`/`--webhook-secret-stdin`. Standard input
 * can feed only one of them.
 */
export async function githubSecrets(o: {
  privateKey?: string;
  fromEnv?: string;
  stdin?: boolean;
  webhookSecret?: string;
  webhookSecretFromEnv?: string;
  webhookSecretStdin?: boolean;
}): Promise<{ privateKey?: string; webhookSecret?: string }> {
  if (o.stdin && o.webhookSecretStdin) throw new UsageError('standard input can carry only one secret: --stdin (private key) or --webhook-secret-stdin');
  const privateKey = await resolveSecret({ value: o.privateKey, fromEnv: o.fromEnv, stdin: o.stdin }, 'the private key');
  const webhookSecret = await resolveSecret({ value: o.webhookSecret, fromEnv: o.webhookSecretFromEnv, stdin: o.webhookSecretStdin }, 'the webhook secret');
  return { privateKey, webhookSecret };
}

function show(cmd: Command, src: SourceView): void {
  if (globals(cmd).json) return printJson(src);
  printFields(src);
}
