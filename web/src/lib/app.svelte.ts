// The client's state and everything that changes it: REST loads, the live event stream with
// resume, and the offline outbox. Components read `app` and call the actions below.

import { api, ApiError, setToken, token, type Chat, type HeldMessage, type Message, type OrgInfo, type ServerFrame, type User } from './api';
import { done, enqueue, newClientMsgId, pending, type Pending } from './outbox';

export type Status = 'connecting' | 'online' | 'offline';

export const app = $state({
  me: null as User | null,
  chats: [] as Chat[],
  /** Loaded history per chat, ascending by seq, contiguous. */
  messages: {} as Record<number, Message[]>,
  /** Whether the oldest message of the chat is loaded. */
  complete: {} as Record<number, boolean>,
  /** Sends not yet acknowledged, per chat (mirrors the IndexedDB outbox). */
  outbox: {} as Record<number, Pending[]>,
  /** Highest seq each other member has read, per chat (small chats). */
  readers: {} as Record<number, Record<number, number>>,
  /** Who is typing, per chat: user id → until when. */
  typing: {} as Record<number, Record<number, number>>,
  users: {} as Record<number, User>,
  /** The caller's own messages kept back by quiet hours or do-not-disturb, per chat, oldest first. */
  held: {} as Record<number, HeldMessage[]>,
  /** Messages someone asked this user to read (a `reminder` event), per chat: their seqs. A
   * reminder stands while the chat's read marker is below it. Kept in localStorage. */
  reminders: {} as Record<number, number[]>,
  /** The organisations the user belongs to, with the user's roles in each. */
  orgs: [] as OrgInfo[],
  status: 'connecting' as Status,
  openChat: null as number | null,
});

const PAGE = 50;

export async function start(): Promise<void> {
  app.me = await api.me();
  app.users[app.me.id] = app.me;
  app.reminders = loadReminders(app.me.id);
  await refreshChats();
  void refreshOrgs();
  for (const item of await pending()) (app.outbox[item.chat_id] ??= []).push(item);
  realtime.connect();
}

export async function signIn(auth: { user: User; token: string }): Promise<void> {
  setToken(auth.token);
  await start();
}

export async function signOut(): Promise<void> {
  realtime.stop();
  try {
    await api.logout();
  } catch {
    // Already revoked: signing out locally is all that is left.
  }
  forgetSession();
}

function forgetSession(): void {
  realtime.stop();
  if (app.me) localStorage.removeItem(cursorKey(app.me.id));
  setToken(null);
  app.me = null;
  app.chats = [];
  app.messages = {};
  app.complete = {};
  app.outbox = {};
  app.readers = {};
  app.held = {};
  app.reminders = {};
  app.orgs = [];
  app.openChat = null;
}

export async function refreshChats(): Promise<void> {
  app.chats = await api.chats();
  for (const chat of app.chats) if (chat.peer) app.users[chat.peer.id] = chat.peer;
  pruneReminders();
}

export async function refreshOrgs(): Promise<void> {
  app.orgs = await api.orgs().catch(() => app.orgs);
}

/** An admin of some organisation: may send urgent messages through quiet hours. */
export function isOrgAdmin(): boolean {
  return app.orgs.some((org) => org.roles.includes('admin'));
}

export function chatById(id: number): Chat | undefined {
  return app.chats.find((c) => c.id === id);
}

export function chatTitle(chat: Chat): string {
  return chat.title ?? chat.peer?.display_name ?? '…';
}

export async function userName(id: number): Promise<string> {
  app.users[id] ??= await api.user(id);
  return app.users[id].display_name;
}

/** Loads the history around the first unread message; returns that message's index. */
export async function openChat(id: number): Promise<number> {
  app.openChat = id;
  const chat = chatById(id) ?? (await api.chat(id));
  if (!app.messages[id]) {
    const [older, newer] = await Promise.all([
      api.messages(id, { before: chat.read_seq + 1, limit: PAGE }),
      api.messages(id, { after: chat.read_seq, limit: PAGE }),
    ]);
    app.messages[id] = [...older, ...newer];
    app.complete[id] = (older[0]?.seq ?? chat.read_seq + 1) <= 1;
    await loadSenders(app.messages[id]);
  }
  if (chat.kind !== 'channel' && chat.member_count <= 100) void loadReaders(chat);
  markRead(id);
  const firstUnread = app.messages[id].findIndex((m) => m.seq > chat.read_seq);
  return firstUnread === -1 ? app.messages[id].length - 1 : firstUnread;
}

async function loadSenders(messages: Message[]): Promise<void> {
  const missing = [...new Set(messages.map((m) => m.sender_id))].filter((id) => !app.users[id]);
  await Promise.all(missing.map((id) => userName(id).catch(() => '')));
}

