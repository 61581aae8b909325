// lib/e2ee.svelte.ts without a server: a fake chat history and a fake device that behaves as
// lib/mls/device.ts does where it matters here (a position per chat that only moves forward,
// nothing read before it joined, its own messages skipped), and records the order it was fed.
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type Chat, type Message } from './api';
import { E2ee, HIDDEN, INSECURE, NotReady, PENDING, UNREADABLE, type DeviceLike, type Deps } from './e2ee.svelte';
import type { Content } from './mls/content';
import type { Queued, Received } from './mls/device';
import { Pins } from './mls/pins';
import { MemoryRecords } from './mls/vault';

const ME = 1;
const DEVICE = 11;
const CHAT = 5;

type AnyContent = Content | { t: 'edit'; of: number; text: string } | { t: 'react'; of: number; emoji: string; on: boolean };

class FakeServer {
  messages = new Map<number, Message[]>();
  epoch = new Map<number, number>();
  pendingAdd: { user_id: number; device_id: number }[] = [];
  pendingRemove: number[] = [];
  welcomes: { chatId: number; commitSeq: number }[] = [];
  /** The group's leaves, and each user's devices' signing keys. */
  leaves: { leaf: number; user_id: number; device_id: number; signature_key: string }[] = [];
  devices = new Map<number, Uint8Array[]>();
  /** Users whose devices were asked for, in order. */
  deviceLookups: number[] = [];
  /** Slows reads down, so that live messages come while a sync runs. */
  delay = 0;

  list(chatId: number): Message[] {
    if (!this.messages.has(chatId)) this.messages.set(chatId, []);
    return this.messages.get(chatId)!;
  }

  append(chatId: number, senderId: number, kind: 'application' | 'commit', content?: AnyContent): Message {
    const list = this.list(chatId);
    const seq = list.length + 1;
    const message: Message = {
      id: seq, chat_id: chatId, seq, sender_id: senderId, client_msg_id: `c${seq}`, text: '', reply_to: null, mentions: [],
      reactions: [], created_at: seq, edited_at: null, deleted: false,
      mls: { kind, epoch: this.epoch.get(chatId) ?? 0, data: content ? JSON.stringify(content) : 'commit' },
    };
    list.push(message);
    return message;
  }

  text(chatId: number, senderId: number, text: string): Message {
    return this.append(chatId, senderId, 'application', { t: 'text', text });
  }

  /** A send as the server takes it: a repeated client_msg_id gets the message it already has. */
  sendOnce(chatId: number, senderId: number, content: AnyContent, clientMsgId: string): Message {
    const first = this.list(chatId).find((m) => m.sender_id === senderId && m.client_msg_id === clientMsgId);
    if (first) return first;
    const message = this.append(chatId, senderId, 'application', content);
    message.client_msg_id = clientMsgId;
    return message;
  }

  async after(chatId: number, seq: number): Promise<Message[]> {
    if (this.delay) await new Promise((resolve) => setTimeout(resolve, this.delay));
    return this.list(chatId).filter((m) => m.seq > seq).slice(0, 3); // small pages
  }
}

class FakeDevice implements DeviceLike {
  readonly identity = { userId: ME, deviceId: DEVICE };
  readonly seen = new Map<number, number>();
  readonly members = new Set<number>();
  readonly own = new Set<number>();
  /** Every seq the device moved its position to, per chat, in order. */
  readonly fed = new Map<number, number[]>();
  readonly vault = new Map<number, Received[]>();
  commits = 0;
  closed = false;
  /** Errors the next sends throw, one each. */
  sendErrors: Error[] = [];
  /** Errors thrown after the next sends reached the server (the answer was lost), one each. */
  lostAnswers: Error[] = [];
  commitErrors: Error[] = [];
  sends = 0;
  /** The sealed outbox, per chat, oldest first. */
  readonly outbox = new Map<number, Queued[]>();
  private queuedCount = 0;

  readonly pins = new Pins(new MemoryRecords());

  constructor(private readonly server: FakeServer) {}

  isMember(chatId: number) { return this.members.has(chatId); }

  async signatureKeys(userId: number) {
    this.server.deviceLookups.push(userId);
    return this.server.devices.get(userId) ?? [];
  }

  async safety(other: number) {
    const keys = await this.signatureKeys(other);
    return { number: `${ME}:${other}:${keys.length}`, code: `kolokol-safety:${ME}:${other}`, keys };
  }

  epochCode(chatId: number) { return this.members.has(chatId) ? `epoch ${this.server.epoch.get(chatId)}` : null; }

