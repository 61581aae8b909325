// Typed calls to the Kolokol REST API (docs/API.md). The session token lives in localStorage
// and goes only into the Authorization header, never into a URL.

export interface User { id: number; username: string; display_name: string; about: string }
export type ChatKind = 'direct' | 'group' | 'channel';
export type Role = 'owner' | 'admin' | 'member';
export interface Reaction { emoji: string; user_ids: number[] }
export interface Message {
  id: number; chat_id: number; seq: number; sender_id: number; client_msg_id: string; text: string;
  reply_to: number | null; mentions: number[]; reactions: Reaction[]; created_at: number;
  edited_at: number | null; deleted: boolean;
}
export interface Chat {
  id: number; kind: ChatKind; title: string | null; peer: User | null; role: Role; member_count: number;
  last_seq: number; read_seq: number; unread_count: number; last_message: Message | null;
  created_at: number; last_activity_at: number;
}
export interface ChatInfo { id: number; kind: ChatKind; title: string | null; member_count: number }
export interface Member { user: User; role: Role; joined_at: number }
export interface Session { id: number; device_name: string; created_on: string; last_seen_on: string; current: boolean }
export interface Invite { code: string; chat_id: number; created_by: number; created_at: number; expires_at: number | null; max_uses: number | null; uses: number }

export type ServerEvent =
  | { type: 'ready' } | { type: 'resync' }
  | { type: 'message.new' | 'message.edited'; message: Message }
  | { type: 'message.deleted'; chat_id: number; seq: number }
  | { type: 'reaction'; chat_id: number; seq: number; user_id: number; emoji: string; added: boolean }
  | { type: 'read'; chat_id: number; user_id: number; seq: number }
  | { type: 'typing'; chat_id: number; user_id: number }
  | { type: 'chat.created'; chat: ChatInfo; created_by: number }
  | { type: 'chat.updated'; chat: ChatInfo }
  | { type: 'member.added'; chat_id: number; user: User; role: Role }
  | { type: 'member.updated'; chat_id: number; user_id: number; role: Role }
  | { type: 'member.removed'; chat_id: number; user_id: number }
  | { type: 'session.revoked'; session_id: number };
export type ServerFrame = ServerEvent & { cursor?: string };

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

const TOKEN_KEY = 'kolokol.token';

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, data.code ?? 'internal', data.message ?? response.statusText);
  }
  return data as T;
}

interface Auth { user: User; token: string }

function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return system ? `${browser}, ${system}` : browser;
}

export const api = {
  register: (username: string, password: string, display_name: string) =>
    call<Auth>('POST', '/auth/register', { username, password, display_name, device_name: deviceName() }),
  login: (username: string, password: string) =>
    call<Auth>('POST', '/auth/login', { username, password, device_name: deviceName() }),
  logout: () => call<void>('POST', '/auth/logout'),
  me: () => call<User>('GET', '/me'),
  updateProfile: (display_name: string, about: string) => call<User>('PATCH', '/me', { display_name, about }),
  userByUsername: (username: string) => call<User>('GET', `/users/by-username/${encodeURIComponent(username)}`),
  user: (id: number) => call<User>('GET', `/users/${id}`),
  sessions: () => call<{ sessions: Session[] }>('GET', '/sessions').then((r) => r.sessions),
  revokeSession: (id: number) => call<void>('DELETE', `/sessions/${id}`),
  wsTicket: () => call<{ ticket: string }>('POST', '/ws/ticket').then((r) => r.ticket),
  chats: () => call<{ chats: Chat[] }>('GET', '/chats').then((r) => r.chats),
  chat: (id: number) => call<Chat>('GET', `/chats/${id}`),
  createChat: (kind: ChatKind, title: string | null, member_ids: number[]) =>
    call<Chat>('POST', '/chats', { kind, title, member_ids }),
  members: (id: number) => call<{ members: Member[] }>('GET', `/chats/${id}/members`).then((r) => r.members),
  addMembers: (id: number, user_ids: number[]) => call<void>('POST', `/chats/${id}/members`, { user_ids }),
  removeMember: (id: number, userId: number) => call<void>('DELETE', `/chats/${id}/members/${userId}`),
  invites: (id: number) => call<{ invites: Invite[] }>('GET', `/chats/${id}/invites`).then((r) => r.invites),
  createInvite: (id: number) => call<Invite>('POST', `/chats/${id}/invites`, {}),
  invitePreview: (code: string) => call<{ code: string; chat: ChatInfo }>('GET', `/invites/${encodeURIComponent(code)}`),
  join: (code: string) => call<Chat>('POST', `/invites/${encodeURIComponent(code)}/join`),
  messages: (id: number, query: { before?: number; after?: number; limit?: number }) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return call<{ messages: Message[] }>('GET', `/chats/${id}/messages?${params}`).then((r) => r.messages);
  },
  send: (id: number, client_msg_id: string, text: string, reply_to: number | null) =>
    call<Message>('POST', `/chats/${id}/messages`, { client_msg_id, text, reply_to }),
  edit: (id: number, seq: number, text: string) => call<Message>('PATCH', `/chats/${id}/messages/${seq}`, { text }),
  remove: (id: number, seq: number) => call<void>('DELETE', `/chats/${id}/messages/${seq}`),
  react: (id: number, seq: number, emoji: string) =>
    call<{ added: boolean }>('POST', `/chats/${id}/messages/${seq}/reactions`, { emoji }),
  readBy: (id: number, seq: number) => call<{ user_ids: number[] }>('GET', `/chats/${id}/messages/${seq}/read-by`).then((r) => r.user_ids),
  markRead: (id: number, seq: number) => call<void>('POST', `/chats/${id}/read`, { seq }),
};
