// This browser session as an MLS device against the server: key packages kept published, commits
// of what a chat waits for, Welcomes accepted, messages processed strictly in seq order. The
// browser's counterpart of kolokol-e2ee's `device.rs`, so the two behave alike in one group.
// State is in memory for now: a reload makes the session a device that must be added again.

import { api, type Message } from '../api';
import { fromBase64, toBase64 } from './bytes';
import { type Content, frame, open } from './content';
import { type DeviceIdentity, type Group, Member } from './member';

/** Key packages kept published, besides the last-resort one; below `LOW`, more are published. */
export const KEY_PACKAGES = 20;
const LOW = 10;
const PAGE = 100;

export interface Received { seq: number; senderId: number; content: Content }

interface ChatState { group: Group | null; seen: number; own: Set<number> }

export class Device {
  private readonly chats = new Map<number, ChatState>();
  private sent = 0;

  private constructor(readonly member: Member) {}

  /** The device of the signed-in session, with its key packages published. */
  static async open(userId: number): Promise<Device> {
    const session = (await api.sessions()).find((s) => s.current);
    if (!session) throw new Error('the server lists no current session');
    const device = new Device(await Member.create({ userId, deviceId: session.id }));
    await device.publish(KEY_PACKAGES, true);
    return device;
  }

  get identity(): DeviceIdentity { return this.member.identity; }

  private async publish(count: number, lastResort: boolean): Promise<void> {
    const packages: string[] = [];
    for (let i = 0; i < count; i++) packages.push(toBase64(await this.member.keyPackage(false)));
    const spare = lastResort ? toBase64(await this.member.keyPackage(true)) : null;
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
      chat = { group: null, seen: 0, own: new Set() };
      this.chats.set(chatId, chat);
    }
    return chat;
  }

  isMember(chatId: number): boolean { return !!this.chats.get(chatId)?.group; }

  group(chatId: number): Group | null { return this.chats.get(chatId)?.group ?? null; }

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
    try {
      const message = await api.commit(chatId, this.nextId('commit'), toBase64(outgoing.commit), outgoing.welcome ? toBase64(outgoing.welcome) : null);
      group.merge();
      chat.own.add(message.seq);
      chat.seen = message.seq;
      return message;
    } catch (error) {
      group.clear();
      throw error;
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
      await api.forgetWelcome(welcome.id);
      joined.push(welcome.chat_id);
    }
    return joined;
  }

  /** Encrypts and sends content at the group's current epoch. */
  async send(chatId: number, content: Content): Promise<Message> {
    const chat = this.chats.get(chatId);
    if (!chat?.group) throw new Error(`this device is not in the group of chat ${chatId}`);
    const framed = await frame(content);
    const data = await chat.group.encrypt(framed.authenticatedData, framed.bytes);
    const message = await api.sendSealed(chatId, this.nextId('m'), toBase64(data));
    chat.own.add(message.seq);
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

  /** Processes one message of the chat, the next after those seen. */
  async process(chatId: number, message: Message): Promise<Received | null> {
    const chat = this.chat(chatId);
    if (message.seq <= chat.seen) return null;
    chat.seen = message.seq;
    if (!chat.group || !message.mls?.data || chat.own.has(message.seq)) return null;
    const incoming = await chat.group.process(fromBase64(message.mls.data));
    if (incoming.kind === 'commit') {
      if (incoming.removedMe) chat.group = null;
      return null;
    }
    return { seq: message.seq, senderId: message.sender_id, content: await open(incoming.data, incoming.authenticatedData) };
  }
}
