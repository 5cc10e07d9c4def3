import { Command, InvalidArgumentError, Option } from 'commander';
import { DELIVERY_STATUSES } from '../../vocabulary/index.js';
import { apiFor, globals } from './context.js';
import { ExitStatus } from './exit-status.js';
import { printFields, printJson, printTable } from './output.js';

interface DeliveryView extends Record<string, unknown> {
  id: string;
  status: string;
  matchedCount: number;
  error: string | null;
  trace: unknown;
  body?: string | null;
  bodyEncoding?: 'utf8' | 'base64' | null;
  /** `payload removed by retention on <date>` when `--payload` asked for a body that is gone. */
  payloadRemoved?: string;
}

interface TraceCheck {
  trigger: number;
  check: string;
  pattern: string;
  value: string;
  passed: boolean;
  reason?: string;
}

interface Decision {
  workflowName: string;
  matched: boolean;
  summary: string;
  checks?: TraceCheck[];
}

const limit = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > 500) throw new InvalidArgumentError(`expected a whole number from 1 to 500, got "${v}"`);
  return n;
};

/** The event log: what each webhook delivery was, and what it started or why it did not. */
export function eventLogCommands(): Command {
  const log = new Command('event-log').description('webhook deliveries and their outcomes');

  log
    .command('list')
    .description('recent deliveries, newest first')
    .option('--org <org>', 'only this organisation')
    .addOption(new Option('--status <status>', 'only deliveries with this outcome').choices(DELIVERY_STATUSES))
    .option('--source <sourceId>', 'only deliveries to this source')
    .option('--limit <n>', 'how many (1–500)', limit, 50)
    .action(async (o, cmd: Command) => {
      const params = new URLSearchParams({ limit: String(o.limit) });
      if (o.org) params.set('orgId', o.org);
      if (o.status) params.set('status', o.status);
      if (o.source) params.set('sourceId', o.source);
      const list = await apiFor(cmd).call<{ deliveries: DeliveryView[] }>('GET', `/event-log?${params}`);
      if (globals(cmd).json) return printJson(list.deliveries);
      printTable(list.deliveries, ['id', 'orgId', 'sourceId', 'eventType', 'status', 'matchedCount', 'receivedAt', 'error']);
    });

  log
    .command('show <deliveryId>')
    .description('one delivery: its outcome, matched workflows and decision trace (never its headers)')
    .option('--org <org>', 'the organisation (needed when the id exists in several)')
    .option('--payload', "print the delivery's raw body (only the body)")
    .action(async (id: string, o, cmd: Command) => {
      const params = new URLSearchParams();
      if (o.org) params.set('orgId', o.org);
      if (o.payload) params.set('payload', 'true');
      const qs = params.toString();
      const d = await apiFor(cmd).call<DeliveryView>('GET', `/event-log/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`);
      if (globals(cmd).json) return printJson(d);
      // Stdout carries only a body, so the reason there is none goes to stderr, with exit 1.
      if (o.payload && d.payloadRemoved) {
        process.stderr.write(`kici-admin: delivery ${d.id}: ${d.payloadRemoved} (its event log row is kept)\n`);
        throw new ExitStatus(1);
      }
      if (o.payload) return void process.stdout.write(d.bodyEncoding === 'base64' ? Buffer.from(d.body ?? '', 'base64') : (d.body ?? ''));
      printFields(d, ['id', 'orgId', 'sourceId', 'sourceKind', 'eventType', 'action', 'status', 'matchedCount', 'error', 'payloadSize', 'receivedAt', 'processedAt', 'attempts', 'retryAfter', 'payloadRemovedAt']);
      printTrace(d.trace, d.status);
    });

  return log;
}

function printTrace(trace: unknown, status: string): void {
  // "yet" only while the delivery waits to be processed; a finished one without a trace has none.
  if (trace === null || trace === undefined) return void process.stdout.write(`\ntrace: ${status === 'received' ? '(none yet)' : '(none recorded)'}\n`);
  if (Array.isArray(trace)) {
    process.stdout.write(`\ntrace: ${trace.length} workflow(s) considered\n`);
    for (const d of trace as Decision[]) {
      process.stdout.write(`  ${d.matched ? 'matched    ' : 'not matched'}  ${d.workflowName}: ${d.summary}\n`);
      for (const c of d.checks ?? []) {
        process.stdout.write(`      trigger ${c.trigger} ${c.check} ${c.pattern} vs ${c.value}: ${c.passed ? 'pass' : 'fail'}${c.reason ? ` (${c.reason})` : ''}\n`);
      }
    }
    return;
  }
  const summary = (trace as { summary?: unknown }).summary;
  process.stdout.write(`\ntrace: ${typeof summary === 'string' ? summary : JSON.stringify(trace)}\n`);
}
