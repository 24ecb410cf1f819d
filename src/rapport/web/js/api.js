// The HTTP API (API.md): one fetch wrapper, errors as ApiError {status, code, message}.

const TOKEN_KEY = 'rapport.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const auth = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = auth.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const err = data?.error || {};
    const e = new ApiError(res.status, err.code || 'error', err.message || `Request failed (${res.status}).`);
    if (res.status === 401 && token) onUnauthorized(e);
    throw e;
  }
  return data;
}

const qs = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const str = s.toString();
  return str ? `?${str}` : '';
};

export const api = {
  register: (body) => request('POST', '/auth/register', body),
  login: (login, password) => request('POST', '/auth/login', { login, password }),
  logout: () => request('POST', '/auth/logout'),
  me: () => request('GET', '/me'),
  updateSettings: (patch) => request('PATCH', '/me/settings', patch),
  // A lookup, not a visit: no profile view is recorded for the member looked up.
  member: (handle) => request('GET', `/members/${encodeURIComponent(handle)}?view=false`),
  searchMembers: (q, limit = 8) => request('GET', `/members${qs({ q, limit })}`),

  invitations: (direction) => request('GET', `/invitations${qs({ direction })}`),
  invite: (to, note) => request('POST', '/invitations', note ? { to, note } : { to }),
  invitationAction: (id, action) => request('POST', `/invitations/${id}/${action}`),
  connections: () => request('GET', '/connections'),

  conversations: (filter = 'all', cursor, limit = 50) => request('GET', `/conversations${qs({ filter, cursor, limit })}`),
  conversation: (id) => request('GET', `/conversations/${id}`),
  patchConversation: (id, patch) => request('PATCH', `/conversations/${id}`, patch),
  declineInmail: (id) => request('POST', `/conversations/${id}/decline`),
  startConversation: (body) => request('POST', '/conversations', body),
  messages: (id, before, limit = 30) => request('GET', `/conversations/${id}/messages${qs({ before, limit })}`),
  send: (id, body, clientId) => request('POST', `/conversations/${id}/messages`, { body, client_id: clientId }),
  editMessage: (id, messageId, body) => request('PATCH', `/conversations/${id}/messages/${messageId}`, { body }),
  deleteMessage: (id, messageId) => request('DELETE', `/conversations/${id}/messages/${messageId}`),
  read: (id, messageId) => request('POST', `/conversations/${id}/read`, { message_id: messageId }),
  typing: (id, typing) => request('POST', `/conversations/${id}/typing`, { typing }),
};

export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// Additions used by the views of issue 14 (attachments, reactions, search, conversation menu, profile).
Object.assign(api, {
  limits: () => request('GET', '/limits'),
  sendWith: (id, body, clientId, attachments) => request('POST', `/conversations/${id}/messages`, { body, client_id: clientId, attachments }),
  react: (id, messageId, emoji, on) => request(on ? 'PUT' : 'DELETE', `/conversations/${id}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`),
  search: (q, limit = 20) => request('GET', `/search${qs({ q, limit })}`),
  deleteConversation: (id) => request('DELETE', `/conversations/${id}`),
  block: (handle) => request('POST', '/blocks', { handle }),
  unblock: (handle) => request('DELETE', `/blocks/${encodeURIComponent(handle)}`),
  blocked: () => request('GET', '/blocks'),
  updateProfile: (patch) => request('PATCH', '/me', patch),
  checkRecipients: (to) => request('POST', '/conversations/check-recipients', { to }),
  setAvatar: (attachmentId) => request('PUT', '/me/avatar', { attachment_id: attachmentId }),
  removeAvatar: () => request('DELETE', '/me/avatar'),
});

let limitsPromise = null;
/** The server's limits (GET /limits), asked once; the documented defaults if it cannot be reached. */
export function limits() {
  limitsPromise ||= api.limits().catch(() => {
    limitsPromise = null;
    return {
      max_attachment_bytes: 25 * 1024 * 1024, max_attachments_per_message: 10, message_body_max: 8000,
      inmail_body_max: 2000, max_recipients: 50, reactions: ['👍', '❤️', '😂', '😮', '😢', '👏', '🎉', '💡'], refused_extensions: [],
    };
  });
  return limitsPromise;
}
