// Groups: find groups and join (open) or ask to join (request), my groups, requests to
// approve (admins and managers), a group's members (members only, page by page), start a
// group chat from a group, leave. "N of 15 group messages left this month" says how many
// new conversations with fellow group members the member may still start (GET /me).

import { request } from '../api.js';
import { h, clear, avatar, toast } from '../dom.js';
import { ensureGroupStyles } from '../mentions.js';

const qs = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const str = s.toString();
  return str ? `?${str}` : '';
};

const groupsApi = {
  list: (params) => request('GET', `/groups${qs(params)}`),
  get: (id) => request('GET', `/groups/${id}`),
  create: (body) => request('POST', '/groups', body),
  join: (id) => request('POST', `/groups/${id}/join`),
  leave: (id) => request('POST', `/groups/${id}/leave`),
  requests: (id) => request('GET', `/groups/${id}/requests`),
  answer: (id, handle, action) => request('POST', `/groups/${id}/requests/${encodeURIComponent(handle)}/${action}`),
  members: (id, cursor) => request('GET', `/groups/${id}/members${qs({ cursor, limit: 50 })}`),
  startChat: (body) => request('POST', '/conversations', body),
  me: () => request('GET', '/me'),
};

const ROLE_TEXT = { member: 'a member', manager: 'a manager', admin: 'an admin' };
const manages = (g) => g.role === 'admin' || g.role === 'manager';
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "N of 15 group messages left this month", from GET /me. */
export function quotaText(quota) {
  if (!quota) return '';
  return `${quota.left} of ${quota.limit} group messages left this month`;
}

async function quotaLine() {
  const el = h('p', { class: 'group-quota muted', 'data-testid': 'group-quota' });
  try {
    const { group_messages: quota } = await groupsApi.me();
    el.textContent = quotaText(quota);
    if (quota) el.title = `New conversations with fellow group members; the count starts again on ${new Date(quota.resets_at).toLocaleDateString()}.`;
  } catch { el.hidden = true; }
  return el;
}

function stateLabel(g) {
  if (g.role) return g.role === 'member' ? 'Member' : g.role === 'admin' ? 'Admin' : 'Manager';
  if (g.requested) return 'Requested';
  return '';
}

/** Join, Request to join, or (pending) Withdraw request: the button for a group the member is not in. */
function joinButton(g, onDone) {
  if (g.role) return h('span', { class: 'tag' }, stateLabel(g));
  if (g.requested) {
    return h('button', {
      type: 'button', class: 'btn btn-ghost', 'aria-label': `Withdraw request to join ${g.name}`,
      onclick: async () => {
        try { await groupsApi.leave(g.id); toast('Request withdrawn.'); onDone(); } catch (err) { toast(err.message); }
      },
    }, 'Requested · Withdraw');
  }
  const open = g.visibility === 'open';
  return h('button', {
    type: 'button', class: 'btn btn-primary', 'aria-label': `${open ? 'Join' : 'Request to join'} ${g.name}`,
    onclick: async () => {
      try {
        const { membership } = await groupsApi.join(g.id);
        toast(membership.state === 'member' ? `You joined ${g.name}.` : `Request sent to the admins of ${g.name}.`);
        onDone();
      } catch (err) { toast(err.message); }
    },
  }, open ? 'Join' : 'Request to join');
}

function groupItem(g, onDone) {
  return h('li', { class: 'group-item', dataset: { id: g.id, testid: 'group' } },
    h('div', { class: 'group-main' },
      h('p', { class: 'strong' }, h('a', { href: `#/groups/${g.id}` }, g.name)),
      h('p', { class: 'muted' }, `${plural(g.member_count, 'member')} · ${g.visibility === 'open' ? 'Open' : 'Requests to join'}`),
      g.description ? h('p', {}, g.description) : null),
    h('div', { class: 'group-actions' }, joinButton(g, onDone)));
}

function fillList(list, groups, empty, onDone) {
  clear(list);
  if (!groups.length) list.append(h('li', { class: 'muted empty' }, empty));
  for (const g of groups) list.append(groupItem(g, onDone));
}

