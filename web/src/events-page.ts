/**
 * The event log: every webhook delivery with its outcome, and for one of them
 * (`#/events/<deliveryId>`) the decision trace: which workflows it was matched against, which
 * checks passed, and why it did or did not start a run.
 */
import { query, seg, v1 } from './api.js';
import { el, fill, statusBadge, timeCell } from './elements.js';
import { flashError } from './flash.js';
import { absoluteTime, formatBytes, relativeTime } from './format.js';
import { every, go, type Page, type PageContext } from './page.js';
import type { DeliveryView } from './views.js';

const STATUSES = ['received', 'processed', 'duplicate', 'filtered', 'lockfile_missing', 'lockfile_corrupt', 'failed'];

export function eventsPage(view: HTMLElement, ctx: PageContext): Page {
  let selected = ctx.params[0] ?? null;
  let deliveries: DeliveryView[] = [];
  let seq = 0;

  const status = el('select', { id: 'filter-event-status', 'aria-label': 'status' }, el('option', { value: '' }, 'any status'), ...STATUSES.map((s) => el('option', { value: s }, s)));
  const refresh = el('button', { id: 'refresh-events', type: 'button' }, 'Refresh');
  const tbody = el('tbody');
  const detail = el('section', { id: 'event-detail', class: 'panel', hidden: true });

  fill(
    view,
    el('div', { class: 'page-head' }, el('h1', {}, 'Event log'), el('div', { class: 'filters' }, status, refresh)),
    detail,
    el(
      'table',
      { id: 'events', class: 'grid' },
      el('thead', {}, el('tr', {}, ...['Received', 'Delivery', 'Source', 'Event', 'Status', 'Runs', 'Size', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
      tbody,
    ),
  );

  const renderRows = () => {
    if (deliveries.length === 0) return fill(tbody, el('tr', { class: 'empty' }, el('td', { colspan: 8 }, 'No deliveries.')));
    const now = Date.now();
    fill(
      tbody,
      ...deliveries.map((d) => {
        const tr = el(
          'tr',
          { 'data-delivery-id': d.id, class: `clickable${d.id === selected ? ' selected' : ''}` },
          el('td', { class: 'received' }, timeCell(relativeTime(d.receivedAt, now), absoluteTime(d.receivedAt))),
          el('td', { class: 'delivery mono' }, el('a', { href: `#/events/${encodeURIComponent(d.id)}` }, d.id)),
          el('td', { class: 'source' }, d.sourceId ?? '–'),
          el('td', { class: 'event' }, [d.eventType, d.action].filter(Boolean).join(' · ') || '–'),
          el('td', { class: 'status' }, statusBadge(d.status)),
          el('td', { class: 'matched' }, d.matchedCount === null ? '–' : String(d.matchedCount)),
          el('td', { class: 'size' }, formatBytes(d.payloadSize)),
          el('td', { class: 'error' }, d.error ?? ''),
        );
        tr.addEventListener('click', (event) => {
          if (!(event.target as Element).closest('a')) go(`#/events/${encodeURIComponent(d.id)}`);
        });
        return tr;
      }),
    );
  };

  const loadList = async () => {
    const mine = ++seq;
    try {
      const answer = await v1<{ deliveries: DeliveryView[] }>('GET', `event-log${query({ status: status.value, limit: 100 })}`);
      if (mine !== seq) return;
      deliveries = answer.deliveries;
      renderRows();
    } catch (e) {
      flashError(e);
    }
  };

  const loadDetail = async () => {
    if (!selected) {
      detail.hidden = true;
      detail.replaceChildren();
      return;
    }
    const id = selected;
    detail.hidden = false;
    fill(detail, el('p', { class: 'muted' }, 'Loading…'));
    // Delivery ids are unique per organisation only: name the org when the list knows it.
    const org = deliveries.find((d) => d.id === id)?.orgId;
    try {
      const d = await v1<DeliveryView>('GET', `event-log/${seg(id)}${query({ orgId: org })}`);
      if (selected !== id) return;
      fill(detail, ...deliveryDetail(d));
    } catch (e) {
      if (selected !== id) return;
      fill(detail, el('p', { class: 'error-text' }, e instanceof Error ? e.message : String(e)));
    }
  };

  status.addEventListener('change', () => void loadList());
  refresh.addEventListener('click', () => void loadList().then(loadDetail));
  void loadList().then(loadDetail);
  const stopTicking = every(10_000, () => void loadList());

  return {
    update(params) {
      selected = params[0] ?? null;
      for (const tr of tbody.querySelectorAll<HTMLElement>('tr[data-delivery-id]')) tr.classList.toggle('selected', tr.dataset.deliveryId === selected);
      void loadDetail();
      return true;
    },
    close: stopTicking,
  };
}

function deliveryDetail(d: DeliveryView): Node[] {
  return [
    el('div', { class: 'job-detail-head' }, el('h2', {}, `Delivery ${d.id}`), statusBadge(d.status), el('a', { href: '#/events', class: 'close', 'aria-label': 'close' }, '×')),
    el(
      'dl',
      { class: 'facts' },
      fact('Source', `${d.sourceId ?? '–'}${d.sourceKind ? ` (${d.sourceKind})` : ''}`),
      fact('Organisation', d.orgId),
      fact('Event', [d.eventType, d.action].filter(Boolean).join(' · ') || '–'),
      fact('Received', absoluteTime(d.receivedAt) || '–'),
      fact('Processed', absoluteTime(d.processedAt) || '–'),
      fact('Runs started', d.matchedCount === null ? '–' : String(d.matchedCount)),
      d.attempts ? fact('Attempts', String(d.attempts)) : null,
      d.retryAfter ? fact('Next try', absoluteTime(d.retryAfter)) : null,
      d.payloadRemovedAt ? fact('Payload', `removed ${absoluteTime(d.payloadRemovedAt)}`) : null,
    ),
    d.error ? el('p', { class: 'error-text' }, d.error) : el('span'),
    el('h3', {}, 'Decision trace'),
    traceView(d.trace, d.status),
  ];
}

function fact(label: string, value: string): HTMLElement | null {
  return el('div', { class: 'fact' }, el('dt', {}, label), el('dd', {}, value));
}

interface Decision {
  workflowName?: unknown;
  matched?: unknown;
  summary?: unknown;
  checks?: unknown;
}

interface Check {
  trigger?: unknown;
  check?: unknown;
  pattern?: unknown;
  value?: unknown;
  passed?: unknown;
  reason?: unknown;
}

/** The trace as the processor stores it: a list of workflow decisions, or `{summary}` when it stopped early. */
function traceView(trace: unknown, status: string): HTMLElement {
  if (trace === null || trace === undefined) return el('p', { class: 'muted trace-summary' }, status === 'received' ? 'Not decided yet.' : 'No trace recorded.');
  if (Array.isArray(trace)) {
    if (trace.length === 0) return el('p', { class: 'trace-summary' }, 'The lock file has no workflows.');
    return el('ol', { class: 'trace' }, ...trace.map((entry) => decisionItem(entry as Decision)));
  }
  const summary = (trace as { summary?: unknown }).summary;
  if (typeof summary === 'string') return el('p', { class: 'trace-summary' }, summary);
  return el('pre', { class: 'trace-raw' }, JSON.stringify(trace, null, 2));
}

function decisionItem(d: Decision): HTMLElement {
  const checks = Array.isArray(d.checks) ? (d.checks as Check[]) : [];
  const matched = d.matched === true;
  return el(
    'li',
    { class: `decision ${matched ? 'matched' : 'not-matched'}` },
    el('div', { class: 'decision-head' }, el('strong', {}, String(d.workflowName ?? '?')), ' ', el('span', { class: `badge ${matched ? 'status-success' : 'status-skipped'}` }, matched ? 'matched' : 'not matched'), ' ', el('span', { class: 'muted' }, String(d.summary ?? ''))),
    checks.length
      ? el(
          'table',
          { class: 'grid checks' },
          el('thead', {}, el('tr', {}, ...['Trigger', 'Check', 'Pattern', 'Value', 'Result'].map((h) => el('th', {}, h)))),
          el(
            'tbody',
            {},
            ...checks.map((c) =>
              el(
                'tr',
                { class: c.passed ? 'passed' : 'failed' },
                el('td', {}, String(c.trigger ?? '')),
                el('td', {}, String(c.check ?? '')),
                el('td', { class: 'mono' }, String(c.pattern ?? '')),
                el('td', { class: 'mono' }, String(c.value ?? '')),
                el('td', {}, c.passed ? 'passed' : `failed${c.reason ? `: ${String(c.reason)}` : ''}`),
              ),
            ),
          ),
        )
      : null,
  );
}
