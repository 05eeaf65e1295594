import { admin, clearErrors, showError } from './api.js';
import { h } from './dom.js';

/** A form panel with a heading, a form-level error line and a result line (announced politely). */
export function panel(title: string, ...body: Node[]): { form: HTMLFormElement; result: HTMLElement } {
  const result = h('p', { class: 'done', role: 'status' });
  const form = h(
    'form',
    { class: 'panel', novalidate: true },
    h('h3', {}, title),
    ...body,
    h('p', { class: 'error form-error', role: 'alert' }),
    result,
  );
  return { form, result };
}

/**
 * Runs `action` on submit: errors land next to their field; success shows `done(answer)` (which says
 * the new revision). The submit button is disabled while the call runs so a double click is one change.
 */
export function onSubmit<T>(
  form: HTMLFormElement,
  result: HTMLElement,
  action: () => Promise<T | undefined>,
  done: (answer: T) => string,
): void {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run(form, result, action, done);
  });
}

export async function run<T>(
  form: HTMLElement,
  result: HTMLElement,
  action: () => Promise<T | undefined>,
  done: (answer: T) => string,
): Promise<void> {
  clearErrors(form);
  result.textContent = '';
  const buttons = [...form.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await action();
    if (answer !== undefined) result.textContent = done(answer);
  } catch (err) {
    showError(form, err);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** Services the IdP knows of: connected sidecars, grant parties, per-service settings. */
export async function knownServices(): Promise<string[]> {
  const [status, grants, settings] = await Promise.all([
    admin<{ connectedSidecars: { service: string }[] }>('GET', 'status'),
    admin<{ grants: { caller: string; target: string }[] }>('GET', 'grants'),
    admin<{ services: Record<string, unknown> }>('GET', 'settings'),
  ]);
  const names = new Set<string>();
  for (const s of status.connectedSidecars) names.add(s.service);
  for (const g of grants.grants) {
    if (!g.caller.startsWith('group:')) names.add(g.caller);
    names.add(g.target);
  }
  for (const n of Object.keys(settings.services)) names.add(n);
  return [...names].sort();
}

export function datalist(id: string, names: string[]): HTMLDataListElement {
  return h('datalist', { id }, ...names.map((n) => h('option', { value: n })));
}

/** Asks in the page's modal dialog; resolves true only on the confirm button. */
export function confirmDialog(title: string, text: string, confirmLabel: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  document.getElementById('confirm-title')!.textContent = title;
  document.getElementById('confirm-text')!.textContent = text;
  document.getElementById('confirm-ok')!.textContent = confirmLabel;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('confirm-cancel')!.focus();
  return new Promise((res) => dialog.addEventListener('close', () => res(dialog.returnValue === 'ok'), { once: true }));
}
