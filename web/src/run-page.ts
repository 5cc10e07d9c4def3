/**
 * One run, live from `api/live/runs/<id>`: its header (status, workflow, commit), cancel or rerun,
 * the holds waiting for reviewers, the jobs as a graph, and the job picked in the graph
 * (`#/runs/<id>/jobs/<jobId>`) with its steps and live log.
 */
import { seg, v1 } from './api.js';
import { el, fill, statusBadge, timeCell } from './elements.js';
import { flash, flashError } from './flash.js';
import { absoluteTime, elapsedMs, formatDuration, isTerminalRun, relativeTime, shortRef, shortSha, statusClass, triggerOf } from './format.js';
import { type JobDetail, jobDetail } from './job-detail.js';
import { jobGraph } from './job-graph-view.js';
import { type Feed, openFeed } from './live.js';
import { every, go, type Page, type PageContext } from './page.js';
import type { HoldView, RunDetailView, Session } from './views.js';

export function runPage(view: HTMLElement, ctx: PageContext): Page {
  const runId = ctx.params[0];
  let jobId = ctx.params[1] === 'jobs' && ctx.params[2] ? ctx.params[2] : null;
  const isAdmin = ctx.session.role === 'admin';

  const title = el('h1', { id: 'run-title' }, 'Run');
  const status = el('span', { id: 'run-status', class: 'badge' }, '…');
  const meta = el('dl', { class: 'run-meta facts' });
  const error = el('p', { class: 'error-text run-error', hidden: true });
  const cancel = el('button', { id: 'cancel-run', type: 'button', class: 'danger', hidden: true }, 'Cancel run');
  const rerun = el('button', { id: 'rerun-run', type: 'button', hidden: true }, 'Rerun');
  const rerunFailed = el('button', { id: 'rerun-failed', type: 'button', hidden: true }, 'Rerun failed jobs');
  const holds = el('section', { id: 'holds', class: 'holds', hidden: true });
  const graph = jobGraph((job) => go(`#/runs/${encodeURIComponent(runId)}/jobs/${encodeURIComponent(job.id)}`));
  const detailSlot = el('div', { class: 'detail-slot' });

  fill(
    view,
    el('p', { class: 'crumbs' }, el('a', { href: '#/runs' }, '← Runs')),
    el('div', { class: 'run-head' }, el('div', { class: 'run-title-row' }, title, status), el('div', { class: 'actions' }, cancel, rerunFailed, rerun)),
    meta,
    error,
    holds,
    el('section', { class: 'panel graph-panel' }, el('h2', {}, 'Jobs'), graph.element),
    detailSlot,
  );

  let run: RunDetailView | null = null;
  let detail: JobDetail | null = null;
  let detailFor: string | null = null;

  const showDetail = () => {
    graph.select(jobId);
    if (!run) return;
    if (jobId === detailFor) {
      detail?.update(run);
      return;
    }
    detail?.close();
    detail = null;
    detailFor = jobId;
    detailSlot.replaceChildren();
    if (!jobId) return;
    detail = jobDetail(run, jobId);
    detailSlot.append(detail.element);
  };

  const render = (r: RunDetailView) => {
    run = r;
    title.textContent = r.attempt > 1 ? `${r.workflow} · attempt ${r.attempt}` : r.workflow;
    document.title = `${r.workflow} ${r.status} · kici`;
    status.textContent = r.status;
    status.className = `badge ${statusClass(r.status)}`;
    const terminal = isTerminalRun(r.status);
    cancel.hidden = !isAdmin || terminal || r.status === 'cancelling';
    rerun.hidden = !isAdmin || !terminal;
    rerunFailed.hidden = !isAdmin || !terminal || r.status === 'success';
    fill(
      meta,
      fact('source', 'Source', r.sourceName ?? r.sourceId ?? '–'),
      fact('ref', 'Ref', shortRef(r.branch ?? r.ref)),
      fact('sha', 'Commit', el('span', { class: 'mono', title: r.sha ?? '' }, shortSha(r.sha))),
      fact('trigger', 'Trigger', triggerOf(r)),
      fact('created', 'Created', r.createdAt ? timeCell(relativeTime(r.createdAt, Date.now()), absoluteTime(r.createdAt)) : '–'),
      fact('duration', 'Duration', runDuration(r)),
      r.deliveryId ? fact('delivery', 'Delivery', el('a', { href: `#/events/${encodeURIComponent(r.deliveryId)}`, title: r.deliveryId }, r.deliveryId)) : null,
      fact('run-id', 'Run id', el('span', { class: 'mono' }, r.id)),
    );
    error.textContent = r.error ?? '';
    error.hidden = !r.error;
    renderHolds(holds, r, ctx.session);
    graph.update(r.jobs);
    showDetail();
  };

  const feed: Feed = openFeed(`api/live/runs/${seg(runId)}`, {
    events: {
      run: (data) => render(data as RunDetailView),
      gone: () => {
        feed.close();
        status.textContent = 'not found';
        fill(view, el('p', { class: 'crumbs' }, el('a', { href: '#/runs' }, '← Runs')), el('p', { class: 'empty-page' }, `There is no run ${runId}.`));
      },
    },
  });

  const act = (button: HTMLButtonElement, action: () => Promise<void>) => {
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await action();
      } catch (e) {
        flashError(e);
      } finally {
        button.disabled = false;
      }
    });
  };
  act(cancel, async () => {
    await v1('POST', `runs/${seg(runId)}/cancel`, {});
    flash('Cancel requested.');
  });
  const rerunWith = (failedOnly: boolean) => async () => {
    const answer = await v1<{ id: string }>('POST', `runs/${seg(runId)}/rerun`, { failedOnly });
    flash(`Rerun started: ${answer.id}`, 'ok', true);
    go(`#/runs/${encodeURIComponent(answer.id)}`);
  };
  act(rerun, rerunWith(false));
  act(rerunFailed, rerunWith(true));

  const stopTicking = every(1000, () => {
    graph.tick();
    if (run && !isTerminalRun(run.status)) {
      const cell = meta.querySelector('.duration dd');
      if (cell) cell.textContent = runDuration(run);
    }
  });

  return {
    update(params) {
      if (params[0] !== runId) return false;
      jobId = params[1] === 'jobs' && params[2] ? params[2] : null;
      showDetail();
      return true;
    },
    close() {
      feed.close();
      detail?.close();
      graph.close();
      stopTicking();
    },
  };
}