  async history(chatId: number) { return [...(this.vault.get(chatId) ?? [])]; }

  async replenish() {}
  close() { this.closed = true; }

  private keep(chatId: number, received: Received) {
    this.vault.set(chatId, [...(this.vault.get(chatId) ?? []), received]);
  }

  async process(chatId: number, message: Message): Promise<Received | null> {
    const seen = this.seen.get(chatId) ?? 0;
    if (message.seq <= seen) return null;
    this.fed.set(chatId, [...(this.fed.get(chatId) ?? []), message.seq]);
    this.seen.set(chatId, message.seq);
    if (!this.members.has(chatId) || this.own.has(message.seq) || message.mls?.kind !== 'application') return null;
    if (message.mls.data === 'garbled') throw new Error('cannot decrypt');
    const received = { seq: message.seq, senderId: message.sender_id, content: JSON.parse(message.mls.data!) as Content, disclosure: message.mls.data! };
    this.keep(chatId, received);
    return received;
  }

  async sync(chatId: number): Promise<Received[]> {
    const read: Received[] = [];
    for (;;) {
      const page = await this.server.after(chatId, this.seen.get(chatId) ?? 0);
      if (!page.length || !this.members.has(chatId)) return read;
      for (const message of page) {
        const received = await this.process(chatId, message);
        if (received) read.push(received);
      }
    }
  }

  async send(chatId: number, content: Content, clientMsgId = `m${this.sends}`): Promise<Message> {
    this.sends += 1;
    const error = this.sendErrors.shift();
    if (error) throw error;
    const message = this.server.sendOnce(chatId, ME, content, clientMsgId);
    const lost = this.lostAnswers.shift();
    if (lost) throw lost;
    this.own.add(message.seq);
    this.keep(chatId, { seq: message.seq, senderId: ME, content });
    return message;
  }

  async forget(chatId: number, seq: number, edits: number[]) {
    const kept = (this.vault.get(chatId) ?? []).filter((r) => r.seq !== seq);
    this.vault.set(chatId, kept.map((r) => (edits.includes(r.seq) ? { seq: r.seq, senderId: r.senderId, content: { t: 'edit', of: seq, text: '' } } : r)));
  }

  async queue(chatId: number, content: Content): Promise<Queued> {
    this.queuedCount += 1;
    const item = { clientMsgId: `q${this.queuedCount}`, content, queuedAt: this.queuedCount };
    this.outbox.set(chatId, [...(this.outbox.get(chatId) ?? []), item]);
    return item;
  }

  async queued(chatId: number) { return [...(this.outbox.get(chatId) ?? [])]; }

  async unqueue(chatId: number, item: Queued) {
    this.outbox.set(chatId, (this.outbox.get(chatId) ?? []).filter((q) => q.clientMsgId !== item.clientMsgId));
  }

  async commit(chatId: number): Promise<Message> {
    const error = this.commitErrors.shift();
    if (error) throw error;
    this.commits += 1;
    this.server.epoch.set(chatId, (this.server.epoch.get(chatId) ?? 0) + 1);
    const message = this.server.append(chatId, ME, 'commit');
    this.server.pendingAdd = [];
    this.server.pendingRemove = [];
    this.members.add(chatId);
    this.own.add(message.seq);
    this.seen.set(chatId, message.seq);
    return message;
  }

  async acceptWelcomes(): Promise<number[]> {
    const joined = this.server.welcomes.map((w) => w.chatId);
    for (const welcome of this.server.welcomes) {
      this.members.add(welcome.chatId);
      this.seen.set(welcome.chatId, welcome.commitSeq);
    }
    this.server.welcomes = [];
    return joined;
  }
}

function setup(options: { member?: boolean } = {}) {
  const server = new FakeServer();
  const device = new FakeDevice(server);
  if (options.member ?? true) {
    device.members.add(CHAT);
    server.epoch.set(CHAT, 1);
  }
  const deps: Deps = {
    open: vi.fn(async () => device),
    mlsGroup: vi.fn(async (chatId: number) => ({
      epoch: server.epoch.get(chatId) ?? 0, leaves: server.leaves, pending_add: server.pendingAdd, pending_remove: server.pendingRemove,
    })),
    close: vi.fn(),
    forgetVault: vi.fn(async () => {}),
    wait: () => Promise.resolve(),
    random: () => 0.5,
    now: () => 1_000_000,
    secure: () => true,
  };
  const e2ee = new E2ee(deps);
  e2ee.signedIn(ME);
  return { server, device, deps, e2ee };
}