export function renderGroups(main, app, hash) {
  ensureGroupStyles();
  const id = hash.match(/^#\/groups\/(\d+)/)?.[1];
  if (id) renderGroup(main, app, id);
  else renderGroupList(main, app);
}

// ---- the list: find, mine, requests to approve, create -----------------------------------

function renderGroupList(main, app) {
  const found = h('ul', { class: 'group-list', 'aria-live': 'polite', 'data-testid': 'group-results' });
  const mine = h('ul', { class: 'group-list', 'data-testid': 'my-groups' });
  const pending = h('ul', { class: 'people-list', 'data-testid': 'group-requests' });
  const pendingCard = h('section', { class: 'card', 'aria-labelledby': 'group-requests-title', hidden: true },
    h('h2', { id: 'group-requests-title' }, 'Requests to approve'), pending);
  const query = h('input', { id: 'group-find', class: 'input', type: 'search', autocomplete: 'off', maxlength: '100' });
  const findForm = h('form', { class: 'group-search', role: 'search' },
    h('div', { class: 'field' }, h('label', { for: 'group-find' }, 'Find groups'), query),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search'));
  const refresh = () => { find(); loadMine(); };
  findForm.addEventListener('submit', (e) => { e.preventDefault(); find(); });

  async function find() {
    try {
      const { groups } = await groupsApi.list({ q: query.value.trim() });
      fillList(found, groups, 'No groups match.', refresh);
    } catch (err) { clear(found).append(h('li', { class: 'form-error', role: 'alert' }, err.message)); }
  }

  async function loadMine() {
    try {
      const { groups } = await groupsApi.list({ mine: 'true' });
      fillList(mine, groups, 'You are in no groups yet. Find one above, or create one.', refresh);
      const managed = groups.filter(manages).slice(0, 20);
      const lists = await Promise.all(managed.map(async (g) => ({ g, requests: (await groupsApi.requests(g.id)).requests })));
      clear(pending);
      for (const { g, requests } of lists) for (const r of requests) pending.append(requestItem(g, r, loadMine));
      pendingCard.hidden = !pending.children.length;
    } catch (err) { clear(mine).append(h('li', { class: 'form-error', role: 'alert' }, err.message)); }
  }

  const name = h('input', { id: 'group-name', class: 'input', required: true, maxlength: '100' });
  const description = h('textarea', { id: 'group-description', class: 'input', rows: '2', maxlength: '2000' });
  const visibility = h('select', { id: 'group-visibility', class: 'input' },
    h('option', { value: 'request' }, 'Members ask to join (an admin approves)'),
    h('option', { value: 'open' }, 'Open: anyone joins'));
  const createError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const createForm = h('form', { class: 'group-create' },
    h('div', { class: 'field' }, h('label', { for: 'group-name' }, 'Group name'), name),
    h('div', { class: 'field' }, h('label', { for: 'group-visibility' }, 'Who can join'), visibility),
    h('div', { class: 'field wide' }, h('label', { for: 'group-description' }, 'Description (optional)'), description),
    h('div', { class: 'wide' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create group')),
    createError);
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    createError.hidden = true;
    try {
      const { group } = await groupsApi.create({ name: name.value, description: description.value, visibility: visibility.value });
      toast(`Group ${group.name} created.`);
      app.navigate(`#/groups/${group.id}`);
    } catch (err) { createError.textContent = err.message; createError.hidden = false; }
  });

  const offLive = app.onLive((ev) => {
    if (!main.contains(mine)) { offLive(); return; }
    if (ev.type === 'notification.new' && String(ev.notification?.kind).startsWith('group_')) loadMine();
  });

  const quota = h('div');
  clear(main).append(h('div', { class: 'page' },
    h('h1', {}, 'Groups'),
    quota,
    h('section', { class: 'card', 'aria-labelledby': 'group-find-title' }, h('h2', { id: 'group-find-title' }, 'Find a group'), findForm, found),
    pendingCard,
    h('section', { class: 'card', 'aria-labelledby': 'my-groups-title' }, h('h2', { id: 'my-groups-title' }, 'My groups'), mine),
    h('section', { class: 'card', 'aria-labelledby': 'group-create-title' }, h('h2', { id: 'group-create-title' }, 'Create a group'), createForm),
  ));
  quotaLine().then((el) => quota.replaceWith(el));
  find();
  loadMine();
}

function requestItem(g, r, onDone) {
  const answer = async (action) => {
    try {
      await groupsApi.answer(g.id, r.member.handle, action);
      toast(action === 'approve' ? `${r.member.name} joined ${g.name}.` : 'Request declined.');
      onDone();
    } catch (err) { toast(err.message); }
  };
  return h('li', { class: 'person-item', dataset: { handle: r.member.handle, testid: 'group-request' } },
    avatar(r.member, 'sm'),
    h('div', { class: 'person-main' },
      h('p', { class: 'strong' }, r.member.name),
      h('p', { class: 'muted' }, `@${r.member.handle} · asks to join ${g.name}`)),
    h('div', { class: 'person-actions' },
      h('button', { type: 'button', class: 'btn btn-ghost', 'aria-label': `Decline ${r.member.name}`, onclick: () => answer('decline') }, 'Decline'),
      h('button', { type: 'button', class: 'btn btn-primary', 'aria-label': `Approve ${r.member.name}`, onclick: () => answer('approve') }, 'Approve')));
}

// ---- one group: members, requests, a group chat, leave -----------------------------------

async function renderGroup(main, app, id) {
  const page = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(main).append(page);
  let g;
  try { g = (await groupsApi.get(id)).group; } catch (err) {
    clear(page).append(h('h1', {}, 'Groups'), h('p', { class: 'form-error', role: 'alert' }, err.message), h('a', { href: '#/groups' }, 'All groups'));
    return;
  }
  const reload = () => renderGroup(main, app, id);
  const leave = h('button', {
    type: 'button', class: 'btn btn-ghost', onclick: async () => {
      try { await groupsApi.leave(id); toast(`You left ${g.name}.`); reload(); } catch (err) { toast(err.message); }
    },
  }, 'Leave group');
  clear(page).append(
    h('a', { href: '#/groups' }, '← All groups'),
    h('div', { class: 'group-head' },
      h('div', {},
        h('h1', {}, g.name),
        h('p', { class: 'muted' }, `${plural(g.member_count, 'member')} · ${g.visibility === 'open' ? 'Open' : 'Requests to join'}${g.role ? ` · You are ${ROLE_TEXT[g.role]}` : ''}`)),
      h('div', { class: 'group-actions' }, g.role ? leave : joinButton(g, reload))),
    g.description ? h('p', {}, g.description) : null,
  );
  if (!g.role) {
    page.append(h('p', { class: 'muted' }, 'Only members see who is in this group.'));
    return;
  }
  page.append(await quotaLine());
  if (manages(g)) {
    const pending = h('ul', { class: 'people-list', 'data-testid': 'group-requests' });
    const { requests } = await groupsApi.requests(id);
    if (!requests.length) pending.append(h('li', { class: 'muted empty' }, 'No requests waiting.'));
    for (const r of requests) pending.append(requestItem(g, r, reload));
    page.append(h('section', { class: 'card', 'aria-labelledby': 'group-requests-title' },
      h('h2', { id: 'group-requests-title' }, 'Requests to approve'), pending));
  }
  const people = h('ul', { class: 'people-list', 'data-testid': 'group-members' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, 'Show more members');
  const chatCard = manages(g) ? groupChatForm(app, g) : null;
  let cursor = null;
  async function loadMembers() {
    try {
      const batch = await groupsApi.members(id, cursor);
      for (const { member, role } of batch.members) {
        const me = member.id === app.me.id;
        people.append(h('li', { class: 'person-item', dataset: { handle: member.handle, testid: 'group-member' } },
          avatar(member, 'sm'),
          h('div', { class: 'person-main' },
            h('p', { class: 'strong' }, me ? `${member.name} (you)` : member.name),
            h('p', { class: 'muted' }, `@${member.handle}${role !== 'member' ? ` · ${role}` : ''}`)),
          me ? null : h('div', { class: 'person-actions' },
            h('button', { type: 'button', class: 'btn btn-secondary', 'aria-label': `Message ${member.name}`, onclick: () => app.compose({ to: member.handle }) }, 'Message'))));
        if (!me) chatCard?.offer(member);
      }
      cursor = batch.next_cursor;
      more.hidden = !cursor;
    } catch (err) { people.append(h('li', { class: 'form-error', role: 'alert' }, err.message)); }
  }
  more.addEventListener('click', loadMembers);
  if (chatCard) page.append(chatCard.el);
  page.append(h('section', { class: 'card', 'aria-labelledby': 'group-members-title' },
    h('h2', { id: 'group-members-title' }, 'Members'), people, more));
  loadMembers();
}

/** "Start a group chat": pick members of the group, write the first message. */
function groupChatForm(app, g) {
  const boxes = h('fieldset', {}, h('legend', {}, 'Members to include'));
  const body = h('textarea', { id: 'group-chat-body', class: 'input', rows: '3', required: true, maxlength: '8000' });
  const problem = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'group-chat-form' }, boxes,
    h('div', { class: 'field' }, h('label', { for: 'group-chat-body' }, 'First message'), body),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Start group chat'), problem);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.hidden = true;
    const to = [...boxes.querySelectorAll('input:checked')].map((b) => b.value);
    if (!to.length) { problem.textContent = 'Choose at least one member.'; problem.hidden = false; return; }
    try {
      const { conversation } = await groupsApi.startChat({ to, body: body.value, group_id: g.id });
      app.navigate(`#/c/${conversation.id}`);
    } catch (err) { problem.textContent = err.message; problem.hidden = false; }
  });
  const el = h('section', { class: 'card', 'aria-labelledby': 'group-chat-title' },
    h('h2', { id: 'group-chat-title' }, 'Start a group chat'), form);
  return {
    el,
    offer(member) {
      boxes.append(h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: member.handle, 'aria-label': `Include ${member.name}` }), member.name));
    },
  };
}
