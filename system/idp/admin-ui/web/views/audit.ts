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

interface AuditPage {
  revision: number;
  entries: Entry[];
  /** Cursor of the next older page, or null on the oldest. */
  nextBefore: number | null;
}

/** Entries a page. */
export const AUDIT_PAGE = 20;

function json(v: unknown): Node {
  return h('pre', {}, v === null || v === undefined ? '—' : JSON.stringify(v));
}

/**
 * The audit log, newest first, AUDIT_PAGE entries a page, paged on the server by cursor
 * (`GET /admin/audit?before=<id>`), so the whole log is reachable however long it is. The cursors of
 * the pages walked through are kept, so "Newer" goes back exactly; the newest page follows new entries live.
 */
export async function auditView(main: HTMLElement, alive: () => boolean): Promise<void> {
  /** `before` cursor of each page from the newest (undefined) to the one shown (last). */
  const cursors: (number | undefined)[] = [undefined];
  const body = h('div', { id: 'audit-body' });
  const info = h('p', { class: 'muted', id: 'audit-page', 'aria-live': 'polite' });
  const arrow = (a: string) => h('span', { 'aria-hidden': 'true' }, a);
  const newer = h(
    'button',
    { type: 'button', class: 'secondary', onclick: () => void go(cursors.length - 2) },
    arrow('← '),
    'Newer entries',
  );
  const older = h('button', { type: 'button', class: 'secondary', onclick: () => void go(cursors.length) }, 'Older entries', arrow(' →'));
  const error = h('p', { class: 'error', role: 'alert' });
  let next: number | null = null;
  main.replaceChildren(
    h('h2', {}, 'Audit log'),
    h('div', { class: 'row', role: 'group', 'aria-label': 'Audit log pages' }, newer, older, info),
    error,
    body,
  );

  /** Shows page `index` (0 = newest); one past the last known page follows `nextBefore`. */
  async function go(index: number): Promise<void> {
    if (index < 0) return;
    const before = index < cursors.length ? cursors[index] : (next ?? undefined);
    if (index >= cursors.length && next === null) return;
    let r: AuditPage;
    try {
      r = await admin<AuditPage>('GET', `audit?limit=${AUDIT_PAGE}${before === undefined ? '' : `&before=${before}`}`);
    } catch (err) {
      error.textContent = (err as Error).message;
      return;
    }
    error.textContent = '';
    cursors.length = Math.min(cursors.length, index + 1);
    if (index >= cursors.length) cursors.push(before);
    next = r.nextBefore;
    const page = cursors.length;
    body.replaceChildren(
      table(
        ['Revision', 'When', 'Who', 'What', 'Before', 'After'],
        r.entries.map((e) => [
          document.createTextNode(String(e.revision)),
          document.createTextNode(new Date(e.at).toLocaleString()),
          document.createTextNode(e.who),
          document.createTextNode(e.what),
          json(e.before),
          json(e.after),
        ]),
        `Audit entries, newest first: page ${page}${r.entries.length ? `, revisions ${r.entries[0]!.revision}–${r.entries.at(-1)!.revision}` : ', empty'}`,
      ),
    );
    // A button that loses focus by being disabled would drop keyboard users at the top of the page.
    const focused = document.activeElement;
    newer.disabled = page === 1;
    older.disabled = next === null;
    if (focused === newer && newer.disabled) older.focus();
    if (focused === older && older.disabled) newer.focus();
    info.textContent = `Page ${page}${next === null ? ' (oldest)' : ''}`;
  }

  await go(0);
  while (alive()) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (alive() && cursors.length === 1) await go(0);
  }
}