/** Who has read my latest message, to show "read" ticks. */
async function loadReaders(chat: Chat): Promise<void> {
  // No findLast: old phone browsers lack it.
  const mine = [...(app.messages[chat.id] ?? [])].reverse().find((m) => m.sender_id === app.me?.id && !m.deleted);
  if (!mine) return;
  const readers = await api.readBy(chat.id, mine.seq).catch(() => []);
  const map = (app.readers[chat.id] ??= {});
  for (const id of readers) map[id] = Math.max(map[id] ?? 0, mine.seq);
}

/** Loads the page before the oldest loaded message; false when there is nothing older. */
export async function loadOlder(id: number): Promise<boolean> {
  const loaded = app.messages[id];
  if (!loaded || app.complete[id]) return false;
  const before = loaded[0]?.seq ?? 1;
  const older = await api.messages(id, { before, limit: PAGE });
  if (older.length < PAGE || older[0]?.seq === 1) app.complete[id] = true;
  if (older.length === 0) return false;
  await loadSenders(older);
  app.messages[id] = [...older, ...app.messages[id]];
  return true;
}

export function markRead(id: number): void {
  const chat = chatById(id);
  if (!chat || chat.read_seq >= chat.last_seq) return;
  chat.read_seq = chat.last_seq;
  chat.unread_count = 0;
  api.markRead(id, chat.last_seq).catch(() => {});
}

// --- sending and the outbox ---

let flushing: Promise<void> | null = null;
/** Set when a flush is asked for while one runs: its list of waiting items may predate them. */
let flushAgain = false;

export async function sendMessage(chatId: number, text: string, replyTo: number | null, requestAck = false, urgent = false): Promise<void> {
  const item: Pending = {
    client_msg_id: newClientMsgId(), chat_id: chatId, text, reply_to: replyTo, request_ack: requestAck, urgent, created_at: Date.now(),
  };
  // Assigned anew: `x ??= []` would hand back a plain array whose push nothing notices.
  app.outbox[chatId] = [...(app.outbox[chatId] ?? []), item];
  await enqueue(item);
  if (app.status === 'online') await flushOutbox();
}

/** Sends every waiting message, oldest first. Safe to call repeatedly: ids make it idempotent.
 * A message queued while a flush runs is sent by that flush, which looks again before ending. */
export function flushOutbox(): Promise<void> {
  if (flushing) {
    flushAgain = true;
    return flushing;
  }
  flushing = (async () => {
    try {
      do {
        flushAgain = false;
        for (const item of await pending()) {
          // Not sendable now (offline, server trouble): the next reconnect flushes again.
          if (!(await deliver(item))) return;
        }
      } while (flushAgain);
    } finally {
      flushing = null;
    }
  })();
  return flushing;
}

/** True when the item left the outbox (sent, or refused for good). */
async function deliver(item: Pending): Promise<boolean> {
  try {
    const outcome = await api.send(item.chat_id, item.client_msg_id, item.text, item.reply_to, item.request_ack ?? false, item.urgent ?? false);
    if (outcome.held) addHeld(outcome.message);
    else applyMessage(outcome.message);
  } catch (error) {
    const retryLater = !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
    if (retryLater) return false;
  }
  await done(item.client_msg_id);
  const waiting = app.outbox[item.chat_id];
  if (waiting) app.outbox[item.chat_id] = waiting.filter((p) => p.client_msg_id !== item.client_msg_id);
  return true;
}

function applyMessage(message: Message): void {
  const list = app.messages[message.chat_id];
  if (list) {
    const last = list[list.length - 1];
    const index = list.findIndex((m) => m.seq === message.seq);
    if (index >= 0) list[index] = message;
    else if (!last || message.seq === last.seq + 1) list.push(message);
    // A gap means history moved on while this chat was not loaded; reload it when opened.
    else if (message.seq > last.seq) delete app.messages[message.chat_id];
  }
  // A held message of ours has gone out.
  const held = app.held[message.chat_id];
  if (message.sender_id === app.me?.id && held?.some((h) => h.client_msg_id === message.client_msg_id)) {
    app.held[message.chat_id] = held.filter((h) => h.client_msg_id !== message.client_msg_id);
  }
  const waiting = app.outbox[message.chat_id];
  if (waiting?.some((p) => p.client_msg_id === message.client_msg_id && message.sender_id === app.me?.id)) {
    app.outbox[message.chat_id] = waiting.filter((p) => p.client_msg_id !== message.client_msg_id);
    void done(message.client_msg_id);
  }
  const chat = chatById(message.chat_id);
  if (chat && message.seq >= chat.last_seq) {
    chat.last_seq = message.seq;
    chat.last_message = message;
    chat.last_activity_at = message.created_at;
    if (message.sender_id === app.me?.id) chat.read_seq = message.seq;
    else if (app.openChat === chat.id && document.visibilityState === 'visible') markRead(chat.id);
    else chat.unread_count += 1;
    app.chats.sort((a, b) => b.last_activity_at - a.last_activity_at);
  }
  if (!app.users[message.sender_id]) void userName(message.sender_id).catch(() => '');
}

