/** Agents connected to the cluster, live from `api/live/agents`: an agent that stops drops out. */
import { el, fill, timeCell } from './elements.js';
import { absoluteTime, relativeTime } from './format.js';
import { openFeed } from './live.js';
import { every, type Page, type PageContext } from './page.js';
import type { AgentView } from './views.js';

export function agentsPage(view: HTMLElement, _ctx: PageContext): Page {
  const tbody = el('tbody');
  const count = el('span', { class: 'count' });
  const liveDot = el('span', { class: 'live-dot', title: 'live' });
  let agents: AgentView[] = [];

  fill(
    view,
    el('div', { class: 'page-head' }, el('h1', {}, 'Agents', liveDot), count),
    el(
      'table',
      { id: 'agents', class: 'grid' },
      el('thead', {}, el('tr', {}, ...['Agent', 'Labels', 'Slots', 'Version', 'Host', 'Node', 'Connected', 'Last seen'].map((h) => el('th', { scope: 'col' }, h)))),
      tbody,
    ),
  );

  const render = () => {
    count.textContent = `${agents.length} connected · ${agents.reduce((n, a) => n + a.slotsInUse, 0)} of ${agents.reduce((n, a) => n + a.maxConcurrency, 0)} slots in use`;
    if (agents.length === 0) return fill(tbody, el('tr', { class: 'empty' }, el('td', { colspan: 8 }, 'No agent is connected.')));
    const now = Date.now();
    fill(
      tbody,
      ...[...agents]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((a) =>
          el(
            'tr',
            { 'data-agent-id': a.id },
            el('td', { class: 'agent-id mono' }, a.id),
            el('td', { class: 'labels' }, ...a.labels.map((l) => el('span', { class: 'label' }, l))),
            el('td', { class: 'slots' }, el('meter', { min: 0, max: Math.max(1, a.maxConcurrency), value: a.slotsInUse }), ` ${a.slotsInUse}/${a.maxConcurrency}`),
            el('td', { class: 'version' }, a.version ?? '–'),
            el('td', { class: 'hostname' }, a.hostname ?? '–'),
            el('td', { class: 'node' }, a.node),
            el('td', { class: 'connected' }, a.connectedAt ? timeCell(relativeTime(a.connectedAt, now), absoluteTime(a.connectedAt)) : '–'),
            el('td', { class: 'last-seen' }, a.lastSeenAt ? timeCell(relativeTime(a.lastSeenAt, now), absoluteTime(a.lastSeenAt)) : '–'),
          ),
        ),
    );
  };

  const feed = openFeed('api/live/agents', {
    events: {
      agents: (data) => {
        agents = (data as { agents?: AgentView[] }).agents ?? [];
        render();
      },
    },
    onState: (up) => liveDot.classList.toggle('up', up),
  });
  // Relative times move on even when nothing changes.
  const stopTicking = every(5000, render);

  return {
    close() {
      feed.close();
      stopTicking();
    },
  };
}
