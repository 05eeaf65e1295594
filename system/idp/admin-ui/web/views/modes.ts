import { admin } from '../api.js';
import { field, h, select, table } from '../dom.js';
import { confirmDialog, datalist, knownServices, onSubmit, panel, run } from '../forms.js';

interface Settings {
  revision: number;
  global: { signMode: string; verifyMode: string; tokenTtlSeconds: number };
  services: Record<string, { signMode?: string; verifyMode?: string }>;
}

const SIGN = [
  ['on', 'on (attach tokens)'],
  ['off', 'off (send no token)'],
] as const;
const VERIFY = [
  ['enforce', 'enforce (refuse bad tokens)'],
  ['observe', 'observe (count, serve anyway)'],
  ['off', 'off (no checks)'],
] as const;
const INHERIT = [['', '(inherit global)']] as const;

/** The seed's "think about security" note: turning auth off for a service is confirmed first. */
function turnsOff(sign: string, verify: string): boolean {
  return sign === 'off' || verify === 'off';
}

export async function modesView(main: HTMLElement): Promise<void> {
  const [initial, services] = await Promise.all([admin<Settings>('GET', 'settings'), knownServices()]);
  let settings = initial;

  const gSign = select('signMode', SIGN, settings.global.signMode);
  const gVerify = select('verifyMode', VERIFY, settings.global.verifyMode);
  const ttl = h('input', { type: 'number', name: 'tokenTtlSeconds', min: 10, max: 86400, value: settings.global.tokenTtlSeconds });
  const global = panel(
    'Global',
    h(
      'div',
      { class: 'row' },
      field('Sign mode', gSign, 'global.signMode'),
      field('Verify mode', gVerify, 'global.verifyMode'),
      field('Token TTL (seconds)', ttl, 'global.tokenTtlSeconds'),
    ),
    h('button', { type: 'submit' }, 'Save global settings'),
  );
  onSubmit(
    global.form,
    global.result,
    async () => {
      if (
        turnsOff(gSign.value, gVerify.value) &&
        !(await confirmDialog(
          'Turn auth off everywhere?',
          'Every service without its own override will stop signing or checking tokens: any caller can then reach it.',
          'Turn off',
        ))
      )
        return undefined;
      // The TTL goes as typed: the API says what is wrong with it ("must be an integer 10..86400").
      const ttlValue = ttl.value.trim() === '' ? ttl.value : Number(ttl.value);
      settings = await admin<Settings>('PUT', 'settings', {
        global: { signMode: gSign.value, verifyMode: gVerify.value, tokenTtlSeconds: ttlValue },
      });
      renderOverrides();
      return settings;
    },
    (r) => `Saved global settings: revision ${r.revision}`,
  );

  const svc = h('input', { name: 'service', list: 'mode-services', autocomplete: 'off' });
  const sSign = select('service-signMode', [...INHERIT, ...SIGN]);
  const sVerify = select('service-verifyMode', [...INHERIT, ...VERIFY]);
  const override = panel(
    'Per-service override',
    h(
      'div',
      { class: 'row' },
      field('Service', svc, 'services key'),
      field('Sign mode', sSign, 'signMode'),
      field('Verify mode', sVerify, 'verifyMode'),
    ),
    h('button', { type: 'submit' }, 'Save service override'),
  );
  onSubmit(
    override.form,
    override.result,
    async () => {
      const name = svc.value.trim();
      if (
        turnsOff(sSign.value, sVerify.value) &&
        !(await confirmDialog(
          `Turn auth off for ${name}?`,
          `${name} will ${sVerify.value === 'off' ? 'accept calls without checking any token' : 'send calls without a token'}. Think about security: is this what you mean?`,
          'Turn off',
        ))
      )
        return undefined;
      const modes: Record<string, string> = {};
      if (sSign.value) modes.signMode = sSign.value;
      if (sVerify.value) modes.verifyMode = sVerify.value;
      settings = await admin<Settings>('PUT', 'settings', { services: { [name]: Object.keys(modes).length ? modes : null } });
      renderOverrides();
      return { name, revision: settings.revision };
    },
    (r) => `Saved override for ${r.name}: revision ${r.revision}`,
  );

  const overridesError = h('p', { class: 'error form-error', role: 'alert' });
  const overridesTable = h('div', {});
  const overrides = h('div', {}, overridesTable, overridesError);
  function renderOverrides(): void {
    const names = Object.keys(settings.services).sort();
    overridesTable.replaceChildren(
      table(
        ['Service', 'Sign mode', 'Verify mode', ''],
        names.map((n) => {
          const o = settings.services[n]!;
          return [
            document.createTextNode(n),
            document.createTextNode(o.signMode ?? `(global: ${settings.global.signMode})`),
            document.createTextNode(o.verifyMode ?? `(global: ${settings.global.verifyMode})`),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                'aria-label': `Remove the override of ${n}`,
                onclick: () =>
                  void run(
                    overrides,
                    overridesError,
                    async () => {
                      settings = await admin<Settings>('PUT', 'settings', { services: { [n]: null } });
                      renderOverrides();
                      return undefined;
                    },
                    () => '',
                  ),
              },
              'Use global',
            ),
          ];
        }),
        `${names.length} service overrides, revision ${settings.revision}`,
      ),
    );
  }
  renderOverrides();

  main.replaceChildren(
    h('h2', {}, 'Modes'),
    datalist('mode-services', services),
    global.form,
    h('h2', {}, 'Services'),
    overrides,
    override.form,
  );
}
