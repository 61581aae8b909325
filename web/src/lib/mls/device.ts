// This browser session as an MLS device against the server: key packages kept published, commits
// of what a chat waits for, Welcomes accepted, messages processed strictly in seq order. The
// browser's counterpart of kolokol-e2ee's `device.rs`, so the two behave alike in one group.
// Its state and what it decrypted are kept sealed in the session's vault (vault.ts), written
// before a result is acted on, so a reload (or a crash) resumes where it was.

import { api, ApiError, type Message } from '../api';
import { fromBase64, toBase64 } from './bytes';
import { type Content, frame, open } from './content';
import { type DeviceIdentity, Group, Member } from './member';
import { Pins } from './pins';
import { epochCode, safetyCode, safetyNumber } from './safety';
import { type Records, openVault } from './vault';

/** Key packages kept published, besides the last-resort one; below `LOW`, more are published. */
export const KEY_PACKAGES = 20;
const LOW = 10;
const PAGE = 100;

/** What two people compare (Verify.svelte): their safety number and its QR code's text, with the
 * other's signing keys it was made from. */
export interface Safety { number: string; code: string; keys: Uint8Array[] }

/** A message read. `disclosure` is its content's bytes as decrypted (base64): what an abuse report
 * discloses, and nothing else; absent in what versions before reports kept (such a message cannot
 * be reported). */
export interface Received { seq: number; senderId: number; content: Content; disclosure?: string }

/** Content waiting to be sent (offline, or the server was unreachable): its `client_msg_id` is
 * fixed when queued, so sending it again can never make a second message; it is encrypted only
 * when sent, at the epoch of that moment. */
export interface Queued { clientMsgId: string; content: Content; queuedAt: number }

interface ChatState {
  group: Group | null;
  seen: number;
  own: Set<number>;
  /** A commit sent and not yet answered: its `client_msg_id` and the state it leads to. */
  pending: { clientMsgId: string; state: Uint8Array } | null;
}

interface StoredChat { seen: number; own: number[]; group: string | null; pending: { clientMsgId: string; state: string } | null }

const MEMBER = 'member';
const chatRecord = (chatId: number) => `chat:${chatId}`;
/** Decrypted messages, by chat and seq (zero-padded, so names sort by seq). */
const readPrefix = (chatId: number) => `read:${chatId}:`;
const readRecord = (chatId: number, seq: number) => `${readPrefix(chatId)}${String(seq).padStart(16, '0')}`;
/** The outbox, by chat and the order things were queued in (zero-padded time). */
const queuePrefix = (chatId: number) => `outbox:${chatId}:`;
const queueRecord = (chatId: number, item: Queued) => `${queuePrefix(chatId)}${String(item.queuedAt).padStart(16, '0')}:${item.clientMsgId}`;

export class Device {
  private readonly chats = new Map<number, ChatState>();
  private sent = 0;
  /** When the latest item was queued: each is later than the one before, which orders the outbox. */
  private lastQueued = 0;

  /** Contacts' keys as this device first saw them, and whom the person verified. */
  readonly pins: Pins;

  private constructor(readonly member: Member, private readonly records: Records) {
    this.pins = new Pins(records);
  }

  /** The device of the signed-in session: its state from the vault, or a new device whose key
   * packages it publishes. `records` replaces the vault (tests). */
  static async open(userId: number, records?: Records): Promise<Device> {
    const session = (await api.sessions()).find((s) => s.current);
    if (!session) throw new Error('the server lists no current session');
    const vault = records ?? (await openVault(userId, session.id));
    const stored = await vault.get(MEMBER);
    if (stored) {
      const device = new Device(Member.restore(stored), vault);
      for (const name of await vault.names('chat:')) {
        const chat = JSON.parse(new TextDecoder().decode((await vault.get(name))!)) as StoredChat;
        device.chats.set(Number(name.slice('chat:'.length)), {
          group: chat.group ? Group.restore(fromBase64(chat.group)) : null,
          seen: chat.seen,
          own: new Set(chat.own),
          pending: chat.pending ? { clientMsgId: chat.pending.clientMsgId, state: fromBase64(chat.pending.state) } : null,
        });
      }
      await device.replenish();
      return device;
    }
    const device = new Device(await Member.create({ userId, deviceId: session.id }), vault);
    try {
      await device.publish(KEY_PACKAGES, true);
    } catch (error) {
      // The session was a device whose state is gone (site data cleared): it starts again as
      // a new one, and members replace its leaves.
      if (!(error instanceof ApiError) || error.code !== 'mls_invalid_key_package') throw error;
      await api.forgetDevice();
      await device.publish(KEY_PACKAGES, true);
    }
    return device;
  }

  private async saveMember(): Promise<void> {
    await this.records.put(MEMBER, this.member.export());
  }