function chat(id: number, last: Message | null = null, created_at = 0): Chat {
  return {
    id, kind: 'group', title: 'Группа', peer: null, role: 'owner', member_count: 2, last_seq: last?.seq ?? 0, read_seq: 0,
    unread_count: 0, last_message: last, created_at, last_activity_at: 0, posting: 'everyone', slow_mode_secs: 0, privacy: 'encrypted',
  };
}

/** Until every chain and commit has run out. */
async function settle(e2ee: E2ee) {
  for (let i = 0; i < 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (Object.values(e2ee.busy).every((n) => n === 0) && i > 5) return;
  }
  throw new Error('e2ee never settled');
}

/** A message as the server sends it, without the fake server (it never reaches a device here). */
function messageOf(chatId: number, seq: number): Message {
  return {
    id: seq, chat_id: chatId, seq, sender_id: 2, client_msg_id: `x${seq}`, text: '', reply_to: null, mentions: [], reactions: [],
    created_at: seq, edited_at: null, deleted: false, mls: { kind: 'application', epoch: 1, data: '{}' },
  };
}

const text = (e2ee: E2ee, seq: number) => {
  const reading = e2ee.reading(CHAT, seq);
  return typeof reading === 'object' ? reading.text : reading;
};

describe('the order messages reach the device', () => {
  it('live messages that come during the first sync are processed after it, each once, in seq order', async () => {
    const { server, device, e2ee } = setup();
    server.delay = 3;
    for (let i = 1; i <= 7; i++) server.text(CHAT, 2, `старое ${i}`);
    e2ee.track([chat(CHAT)]);
    // While the sync pages through the history, more come live (and one is delivered twice).
    for (let i = 8; i <= 12; i++) {
      const message = server.text(CHAT, 2, `новое ${i} 🎉`);
      e2ee.onMessage(message);
      if (i === 10) e2ee.onMessage(message);
    }
    await settle(e2ee);
    expect(device.fed.get(CHAT)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(text(e2ee, 1)).toBe('старое 1');
    expect(text(e2ee, 12)).toBe('новое 12 🎉');
    expect(e2ee.keys[CHAT]).toBe('ready');
  });

  it('a message after a gap makes the device fetch what it missed instead of skipping it', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    e2ee.onMessage(server.text(CHAT, 2, 'один'));
    await settle(e2ee);
    server.text(CHAT, 2, 'два (его событие потерялось)');
    server.text(CHAT, 2, 'три');
    e2ee.onMessage(server.text(CHAT, 2, 'четыре'));
    await settle(e2ee);
    expect(device.fed.get(CHAT)).toEqual([1, 2, 3, 4]);
    expect([1, 2, 3, 4].map((seq) => text(e2ee, seq))).toEqual(['один', 'два (его событие потерялось)', 'три', 'четыре']);
  });

  it('a message delivered again (a resumed stream) changes nothing', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    const message = server.text(CHAT, 2, 'Привет');
    e2ee.onMessage(message);
    e2ee.onMessage(message);
    await settle(e2ee);
    e2ee.onMessage(message);
    await settle(e2ee);
    expect(device.fed.get(CHAT)).toEqual([1]);
    expect(text(e2ee, 1)).toBe('Привет');
  });

  it('what the vault read before a reload shows without decrypting again', async () => {
    const { server, device, e2ee } = setup();
    server.text(CHAT, 2, 'до перезагрузки');
    device.vault.set(CHAT, [{ seq: 1, senderId: 2, content: { t: 'text', text: 'до перезагрузки' } }]);
    device.seen.set(CHAT, 1);
    e2ee.onHistory(CHAT);
    await settle(e2ee);
    expect(text(e2ee, 1)).toBe('до перезагрузки');
    expect(device.fed.get(CHAT)).toBeUndefined();
  });
});

