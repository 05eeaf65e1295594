/** Tiny DOM helpers: the page builds its elements in code (no innerHTML, so nothing from the API is parsed as HTML). */
type Attrs = Record<string, string | boolean | number | undefined | ((e: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

let ids = 0;
/** A unique element id with a readable prefix. */
export function uid(prefix: string): string {
  return `${prefix}-${++ids}`;
}

/** A labelled input/select with an error slot below it, tied by aria-describedby. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, apiField?: string): HTMLElement {
  control.id ||= uid('f');
  const err = h('span', { class: 'error', id: `${control.id}-error`, 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', err.id);
  if (apiField) control.dataset.apiField = apiField;
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, err);
}

export function select(name: string, options: readonly (readonly [string, string])[], value?: string): HTMLSelectElement {
  const s = h('select', { name });
  for (const [v, text] of options) s.append(h('option', { value: v, selected: v === value }, text));
  return s;
}

export function table(headers: string[], rows: Node[][], caption: string): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}
