/**
 * Runs, newest first. The first page follows the live feed (a new run appears without a reload);
 * older pages are fetched once with `before` = the createdAt of the last row shown, and `newer`
 * walks back up to the live page. Filters (status, source, branch) survive leaving the page.
 */
import { query, v1 } from './api.js';
import { el, fill, statusBadge, timeCell } from './elements.js';
import { flashError } from './flash.js';
import { absoluteTime, elapsedMs, formatDuration, isTerminalRun, relativeTime, shortRef, shortSha, triggerOf } from './format.js';
import { type Feed, openFeed } from './live.js';
import { every, go, type Page, type PageContext } from './page.js';
import type { RunView } from './views.js';

const PAGE_SIZE = 25;
const STATUSES = ['pending', 'running', 'held', 'cancelling', 'success', 'failed', 'cancelled'];

const filters = { status: '', source: '', branch: '' };

export function runsPage(view: HTMLElement, _ctx: PageContext): Page {
  /** `before` cursors of the pages above the current one; empty on the live first page. */
  const cursors: string[] = [];
  let feed: Feed | null = null;
  let rows: RunView[] = [];
  /** False until the first answer of the current page: no "No runs" before anything was asked. */
  let loaded = false;
  let durations: { cell: HTMLElement; run: RunView }[] = [];
  let loadSeq = 0;

  const status = el('select', { id: 'filter-status', 'aria-label': 'status' }, el('option', { value: '' }, 'any status'), ...STATUSES.map((s) => el('option', { value: s }, s)));
  const source = el('input', { id: 'filter-source', type: 'search', placeholder: 'source name or id', 'aria-label': 'source', autocomplete: 'off' });
  const branch = el('input', { id: 'filter-branch', type: 'search', placeholder: 'branch', 'aria-label': 'branch', autocomplete: 'off' });
  status.value = filters.status;
  source.value = filters.source;
  branch.value = filters.branch;

  const tbody = el('tbody');
  const older = el('button', { id: 'older', type: 'button' }, 'Older →');
  const newer = el('button', { id: 'newer', type: 'button' }, '← Newer');
  const where = el('span', { class: 'paging-where' });
  const liveDot = el('span', { class: 'live-dot', title: 'live' });

  fill(
    view,
    el('div', { class: 'page-head' }, el('h1', {}, 'Runs', liveDot), el('form', { class: 'filters', role: 'search' }, status, source, branch)),
    el(
      'table',
      { id: 'runs', class: 'grid' },
      el('thead', {}, el('tr', {}, ...['Status', 'Workflow', 'Source', 'Ref', 'Commit', 'Trigger', 'Duration', 'Created'].map((h) => el('th', { scope: 'col' }, h)))),
      tbody,
    ),
    el('div', { class: 'paging' }, newer, where, older),
  );

  const render = () => {
    durations = [];
    if (rows.length === 0) {
      const empty = !loaded ? 'Loading…' : cursors.length ? 'No older runs.' : filtered() ? 'No runs match these filters.' : 'No runs yet: push to a source, or trigger one with kici-admin runs trigger.';
      fill(tbody, el('tr', { class: 'empty' }, el('td', { colspan: 8 }, empty)));
    } else {
      fill(tbody, ...rows.map(runRow));
    }
    newer.disabled = cursors.length === 0;
    older.disabled = rows.length < PAGE_SIZE;
    where.textContent = cursors.length === 0 ? 'latest (live)' : `page ${cursors.length + 1}`;
  };

  const runRow = (run: RunView) => {
    const duration = el('td', { class: 'duration' }, runDuration(run));
    if (!isTerminalRun(run.status) && run.startedAt) durations.push({ cell: duration, run });
    const tr = el(
      'tr',
      { 'data-run-id': run.id, class: 'clickable' },
      el('td', { class: 'status' }, statusBadge(run.status)),
      el('td', { class: 'workflow' }, el('a', { href: `#/runs/${encodeURIComponent(run.id)}` }, run.workflow)),
      el('td', { class: 'source', title: run.sourceId ?? '' }, run.sourceName ?? run.sourceId ?? '–'),
      el('td', { class: 'ref' }, shortRef(run.branch ?? run.ref)),
      el('td', { class: 'sha mono', title: run.sha ?? '' }, shortSha(run.sha)),
      el('td', { class: 'trigger' }, triggerOf(run)),
      duration,
      el('td', { class: 'created' }, timeCell(relativeTime(run.createdAt, Date.now()), absoluteTime(run.createdAt))),
    );
    tr.addEventListener('click', (event) => {
      if ((event.target as Element).closest('a')) return;
      go(`#/runs/${encodeURIComponent(run.id)}`);
    });
    return tr;
  };

  const params = (extra: Record<string, string>) => query({ status: filters.status, source: filters.source, branch: filters.branch, limit: PAGE_SIZE, ...extra });

  const filtered = () => Boolean(filters.status || filters.source || filters.branch);

  const load = () => {
    feed?.close();
    feed = null;
    loaded = false;
    older.disabled = newer.disabled = true; // until this page's answer: a second click would skip a page
    const seq = ++loadSeq;
    if (cursors.length === 0) {
      feed = openFeed(`api/live/runs${params({})}`, {
        events: {
          runs: (data) => {
            rows = ((data as { runs?: RunView[] }).runs ?? []).slice(0, PAGE_SIZE);
            loaded = true;
            render();
          },
        },
        onState: (up) => liveDot.classList.toggle('up', up),
      });
      return;
    }
    liveDot.classList.remove('up');
    v1<{ runs: RunView[] }>('GET', `runs${params({ before: cursors[cursors.length - 1] })}`)
      .then((answer) => {
        if (seq !== loadSeq) return;
        rows = answer.runs;
        loaded = true;
        render();
      })
      .catch((e: unknown) => {
        if (seq !== loadSeq) return;
        flashError(e);
        // Stay on the page that was shown, with its buttons back.
        cursors.pop();
        loaded = true;
        render();
        if (cursors.length === 0) load();
      });
  };

  older.addEventListener('click', () => {
    const last = rows[rows.length - 1];
    if (!last?.createdAt) return;
    cursors.push(last.createdAt);
    load();
  });
  newer.addEventListener('click', () => {
    cursors.pop();
    load();
  });

  let typing: number | undefined;
  const onFilter = () => {
    window.clearTimeout(typing);
    const next = { status: status.value, source: source.value.trim(), branch: branch.value.trim() };
    if (next.status === filters.status && next.source === filters.source && next.branch === filters.branch) return;
    Object.assign(filters, next);
    cursors.length = 0;
    load();
  };
  status.addEventListener('change', onFilter);
  for (const input of [source, branch]) {
    input.addEventListener('change', onFilter);
    input.addEventListener('input', () => {
      window.clearTimeout(typing);
      typing = window.setTimeout(onFilter, 400);
    });
  }
  view.querySelector('form.filters')?.addEventListener('submit', (event) => {
    event.preventDefault();
    onFilter();
  });

  load();
  render();
  const stopTicking = every(1000, () => {
    for (const { cell, run } of durations) cell.textContent = runDuration(run);
  });

  return {
    close() {
      feed?.close();
      stopTicking();
      window.clearTimeout(typing);
    },
  };
}

function runDuration(run: RunView): string {
  if (run.durationMs !== null && run.durationMs !== undefined) return formatDuration(run.durationMs);
  return run.startedAt ? formatDuration(elapsedMs(run.startedAt, run.finishedAt, Date.now())) : '–';
}
