import { call, clearErrors, showError } from '../api.js';
import { field, h, table } from '../dom.js';
import { POLL_MS } from './status.js';

interface Service {
  name: string;
  verified: Record<string, number>;
  signed: Record<string, number>;
  tokensFetched: number;
  error?: string;
}
interface Study {
  state: 'running' | 'done' | 'failed';
  request: { scenarios: string[]; trials?: number; quick: boolean };
  startedAt: string;
  finishedAt?: string;
  phase: string;
  trial?: { i: number; n: number };
  log: string[];
  error?: string;
  reportUrl?: string;
}

const counts = (r: Record<string, number>) =>
  Object.entries(r)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';

/** Only through `authlab up`: every sidecar's auth results by reason, and a study on the running platform. */
export async function platformView(main: HTMLElement, alive: () => boolean): Promise<void> {
  const info = await call<{ studies: boolean; scenarios: string[] }>('GET', '/admin/ui/platform');
  const services = h('div', { id: 'platform-services' });
  const progress = h('div', { id: 'study-progress', 'aria-live': 'polite' });

  const boxes = info.scenarios.map((name) =>
    h('input', { type: 'checkbox', name: 'scenario', value: name, id: `scenario-${name}`, checked: name === 'light' }),
  );
  const scenarios = h(
    'fieldset',
    {},
    h('legend', {}, 'Scenarios'),
    ...boxes.flatMap((b) => [h('span', { class: 'choice' }, b, h('label', { for: b.id }, ` ${b.value} `))]),
  );
  const scenariosError = h('span', { class: 'error', id: 'scenarios-error' });
  boxes[0]?.setAttribute('data-api-field', 'scenarios');
  if (boxes[0]) boxes[0].id = 'scenarios';
  scenarios.querySelector(`label[for="scenario-${boxes[0]?.value}"]`)?.setAttribute('for', 'scenarios');
  const trials = h('input', { type: 'number', name: 'trials', min: 1, max: 1000, placeholder: '(scenario default)' });
  const quick = h('input', { type: 'checkbox', id: 'study-quick', checked: true });
  const form = h(
    'form',
    { class: 'panel', id: 'study-form', novalidate: true },
    h('h3', {}, 'Run a study on this platform'),
    h('p', { class: 'muted' }, 'The study switches pair modes while it runs; the report opens when it is done.'),
    h('div', { class: 'row' }, scenarios, scenariosError, field('Trials', trials, 'trials')),
    h('p', {}, quick, h('label', { for: 'study-quick' }, ' Quick (each scenario’s short profile)')),
    h('p', { class: 'error form-error', role: 'alert' }),
    h('button', { type: 'submit' }, 'Start study'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      scenarios: boxes.filter((b) => b.checked).map((b) => b.value),
      quick: quick.checked,
      ...(trials.value.trim() ? { trials: Number(trials.value) } : {}),
    };
    call<{ study: Study }>('POST', '/admin/ui/platform/studies', body).then(
      (r) => renderStudy(r.study),
      (err: unknown) => showError(form, err),
    );
  });

  function renderStudy(s: Study | null): void {
    if (!s) return void progress.replaceChildren(h('p', { class: 'muted' }, 'No study run from this page yet.'));
    const elapsed = Math.round(((s.finishedAt ? Date.parse(s.finishedAt) : Date.now()) - Date.parse(s.startedAt)) / 1000);
    const parts: (Node | null)[] = [
      h(
        'dl',
        { class: 'panel' },
        h('dt', {}, 'Study'),
        h(
          'dd',
          {},
          `${s.request.scenarios.join(', ') || '(defaults)'}${s.request.quick ? ', quick' : ''}${s.request.trials ? `, ${s.request.trials} trials` : ''}`,
        ),
        h('dt', {}, 'State'),
        h('dd', { id: 'study-state' }, s.state),
        h('dt', {}, 'Phase'),
        h('dd', {}, `${s.phase}${s.trial ? `, trial ${s.trial.i}/${s.trial.n}` : ''} (${elapsed} s)`),
        s.error ? h('dt', {}, 'Error') : null,
        s.error ? h('dd', { class: 'error' }, s.error) : null,
      ),
      s.reportUrl
        ? h('p', {}, h('a', { href: s.reportUrl, target: '_blank', rel: 'noopener', id: 'study-report' }, 'Open the report'))
        : null,
      h('pre', { class: 'panel', role: 'log', 'aria-label': 'Study log' }, s.log.slice(-12).join('\n')),
    ];
    progress.replaceChildren(...parts.filter((p): p is Node => p !== null));
  }

  main.replaceChildren(h('h2', {}, 'Platform'), h('h3', {}, 'Sidecars'), services, ...(info.studies ? [form] : []), progress);
  while (alive()) {
    try {
      const [sv, st] = await Promise.all([
        call<{ services: Service[] }>('GET', '/admin/ui/platform/services'),
        call<{ study: Study | null }>('GET', '/admin/ui/platform/studies/current'),
      ]);
      if (!alive()) return;
      services.replaceChildren(
        table(
          ['Service', 'Tokens fetched', 'Inbound checks by result', 'Outbound signing by result'],
          sv.services.map((s) => [
            document.createTextNode(s.name),
            document.createTextNode(s.error ? `unreachable: ${s.error}` : String(s.tokensFetched)),
            document.createTextNode(counts(s.verified)),
            document.createTextNode(counts(s.signed)),
          ]),
          `auth_verified_total and auth_signed_total of each sidecar, every ${POLL_MS / 1000} s`,
        ),
      );
      renderStudy(st.study);
    } catch {
      // the next round retries; a 401 already sent the page to sign-in
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