export async function editMessage(chatId: number, seq: number, text: string): Promise<void> {
  applyMessage(await api.edit(chatId, seq, text));
}

export async function deleteMessage(chatId: number, seq: number): Promise<void> {
  await api.remove(chatId, seq);
  tombstone(chatId, seq);
}

export async function toggleReaction(chatId: number, seq: number, emoji: string): Promise<void> {
  await api.react(chatId, seq, emoji);
}

function tombstone(chatId: number, seq: number): void {
  const message = app.messages[chatId]?.find((m) => m.seq === seq);
  if (message) Object.assign(message, { deleted: true, text: '', reactions: [], mentions: [] });
}

// --- held messages (quiet hours, do-not-disturb) ---

function addHeld(held: HeldMessage): void {
  // Assigned anew, not pushed: `x ??= []` hands back the plain array, not the reactive one.
  const list = app.held[held.chat_id] ?? [];
  if (list.some((h) => h.id === held.id || h.client_msg_id === held.client_msg_id)) return;
  app.held[held.chat_id] = [...list, held].sort((a, b) => a.created_at - b.created_at);
}

/** The caller's held messages in the chat, from the server (they outlive a reload). */
export async function loadHeld(chatId: number): Promise<void> {
  const held = await api.held(chatId);
  // One released while the list was on its way is already in the history.
  const sent = new Set((app.messages[chatId] ?? []).filter((m) => m.sender_id === app.me?.id).map((m) => m.client_msg_id));
  app.held[chatId] = held.filter((h) => !sent.has(h.client_msg_id)).sort((a, b) => a.created_at - b.created_at);
}

/** Cancels a held message before it goes out. */
export async function cancelHeld(chatId: number, heldId: number): Promise<void> {
  try {
    await api.cancelHeld(chatId, heldId);
  } catch (error) {
    // Gone already (released, or cancelled on another device): nothing is left to cancel here.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  const list = app.held[chatId];
  if (list) app.held[chatId] = list.filter((h) => h.id !== heldId);
}

// --- reminders ---

function remindersKey(userId: number): string {
  return `kolokol.reminders.${userId}`;
}

function loadReminders(userId: number): Record<number, number[]> {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(remindersKey(userId)) ?? '{}');
    const out: Record<number, number[]> = {};
    if (saved && typeof saved === 'object') {
      for (const [chatId, seqs] of Object.entries(saved)) {
        if (Array.isArray(seqs)) out[Number(chatId)] = seqs.filter((seq): seq is number => typeof seq === 'number');
      }
    }
    return out;
  } catch {
    return {};
  }
}

function saveReminders(): void {
  if (app.me) localStorage.setItem(remindersKey(app.me.id), JSON.stringify(app.reminders));
}

/** The chat's reminded messages this user has not read yet. */
export function remindersFor(chat: Chat): number[] {
  return (app.reminders[chat.id] ?? []).filter((seq) => seq > chat.read_seq);
}

function addReminder(chatId: number, seq: number): void {
  const chat = chatById(chatId);
  // Read meanwhile (a reminder may come in a catch-up, after the reading): nothing to do.
  if (chat && seq <= chat.read_seq) return;
  const seqs = app.reminders[chatId] ?? [];
  if (seqs.includes(seq)) return;
  app.reminders[chatId] = [...seqs, seq];
  saveReminders();
}

/** Forgets reminders of messages read since, and of chats the user has left. */
function pruneReminders(): void {
  let changed = false;
  for (const [id, seqs] of Object.entries(app.reminders)) {
    const chat = chatById(Number(id));
    const left = chat ? seqs.filter((seq) => seq > chat.read_seq) : [];
    if (left.length === seqs.length) continue;
    changed = true;
    if (left.length) app.reminders[Number(id)] = left;
    else delete app.reminders[Number(id)];
  }
  if (changed) saveReminders();
}

// --- live events ---

function cursorKey(userId: number): string {
  return `kolokol.cursor.${userId}`;
}