function runDuration(r: RunDetailView): string {
  if (r.durationMs !== null && r.durationMs !== undefined) return formatDuration(r.durationMs);
  return r.startedAt ? formatDuration(elapsedMs(r.startedAt, r.finishedAt, Date.now())) : '–';
}

function fact(cls: string, label: string, value: string | Node): HTMLElement {
  return el('div', { class: `fact ${cls}` }, el('dt', {}, label), el('dd', {}, value));
}

/**
 * Holds, pending first. Approve and reject show to admins (a trust hold is theirs to decide) and
 * to the reviewers a hold names; the server checks again either way.
 */
function renderHolds(section: HTMLElement, run: RunDetailView, session: Session): void {
  const list = [...(run.holds ?? [])].sort((a, b) => Number(b.status === 'pending') - Number(a.status === 'pending'));
  section.hidden = list.length === 0;
  if (list.length === 0) return section.replaceChildren();
  // Keep a reason being typed: only rebuild when the holds themselves changed.
  const shape = JSON.stringify(list);
  if (section.dataset.shape === shape) return;
  section.dataset.shape = shape;
  fill(section, el('h2', {}, 'Holds'), ...list.map((h) => holdItem(run.id, h, session)));
}

function holdItem(runId: string, hold: HoldView, session: Session): HTMLElement {
  const mayVote = hold.status === 'pending' && (session.role === 'admin' || hold.reviewers.includes(session.name));
  const reason = el('input', { type: 'text', class: 'hold-reason', placeholder: 'reason (optional)', 'aria-label': 'reason', maxlength: 1000 });
  const approve = el('button', { type: 'button', class: 'approve primary' }, 'Approve');
  const reject = el('button', { type: 'button', class: 'reject danger' }, 'Reject');
  const vote = (verdict: 'approve' | 'reject', button: HTMLButtonElement) =>
    button.addEventListener('click', async () => {
      approve.disabled = reject.disabled = true;
      try {
        await v1('POST', `runs/${seg(runId)}/${verdict}`, { job: hold.job, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) });
        flash(`${verdict === 'approve' ? 'Approved' : 'Rejected'}: ${hold.job}`);
      } catch (e) {
        flashError(e);
      } finally {
        approve.disabled = reject.disabled = false;
      }
    });
  vote('approve', approve);
  vote('reject', reject);
  return el(
    'div',
    { class: `hold panel ${statusClass(hold.status)}`, 'data-hold-id': hold.id },
    el('div', { class: 'hold-head' }, el('strong', { class: 'hold-job' }, hold.job), ' at ', el('span', { class: 'hold-gate' }, hold.gate), ' ', statusBadge(hold.status)),
    hold.reason ? el('p', { class: 'hold-why' }, hold.reason) : null,
    el(
      'p',
      { class: 'hold-reviewers' },
      hold.reviewers.length ? `Reviewers: ${hold.reviewers.join(', ')}` : 'Any admin decides.',
      hold.remaining.length ? ` · awaiting ${hold.remaining.join(', ')}` : '',
      hold.expiresAt && hold.status === 'pending' ? ` · expires ${absoluteTime(hold.expiresAt)}` : '',
    ),
    hold.votes.length ? el('ul', { class: 'votes' }, ...hold.votes.map((v) => el('li', {}, `${v.reviewer}: ${v.verdict}${v.reason ? ` — ${v.reason}` : ''}`))) : null,
    mayVote ? el('div', { class: 'hold-actions' }, reason, approve, reject) : null,
  );
}
