import { admin, call } from '../api.js';
import { h, table } from '../dom.js';

interface Status {
  revision: number;
  refreshEpoch: number;
  connectedSidecars: { service: string; since: string }[];
  keys: { previous: string[]; current: string; next: string };
}

/** How often the live views poll, ms. */
export const POLL_MS = 2000;

/** Revision, refresh epoch, keys, connected sidecars and token exchanges by result; polled while shown. */
export async function statusView(main: HTMLElement, alive: () => boolean): Promise<void> {
  const body = h('div', { id: 'status-body', 'aria-live': 'off' });
  const updated = h('p', { class: 'muted', id: 'status-updated' });
  main.replaceChildren(h('h2', {}, 'Live status'), updated, body);
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
