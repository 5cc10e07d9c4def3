import { Command, InvalidArgumentError } from 'commander';
import { apiFor, globals } from './context.js';
import { printJson, printTable } from './output.js';

interface AuditEventView extends Record<string, unknown> {
  id: number;
  subject: { id: string; name: string | null };
  details: Record<string, unknown>;
}

const limit = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > 500) throw new InvalidArgumentError(`expected a whole number from 1 to 500, got "${v}"`);
  return n;
};

const eventId = (v: string) => {
  if (!/^[1-9]\d{0,15}$/.test(v.trim())) throw new InvalidArgumentError(`expected an event id (a whole number from 1), got "${v}"`);
  return Number(v);
};

/** Subject and details on one line each, as a person scans them. */
function row(e: AuditEventView) {
  const subject = e.subject.name ? `${e.subject.name} (${e.subject.id})` : e.subject.id;
  const details = Object.entries(e.details).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return { ...e, subject, details };
}

/** `kici-admin audit`: who did what to what, newest first. */
export function auditCommand(): Command {
  return new Command('audit')
    .description('the audit: admin token creations and revocations (and who made them), newest first')
    .option('--action <action>', 'only this action (e.g. admin_token.create, admin_token.revoke)')
    .option('--actor <name>', 'only what this admin token name (or "system") did')
    .option('--limit <n>', 'how many (1–500)', limit, 50)
    .option('--before <id>', 'only events older than this id (the next page)', eventId)
    .action(async (o, cmd: Command) => {
      const params = new URLSearchParams({ limit: String(o.limit) });
      if (o.action) params.set('action', o.action);
      if (o.actor) params.set('actor', o.actor);
      if (o.before) params.set('before', String(o.before));
      const page = await apiFor(cmd).call<{ events: AuditEventView[]; nextBefore: number | null }>('GET', `/audit?${params}`);
      if (globals(cmd).json) return printJson(page.events);
      printTable(page.events.map(row), ['id', 'at', 'actor', 'action', 'subject', 'details']);
      if (page.nextBefore !== null) process.stdout.write(`\nolder events: --before ${page.nextBefore}\n`);
    });
}