function apply(frame: ServerFrame): void {
  switch (frame.type) {
    case 'ready':
      app.status = 'online';
      void refreshChats();
      void flushOutbox();
      if (app.openChat !== null) void loadHeld(app.openChat).catch(() => {});
      break;
    case 'resync':
      app.messages = {};
      app.complete = {};
      void refreshChats();
      break;
    case 'message.new':
    case 'message.edited':
      // Whoever just sent has stopped typing.
      delete app.typing[frame.message.chat_id]?.[frame.message.sender_id];
      applyMessage(frame.message);
      break;
    case 'message.deleted':
      tombstone(frame.chat_id, frame.seq);
      break;
    case 'reaction': {
      const message = app.messages[frame.chat_id]?.find((m) => m.seq === frame.seq);
      if (!message) break;
      const reaction = message.reactions.find((r) => r.emoji === frame.emoji);
      if (frame.added && !reaction) message.reactions.push({ emoji: frame.emoji, user_ids: [frame.user_id] });
      else if (frame.added && reaction && !reaction.user_ids.includes(frame.user_id)) reaction.user_ids.push(frame.user_id);
      else if (!frame.added && reaction) {
        reaction.user_ids = reaction.user_ids.filter((u) => u !== frame.user_id);
        if (reaction.user_ids.length === 0) message.reactions = message.reactions.filter((r) => r !== reaction);
      }
      break;
    }
    case 'read': {
      if (frame.user_id === app.me?.id) {
        const chat = chatById(frame.chat_id);
        if (chat && frame.seq >= chat.last_seq) chat.unread_count = 0;
        if (chat) chat.read_seq = Math.max(chat.read_seq, frame.seq);
      } else {
        const readers = (app.readers[frame.chat_id] ??= {});
        readers[frame.user_id] = Math.max(readers[frame.user_id] ?? 0, frame.seq);
      }
      break;
    }
    case 'typing': {
      (app.typing[frame.chat_id] ??= {})[frame.user_id] = Date.now() + 6000;
      if (!app.users[frame.user_id]) void userName(frame.user_id).catch(() => '');
      break;
    }
    case 'member.removed':
      if (frame.user_id === app.me?.id) {
        delete app.messages[frame.chat_id];
        if (app.openChat === frame.chat_id) app.openChat = null;
      }
      void refreshChats();
      break;
    case 'chat.created':
    case 'chat.updated':
    case 'member.added':
    case 'member.updated':
      void refreshChats();
      break;
    case 'reminder':
      addReminder(frame.chat_id, frame.seq);
      break;
    case 'session.revoked':
      break; // our own revocation arrives as close code 4001
  }
}

/** The WebSocket with resume: keeps the last cursor and reconnects with it. */
export const realtime = {
  socket: null as WebSocket | null,
  stopped: true,
  delay: 500,
  retry: undefined as ReturnType<typeof setTimeout> | undefined,

  async connect(): Promise<void> {
    clearTimeout(this.retry);
    this.stopped = false;
    const me = app.me;
    if (!me || this.socket) return;
    app.status = 'connecting';
    try {
      const ticket = await api.wsTicket();
      const cursor = localStorage.getItem(cursorKey(me.id));
      const params = new URLSearchParams({ ticket });
      if (cursor) params.set('since', cursor);
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      if (this.socket || this.stopped) return; // another attempt won while we waited
      const socket = new WebSocket(`${scheme}//${location.host}/api/v1/ws?${params}`);
      this.socket = socket;
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data) as ServerFrame;
        if (frame.cursor) localStorage.setItem(cursorKey(me.id), frame.cursor);
        apply(frame);
        if (frame.type === 'ready') this.delay = 500;
      };
      socket.onclose = (event) => {
        if (this.socket === socket) this.closed(event.code);
      };
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return forgetSession();
      this.closed(0);
    }
  },

  closed(code: number): void {
    this.socket = null;
    if (this.stopped) return;
    if (code === 4001) return forgetSession();
    if (code === 4004 && app.me) localStorage.removeItem(cursorKey(app.me.id));
    app.status = 'offline';
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 15_000);
  },

  /** Drops the connection now (the network went away); it comes back with the network. */
  drop(): void {
    const socket = this.socket;
    if (!socket) return;
    this.closed(1001);
    socket.close();
  },

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.socket?.close(1000);
    this.socket = null;
  },

  typing(chatId: number): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: 'typing', chat_id: chatId }));
  },
};

// A phone that loses the network often keeps a dead socket for minutes; hang up at once and
// resume from the cursor when the network returns.
addEventListener('offline', () => realtime.drop());
addEventListener('online', () => {
  if (!app.me || realtime.stopped) return;
  realtime.delay = 500;
  void realtime.connect();
});

export function hasSession(): boolean {
  return token() !== null;
}
