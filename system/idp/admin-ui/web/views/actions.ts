import { admin } from '../api.js';
import { field, h } from '../dom.js';
import { datalist, knownServices, onSubmit, panel } from '../forms.js';

export async function actionsView(main: HTMLElement): Promise<void> {
  const services = await knownServices();

  const refreshService = h('input', { name: 'service', list: 'action-services', autocomplete: 'off', placeholder: '(all)' });
  const refresh = panel(
    'Refresh tokens',
    h('p', { class: 'muted' }, 'Every sidecar (or one) drops its access token and fetches a new one.'),
    h('div', { class: 'row' }, field('Only this service (empty: all)', refreshService, 'service')),
    h('button', { type: 'submit' }, 'Refresh all tokens'),
  );
  onSubmit(
    refresh.form,
    refresh.result,
    () => {
      const s = refreshService.value.trim();
      return admin<{ revision: number; epoch: number }>('POST', 'refresh-tokens', s ? { service: s } : {});
    },
    (r) => `Refresh requested (${refreshService.value.trim() || 'all services'}): revision ${r.revision}`,
  );

  const jti = h('input', { name: 'jti', autocomplete: 'off' });
  const revokeJti = panel(
    'Revoke one token',
    h('div', { class: 'row' }, field('Token id (jti)', jti, 'jti')),
    h('button', { type: 'submit' }, 'Revoke token'),
  );
  onSubmit(
    revokeJti.form,
    revokeJti.result,
    () => admin<{ revision: number }>('POST', 'revocations', { jti: jti.value.trim() }),
    (r) => `Revoked: revision ${r.revision}`,
  );

  const subject = h('input', { name: 'subject', list: 'action-services', autocomplete: 'off' });
  const revokeSubject = panel(
    'Revoke a subject',
    h('p', { class: 'muted' }, 'Every token issued to this service until now stops working; its sidecar fetches a new one.'),
    h('div', { class: 'row' }, field('Subject (service)', subject, 'subject')),
    h('button', { type: 'submit' }, 'Revoke subject'),
  );
  onSubmit(
    revokeSubject.form,
    revokeSubject.result,
    () => admin<{ revision: number }>('POST', 'revocations', { subject: subject.value.trim() }),
    (r) => `Revoked tokens of ${subject.value.trim()}: revision ${r.revision}`,
  );

  const rotate = panel(
    'Rotate signing keys',
    h(
      'p',
      { class: 'muted' },
      'The next key becomes current and a new next key is made; the old key stays published until its tokens expire.',
    ),
    h('button', { type: 'submit' }, 'Rotate keys'),
  );
  onSubmit(
    rotate.form,
    rotate.result,
    () => admin<{ revision: number; keys: { current?: string } }>('POST', 'keys/rotate'),
    (r) => `Rotated: revision ${r.revision}${r.keys.current ? `, current key ${r.keys.current}` : ''}`,
  );

  main.replaceChildren(
    h('h2', {}, 'Actions'),
    datalist('action-services', services),
    refresh.form,
    revokeJti.form,
    revokeSubject.form,
    rotate.form,
  );
}
