import { ApiError, call, idle, setCsrf, whenSignedOut } from './api.js';
import { field, h } from './dom.js';
import { actionsView } from './views/actions.js';
import { auditView } from './views/audit.js';
import { grantsView } from './views/grants.js';
import { modesView } from './views/modes.js';
import { platformView } from './views/platform.js';
import { statusView } from './views/status.js';

interface SessionInfo {
  signedIn?: boolean;
  csrf?: string;
  expiresAt?: string;
  actor?: string;
}

const VIEWS = {
  grants: (m: HTMLElement) => grantsView(m),
  modes: (m: HTMLElement) => modesView(m),
  actions: (m: HTMLElement) => actionsView(m),
  status: statusView,
  audit: auditView,
  platform: platformView,
} as const;
type ViewName = keyof typeof VIEWS;

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const whoami = document.getElementById('whoami')!;
const signOutButton = document.getElementById('sign-out') as HTMLButtonElement;
/** Bumped on every navigation: a polling view stops when the page has moved on. */
let generation = 0;
let signedIn = false;

/** Stops the polling views: each checks `signedIn` and its generation before its next call. */
function stopViews(): void {
  signedIn = false;
  generation++;
}

function signInView(reason?: string): void {
  stopViews();
  nav.hidden = true;
  signOutButton.hidden = true;
  whoami.textContent = '';
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error form-error', role: 'alert' }, reason ?? '');
  const form = h(
    'form',
    { class: 'panel', id: 'sign-in' },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use the admin token ("admin.token" in runs/up/endpoints.json).'),
    field('Admin token', token),
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    call<SessionInfo>('POST', '/admin/ui/session', { token: token.value }).then(
      (s) => {
        token.value = '';
        start(s);
      },
      (err: unknown) => {
        error.textContent = err instanceof ApiError ? err.message : String(err);
        token.focus();
      },
    );
  });
  main.replaceChildren(form);
  token.focus();
}

function start(s: SessionInfo): void {
  setCsrf(s.csrf ?? '');
  signedIn = true;
  nav.hidden = false;
  signOutButton.hidden = false;
  whoami.textContent = `Signed in (changes are audited as ${s.actor ?? 'admin-ui'})`;
  // Reached through `authlab up`, the page also offers the platform: sidecar metrics and studies.
  call<{ available: boolean }>('GET', '/admin/ui/platform').then(
    (p) => (document.getElementById('nav-platform')!.hidden = !p.available),
    () => {},
  );
  if (!location.hash) location.hash = '#grants';
  else show();
}

function show(): void {
  if (!signedIn) return;
  const name = (location.hash.slice(1) || 'grants') as ViewName;
  const view = VIEWS[name] ?? VIEWS.grants;
  const mine = ++generation;
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  main.dataset.view = name;
  view(main, () => mine === generation && signedIn).catch((err: unknown) => {
    if (mine === generation && signedIn) main.replaceChildren(h('p', { class: 'error', role: 'alert' }, (err as Error).message));
  });
}

whenSignedOut((why) => signInView(why));
window.addEventListener('hashchange', show);
signOutButton.addEventListener('click', () => {
  // Stop the polling views first and let their requests in flight be answered, then end the session:
  // a poll that reached the IdP after it would be refused (401) and logged by the browser as an error.
  stopViews();
  void idle()
    .then(() => call('DELETE', '/admin/ui/session'))
    .then(
      () => signInView('Signed out.'),
      (err: unknown) => signInView(`Sign-out did not reach the IdP (${(err as Error).message}); the session may still be open.`),
    );
});

call<SessionInfo>('GET', '/admin/ui/session').then(
  (s) => (s.signedIn ? start(s) : signInView()),
  (err: unknown) => signInView((err as Error).message),
);
