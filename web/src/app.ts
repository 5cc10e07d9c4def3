/**
 * Boot: ask whether a session stands, then show the sign-in form or the shell (nav, who is
 * signed in, the flash, the current page). Pages are chosen by the URL's hash (`#/runs/<id>`), so
 * every asset and API call stays relative to `<base>/ui/` and the server needs no templating.
 * Each page's modules load when it is first shown, so the sign-in form needs only a few small files.
 */
import { currentSession, signOut, whenSignedOut } from './api.js';
import { el, fill } from './elements.js';
import { clearFlash, flashError } from './flash.js';
import type { Page, PageFactory } from './page.js';
import { showSignIn } from './sign-in.js';
import type { Session } from './views.js';

const PAGES: Record<string, { load: (params: string[]) => Promise<PageFactory>; title: string }> = {
  runs: {
    load: (params) => (params.length > 0 ? import('./run-page.js').then((m) => m.runPage) : import('./runs-page.js').then((m) => m.runsPage)),
    title: 'Runs',
  },
  agents: { load: () => import('./agents-page.js').then((m) => m.agentsPage), title: 'Agents' },
  events: { load: () => import('./events-page.js').then((m) => m.eventsPage), title: 'Event log' },
  cluster: { load: () => import('./cluster-page.js').then((m) => m.clusterPage), title: 'Cluster' },
};

const root = document.getElementById('app') ?? document.body;
let session: Session | null = null;
let current: { name: string; isRun: boolean; page: Page } | null = null;
/** Bumped on every navigation, so a page whose modules arrive after the reader moved on is not shown. */
let navigation = 0;

function parseHash(): { name: string; params: string[] } {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodePart);
  const name = parts[0] && parts[0] in PAGES ? parts[0] : 'runs';
  return { name, params: parts[0] === name ? parts.slice(1) : [] };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

async function route(): Promise<void> {
  if (!session) return;
  const view = document.getElementById('view');
  if (!view) return;
  const { name, params } = parseHash();
  const isRun = name === 'runs' && params.length > 0;
  if (current && current.name === name && current.isRun === isRun && current.page.update?.(params)) return;
  current?.page.close();
  current = null;
  const mine = ++navigation;
  clearFlash(true);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === name);
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${PAGES[name].title} · kici`;
  view.replaceChildren();
  try {
    const factory = await PAGES[name].load(params);
    if (mine !== navigation || !session) return;
    current = { name, isRun, page: factory(view, { session, params }) };
  } catch (e) {
    flashError(e);
  }
}

function showShell(s: Session): void {
  session = s;
  const signOutButton = el('button', { id: 'sign-out', type: 'button', class: 'link-button' }, 'Sign out');
  signOutButton.addEventListener('click', async () => {
    try {
      await signOut();
    } catch (e) {
      flashError(e);
      return;
    }
    leave('Signed out.');
  });
  const nav = el(
    'nav',
    { 'aria-label': 'pages' },
    ...Object.entries(PAGES).map(([name, page]) => el('a', { href: `#/${name}`, 'data-nav': name }, page.title)),
  );
  fill(
    root,
    el(
      'header',
      { class: 'topbar' },
      el('a', { class: 'brand', href: '#/runs' }, el('img', { src: 'assets/favicon.svg', alt: '', class: 'logo' }), 'kici'),
      nav,
      el('div', { class: 'who' }, el('span', { id: 'signed-in-as', class: `role-${s.role === 'admin' ? 'admin' : 'viewer'}` }, `${s.name} (${s.role})`), signOutButton),
    ),
    el('div', { id: 'flash', class: 'flash', role: 'status', 'aria-live': 'polite', hidden: true }),
    el('main', { id: 'view' }),
  );
  void route();
}

/** Back to the sign-in form: the session ended (signed out, expired, token revoked). */
function leave(notice?: string): void {
  navigation++;
  current?.page.close();
  current = null;
  session = null;
  showSignIn(root, showShell, notice);
}

whenSignedOut(() => {
  if (session) leave('Your session ended; sign in again.');
});
window.addEventListener('hashchange', () => void route());

async function boot(): Promise<void> {
  try {
    const s = await currentSession();
    if (s) showShell(s);
    else showSignIn(root, showShell);
  } catch (e) {
    showSignIn(root, showShell, e instanceof Error ? e.message : String(e));
  }
}

void boot();
