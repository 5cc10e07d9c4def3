/**
 * One job of a run: where it ran (agent, node), how often it was dispatched, its timings, its
 * steps, and its log streaming live from `api/live/runs/<id>/logs?job=<jobId>`. The log feed starts
 * over on every reconnection, so the view clears itself when the feed opens.
 */
import { query, seg } from './api.js';
import { el, fill, statusBadge, timeCell } from './elements.js';
import { absoluteTime, relativeTime } from './format.js';
import { jobDuration } from './job-graph-view.js';
import { type Feed, openFeed } from './live.js';
import { logView } from './log-view.js';
import type { JobView, LogLine, RunDetailView } from './views.js';

export interface JobDetail {
  element: HTMLElement;
  /** The run changed (statuses, timings): redraw the facts, leave the log streaming. */
  update(run: RunDetailView): void;
  close(): void;
}

export function jobDetail(run: RunDetailView, jobId: string): JobDetail {
  const facts = el('div', { class: 'job-facts' });
  const steps = el('ol', { class: 'steps' });
  const log = logView();
  const download = el('a', { id: 'download-log', class: 'button', download: '' }, 'Download log');
  const logState = el('span', { class: 'log-state' });
  const element = el(
    'section',
    { id: 'job-detail', class: 'panel', 'data-job-id': jobId },
    facts,
    el('h3', {}, 'Steps'),
    steps,
    el('div', { class: 'log-head' }, el('h3', {}, 'Log'), logState, download),
    log.element,
  );

  let feed: Feed | null = null;

  const render = (r: RunDetailView) => {
    const job = r.jobs.find((j) => j.id === jobId);
    if (!job) {
      fill(facts, el('p', { class: 'muted' }, `This run has no job ${jobId}.`));
      steps.replaceChildren();
      return null;
    }
    download.href = `api/download/runs/${seg(r.id)}/logs${query({ job: job.name })}`;
    fill(
      facts,
      el('div', { class: 'job-detail-head' }, el('h2', {}, job.name), statusBadge(job.status, 'job-detail-status'), el('a', { href: `#/runs/${encodeURIComponent(r.id)}`, class: 'close', 'aria-label': 'close job' }, '×')),
      job.waiting ? el('p', { class: 'waiting' }, `Waiting: ${job.waiting}`) : null,
      job.error ? el('p', { class: 'error-text' }, job.error) : null,
      el(
        'dl',
        { class: 'facts' },
        fact('agent', 'Agent', job.agentId ?? '–'),
        fact('node', 'Node', job.node ?? '–'),
        fact('attempts', 'Attempts', String(job.attempts ?? 0)),
        fact('created', 'Created', when(job.createdAt)),
        fact('dispatched', 'Dispatched', when(job.dispatchedAt)),
        fact('started', 'Started', when(job.startedAt)),
        fact('finished', 'Finished', when(job.finishedAt)),
        fact('duration', 'Duration', jobDuration(job) || '–'),
        job.matrix && Object.keys(job.matrix).length ? fact('matrix', 'Matrix', Object.entries(job.matrix).map(([k, v]) => `${k}=${String(v)}`).join(', ')) : null,
      ),
    );
    fill(steps, ...(job.steps.length ? job.steps.map(stepItem) : [el('li', { class: 'muted' }, 'No steps yet.')]));
    return job;
  };

  const first = render(run);
  if (run.logsRemovedAt) {
    log.note(`The logs of this run were removed by retention (${absoluteTime(run.logsRemovedAt)}).`);
    download.hidden = true;
  } else if (first) {
    logState.textContent = 'connecting…';
    feed = openFeed(`api/live/runs/${seg(run.id)}/logs${query({ job: jobId })}`, {
      events: {
        line: (data) => log.add(data as LogLine),
        end: () => {
          feed?.close();
          logState.textContent = 'complete';
          log.note('— end of log —');
        },
      },
      onOpen: () => {
        log.clear();
        logState.textContent = 'live';
      },
      onState: (up) => {
        if (!up && logState.textContent === 'live') logState.textContent = 'reconnecting…';
      },
    });
  }

  return {
    element,
    update: (r) => void render(r),
    close() {
      feed?.close();
    },
  };
}

function fact(cls: string, label: string, value: string | Node): HTMLElement {
  return el('div', { class: `fact ${cls}` }, el('dt', {}, label), el('dd', {}, value));
}

function when(iso: string | null | undefined): string | Node {
  return iso ? timeCell(relativeTime(iso, Date.now()), absoluteTime(iso)) : '–';
}

function stepItem(step: JobView['steps'][number]): HTMLElement {
  return el(
    'li',
    { 'data-step': step.index, class: 'step' },
    statusBadge(step.status, 'step-status'),
    el('span', { class: 'step-name' }, step.name),
    step.exitCode !== null && step.exitCode !== undefined ? el('span', { class: 'exit-code' }, `exit ${step.exitCode}`) : null,
    step.error ? el('span', { class: 'error-text' }, step.error) : null,
  );
}
