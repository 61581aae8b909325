// The client's state and everything that changes it: REST loads, the live event stream with
// resume, and the offline outbox. Components read `app` and call the actions below.

import {
  api, ApiError, setToken, token, type Chat, type HeldMessage, type Member, type Message, type OrgInfo, type Poll, type PollResults,
  type ServerFrame, type ThreadSummary, type User,
} from './api';
import { forgetUploads } from './attach.svelte';
import { e2ee } from './e2ee.svelte';
import { mediaLinks } from './media';
import { done, enqueue, newClientMsgId, pending, type Pending } from './outbox';
import { closeViewer } from './viewer.svelte';

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
  /** Poll results per chat: message seq → results for this user. Loaded when a chat opens. */
  polls: {} as Record<number, Record<number, PollResults>>,
  /** Thread summaries per chat: root seq → replies. Loaded when a chat opens, kept by message.new. */
  threads: {} as Record<number, Record<number, ThreadSummary>>,
  /** The replies loaded of a thread, per chat and root, ascending by seq. */
  threadReplies: {} as Record<number, Record<number, Message[]>>,
  /** The pinned message's seq per chat (null: nothing pinned), once known. */
  pins: {} as Record<number, number | null>,
  /** Members per chat (with the verified staff badge), loaded as needed. */
  members: {} as Record<number, Member[]>,
  /** Single messages fetched outside the loaded history (a pinned one far back), per chat and seq. */
  loose: {} as Record<number, Record<number, Message>>,
  status: 'connecting' as Status,
  openChat: null as number | null,
  /** Mutes seen in this session (member.muted events; the API does not list them): per chat,
   * user id → until when. Includes the user's own. */
  mutes: {} as Record<number, Record<number, number>>,
  /** The latest send the server refused for good, per chat, for the chat view to explain. */
  refused: {} as Record<number, Refusal>,
  /** Bots' callback buttons pressed and not answered yet, per chat and message seq. */
  presses: {} as Record<number, Record<number, ButtonPress>>,
  /** A bot's notification in answer to a press, per chat, for the open chat to show (once). */
  notices: {} as Record<number, string>,
  /** The bot's mini-app the person asked to open: its confirm dialog shows while this is set. */
  appRequest: null as AppRequest | null,
});

/** A send refused for good: why (the error code), and what was written, to give it back. */
export interface Refusal { code: string; text: string; thread_of: number | null; poll: boolean; attachments: number[] }

const PAGE = 50;

export async function start(): Promise<void> {
  app.me = await api.me();
  app.users[app.me.id] = app.me;
  e2ee.signedIn(app.me.id);
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
  // The session is over: its encryption device and what it read go with it.
  void e2ee.signedOut(true);
  // First, while the token still goes with the uploads' cancellations.
  forgetUploads();
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
  app.mutes = {};
  app.refused = {};
  app.presses = {};
  app.notices = {};
  app.appRequest = null;
  // Links work without the session for an hour: none is kept for whoever signs in next.
  mediaLinks.clear();
  closeViewer();
  forgetChatDetails();
  app.openChat = null;
}

export async function refreshChats(): Promise<void> {
  app.chats = await api.chats();
  for (const chat of app.chats) if (chat.peer) app.users[chat.peer.id] = chat.peer;
  pruneReminders();
  // Encrypted chats open the session's MLS device (once) and are read.
  e2ee.track(app.chats);
}

/** Whether the chat is end-to-end encrypted (its messages go through lib/e2ee). */
export function isEncrypted(chat: Chat | undefined): boolean {
  return chat?.privacy === 'encrypted';
}