describe('what cannot be read', () => {
  it('messages from before this device joined are unreadable once it has caught up; pending before', async () => {
    const { server, device, e2ee } = setup({ member: false });
    server.text(CHAT, 2, 'до меня 1');
    server.text(CHAT, 2, 'до меня 2');
    const added = server.append(CHAT, 2, 'commit');
    server.welcomes.push({ chatId: CHAT, commitSeq: added.seq });
    expect(e2ee.reading(CHAT, 1)).toBe(PENDING);
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(device.isMember(CHAT)).toBe(true);
    e2ee.onMessage(server.text(CHAT, 2, 'после меня'));
    await settle(e2ee);
    expect(e2ee.reading(CHAT, 1)).toBe(UNREADABLE);
    expect(e2ee.reading(CHAT, 2)).toBe(UNREADABLE);
    expect(text(e2ee, 4)).toBe('после меня');
  });

  it('a device waiting to be added cannot read what came before, and reads what follows its Welcome', async () => {
    const { server, e2ee } = setup({ member: false });
    server.epoch.set(CHAT, 2);
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(e2ee.keys[CHAT]).toBe('waiting');
    const before = server.text(CHAT, 2, 'пока ждём');
    e2ee.onMessage(before);
    await settle(e2ee);
    expect(e2ee.reading(CHAT, before.seq)).toBe(UNREADABLE);
    const added = server.append(CHAT, 2, 'commit');
    server.welcomes.push({ chatId: CHAT, commitSeq: added.seq });
    server.text(CHAT, 2, 'добро пожаловать');
    e2ee.onWelcome();
    await settle(e2ee);
    expect(e2ee.keys[CHAT]).toBe('ready');
    expect(e2ee.reading(CHAT, before.seq)).toBe(UNREADABLE);
    expect(text(e2ee, 3)).toBe('добро пожаловать');
  });

  it('a message that fails to decrypt is marked unreadable, and the next one is read', async () => {
    const { server, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    const bad = server.text(CHAT, 2, 'x');
    bad.mls!.data = 'garbled';
    e2ee.onMessage(bad);
    e2ee.onMessage(server.text(CHAT, 2, 'дальше'));
    await settle(e2ee);
    expect(e2ee.reading(CHAT, 1)).toBe(UNREADABLE);
    expect(text(e2ee, 2)).toBe('дальше');
  });
});

describe('edits and reactions inside encrypted content', () => {
  it('an edit changes the text only when it comes from the original sender; both are hidden', async () => {
    const { server, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    e2ee.onMessage(server.text(CHAT, 2, 'Собрание в четверг'));
    e2ee.onMessage(server.append(CHAT, 3, 'application', { t: 'edit', of: 1, text: 'подделка' }));
    e2ee.onMessage(server.append(CHAT, 2, 'application', { t: 'edit', of: 1, text: 'Собрание в пятницу' }));
    e2ee.onMessage(server.append(CHAT, 3, 'application', { t: 'react', of: 1, emoji: '👍', on: true }));
    await settle(e2ee);
    expect(e2ee.reading(CHAT, 1)).toEqual({ text: 'Собрание в пятницу', replyTo: null, senderId: 2, edited: true });
    expect([2, 3, 4].map((seq) => e2ee.reading(CHAT, seq))).toEqual([HIDDEN, HIDDEN, HIDDEN]);
  });
});

describe('chat list previews', () => {
  it('the decrypted text, else null (the list says «Зашифрованное сообщение»)', async () => {
    const { server, e2ee } = setup();
    const first = server.text(CHAT, 2, 'Кто заберёт детей?');
    expect(e2ee.preview(chat(CHAT, first))).toBeNull();
    e2ee.track([chat(CHAT, first)]);
    await settle(e2ee);
    expect(e2ee.preview(chat(CHAT, first))).toBe('Кто заберёт детей?');
    // The newest is a commit (a member was added): the newest text read stays.
    const commit = server.append(CHAT, 2, 'commit');
    e2ee.onMessage(commit);
    await settle(e2ee);
    expect(e2ee.preview(chat(CHAT, commit))).toBe('Кто заберёт детей?');
    // A reaction is newest: still the text.
    const reaction = server.append(CHAT, 2, 'application', { t: 'react', of: 1, emoji: '👍', on: true });
    e2ee.onMessage(reaction);
    await settle(e2ee);
    expect(e2ee.preview(chat(CHAT, reaction))).toBe('Кто заберёт детей?');
    // Nothing sent yet, only the group's start.
    expect(e2ee.preview(chat(99, null))).toBe('');
  });
});

describe('sending', () => {
  /** The texts of the chat's messages on the server, in seq order. */
  const sent = (server: FakeServer) => server.list(CHAT).filter((m) => m.mls?.kind === 'application').map((m) => (JSON.parse(m.mls!.data!) as Content));

  it('sends text with its reply through the outbox, and the text is known at once', async () => {
    const { server, e2ee } = setup();
    const outcomes = { sent: vi.fn(), refused: vi.fn() };
    e2ee.outcomes = outcomes;
    server.text(CHAT, 2, 'Вопрос');
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    await e2ee.send(CHAT, 'Ответ ✅', 1);
    await settle(e2ee);
    const message = server.list(CHAT).at(-1)!;
    expect(JSON.parse(message.mls!.data!)).toEqual({ t: 'text', text: 'Ответ ✅', reply_to: 1 });
    expect(outcomes.sent).toHaveBeenCalledWith(message);
    expect(e2ee.reading(CHAT, message.seq)).toEqual({ text: 'Ответ ✅', replyTo: 1, senderId: ME, edited: false });
    expect(e2ee.latest[CHAT]).toEqual({ seq: message.seq, text: 'Ответ ✅' });
    expect(e2ee.outbox[CHAT]).toEqual([]);
  });

  it('after mls_commit_required commits, after mls_epoch_stale syncs, then sends again under the same id', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    device.sendErrors = [new ApiError(409, 'mls_commit_required', 'x'), new ApiError(409, 'mls_epoch_stale', 'x')];
    server.pendingRemove = [3];
    const staleReason = server.text(CHAT, 2, 'пришло между');
    await e2ee.send(CHAT, 'Наконец');
    await settle(e2ee);
    expect(device.commits).toBe(1);
    expect(device.sends).toBe(3);
    expect(text(e2ee, staleReason.seq)).toBe('пришло между');
    const message = server.list(CHAT).at(-1)!;
    expect(message.client_msg_id).toBe('q1');
    expect(text(e2ee, message.seq)).toBe('Наконец');
  });

  it('a refusal gives the text back to the app and the rest of the queue still goes; a device not in the group yet says so', async () => {
    const { server, device, e2ee } = setup();
    const outcomes = { sent: vi.fn(), refused: vi.fn() };
    e2ee.outcomes = outcomes;
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    device.sendErrors = [new ApiError(403, 'muted', 'muted')];
    await e2ee.send(CHAT, 'нельзя');
    await e2ee.send(CHAT, 'уже можно');
    await settle(e2ee);
    expect(outcomes.refused).toHaveBeenCalledWith(CHAT, 'muted', { t: 'text', text: 'нельзя' });
    expect(sent(server)).toEqual([{ t: 'text', text: 'уже можно' }]);
    expect(await device.queued(CHAT)).toEqual([]);
    device.members.delete(CHAT);
    await expect(e2ee.send(CHAT, 'ещё нельзя')).rejects.toBeInstanceOf(NotReady);
  });

  it('offline, sends wait sealed in the outbox in order, and go out on reconnect, each once', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    // The network is gone: each flush stops at the first, and what is queued after it waits behind it.
    device.sendErrors = [new TypeError('Failed to fetch'), new TypeError('Failed to fetch')];
    await e2ee.send(CHAT, 'первое');
    await e2ee.send(CHAT, 'второе');
    await settle(e2ee);
    expect(sent(server)).toEqual([]);
    expect(e2ee.outbox[CHAT].map((item) => item.content)).toEqual([{ t: 'text', text: 'первое' }, { t: 'text', text: 'второе' }]);
    // The next try reaches the server, but its answer is lost: the message is there, this device does not know.
    device.lostAnswers = [new TypeError('network changed')];
    e2ee.onReady();
    await settle(e2ee);
    expect(sent(server)).toEqual([{ t: 'text', text: 'первое' }]);
    expect(e2ee.outbox[CHAT]).toHaveLength(2);
    // Back for good: the first goes again under its id, and the server answers with the one it has.
    e2ee.onReady();
    await settle(e2ee);
    expect(sent(server)).toEqual([{ t: 'text', text: 'первое' }, { t: 'text', text: 'второе' }]);
    expect(server.list(CHAT).map((m) => m.client_msg_id)).toEqual(['q1', 'q2']);
    expect(e2ee.outbox[CHAT]).toEqual([]);
    expect(await device.queued(CHAT)).toEqual([]);
  });

  it('what was queued before a reload goes once the chat is looked at again', async () => {
    const { server, device, e2ee } = setup();
    await device.queue(CHAT, { t: 'text', text: 'написано до перезагрузки' });
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(sent(server)).toEqual([{ t: 'text', text: 'написано до перезагрузки' }]);
    expect(e2ee.outbox[CHAT]).toEqual([]);
  });
});