  private async save(chatId: number): Promise<void> {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    const stored: StoredChat = {
      seen: chat.seen,
      own: [...chat.own],
      group: chat.group ? toBase64(chat.group.export()) : null,
      pending: chat.pending ? { clientMsgId: chat.pending.clientMsgId, state: toBase64(chat.pending.state) } : null,
    };
    await this.records.put(chatRecord(chatId), new TextEncoder().encode(JSON.stringify(stored)));
  }

  /** What this device has read of the chat, ascending by seq (it cannot decrypt anything twice). */
  async history(chatId: number): Promise<Received[]> {
    const read: Received[] = [];
    for (const name of await this.records.names(readPrefix(chatId))) {
      read.push(JSON.parse(new TextDecoder().decode((await this.records.get(name))!)) as Received);
    }
    return read;
  }

  private async keep(chatId: number, received: Received): Promise<void> {
    await this.records.put(readRecord(chatId, received.seq), new TextEncoder().encode(JSON.stringify(received)));
  }

  /** Forgets what was read of message `seq` (it was deleted), and the text of the edits named in
   * `edits` that change it: they stay as edits of nothing, so they are still not shown. */
  async forget(chatId: number, seq: number, edits: number[]): Promise<void> {
    await this.records.delete(readRecord(chatId, seq));
    for (const editSeq of edits) {
      const stored = await this.records.get(readRecord(chatId, editSeq));
      if (!stored) continue;
      const edit = JSON.parse(new TextDecoder().decode(stored)) as Received;
      if (edit.content.t !== 'edit' || edit.content.of !== seq) continue;
      await this.keep(chatId, { seq: edit.seq, senderId: edit.senderId, content: { t: 'edit', of: seq, text: '' } });
    }
  }

  /** Queues content for the chat, sealed in the vault. */
  async queue(chatId: number, content: Content): Promise<Queued> {
    this.lastQueued = Math.max(Date.now(), this.lastQueued + 1);
    const item: Queued = { clientMsgId: this.nextId('m'), content, queuedAt: this.lastQueued };
    await this.records.put(queueRecord(chatId, item), new TextEncoder().encode(JSON.stringify(item)));
    return item;
  }

  /** What waits to be sent to the chat, oldest first. */
  async queued(chatId: number): Promise<Queued[]> {
    const items: Queued[] = [];
    for (const name of await this.records.names(queuePrefix(chatId))) {
      items.push(JSON.parse(new TextDecoder().decode((await this.records.get(name))!)) as Queued);
    }
    return items;
  }

  /** Takes a queued item out (sent, or refused for good). */
  async unqueue(chatId: number, item: Queued): Promise<void> {
    await this.records.delete(queueRecord(chatId, item));
  }

  get identity(): DeviceIdentity { return this.member.identity; }

  /** Closes the vault (sign-out): an open connection would keep the browser from deleting it. */
  close(): void { this.records.close(); }

  private async publish(count: number, lastResort: boolean): Promise<void> {
    const packages: string[] = [];
    for (let i = 0; i < count; i++) packages.push(toBase64(await this.member.keyPackage(false)));
    const spare = lastResort ? toBase64(await this.member.keyPackage(true)) : null;
    // Kept first: a Welcome for one of them may come as soon as the server has them.
    await this.saveMember();
    await api.publishKeyPackages(packages, spare);
  }

  /** Publishes key packages when others have used most of them. */
  async replenish(): Promise<void> {
    const status = await api.keyPackageStatus();
    if (status.available < LOW) await this.publish(KEY_PACKAGES - status.available, !status.last_resort);
  }

