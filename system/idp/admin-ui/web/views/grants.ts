import { admin } from '../api.js';
import { field, h, table } from '../dom.js';
import { datalist, knownServices, onSubmit, panel, run } from '../forms.js';

interface Grant {
  caller: string;
  target: string;
  roles: string[];
}
interface Group {
  group: string;
  members: string[];
}

/** After a grant change the caller's current token still carries the old roles: refresh it so the change applies now. */
async function applyNow(refresh: boolean, caller: string): Promise<void> {
  if (!refresh) return;
  await admin('POST', 'refresh-tokens', caller.startsWith('group:') ? {} : { service: caller });
}

export async function grantsView(main: HTMLElement): Promise<void> {
  const [grants, initialGroups, services] = await Promise.all([
    admin<{ revision: number; grants: Grant[] }>('GET', 'grants'),
    admin<{ groups: Group[] }>('GET', 'groups'),
    knownServices(),
  ]);
  let groups = initialGroups;

  const byCaller = h('input', { type: 'search', name: 'filter-caller', list: 'services', autocomplete: 'off' });
  const byTarget = h('input', { type: 'search', name: 'filter-target', list: 'services', autocomplete: 'off' });
  const tableSlot = h('div', { id: 'grants-table' });
  const rowError = h('p', { class: 'error form-error', role: 'alert' });
  const renderTable = () => {
    const c = byCaller.value.trim();
    const t = byTarget.value.trim();
    const shown = grants.grants.filter((g) => g.caller.includes(c) && g.target.includes(t));
    tableSlot.replaceChildren(
      table(
        ['Source (caller)', 'Target', 'Roles', ''],
        shown.map((g) => [
          document.createTextNode(g.caller),
          document.createTextNode(g.target),
          document.createTextNode(g.roles.join(', ')),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'aria-label': `Remove grant ${g.caller} to ${g.target}`,
              onclick: () =>
                void run(
                  tableSlot,
                  rowError,
                  async () => {
                    const r = await admin<{ revision: number }>('DELETE', 'grants', { caller: g.caller, target: g.target });
                    await applyNow(refreshBox.checked, g.caller);
                    grants.grants = grants.grants.filter((x) => x !== g);
                    grants.revision = r.revision;
                    renderTable();
                    return undefined;
                  },
                  () => '',
                ),
            },
            'Remove',
          ),
        ]),
        `${shown.length} of ${grants.grants.length} grants, revision ${grants.revision}`,
      ),
      rowError,
    );
  };
  byCaller.addEventListener('input', renderTable);
  byTarget.addEventListener('input', renderTable);

  const caller = h('input', { name: 'caller', list: 'services', autocomplete: 'off', required: true });
  const target = h('input', { name: 'target', list: 'services', autocomplete: 'off', required: true });
  // The API names a roles problem as "roles": its message goes beside the role checkboxes.
  const read = h('input', { type: 'checkbox', name: 'read', id: 'roles', checked: true, 'aria-describedby': 'roles-error' });
  read.dataset.apiField = 'roles';
  const write = h('input', { type: 'checkbox', name: 'write', id: 'role-write' });
  const roles = h(
    'fieldset',
    {},
    h('legend', {}, 'Roles'),
    read,
    h('label', { for: 'roles' }, ' read '),
    write,
    h('label', { for: 'role-write' }, ' write'),
  );
  const rolesError = h('span', { class: 'error', id: 'roles-error' });
  const refreshBox = h('input', { type: 'checkbox', id: 'apply-now', checked: true });
  const add = panel(
    'Add or change a grant',
    h(
      'div',
      { class: 'row' },
      field('Source (caller, or group:<name>)', caller, 'caller'),
      field('Target service', target, 'target'),
      roles,
      rolesError,
    ),
    h('p', {}, refreshBox, h('label', { for: 'apply-now' }, " Refresh the caller's tokens now so the change applies at once")),
    h('button', { type: 'submit' }, 'Save grant'),
  );
  onSubmit(
    add.form,
    add.result,
    async () => {
      const body = {
        caller: caller.value.trim(),
        target: target.value.trim(),
        roles: [read.checked && 'read', write.checked && 'write'].filter(Boolean),
      };
      const r = await admin<{ revision: number; grant: Grant }>('PUT', 'grants', body);
      await applyNow(refreshBox.checked, body.caller);
      grants.grants = [...grants.grants.filter((g) => !(g.caller === r.grant.caller && g.target === r.grant.target)), r.grant];
      grants.revision = r.revision;
      renderTable();
      return r;
    },
    (r) => `Saved ${r.grant.caller} → ${r.grant.target} (${r.grant.roles.join(', ')}): revision ${r.revision}`,
  );

  const groupName = h('input', { name: 'group', autocomplete: 'off' });
  const members = h('input', { name: 'members', autocomplete: 'off', placeholder: 'p1-a, p2-a' });
  const groupForm = panel(
    'Add or change a group',
    h(
      'div',
      { class: 'row' },
      field('Group (group:<name>)', groupName, 'group'),
      field('Members (comma-separated services)', members, 'members'),
    ),
    h('button', { type: 'submit' }, 'Save group'),
  );
  onSubmit(
    groupForm.form,
    groupForm.result,
    async () => {
      const r = await admin<{ revision: number }>('PUT', 'groups', {
        group: groupName.value.trim(),
        members: members.value
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean),
      });
      await reloadGroups();
      return r;
    },
    (r) => `Saved group: revision ${r.revision}`,
  );
  const groupError = h('p', { class: 'error form-error', role: 'alert' });
  const groupsTable = h('div', {});
  const groupsBox = h('div', {}, groupsTable, groupError);
  async function reloadGroups(): Promise<void> {
    groups = await admin<{ groups: Group[] }>('GET', 'groups');
    renderGroups();
  }
  function renderGroups(): void {
    groupsTable.replaceChildren(
      table(
        ['Group', 'Members', ''],
        groups.groups.map((g) => [
          document.createTextNode(g.group),
          document.createTextNode(g.members.join(', ') || '(none)'),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'aria-label': `Remove group ${g.group} and its grants`,
              onclick: () =>
                void run(
                  groupsBox,
                  groupError,
                  async () => {
                    await admin('DELETE', 'groups', { group: g.group });
                    await reloadGroups();
                    // Deleting a group deletes its grants in the same transaction.
                    grants.grants = grants.grants.filter((x) => x.caller !== g.group);
                    renderTable();
                    return undefined;
                  },
                  () => '',
                ),
            },
            'Remove',
          ),
        ]),
        `${groups.groups.length} groups (a grant to a group reaches every member)`,
      ),
    );
  }
  renderGroups();

  main.replaceChildren(
    h('h2', {}, 'Grants'),
    datalist('services', services),
    h(
      'section',
      { 'aria-label': 'Filter grants' },
      h('div', { class: 'row' }, field('Filter by source', byCaller), field('Filter by target', byTarget)),
    ),
    tableSlot,
    add.form,
    h('h2', {}, 'Groups'),
    groupsBox,
    groupForm.form,
  );
  renderTable();
}