describe('reactions, edits and deletes of encrypted messages', () => {
  it('per sender and emoji the latest reaction stands; words are not reactions; one\'s own toggles', async () => {
    const { server, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    const react = (sender: number, emoji: string, on: boolean) => e2ee.onMessage(server.append(CHAT, sender, 'application', { t: 'react', of: 1, emoji, on }));
    e2ee.onMessage(server.text(CHAT, 2, 'Собрание в четверг'));
    react(2, '👍', true);
    react(3, '👍', true);
    react(2, '❤️', true);
    react(2, '👍', false);
    react(3, 'LOL', true);
    await settle(e2ee);
    expect(e2ee.reactionsTo(CHAT, 1)).toEqual([{ emoji: '👍', user_ids: [3] }, { emoji: '❤️', user_ids: [2] }]);
    await e2ee.toggleReaction(CHAT, 1, '👍');
    await settle(e2ee);
    expect(e2ee.reactionsTo(CHAT, 1)).toEqual([{ emoji: '👍', user_ids: [3, ME] }, { emoji: '❤️', user_ids: [2] }]);
    await e2ee.toggleReaction(CHAT, 1, '👍');
    await settle(e2ee);
    expect(e2ee.reactionsTo(CHAT, 1)).toEqual([{ emoji: '👍', user_ids: [3] }, { emoji: '❤️', user_ids: [2] }]);
    const mine = server.list(CHAT).filter((m) => m.sender_id === ME).map((m) => JSON.parse(m.mls!.data!));
    expect(mine).toEqual([{ t: 'react', of: 1, emoji: '👍', on: true }, { t: 'react', of: 1, emoji: '👍', on: false }]);
    expect(e2ee.reading(CHAT, 2)).toBe(HIDDEN);
  });

  it('an older reaction read after a newer one (another device of mine sent it meanwhile) does not undo it', async () => {
    const { server, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    e2ee.onMessage(server.text(CHAT, 2, 'Привет'));
    await settle(e2ee);
    const older = server.append(CHAT, ME, 'application', { t: 'react', of: 1, emoji: '🙏', on: false });
    await e2ee.toggleReaction(CHAT, 1, '🙏');
    await settle(e2ee);
    e2ee.onMessage(older);
    await settle(e2ee);
    expect(e2ee.reactionsTo(CHAT, 1)).toEqual([{ emoji: '🙏', user_ids: [ME] }]);
  });

  it('one\'s own edit goes as an edit and shows as edited', async () => {
    const { server, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    await e2ee.send(CHAT, 'Собрание в четверг');
    await settle(e2ee);
    await e2ee.edit(CHAT, 1, 'Собрание в пятницу');
    await settle(e2ee);
    expect(JSON.parse(server.list(CHAT)[1].mls!.data!)).toEqual({ t: 'edit', of: 1, text: 'Собрание в пятницу' });
    expect(e2ee.reading(CHAT, 1)).toEqual({ text: 'Собрание в пятницу', replyTo: null, senderId: ME, edited: true });
    expect(e2ee.reading(CHAT, 2)).toBe(HIDDEN);
  });

  it('what a report would disclose is kept for each message read; not for what older versions kept', async () => {
    const { server, device, e2ee } = setup();
    server.text(CHAT, 2, 'старое');
    device.vault.set(CHAT, [{ seq: 1, senderId: 2, content: { t: 'text', text: 'старое' } }]);
    device.seen.set(CHAT, 1);
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    const fresh = server.text(CHAT, 2, 'Реклама 🎰');
    e2ee.onMessage(fresh);
    e2ee.onMessage(server.append(CHAT, 2, 'application', { t: 'edit', of: 2, text: 'исправлено' }));
    await settle(e2ee);
    expect(e2ee.disclosure(CHAT, 1)).toBeNull();
    // The bytes as received, and the text as sent (before the edit).
    expect(e2ee.disclosure(CHAT, 2)).toEqual({ bytes: fresh.mls!.data, text: 'Реклама 🎰' });
  });

  it('a deleted message is forgotten: its text, its edits\' text, its reactions, in the view and the vault', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    e2ee.onMessage(server.text(CHAT, 2, 'удалю'));
    e2ee.onMessage(server.append(CHAT, 2, 'application', { t: 'edit', of: 1, text: 'удалю точно' }));
    e2ee.onMessage(server.append(CHAT, 3, 'application', { t: 'react', of: 1, emoji: '😮', on: true }));
    e2ee.onMessage(server.text(CHAT, 2, 'останется'));
    await settle(e2ee);
    e2ee.forget(CHAT, 1);
    await settle(e2ee);
    expect(e2ee.reading(CHAT, 1)).toBe(UNREADABLE);
    expect(e2ee.reactionsTo(CHAT, 1)).toEqual([]);
    expect(e2ee.disclosure(CHAT, 1)).toBeNull();
    expect(e2ee.reading(CHAT, 2)).toBe(HIDDEN);
    const vault = JSON.stringify(await device.history(CHAT));
    expect(vault).not.toContain('удалю');
    expect(vault).toContain('останется');
  });
});

describe('commits', () => {
  it('several reasons at once make one commit, and none when nothing waits', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(device.commits).toBe(0);
    server.pendingAdd = [{ user_id: 2, device_id: 22 }];
    e2ee.onGroupChange(CHAT);
    e2ee.onGroupChange(CHAT);
    e2ee.onGroupChange(CHAT);
    await settle(e2ee);
    await settle(e2ee);
    expect(device.commits).toBe(1);
    // Only its own new device waits: that is for another device to add, not a key update here.
    server.pendingAdd = [{ user_id: ME, device_id: DEVICE }];
    e2ee.onGroupChange(CHAT);
    await settle(e2ee);
    expect(device.commits).toBe(1);
  });

  it('a commit that lost to another reads the winner and tries again only if still due', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    server.pendingAdd = [{ user_id: 2, device_id: 22 }];
    // Another member's device commits the same addition first.
    const commit = device.commit.bind(device);
    let tries = 0;
    device.commit = async (chatId) => {
      tries += 1;
      if (tries > 1) return commit(chatId);
      server.append(CHAT, 2, 'commit');
      server.pendingAdd = [];
      throw new ApiError(409, 'mls_epoch_conflict', 'another commit came first');
    };
    e2ee.onGroupChange(CHAT);
    await settle(e2ee);
    await settle(e2ee);
    expect(tries).toBe(1);
    expect(device.commits).toBe(0);
    expect(device.fed.get(CHAT)).toEqual([1]);
  });

  it('only the creating page starts a new group at once; another member waits for it', async () => {
    const { device, deps, e2ee } = setup({ member: false });
    const waits: number[] = [];
    deps.wait = (ms) => {
      waits.push(ms);
      return ms > 5000 ? new Promise(() => {}) : Promise.resolve();
    };
    e2ee.track([chat(CHAT, null, 1_000_000 - 1000)]);
    await settle(e2ee);
    expect(device.commits).toBe(0);
    expect(waits.some((ms) => ms > 25_000)).toBe(true);
    await e2ee.created(chat(7, null, 1_000_000));
    expect(device.commits).toBe(1);
    expect(device.isMember(7)).toBe(true);
    expect(e2ee.keys[7]).toBe('ready');
  });
});