  private nextId(what: string): string {
    this.sent += 1;
    return `${what}-${this.identity.deviceId}-${this.sent}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  }

  private chat(chatId: number): ChatState {
    let chat = this.chats.get(chatId);
    if (!chat) {
      chat = { group: null, seen: 0, own: new Set(), pending: null };
      this.chats.set(chatId, chat);
    }
    return chat;
  }

  isMember(chatId: number): boolean { return !!this.chats.get(chatId)?.group; }

  /** A user's devices' signing keys, as the server lists them. */
  async signatureKeys(userId: number): Promise<Uint8Array[]> {
    return (await api.devices(userId)).map((d) => fromBase64(d.signature_key));
  }

  /** The safety number of this user and `other`, from both users' devices as the server lists them. */
  async safety(other: number): Promise<Safety> {
    const me = { userId: this.identity.userId, keys: await this.signatureKeys(this.identity.userId) };
    const them = { userId: other, keys: await this.signatureKeys(other) };
    return { number: await safetyNumber(me, them), code: await safetyCode(me, them), keys: them.keys };
  }

  group(chatId: number): Group | null { return this.chats.get(chatId)?.group ?? null; }

  /** The chat's epoch code (30 digits), equal on every device in the same group state; null
   * outside the group. */
  epochCode(chatId: number): string | null {
    const group = this.group(chatId);
    return group ? epochCode(group.epochAuthenticator) : null;
  }

  /** Commits what the chat waits for (others' devices to add, leaves to remove), or else a key
   * update; the first commit of a chat starts its group. On a conflict the commit is dropped and
   * the error thrown: sync, then commit again. */
  async commit(chatId: number): Promise<Message> {
    const state = await api.mlsGroup(chatId);
    const chat = this.chat(chatId);
    if (!chat.group) {
      if (state.epoch !== 0) throw new Error(`this device is not in the group of chat ${chatId}`);
      chat.group = await this.member.createGroup(fromBase64(state.group_id));
    }
    const others = state.pending_add.map((d) => d.device_id).filter((id) => id !== this.identity.deviceId);
    const packages = others.length ? (await api.claimKeyPackages(chatId, others)).key_packages.map((p) => fromBase64(p.key_package)) : [];
    const group = chat.group;
    const outgoing = await group.commit(packages, state.pending_remove);
    const clientMsgId = this.nextId('commit');
    // Kept before it is sent: if the page dies now, the next sync finds out whether it landed.
    chat.pending = { clientMsgId, state: group.exportPending()! };
    await this.save(chatId);
    try {
      const message = await api.commit(chatId, clientMsgId, toBase64(outgoing.commit), outgoing.welcome ? toBase64(outgoing.welcome) : null);
      group.merge();
      chat.own.add(message.seq);
      chat.seen = message.seq;
      return message;
    } catch (error) {
      group.clear();
      throw error;
    } finally {
      chat.pending = null;
      await this.save(chatId);
    }
  }

  /** Joins every group a Welcome waits for; the chats joined. */
  async acceptWelcomes(): Promise<number[]> {
    const joined: number[] = [];
    for (const welcome of await api.welcomes()) {
      const chat = this.chat(welcome.chat_id);
      chat.group = await this.member.join(fromBase64(welcome.welcome));
      chat.seen = welcome.commit_seq;
      chat.own.clear();
      chat.pending = null;
      await this.save(welcome.chat_id);
      await this.saveMember();
      await api.forgetWelcome(welcome.id);
      joined.push(welcome.chat_id);
    }
    return joined;
  }

  /** Encrypts and sends content at the group's current epoch, as `clientMsgId` (a queued item's:
   * the server answers a repeated one with the message it already has). */
  async send(chatId: number, content: Content, clientMsgId = this.nextId('m')): Promise<Message> {
    const chat = this.chats.get(chatId);
    if (!chat?.group) throw new Error(`this device is not in the group of chat ${chatId}`);
    const framed = await frame(content);
    const data = await chat.group.encrypt(framed.authenticatedData, framed.bytes);
    // The sender ratchet moved: keep it before the message can be seen.
    await this.save(chatId);
    const message = await api.sendSealed(chatId, clientMsgId, toBase64(data));
    chat.own.add(message.seq);
    await this.keep(chatId, { seq: message.seq, senderId: message.sender_id, content, disclosure: toBase64(framed.bytes) });
    await this.save(chatId);
    return message;
  }

  /** Processes the chat's new messages in seq order; returns what was read. */
  async sync(chatId: number): Promise<Received[]> {
    const read: Received[] = [];
    for (;;) {
      const chat = this.chats.get(chatId);
      if (!chat?.group) return read;
      const messages = await api.messages(chatId, { after: chat.seen, limit: PAGE });
      if (!messages.length) return read;
      for (const message of messages) {
        const received = await this.process(chatId, message);
        if (received) read.push(received);
        if (!this.isMember(chatId)) return read;
      }
    }
  }

  /** Processes one message of the chat, the next after those seen; what it read is kept. */
  async process(chatId: number, message: Message): Promise<Received | null> {
    const chat = this.chat(chatId);
    if (message.seq <= chat.seen) return null;
    try {
      return await this.read(chatId, chat, message);
    } finally {
      chat.seen = message.seq;
      await this.save(chatId);
    }
  }

  private async read(chatId: number, chat: ChatState, message: Message): Promise<Received | null> {
    if (chat.pending && message.mls?.kind === 'commit') {
      // A commit sent before the page went away: it landed if this is it; if not, another won.
      const mine = message.sender_id === this.identity.userId && message.client_msg_id === chat.pending.clientMsgId;
      const pending = chat.pending.state;
      chat.pending = null;
      if (mine) {
        chat.group?.adopt(pending);
        return null;
      }
    }
    if (!chat.group || !message.mls?.data || chat.own.has(message.seq)) return null;
    const incoming = await chat.group.process(fromBase64(message.mls.data));
    if (incoming.kind === 'commit') {
      if (incoming.removedMe) chat.group = null;
      return null;
    }
    const content = await open(incoming.data, incoming.authenticatedData);
    const received: Received = { seq: message.seq, senderId: message.sender_id, content, disclosure: toBase64(incoming.data) };
    await this.keep(chatId, received);
    return received;
  }
}
