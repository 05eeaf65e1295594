/** The page's one way to the IdP: `/admin/ui/api/<path>` with the session cookie and CSRF token. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onSignedOut: (why: string) => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}
export function whenSignedOut(f: (why: string) => void): void {
  onSignedOut = f;
}

/** The calls still on their way: sign-out waits for them (see `idle`). */
const pending = new Set<Promise<unknown>>();

/**
 * Resolves once no call is on its way, or after `capMs` whatever is still pending. Sign-out ends the
 * session only after the views' last polls are answered: a poll the IdP saw after the session ended
 * would be refused with a 401. The cap keeps a hung call from holding sign-out (the console's own
 * calls to the sidecars give up after 2 s).
 */
export async function idle(capMs = 5000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<void>((r) => (timer = setTimeout(r, capMs)));
  const drained = (async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  })();
  await Promise.race([drained, cap]);
  clearTimeout(timer);
}

export function call<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const p = send<T>(method, url, body);
  pending.add(p);
  p.then(
    () => pending.delete(p),
    () => pending.delete(p),
  );
  return p;
}

async function send<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError(0, 'ERR_NETWORK', `the IdP did not answer (${(err as Error).message}); is it running?`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'ERR_NOT_JSON', `unexpected answer (${res.status}): ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? text);
    if (res.status === 401 && !url.endsWith('/session')) onSignedOut(err.message);
    throw err;
  }
  return json as T;
}

/** An admin API call through the page's gateway, e.g. `admin('PUT', 'grants', {...})`. */
export function admin<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return call<T>(method, `/admin/ui/api/${path}`, body);
}

/**
 * Shows an API error next to the field it concerns, in the API's own words: the first control whose
 * `data-api-field` the message names (`"caller" must be…`, `global.tokenTtlSeconds must be…`), else
 * the form's own error line.
 */
export function showError(form: HTMLElement, err: unknown): void {
  clearErrors(form);
  const message = err instanceof Error ? err.message : String(err);
  const controls = [...form.querySelectorAll<HTMLElement>('[data-api-field]')];
  const named = (f: string) =>
    message.includes(`"${f}"`) || message.startsWith(`${f} `) || new RegExp(`(^|\\s)${f.replace(/\./g, '\\.')}\\s`).test(message);
  const target = controls.find((c) => named(c.dataset.apiField!));
  const slot = target ? document.getElementById(`${target.id}-error`) : form.querySelector<HTMLElement>('.form-error');
  if (target) target.setAttribute('aria-invalid', 'true');
  if (slot) slot.textContent = message;
}

export function clearErrors(form: HTMLElement): void {
  for (const e of form.querySelectorAll('.error')) e.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
}
