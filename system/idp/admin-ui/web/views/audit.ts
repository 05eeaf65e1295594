import { admin } from '../api.js';
import { h, table } from '../dom.js';
import { POLL_MS } from './status.js';

interface Entry {
  id: number;
  at: string;
  who: string;
  what: string;
  before: unknown;
  after: unknown;
  revision: number;
}

const PAGE = 20;
/** The admin API returns at most this many entries (newest first), so paging reaches this far back. */
const MAX = 1000;

function json(v: unknown): Node {
  return h('pre', {}, v === null || v === undefined ? '—' : JSON.stringify(v));
}

/** The audit log, newest first, PAGE entries a page; page 1 follows new entries live. */
export async function auditView(main: HTMLElement, alive: () => boolean): Promise<void> {
  let page = 0;
  const body = h('div', { id: 'audit-body' });
  const info = h('p', { class: 'muted', id: 'audit-page', 'aria-live': 'polite' });
  const newer = h('button', { type: 'button', class: 'secondary', onclick: () => void go(page - 1) }, '← Newer');
  const older = h('button', { type: 'button', class: 'secondary', onclick: () => void go(page + 1) }, 'Older →');
  main.replaceChildren(h('h2', {}, 'Audit log'), h('div', { class: 'row' }, newer, older, info), body);

  async function go(p: number): Promise<void> {
    page = Math.max(0, p);
    const limit = Math.min(MAX, (page + 1) * PAGE);
    const r = await admin<{ revision: number; entries: Entry[] }>('GET', `audit?limit=${limit}`);
    const rows = r.entries.slice(page * PAGE, page * PAGE + PAGE);
    body.replaceChildren(
      table(
        ['Revision', 'When', 'Who', 'What', 'Before', 'After'],
        rows.map((e) => [
          document.createTextNode(String(e.revision)),
          document.createTextNode(new Date(e.at).toLocaleString()),
          document.createTextNode(e.who),
          document.createTextNode(e.what),
          json(e.before),
          json(e.after),
        ]),
        `Audit entries ${rows.length ? page * PAGE + 1 : 0}–${page * PAGE + rows.length}, newest first (revision ${r.revision})`,
      ),
    );
    newer.disabled = page === 0;
    older.disabled = r.entries.length < limit || limit >= MAX;
    info.textContent = `Page ${page + 1}`;
  }

  await go(0);
  while (alive()) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (alive() && page === 0) await go(0).catch(() => {});
  }
}
