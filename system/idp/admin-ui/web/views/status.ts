import { admin, call } from '../api.js';
import { h, table } from '../dom.js';
import { run } from '../forms.js';
import { relative, tokenState, type TokenState } from '../token-clock.js';

/** One entry of `GET /admin/status` `tokens`: the last token the IdP issued to a subject. */
interface IssuedToken {
  subject: string;
  service: string;
  issuedAt: string;
  expiresAt: string;
  jti: string;
  kid: string;
}

interface Status {
  revision: number;
  refreshEpoch: number;
  connectedSidecars: { service: string; since: string }[];
  keys: { previous: string[]; current: string; next: string };
  now: string;
  tokenTtlSeconds: number;
  tokensTracked: number;
  tokens: IssuedToken[];
}

/** How often the live views poll, ms. */
export const POLL_MS = 2000;

const STATE_TEXT: Record<TokenState, string> = { valid: 'valid', expiring: 'expires soon', expired: 'expired' };

/** Last refresh and expiry of every subject's token; times are read on the IdP's clock (`now`). */
function tokensTable(s: Status): HTMLTableElement {
  const now = Date.parse(s.now);
  const rows = s.tokens
    .slice()
    .sort((a, b) => a.service.localeCompare(b.service) || a.subject.localeCompare(b.subject))
    .map((t) => {
      const issued = Date.parse(t.issuedAt);
      const expires = Date.parse(t.expiresAt);
      const { state } = tokenState(issued, expires, now);
      const when = (ms: number, text: string) => h('time', { datetime: new Date(ms).toISOString() }, text);
      return h(
        'tr',
        { 'data-service': t.service, 'data-subject': t.subject, 'data-issued-at': t.issuedAt, 'data-jti': t.jti, 'data-state': state },
        h('th', { scope: 'row' }, t.service),
        h(
          'td',
          { class: 'last-refresh' },
          when(issued, relative(issued, now)),
          h('br'),
          h('span', { class: 'muted' }, new Date(issued).toLocaleString()),
        ),
        h(
          'td',
          { class: 'expires' },
          when(expires, relative(expires, now)),
          h('br'),
          h('span', { class: 'muted' }, new Date(expires).toLocaleString()),
        ),
        h('td', {}, h('span', { class: `token-${state}` }, STATE_TEXT[state])),
        h('td', {}, h('code', {}, t.jti), h('br'), h('span', { class: 'muted' }, `key ${t.kid}`)),
      );
    });
  const shown =
    s.tokens.length < s.tokensTracked ? `${s.tokens.length} most recently refreshed of ${s.tokensTracked}` : `${s.tokens.length}`;
  return h(
    'table',
    { id: 'status-tokens' },
    h('caption', { class: 'muted' }, `Access tokens issued by the IdP: ${shown} subjects (flagged when under 10% of the lifetime is left)`),
    h(
      'thead',
      {},
      h('tr', {}, ...['Service', 'Last refresh', 'Expires', 'State', 'Token id (jti) and key'].map((x) => h('th', { scope: 'col' }, x))),
    ),
    h('tbody', {}, ...rows),
  );
}

/**
 * Revision, refresh epoch, keys, connected sidecars, each subject's token (last refresh, expiry) and
 * token exchanges by result; polled while shown. "Refresh all tokens" is here too, so its effect is
 * seen where it shows: every row's last refresh moves.
 */
export async function statusView(main: HTMLElement, alive: () => boolean): Promise<void> {
  const body = h('div', { id: 'status-body', 'aria-live': 'off' });
  const updated = h('p', { class: 'muted', id: 'status-updated' });
  const result = h('p', { class: 'done', role: 'status' });
  const refresh = h(
    'form',
    { class: 'row', id: 'status-refresh' },
    h('button', { type: 'submit' }, 'Refresh all tokens'),
    h('p', { class: 'error form-error', role: 'alert' }),
    result,
  );
  refresh.addEventListener('submit', (e) => {
    e.preventDefault();
    void run(
      refresh,
      result,
      () => admin<{ revision: number }>('POST', 'refresh-tokens', {}),
      (r) => `Refresh requested (all services): revision ${r.revision}`,
    );
  });
  main.replaceChildren(h('h2', {}, 'Live status'), updated, refresh, body);
  while (alive()) {
    try {
      const [s, m] = await Promise.all([
        admin<Status>('GET', 'status'),
        call<{ tokenResults: Record<string, number> }>('GET', '/admin/ui/api/metrics'),
      ]);
      if (!alive()) return;
      const results = Object.entries(m.tokenResults).sort();
      body.replaceChildren(
        h(
          'dl',
          { class: 'panel' },
          h('dt', {}, 'Revision'),
          h('dd', { id: 'status-revision' }, s.revision),
          h('dt', {}, 'Refresh epoch'),
          h('dd', { id: 'status-epoch' }, s.refreshEpoch),
          h('dt', {}, 'Token lifetime'),
          h('dd', {}, `${s.tokenTtlSeconds} s`),
          h('dt', {}, 'Signing keys'),
          h('dd', {}, `current ${s.keys.current}, next ${s.keys.next}, ${s.keys.previous.length} previous`),
        ),
        table(
          ['Service', 'Settings stream connected since'],
          s.connectedSidecars
            .slice()
            .sort((a, b) => a.service.localeCompare(b.service))
            .map((c) => [document.createTextNode(c.service), document.createTextNode(new Date(c.since).toLocaleString())]),
          `${s.connectedSidecars.length} sidecars connected`,
        ),
        tokensTable(s),
        table(
          ['Result', 'Token exchanges'],
          results.map(([k, v]) => [document.createTextNode(k), document.createTextNode(String(v))]),
          'Token exchanges at the IdP by result (token_result_total)',
        ),
      );
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} (every ${POLL_MS / 1000} s)`;
    } catch (err) {
      updated.textContent = `Could not update: ${(err as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