/** An MLS commit: it changes the chat's group, and is never shown as a message. */
export function isCommit(message: Message): boolean {
  return message.mls?.kind === 'commit';
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

/** Until when I am muted in the chat, as the server last told (it may have passed). */
export function myMute(chatId: number): number | undefined {
  return chatById(chatId)?.muted_until ?? undefined;
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
  if (isEncrypted(chat)) {
    e2ee.onHistory(id);
    e2ee.onOpen(id);
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
  const mine = [...(app.messages[chat.id] ?? [])].reverse().find((m) => m.sender_id === app.me?.id && !m.deleted && !isCommit(m));
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
  if (isEncrypted(chatById(id))) e2ee.onHistory(id);
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

/** Sends a text to an end-to-end encrypted chat through its device's sealed outbox (lib/e2ee):
 * it goes at once when it can, else on reconnect. Throws when it could not even be queued. */
export async function sendEncrypted(chatId: number, text: string, replyTo: number | null): Promise<void> {
  await e2ee.send(chatId, text, replyTo);
}

// What an encrypted chat's outbox sent shows at once; what the server refused is explained.
e2ee.outcomes = {
  sent: applyMessage,
  refused: (chatId, code, content) => {
    app.refused[chatId] = { code, text: content.t === 'text' ? content.text : '', thread_of: null, poll: false, attachments: [] };
  },
};

let flushing: Promise<void> | null = null;
/** Set when a flush is asked for while one runs: its list of waiting items may predate them. */
let flushAgain = false;

export async function sendMessage(
  chatId: number, text: string, replyTo: number | null, requestAck = false, urgent = false,
  extra: { poll?: Poll; thread_of?: number; attachments?: number[] } = {},
): Promise<void> {
  const item: Pending = {
    client_msg_id: newClientMsgId(), chat_id: chatId, text, reply_to: replyTo, request_ack: requestAck, urgent, created_at: Date.now(),
    ...extra,
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
    const extra = {
      ...(item.poll ? { poll: item.poll } : {}), ...(item.thread_of ? { thread_of: item.thread_of } : {}),
      ...(item.attachments?.length ? { attachments: item.attachments } : {}),
    };
    const outcome = await api.send(item.chat_id, item.client_msg_id, item.text, item.reply_to, item.request_ack ?? false, item.urgent ?? false, extra);
    if (outcome.held) addHeld(outcome.message);
    else applyMessage(outcome.message);
  } catch (error) {
    // A 429 on a send is the chat's slow mode: sending again at once would be refused again.
    const retryLater = !(error instanceof ApiError) || error.status >= 500;
    if (retryLater) return false;
    app.refused[item.chat_id] = {
      code: error.code, text: item.text, thread_of: item.thread_of ?? null, poll: Boolean(item.poll), attachments: item.attachments ?? [],
    };
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
  applyToDetails(message);
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
  // A commit moves the seq on, but is no message to show, count as unread or preview.
  const commit = isCommit(message);
  if (chat && message.seq >= chat.last_seq) {
    chat.last_seq = message.seq;
    if (!commit) {
      chat.last_message = message;
      chat.last_activity_at = message.created_at;
    }
    if (message.sender_id === app.me?.id) chat.read_seq = message.seq;
    else if (app.openChat === chat.id && document.visibilityState === 'visible') markRead(chat.id);
    else if (!commit) chat.unread_count += 1;
    if (!commit) app.chats.sort((a, b) => b.last_activity_at - a.last_activity_at);
  }
  if (!app.users[message.sender_id]) void userName(message.sender_id).catch(() => '');
}

/** The chat as the server now has it (after changing its settings), until the next refresh. */
export function applyChat(chat: Chat): void {
  const known = chatById(chat.id);
  if (known) Object.assign(known, chat);
}

/** Takes the chat's refused send to explain it (once), if `here` is where to: the chat's own
 * flow, or the thread it was written in. */
export function takeRefusal(chatId: number, here: (refusal: Refusal) => boolean): Refusal | null {
  const refusal = app.refused[chatId];
  if (!refusal || !here(refusal)) return null;
  delete app.refused[chatId];
  return refusal;
}

/** The user is no longer in the chat (removed, or it was deleted): it leaves the list at once,
 * and an open chat view goes back to it. */
function forgetChat(chatId: number): void {
  delete app.messages[chatId];
  app.chats = app.chats.filter((c) => c.id !== chatId);
  if (app.openChat === chatId) app.openChat = null;
}

/** Deletes a group or channel for everyone (its owner). Its `member.removed` event forgets the chat
 * too, before or after the answer comes: either way ends the same. */
export async function deleteChat(chatId: number): Promise<void> {
  await api.deleteChat(chatId);
  forgetChat(chatId);
}

export async function editMessage(chatId: number, seq: number, text: string): Promise<void> {
  // In an encrypted chat an edit is encrypted content of its own (the server cannot read it).
  if (isEncrypted(chatById(chatId))) return e2ee.edit(chatId, seq, text);
  applyMessage(await api.edit(chatId, seq, text));
}

export async function deleteMessage(chatId: number, seq: number): Promise<void> {
  await api.remove(chatId, seq);
  tombstone(chatId, seq);
}

export async function toggleReaction(chatId: number, seq: number, emoji: string): Promise<void> {
  if (isEncrypted(chatById(chatId))) return e2ee.toggleReaction(chatId, seq, emoji);
  await api.react(chatId, seq, emoji);
}

/** Marks message `seq` deleted wherever it is loaded (the history, its thread, a single
 * fetch); called for one's own delete and again for its event, so it counts only once. */
function tombstone(chatId: number, seq: number): void {
  const known = findMessage(chatId, seq);
  const already = known?.deleted ?? false;
  const gone = { deleted: true, text: '', reactions: [], mentions: [], poll: null, attachments: undefined };
  const root = known?.thread_of ?? null;
  for (const copy of [
    app.messages[chatId]?.find((m) => m.seq === seq),
    root ? app.threadReplies[chatId]?.[root]?.find((m) => m.seq === seq) : undefined,
    app.loose[chatId]?.[seq],
  ]) {
    if (copy) Object.assign(copy, gone);
  }
  const summary = root ? app.threads[chatId]?.[root] : undefined;
  if (summary && !already) {
    // Deleted replies are not counted.
    if (summary.replies <= 1) delete app.threads[chatId][summary.root];
    else summary.replies -= 1;
  } else if (!known && app.threads[chatId] && app.openChat === chatId) {
    // Not loaded, so perhaps a reply in a thread: ask.
    void loadThreads(chatId).catch(() => {});
  }
  if (app.polls[chatId]?.[seq]) delete app.polls[chatId][seq];
  if (app.pins[chatId] === seq) app.pins[chatId] = null;
  // What this device decrypted of it does not stay on the device either.
  if (isEncrypted(chatById(chatId)) && !already) e2ee.forget(chatId, seq);
}

/** The per-chat record of `records`, created if missing. Read back through the state, so what
 * is put in it is noticed (`records[id] ??= {}` would hand back the plain object). */
function slot<T>(records: Record<number, Record<number, T>>, id: number): Record<number, T> {
  if (!records[id]) records[id] = {};
  return records[id];
}

// --- polls, threads, pins and members of a chat ---

function forgetChatDetails(): void {
  app.polls = {};
  app.threads = {};
  app.threadReplies = {};
  app.pins = {};
  app.members = {};
  app.loose = {};
}

/** What a chat shows besides its history: poll results, threads, the pin and the members. */
export async function loadChatDetails(chatId: number): Promise<void> {
  await Promise.all([
    loadPolls(chatId).catch(() => {}),
    loadThreads(chatId).catch(() => {}),
    loadPin(chatId).catch(() => {}),
    // Kept per chat (a school's channel has thousands); member events load them again.
    app.members[chatId] ? undefined : loadMembers(chatId).catch(() => {}),
  ]);
}

export async function loadPolls(chatId: number): Promise<void> {
  const polls = await api.polls(chatId);
  app.polls[chatId] = Object.fromEntries(polls.map((poll) => [poll.seq, poll]));
}

/** Polls that arrive in a burst (a catch-up) are loaded once. */
const pollReloads = new Map<number, ReturnType<typeof setTimeout>>();
function reloadPollsSoon(chatId: number): void {
  clearTimeout(pollReloads.get(chatId));
  pollReloads.set(chatId, setTimeout(() => {
    pollReloads.delete(chatId);
    void loadPolls(chatId).catch(() => {});
  }, 200));
}

/** Votes in a poll (option indexes; `[]` takes the vote back); the answer has the new counts. */
export async function vote(chatId: number, seq: number, options: number[]): Promise<void> {
  const results = await api.vote(chatId, seq, options);
  slot(app.polls, chatId)[seq] = results;
}

export async function loadThreads(chatId: number): Promise<void> {
  const asOf = chatById(chatId)?.last_seq ?? 0;
  const threads = await api.threads(chatId);
  const fresh: Record<number, ThreadSummary> = Object.fromEntries(threads.map((thread) => [thread.root, thread]));
  // A reply that came while the list was on its way is newer than the list.
  for (const local of Object.values(app.threads[chatId] ?? {})) {
    if (local.last_seq > asOf && local.last_seq > (fresh[local.root]?.last_seq ?? 0)) fresh[local.root] = local;
  }
  app.threads[chatId] = fresh;
}

/** Every reply of the thread under `root`, oldest first (a page at a time from the server). */
export async function loadThread(chatId: number, root: number): Promise<void> {
  const replies: Message[] = [];
  for (let page = 0; page < 20; page++) {
    const batch = await api.thread(chatId, root, { after: replies.at(-1)?.seq ?? 0, limit: 100 });
    replies.push(...batch);
    if (batch.length < 100) break;
  }
  await loadSenders(replies);
  // Replies that came live while loading are kept.
  const live = (app.threadReplies[chatId]?.[root] ?? []).filter((m) => m.seq > (replies.at(-1)?.seq ?? 0));
  slot(app.threadReplies, chatId)[root] = [...replies, ...live];
}

export async function loadPin(chatId: number): Promise<void> {
  app.pins[chatId] = await api.pinned(chatId);
}

/** Pins a message at the top of the chat, or (null) takes the pin down. */
export async function setPin(chatId: number, seq: number | null): Promise<void> {
  app.pins[chatId] = await api.pin(chatId, seq);
}

/** The chat's message `seq` from whatever is loaded, or undefined. */
export function findMessage(chatId: number, seq: number): Message | undefined {
  const inHistory = app.messages[chatId]?.find((m) => m.seq === seq);
  if (inHistory) return inHistory;
  for (const replies of Object.values(app.threadReplies[chatId] ?? {})) {
    const reply = replies.find((m) => m.seq === seq);
    if (reply) return reply;
  }
  return app.loose[chatId]?.[seq];
}

/** Fetches message `seq` if it is not loaded (the pinned message may be far back). */
export async function ensureMessage(chatId: number, seq: number): Promise<Message | undefined> {
  const found = findMessage(chatId, seq);
  if (found) return found;
  const [message] = await api.messages(chatId, { after: seq - 1, limit: 1 });
  if (!message || message.seq !== seq) return undefined;
  await loadSenders([message]);
  slot(app.loose, chatId)[seq] = message;
  return message;
}

export async function loadMembers(chatId: number): Promise<Member[]> {
  const members = await api.members(chatId);
  for (const member of members) app.users[member.user.id] = member.user;
  app.members[chatId] = members;
  return members;
}

/** Members changed: load them again if the chat is open, else when it opens. */
function membersChanged(chatId: number): void {
  if (app.openChat === chatId) void loadMembers(chatId).catch(() => {});
  else delete app.members[chatId];
}

/** A new or edited message's part in threads, polls and single fetched messages. */
function applyToDetails(message: Message): void {
  const chatId = message.chat_id;
  const loose = app.loose[chatId]?.[message.seq];
  if (loose) app.loose[chatId][message.seq] = message;
  if (message.thread_of) {
    const root = message.thread_of;
    const replies = app.threadReplies[chatId]?.[root];
    if (replies) {
      const index = replies.findIndex((m) => m.seq === message.seq);
      if (index >= 0) replies[index] = message;
      else app.threadReplies[chatId][root] = [...replies, message].sort((a, b) => a.seq - b.seq);
    }
    const threads = app.threads[chatId];
    if (threads && !message.deleted) {
      const summary = threads[root];
      if (!summary) threads[root] = { root, replies: 1, last_seq: message.seq, last_at: message.created_at };
      else if (message.seq > summary.last_seq) {
        threads[root] = { root, replies: summary.replies + 1, last_seq: message.seq, last_at: message.created_at };
      }
    }
  }
  if (message.poll && !message.deleted && !app.polls[chatId]?.[message.seq]) {
    const poll = message.poll;
    slot(app.polls, chatId)[message.seq] = {
      seq: message.seq, mine: [], closed: poll.closes_at !== null && poll.closes_at <= Date.now(),
      tally: { counts: poll.options.map(() => 0), voters: 0, voter_ids: poll.anonymous ? null : poll.options.map(() => []) },
    };
    // A poll that comes in a catch-up may have votes already.
    if (app.openChat === chatId) reloadPollsSoon(chatId);
  }
}

// --- bots' buttons (web-keyboard) ---

/** A press of a bot's callback button: which button (`row.column`), and whether the bot let the
 * wait for its answer run out. `id` tells one press from the next. */
export interface ButtonPress { id: number; button: string; unanswered: boolean }
/** An `open_app` button pressed: whose mini-app, from which chat, with the bot's payload, and the
 * button, for focus to go back to. */
export interface AppRequest { username: string; chatId: number; startParam: string | null; opener: HTMLElement }

/** How long the message's callback buttons wait for the bot's answer before taking presses again. */
const ANSWER_WAIT_MS = 10_000;
let pressCount = 0;

/** Presses a bot's callback button: its message's callback buttons wait for the bot's answer
 * (a `callback.answered` event) or for ANSWER_WAIT_MS. A refused press throws its ApiError. */
export async function pressCallback(chatId: number, seq: number, button: string, payload: string): Promise<void> {
  const id = ++pressCount;
  slot(app.presses, chatId)[seq] = { id, button, unanswered: false };
  const current = () => app.presses[chatId]?.[seq]?.id === id;
  setTimeout(() => {
    if (current()) app.presses[chatId][seq].unanswered = true;
  }, ANSWER_WAIT_MS);
  try {
    await api.pressButton(chatId, seq, payload);
  } catch (error) {
    if (current()) delete app.presses[chatId][seq];
    throw error;
  }
}

/** Takes the bot's notification waiting for the chat, to show it (once). */
export function takeNotice(chatId: number): string | null {
  const notice = app.notices[chatId];
  if (notice === undefined) return null;
  delete app.notices[chatId];
  return notice;
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
      e2ee.onReady();
      if (app.openChat !== null) {
        void loadHeld(app.openChat).catch(() => {});
        // Live poll counts are not resumed: read them again.
        void loadPolls(app.openChat).catch(() => {});
      }
      // Other chats' poll counts may have moved meanwhile: loaded again when opened.
      for (const id of Object.keys(app.polls).map(Number)) if (id !== app.openChat) delete app.polls[id];
      break;
    case 'resync':
      app.messages = {};
      app.complete = {};
      forgetChatDetails();
      if (app.openChat !== null) void loadChatDetails(app.openChat);
      void refreshChats();
      e2ee.onReady();
      break;
    case 'message.new':
    case 'message.edited':
      // Whoever just sent has stopped typing.
      delete app.typing[frame.message.chat_id]?.[frame.message.sender_id];
      applyMessage(frame.message);
      // Messages of encrypted chats go to the device in the order they came.
      if (frame.type === 'message.new' && frame.message.mls) e2ee.onMessage(frame.message);
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
      if (frame.user_id === app.me?.id) forgetChat(frame.chat_id);
      // Someone left an encrypted chat: their devices' leaves are removed by a commit.
      else if (isEncrypted(chatById(frame.chat_id))) e2ee.onGroupChange(frame.chat_id);
      membersChanged(frame.chat_id);
      void refreshChats();
      break;
    case 'member.muted': {
      const mutes = slot(app.mutes, frame.chat_id);
      if (frame.until === null) delete mutes[frame.user_id];
      else mutes[frame.user_id] = frame.until;
      const chat = chatById(frame.chat_id);
      if (chat && frame.user_id === app.me?.id) chat.muted_until = frame.until;
      break;
    }
    case 'member.added':
    case 'member.updated':
      // Someone joined an encrypted chat: their devices are added by a commit.
      if (frame.type === 'member.added' && isEncrypted(chatById(frame.chat_id))) e2ee.onGroupChange(frame.chat_id);
      membersChanged(frame.chat_id);
      void refreshChats();
      break;
    case 'mls.welcome':
      e2ee.onWelcome();
      break;
    case 'mls.changed':
      e2ee.onGroupChange(frame.chat_id);
      break;
    case 'mls.key_packages_low':
      e2ee.onKeyPackagesLow();
      break;
    case 'chat.created':
    case 'chat.updated':
      void refreshChats();
      break;
    case 'poll.voted': {
      const results = app.polls[frame.chat_id]?.[frame.seq];
      if (results) results.tally = frame.tally;
      else if (app.openChat === frame.chat_id) reloadPollsSoon(frame.chat_id);
      break;
    }
    case 'pinned':
      app.pins[frame.chat_id] = frame.seq;
      break;
    case 'reminder':
      addReminder(frame.chat_id, frame.seq);
      break;
    case 'callback.answered':
      delete app.presses[frame.chat_id]?.[frame.seq];
      // Said only while the chat is open: later it would come out of the blue.
      if (frame.notification && app.openChat === frame.chat_id) app.notices[frame.chat_id] = frame.notification;
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
