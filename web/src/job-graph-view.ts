/**
 * Draws the layout of job-graph.ts: columns of job boxes (matrix cells inside their group's box)
 * as ordinary elements, so names wrap and stay text; and the `needs` edges as SVG paths over them,
 * measured from where the boxes landed. Geometry goes in SVG attributes, never inline styles (CSP).
 */
import { el, svg } from './elements.js';
import { elapsedMs, formatDuration, statusClass } from './format.js';
import { type GraphUnit, layoutJobs } from './job-graph.js';
import type { JobView } from './views.js';

export interface JobGraph {
  element: HTMLElement;
  /** New statuses in place; the boxes are rebuilt only when the jobs or their needs changed. */
  update(jobs: JobView[]): void;
  select(jobId: string | null): void;
  /** Durations of running jobs move on. */
  tick(): void;
  close(): void;
}

export function jobGraph(onSelect: (job: JobView) => void): JobGraph {
  const columns = el('div', { class: 'graph-columns' });
  const edges = svg('svg', { class: 'graph-edges', 'aria-hidden': 'true' });
  const element = el('div', { id: 'job-graph', class: 'job-graph' });
  element.append(edges, columns);

  let shape = '';
  let layoutEdges: { from: string; to: string }[] = [];
  let jobsById = new Map<string, JobView>();
  let selected: string | null = null;
  let frame = 0;

  const drawEdges = () => {
    frame = 0;
    edges.replaceChildren(arrowHead());
    const box = element.getBoundingClientRect();
    edges.setAttribute('width', String(element.scrollWidth));
    edges.setAttribute('height', String(element.scrollHeight));
    for (const edge of layoutEdges) {
      const from = element.querySelector(`[data-unit="${CSS.escape(edge.from)}"]`);
      const to = element.querySelector(`[data-unit="${CSS.escape(edge.to)}"]`);
      if (!from || !to) continue;
      const a = from.getBoundingClientRect();
      const b = to.getBoundingClientRect();
      const x1 = a.right - box.left + element.scrollLeft;
      const y1 = a.top + a.height / 2 - box.top + element.scrollTop;
      const x2 = b.left - box.left + element.scrollLeft;
      const y2 = b.top + b.height / 2 - box.top + element.scrollTop;
      const bend = Math.max(16, (x2 - x1) / 2);
      edges.append(
        svg('path', {
          class: 'edge',
          'data-from': edge.from,
          'data-to': edge.to,
          d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2 - 2} ${y2}`,
          'marker-end': `url(#${ARROW_ID})`,
        }),
      );
    }
  };
  const redraw = () => {
    if (!frame) frame = requestAnimationFrame(drawEdges);
  };
  const resize = new ResizeObserver(redraw);
  resize.observe(element);

  const jobBox = (job: JobView) => {
    const box = el(
      'div',
      { class: `job ${statusClass(job.status)}`, 'data-job-id': job.id, 'data-job-name': job.name, role: 'button', tabindex: 0, title: job.waiting ?? job.error ?? '' },
      el('span', { class: 'job-name' }, job.name),
      el('span', { class: 'job-status' }, job.status),
      el('span', { class: 'job-duration' }, jobDuration(job)),
    );
    if (job.id === selected) box.classList.add('selected');
    const open = () => onSelect(jobsById.get(job.id) ?? job);
    box.addEventListener('click', (event) => {
      event.stopPropagation();
      open();
    });
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return box;
  };

  const unitBox = (unit: GraphUnit<JobView>) => {
    if (unit.kind === 'job') {
      const box = jobBox(unit.jobs[0]);
      box.setAttribute('data-unit', unit.key);
      return box;
    }
    return el(
      'div',
      { class: 'matrix-group', 'data-base-name': unit.name, 'data-unit': unit.key },
      el('div', { class: 'matrix-name' }, unit.name, el('span', { class: 'matrix-count' }, `${unit.jobs.length} cells`)),
      ...unit.jobs.map(jobBox),
    );
  };

  const rebuild = (jobs: JobView[]) => {
    const layout = layoutJobs(jobs);
    layoutEdges = layout.edges;
    if (jobs.length === 0) {
      columns.replaceChildren(el('p', { class: 'muted' }, 'No jobs yet.'));
      redraw();
      return;
    }
    columns.replaceChildren(...layout.columns.map((units) => el('div', { class: 'graph-column' }, ...units.map(unitBox))));
    redraw();
  };

  const update = (jobs: JobView[]) => {
    jobsById = new Map(jobs.map((j) => [j.id, j]));
    const nextShape = JSON.stringify(jobs.map((j) => [j.id, j.name, j.baseName ?? null, j.needs ?? null]));
    if (nextShape !== shape) {
      shape = nextShape;
      rebuild(jobs);
      return;
    }
    for (const job of jobs) {
      const box = columns.querySelector<HTMLElement>(`.job[data-job-id="${CSS.escape(job.id)}"]`);
      if (!box) continue;
      box.className = `job ${statusClass(job.status)}${job.id === selected ? ' selected' : ''}`;
      box.title = job.waiting ?? job.error ?? '';
      const status = box.querySelector('.job-status');
      if (status && status.textContent !== job.status) status.textContent = job.status;
    }
    tick();
  };

  const tick = () => {
    for (const box of columns.querySelectorAll<HTMLElement>('.job')) {
      const job = jobsById.get(box.dataset.jobId ?? '');
      const cell = box.querySelector('.job-duration');
      if (job && cell) cell.textContent = jobDuration(job);
    }
  };

  const select = (jobId: string | null) => {
    selected = jobId;
    for (const box of columns.querySelectorAll<HTMLElement>('.job')) box.classList.toggle('selected', box.dataset.jobId === jobId);
  };

  return {
    element,
    update,
    select,
    tick,
    close() {
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}

const ARROW_ID = 'job-graph-arrow';

/** The arrow at the downstream end of an edge: an SVG marker, its shape in attributes. */
function arrowHead(): SVGDefsElement {
  const defs = svg('defs');
  const marker = svg('marker', { id: ARROW_ID, viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' });
  marker.append(svg('path', { d: 'M 0 0 L 8 4 L 0 8 z', class: 'edge-arrow' }));
  defs.append(marker);
  return defs;
}

export function jobDuration(job: JobView): string {
  return job.startedAt ? formatDuration(elapsedMs(job.startedAt, job.finishedAt, Date.now())) : '';
}
