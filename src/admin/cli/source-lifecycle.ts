import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiError, type AdminApi } from './api-client.js';
import { apiFor, globals } from './context.js';
import { durationSeconds } from './durations.js';
import { printFields, printJson } from './output.js';
import { resolveSecret, UsageError } from './secret-input.js';
import { githubSecrets, type SourceView } from './sources.js';

/** `--grace`: `0`, or a whole number with a unit (`90s`, `30m`, `1h`, `2d`); a bare number is seconds. */
export function graceSeconds(v: string): number {
  const n = durationSeconds(v);
  if (n > 7 * 86_400) throw new InvalidArgumentError('the grace is at most 7d');
  return n;
}

const wholeNumber = (min: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${v}"`);
  return n;
};

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Adds update-generic, enable, disable and remove to the `source` command (seed 002's names and flags). */
export function addSourceLifecycleCommands(source: Command): Command {
  source
    .command('update-generic <sourceId>')
    .description('change a generic source; only the options given change (secrets are never printed)')
    .option('--name <name>', 'new name, unique in the organisation')
    .addOption(new Option('--verification <method>', 'how deliveries prove who sent them').choices(['hmac_sha256', 'bearer_token', 'none']))
    .option('--secret <secret>', 'new HMAC secret or bearer token: a value or @file')
    .option('--from-env <var>', 'read the new secret from this environment variable')
    .option('--stdin', 'read the new secret from standard input')
    .option('--signature-header <name>', 'header carrying the signature or token')
    .option('--event-type-header <name>', 'header carrying the event type')
    .option('--event-type-path <path>', 'JSON path of the event type in the body, e.g. $.event.type')
    .option('--rate-limit <perMinute>', 'deliveries accepted per minute (0: unlimited)', wholeNumber(0))
    .option('--max-payload <bytes>', 'largest accepted body in bytes', wholeNumber(1))
    .option('--allowed-events <list>', 'comma-separated event types to accept ("" accepts all)')
    .action(async (id: string, o, cmd: Command) => {
      const secret = await resolveSecret({ value: o.secret, fromEnv: o.fromEnv, stdin: o.stdin }, 'the secret');
      const patch = dropUndefined({
        name: o.name,
        verification: o.verification,
        secret,
        signatureHeader: o.signatureHeader,
        eventTypeHeader: o.eventTypeHeader,
        eventTypePath: o.eventTypePath,
        rateLimit: o.rateLimit,
        maxPayload: o.maxPayload,
        allowedEvents: o.allowedEvents === undefined ? undefined : list(String(o.allowedEvents)),
      });
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one option (see --help)');
      const api = apiFor(cmd);
      await requireKind(api, id, (kind) => kind === 'generic', (kind) => `source ${id} is a ${kind} source; update-generic changes generic sources`);
      show(cmd, await api.call<SourceView>('PATCH', `/sources/${encodeURIComponent(id)}`, patch));
    });

  source
    .command('update <sourceId>')
    .description('change a GitHub source (github:<appId> or its id): rotate the webhook secret (the old one stays valid for --grace) or the private key')
    .option('--private-key <pem>', 'new private key: a value or @file')
    .option('--from-env <var>', 'read the new private key from this environment variable')
    .option('--stdin', 'read the new private key from standard input')
    .option('--webhook-secret <secret>', 'new webhook secret: a value or @file')
    .option('--webhook-secret-from-env <var>', 'read the new webhook secret from this environment variable')
    .option('--webhook-secret-stdin', 'read the new webhook secret from standard input')
    .option('--grace <duration>', 'how long the replaced webhook secret is still accepted (0, 90s, 30m, 1h, 2d; default 1h)', graceSeconds)
    .option('--name <name>', 'new name, unique in the organisation')
    .action(async (id: string, o, cmd: Command) => {
      const { privateKey, webhookSecret } = await githubSecrets(o);
      if (o.grace !== undefined && webhookSecret === undefined) throw new UsageError('--grace applies to a webhook secret change: give --webhook-secret too');
      const patch = dropUndefined({ name: o.name, privateKey, webhookSecret, graceSeconds: o.grace });
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give --webhook-secret, --private-key or --name (see --help)');
      const api = apiFor(cmd);
      const s = await requireKind(api, id, (kind) => kind === 'github', (kind) => `source ${id} is a ${kind} source; update changes GitHub sources (see update-generic)`);
      show(cmd, await api.call<SourceView>('PATCH', `/sources/${encodeURIComponent(s!.id)}`, patch));
    });

  for (const [verb, what] of [
    ['enable', 'accept deliveries again'],
    ['disable', 'answer its webhook with 404 until enabled again'],
  ] as const) {
    source
      .command(`${verb} <sourceId>`)
      .description(`${verb} a source: ${what}`)
      .action(async (id: string, _o, cmd: Command) => {
        const s = await apiFor(cmd).call<SourceView>('POST', `/sources/${encodeURIComponent(id)}/${verb}`);
        if (globals(cmd).json) return printJson(s);
        process.stdout.write(`${verb}d ${s.id} (${s.kind} ${s.name})\n`);
      });
  }

  source
    .command('remove <sourceId>')
    .description('remove a source: soft by default (the event log still names it); --hard also deletes its secrets')
    .option('--generic', 'the source is a generic source (required for generic sources)')
    .option('--hard', 'delete the row, its registered workflows and its sealed secrets for good')
    .option('--yes', 'confirm the removal (required, except for github:<appId>)')
    .action(async (id: string, o, cmd: Command) => {
      // Seed 002 removes a GitHub source by its App, as `source remove github:12345`: naming the App is the confirmation.
      if (!o.yes && !/^github:\d+$/.test(id)) throw new UsageError(`refusing to remove ${id} without --yes`);
      const api = apiFor(cmd);
      const live = await requireKind(
        api,
        id,
        (kind) => (kind === 'generic') === Boolean(o.generic),
        (kind) => (kind === 'generic' ? `source ${id} is a generic source: pass --generic` : `source ${id} is a ${kind} source: drop --generic`),
        Boolean(o.hard),
      );
      const query = new URLSearchParams();
      if (o.hard) query.set('hard', 'true');
      // A soft-deleted source is no longer visible above; the server still checks the kind it expects.
      if (!live && o.generic) query.set('kind', 'generic');
      const qs = query.toString();
      const removed = await api.call<Record<string, unknown>>('DELETE', `/sources/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`);
      if (globals(cmd).json) return printJson(removed);
      process.stdout.write(`removed ${removed.id} (${removed.removed === 'hard' ? 'permanently, secrets included' : 'soft; --hard deletes it for good'})\n`);
    });

  return source;
}

/**
 * Usage errors (exit 2) when the source is of the wrong kind. With `allowGone`, a source that is
 * only soft-deleted (404 here) is left for the server to find, so `--hard` can purge it.
 */
async function requireKind(
  api: AdminApi,
  id: string,
  ok: (kind: string) => boolean,
  explain: (kind: string) => string,
  allowGone = false,
): Promise<SourceView | null> {
  let s: SourceView;
  try {
    s = await api.call<SourceView>('GET', `/sources/${encodeURIComponent(id)}`);
  } catch (e) {
    if (allowGone && e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
  if (!ok(s.kind)) throw new UsageError(explain(s.kind));
  return s;
}

function show(cmd: Command, src: SourceView): void {
  if (globals(cmd).json) return printJson(src);
  printFields(src);
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
