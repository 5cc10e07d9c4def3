/**
 * The cluster as the answering node sees it (`api/v1/cluster/status`): who leads, in which term,
 * each member's role, standing, link and shards, and what each edge worker's outbox still holds.
 * Polled: membership changes are rare, and a term change shows within a few seconds.
 */
import { ApiError, v1 } from './api.js';
import { el, fill, statusBadge, timeCell } from './elements.js';
import { flashError } from './flash.js';
import { absoluteTime, formatBytes, relativeTime } from './format.js';
import { every, type Page, type PageContext } from './page.js';
import type { ClusterMemberView, ClusterStatusView } from './views.js';

const POLL_MS = 3000;

export function clusterPage(view: HTMLElement, _ctx: PageContext): Page {
  const mode = el('span', { id: 'cluster-mode', class: 'badge' }, '…');
  const leader = el('span', { id: 'cluster-leader', class: 'mono' }, '…');
  const term = el('span', { id: 'cluster-term', class: 'mono' }, '…');
  const ready = el('span', { id: 'cluster-ready' });
  const ids = el('p', { class: 'muted cluster-ids' });
  const members = el('tbody');

  fill(
    view,
    el('div', { class: 'page-head' }, el('h1', {}, 'Cluster'), mode),
    el(
      'dl',
      { class: 'facts cluster-facts' },
      el('div', { class: 'fact' }, el('dt', {}, 'Leader'), el('dd', {}, leader)),
      el('div', { class: 'fact' }, el('dt', {}, 'Term'), el('dd', {}, term)),
      el('div', { class: 'fact' }, el('dt', {}, 'Quorum'), el('dd', {}, ready)),
    ),
    ids,
    el(
      'table',
      { id: 'members', class: 'grid' },
      el('thead', {}, el('tr', {}, ...['Node', 'Role', 'Standing', 'Link', 'Shards', 'Lag', 'Address', 'Outbox', 'Certificate'].map((h) => el('th', { scope: 'col' }, h)))),
      members,
    ),
  );

  let failedOnce = false;
  const load = async () => {
    try {
      render(await v1<ClusterStatusView>('GET', 'cluster/status'));
      failedOnce = false;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'cluster_unavailable') {
        // A node without a cluster: a single node in every sense the page cares about.
        mode.textContent = 'single node';
        leader.textContent = 'this node';
        term.textContent = '–';
        return;
      }
      if (!failedOnce) flashError(e);
      failedOnce = true;
    }
  };

  const render = (s: ClusterStatusView) => {
    const single = s.members.length <= 1;
    mode.textContent = single ? 'single node' : `${s.members.length} members`;
    mode.className = `badge ${single ? 'status-skipped' : 'status-running'}`;
    leader.textContent = s.leader ? s.leader.node : 'none (election under way)';
    term.textContent = String(s.term);
    fill(ready, s.ready ? statusBadge('ready', 'status-success') : statusBadge('not ready', 'status-failed'), s.reason ? ` ${s.reason}` : '');
    ids.textContent = `cluster ${s.clusterId} · answered by ${s.nodeId} · commit ${s.commitIndex} · applied ${s.appliedIndex}`;
    fill(members, ...[...s.members].sort(byRoleThenNode).map(memberRow));
  };

  void load();
  const stop = every(POLL_MS, () => void load());
  return { close: stop };
}

const byRoleThenNode = (a: ClusterMemberView, b: ClusterMemberView) => a.role.localeCompare(b.role) || a.node.localeCompare(b.node);

function memberRow(m: ClusterMemberView): HTMLElement {
  const now = Date.now();
  return el(
    'tr',
    { 'data-node-id': m.node, class: m.leader ? 'leader' : '' },
    el('td', { class: 'node mono' }, m.node, m.self ? el('span', { class: 'tag' }, 'this node') : null, m.leader ? el('span', { class: 'tag tag-leader' }, 'leader') : null),
    el('td', { class: 'role' }, m.role),
    el('td', { class: 'standing' }, m.standing),
    el('td', { class: 'link' }, m.self ? '–' : statusBadge(m.connected ? 'connected' : 'unreachable', m.connected ? 'status-success' : 'status-failed')),
    el('td', { class: 'shards' }, String(m.shards)),
    el('td', { class: 'lag' }, m.lag === null ? '–' : String(m.lag)),
    el('td', { class: 'address mono' }, m.address),
    el(
      'td',
      { class: 'outbox' },
      m.held
        ? el('span', { title: `reported ${absoluteTime(m.held.reportedAt)}` }, `${m.held.outboxDepth} reports (${formatBytes(m.held.outboxBytes)}), ${m.held.agents} agents, `, timeCell(relativeTime(m.held.reportedAt, now), absoluteTime(m.held.reportedAt)))
        : '–',
    ),
    el('td', { class: 'certificate mono' }, m.certificate ? `${m.certificate.serial.slice(0, 12)} until ${m.certificate.notAfter.slice(0, 10)}` : '–'),
  );
}
