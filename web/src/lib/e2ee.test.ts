// lib/e2ee.svelte.ts without a server: a fake chat history and a fake device that behaves as
// lib/mls/device.ts does where it matters here (a position per chat that only moves forward,
// nothing read before it joined, its own messages skipped), and records the order it was fed.
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type Chat, type Message } from './api';
import { E2ee, HIDDEN, NotReady, PENDING, UNREADABLE, type DeviceLike, type Deps } from './e2ee.svelte';
import type { Content } from './mls/content';
import type { Received } from './mls/device';

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
  /** Errors the next sends throw, one each. */
  sendErrors: Error[] = [];
  commitErrors: Error[] = [];
  sends = 0;

  constructor(private readonly server: FakeServer) {}

  isMember(chatId: number) { return this.members.has(chatId); }

  async history(chatId: number) { return [...(this.vault.get(chatId) ?? [])]; }

  async replenish() {}

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
    const received = { seq: message.seq, senderId: message.sender_id, content: JSON.parse(message.mls.data!) as Content };
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

  async send(chatId: number, content: Content): Promise<Message> {
    this.sends += 1;
    const error = this.sendErrors.shift();
    if (error) throw error;
    const message = this.server.append(chatId, ME, 'application', content);
    this.own.add(message.seq);
    this.keep(chatId, { seq: message.seq, senderId: ME, content });
    return message;
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
      epoch: server.epoch.get(chatId) ?? 0, pending_add: server.pendingAdd, pending_remove: server.pendingRemove,
    })),
    close: vi.fn(),
    forgetVault: vi.fn(async () => {}),
    wait: () => Promise.resolve(),
    random: () => 0.5,
    now: () => 1_000_000,
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
  it('sends text with its reply, and the text is known at once', async () => {
    const { server, e2ee } = setup();
    server.text(CHAT, 2, 'Вопрос');
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    const message = await e2ee.send(CHAT, 'Ответ ✅', 1);
    expect(JSON.parse(message.mls!.data!)).toEqual({ t: 'text', text: 'Ответ ✅', reply_to: 1 });
    expect(e2ee.reading(CHAT, message.seq)).toEqual({ text: 'Ответ ✅', replyTo: 1, senderId: ME, edited: false });
    expect(e2ee.latest[CHAT]).toEqual({ seq: message.seq, text: 'Ответ ✅' });
  });

  it('after mls_commit_required commits, after mls_epoch_stale syncs, then sends again', async () => {
    const { server, device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    device.sendErrors = [new ApiError(409, 'mls_commit_required', 'x'), new ApiError(409, 'mls_epoch_stale', 'x')];
    server.pendingRemove = [3];
    const staleReason = server.text(CHAT, 2, 'пришло между');
    const message = await e2ee.send(CHAT, 'Наконец');
    expect(device.commits).toBe(1);
    expect(device.sends).toBe(3);
    expect(text(e2ee, staleReason.seq)).toBe('пришло между');
    expect(text(e2ee, message.seq)).toBe('Наконец');
  });

  it('other refusals reach the caller; a device not in the group yet says so', async () => {
    const { device, e2ee } = setup();
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    device.sendErrors = [new ApiError(403, 'muted', 'muted')];
    await expect(e2ee.send(CHAT, 'нельзя')).rejects.toMatchObject({ code: 'muted' });
    device.members.delete(CHAT);
    await expect(e2ee.send(CHAT, 'ещё нельзя')).rejects.toBeInstanceOf(NotReady);
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
  it('signing out forgets what was read and the sealed vault of the device', async () => {
    const { server, deps, e2ee } = setup();
    server.text(CHAT, 2, 'секрет');
    e2ee.track([chat(CHAT)]);
    await settle(e2ee);
    expect(text(e2ee, 1)).toBe('секрет');
    await e2ee.signedOut(true);
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