describe('sessions', () => {
  it('a page that is not a secure context opens no device, and its encrypted chats say why', async () => {
    const { deps, e2ee } = setup();
    deps.secure = () => false;
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(deps.open).not.toHaveBeenCalled();
    expect(e2ee.failure).toBe(INSECURE);
    expect(e2ee.keys[CHAT]).toBe('failed');
    await expect(e2ee.send(CHAT, 'привет')).rejects.toThrow(INSECURE);
  });

  it('signing out forgets what was read and the sealed vault of the device', async () => {
    const { server, device, deps, e2ee } = setup();
    server.text(CHAT, 2, 'секрет');
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(text(e2ee, 1)).toBe('секрет');
    await e2ee.signedOut(true);
    expect(device.closed).toBe(true);
    expect(e2ee.decrypted).toEqual({});
    expect(e2ee.keys).toEqual({});
    expect(deps.forgetVault).toHaveBeenCalledWith(ME, DEVICE);
    expect(deps.close).toHaveBeenCalled();
    // Nothing opens without a user.
    e2ee.track([chat(CHAT)]);
    expect(deps.open).toHaveBeenCalledTimes(1);
  });

  it('a device that cannot start marks its chats, and is tried again on reconnect', async () => {
    const { device, deps, e2ee } = setup();
    let fail = true;
    deps.open = vi.fn(async () => {
      if (fail) throw new Error('no WebCrypto');
      return device;
    });
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(e2ee.keys[CHAT]).toBe('failed');
    expect(e2ee.failure).toBe('no WebCrypto');
    expect(e2ee.reading(CHAT, 1)).toBe(UNREADABLE);
    // Not tried again for every message (each try publishes new key packages)…
    e2ee.onMessage({ ...messageOf(CHAT, 1) });
    e2ee.track([chat(CHAT), chat(CHAT + 1)]);
    await settle(e2ee);
    expect(deps.open).toHaveBeenCalledTimes(1);
    expect(e2ee.keys[CHAT + 1]).toBe('failed');
    // …but on reconnect.
    fail = false;
    e2ee.onReady();
    await settle(e2ee);
    expect(e2ee.keys[CHAT]).toBe('ready');
    expect(e2ee.keys[CHAT + 1]).toBe('ready');
    expect(e2ee.failure).toBeNull();
    expect(deps.open).toHaveBeenCalledTimes(2);
  });
});

describe("contacts' keys", () => {
  const BORIS = 2;
  const VERA = 3;
  const key = (fill: number) => new Uint8Array(32).fill(fill);
  const leaf = (index: number, userId: number, deviceId: number, signatureKey = `k${deviceId}`) =>
    ({ leaf: index, user_id: userId, device_id: deviceId, signature_key: signatureKey });

  it('opening a chat pins the others in its group quietly, once; a new device is noticed and the notice outlives a reload', async () => {
    const { server, e2ee } = setup();
    server.leaves = [leaf(0, ME, DEVICE), leaf(1, BORIS, 21), leaf(2, VERA, 31)];
    server.devices.set(BORIS, [key(21)]);
    server.devices.set(VERA, [key(31)]);
    e2ee.track([chat(CHAT)]);
    e2ee.onOpen(CHAT);
    await settle(e2ee);
    expect(e2ee.people[CHAT]).toEqual([BORIS, VERA]);
    expect(server.deviceLookups).toEqual([BORIS, VERA]);
    expect(e2ee.keyChanges(CHAT)).toEqual([]);
    expect(e2ee.epochCodes[CHAT]).toBe('epoch 1');
    // Opened again with the group as it was: no request per person.
    e2ee.onOpen(CHAT);
    await settle(e2ee);
    expect(server.deviceLookups).toEqual([BORIS, VERA]);

    // Boris signs in on a laptop, and a member's device has already added it to the group.
    server.devices.set(BORIS, [key(21), key(22)]);
    server.leaves = [...server.leaves, leaf(3, BORIS, 22)];
    e2ee.onGroupChange(CHAT);
    await settle(e2ee);
    expect(server.deviceLookups).toEqual([BORIS, VERA, BORIS]);
    expect(e2ee.keyChanges(CHAT)).toEqual([BORIS]);
    expect(e2ee.contacts[BORIS]).toMatchObject({ verified: false, keys: 2, change: { wasVerified: false, from: 1 } });

    // The page reloads (same device, same vault): the notice is still there until dismissed.
    await e2ee.signedOut(false);
    e2ee.signedIn(ME);
    e2ee.track([chat(CHAT)]);
    e2ee.onOpen(CHAT);
    await settle(e2ee);
    expect(e2ee.keyChanges(CHAT)).toEqual([BORIS]);
    await e2ee.dismiss(BORIS);
    expect(e2ee.keyChanges(CHAT)).toEqual([]);

    // This user's own new device: nobody's pin moves, but every safety number of theirs changes.
    const lookups = server.deviceLookups.length;
    server.leaves = [...server.leaves, leaf(4, ME, DEVICE + 1)];
    e2ee.onGroupChange(CHAT);
    await settle(e2ee);
    expect(e2ee.ownKeys).toBe(1);
    expect(server.deviceLookups).toHaveLength(lookups);
    expect(e2ee.keyChanges(CHAT)).toEqual([]);
  });

  it('a verified contact whose key changes is verified no more, and verifying again ends the warning', async () => {
    const { server, e2ee } = setup();
    server.leaves = [leaf(0, ME, DEVICE), leaf(1, BORIS, 21)];
    server.devices.set(BORIS, [key(21)]);
    e2ee.track([chat(CHAT)]);
    e2ee.onOpen(CHAT);
    await settle(e2ee);
    const shown = await e2ee.safety(BORIS);
    expect(shown?.number).toBe(`${ME}:${BORIS}:1`);
    await e2ee.verify(BORIS, shown!.keys);
    expect(e2ee.contacts[BORIS]).toMatchObject({ verified: true, change: null });

    // His browser lost its keys: one device still, under another key, in the same leaf.
    server.devices.set(BORIS, [key(23)]);
    server.leaves = [leaf(0, ME, DEVICE), leaf(1, BORIS, 21, 'k23')];
    e2ee.onGroupChange(CHAT);
    await settle(e2ee);
    expect(e2ee.contacts[BORIS]).toMatchObject({ verified: false, change: { wasVerified: true, from: 1 } });
    expect(e2ee.keyChanges(CHAT)).toEqual([BORIS]);

    const again = await e2ee.safety(BORIS);
    await e2ee.verify(BORIS, again!.keys);
    expect(e2ee.contacts[BORIS]).toMatchObject({ verified: true, change: null });
    expect(e2ee.keyChanges(CHAT)).toEqual([]);
    await e2ee.unverify(BORIS);
    expect(e2ee.contacts[BORIS].verified).toBe(false);
    // Someone with no device yet has no safety number to compare.
    expect(await e2ee.safety(VERA)).toBeNull();
  });
});
