// End-to-end encrypted chats in the app: the session's MLS device (lib/mls/device.ts, opened only
// once the user has or makes an encrypted chat, so ts-mls stays out of the first page load), the
// order in which each chat's messages reach it, and what it read, for the views to show.
//
// Every chat has one promise chain: syncs, live messages, commits and sends of that chat run one
// after another, because each of them moves the chat's MLS state and messages must be processed
// strictly in seq order. A live message goes to the device as it comes when it is the next one;
// anything else (the first look at a chat, a gap, a reconnect) fetches from the device's own
// position on (`sync`), so nothing is ever skipped.

import { api, ApiError, type Chat, type Message, type MlsGroupState, type Reaction } from './api';
import type { Content } from './mls/content';
import type { Queued, Received, Safety } from './mls/device';
import type { Pin, Pins } from './mls/pins';

/** What a message of an encrypted chat says, once this device has read it: who sent it, and
 * whether its sender edited it since. */
export interface Plain { text: string; replyTo: number | null; senderId: number; edited: boolean }
/** A message this device cannot read: sent before it joined the chat's group, or it failed to decrypt. */
export const UNREADABLE = 'unreadable';
/** Not read yet: the device is still on its way to it. */
export const PENDING = 'pending';
/** Read, and not a message to show: it changes another (an edit, a reaction) or is of a kind
 * this version does not know. */
export const HIDDEN = 'hidden';
export type Known = Plain | typeof UNREADABLE | typeof HIDDEN;
export type Reading = Known | typeof PENDING;

/** Content as any version may send it (lib/mls/content.ts's `Content` grows new kinds). */
interface AnyContent { t?: unknown; text?: unknown; reply_to?: unknown; of?: unknown; emoji?: unknown; on?: unknown }

/** What reporting a message discloses: its content's bytes as received (base64), and the text
 * they hold (as sent, before any edit). */
export interface Disclosure { bytes: string; text: string }

/** One emoji, by the rule the server holds community reactions to (up to 16 characters, no
 * ASCII, letters, digits, spaces or controls): anything else sent as a reaction is not shown. */
const EMOJI = /^[^\x00-\x7f\p{Alphabetic}\p{N}\p{White_Space}\p{Cc}]{1,16}$/u;

/** Where this device stands in an encrypted chat: looking at it for the first time; in its group
 * (it reads and sends); waiting to be added by another member's device; or the device could not
 * start in this browser. */
export type Keys = 'opening' | 'ready' | 'waiting' | 'failed';

/** A contact's safety number as Verify shows it, with the fingerprint of their keys it was made
 * from (as pinned). */
export interface Comparison extends Safety { fingerprint: string }

/** What this module needs of the MLS device (lib/mls/device.ts's `Device`). */
export interface DeviceLike {
  readonly identity: { userId: number; deviceId: number };
  isMember(chatId: number): boolean;
  commit(chatId: number): Promise<Message>;
  acceptWelcomes(): Promise<number[]>;
  send(chatId: number, content: Content, clientMsgId?: string): Promise<Message>;
  sync(chatId: number): Promise<Received[]>;
  process(chatId: number, message: Message): Promise<Received | null>;
  history(chatId: number): Promise<Received[]>;
  forget(chatId: number, seq: number, edits: number[]): Promise<void>;
  queue(chatId: number, content: Content): Promise<Queued>;
  queued(chatId: number): Promise<Queued[]>;
  unqueue(chatId: number, item: Queued): Promise<void>;
  replenish(): Promise<void>;
  close(): void;
  /** Contacts' pinned keys, kept in the device's vault. */
  readonly pins: Pins;
  signatureKeys(userId: number): Promise<Uint8Array[]>;
  safety(other: number): Promise<Safety>;
  epochCode(chatId: number): string | null;
}

/** What became of queued content: the app shows a message the server took, and explains one it
 * refused for good. */
export interface Outcomes {
  sent(message: Message): void;
  refused(chatId: number, code: string, content: Content): void;
}

/** The outside world, replaceable in tests. */
export interface Deps {
  /** Opens the user's device; `elsewhere` is called when another tab of this browser holds it
   * (the opening then waits until that tab lets it go). */
  open(userId: number, elsewhere: () => void): Promise<DeviceLike>;
  /** Lets the device go (sign-out), for another tab to take. */
  close(): void;
  mlsGroup(chatId: number): Promise<Pick<MlsGroupState, 'epoch' | 'leaves' | 'pending_add' | 'pending_remove'>>;
  /** Forgets the sealed vault of a session's device (sign-out, a revoked session). */
  forgetVault(userId: number, deviceId: number): Promise<void>;
  wait(ms: number): Promise<void>;
  random(): number;
  now(): number;
  /** Whether this page may encrypt at all (`canEncryptHere`). */
  secure(): boolean;
}

/** Lets go of the tab's hold on the device, if it has one. */
let releaseDevice: (() => void) | null = null;

/** One tab at a time holds a user's device: two copies of one MLS member in one browser would
 * each move their own ratchets from the same vault, and could encrypt twice under one key. */
async function holdDevice(userId: number, elsewhere: () => void): Promise<void> {
  if (typeof navigator === 'undefined' || !navigator.locks) return;
  releaseDevice?.();
  await new Promise<void>((held) => {
    const waiting = setTimeout(elsewhere, 300);
    void navigator.locks.request(`kolokol-e2ee-${userId}`, () => {
      clearTimeout(waiting);
      held();
      return new Promise<void>((release) => (releaseDevice = release));
    });
  });
}

export const browserDeps: Deps = {
  open: async (userId, elsewhere) => {
    await holdDevice(userId, elsewhere);
    // Loaded only here: ts-mls is a large chunk the first page does not need.
    return (await import('./mls/device')).Device.open(userId);
  },
  close: () => {
    releaseDevice?.();
    releaseDevice = null;
  },
  mlsGroup: (chatId) => api.mlsGroup(chatId),
  forgetVault: async (userId, deviceId) => (await import('./mls/vault')).forgetVault(userId, deviceId),
  wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
  now: () => Date.now(),
  secure: canEncryptHere,
};

/** Whether this page may encrypt at all: browsers give WebCrypto only to secure contexts (HTTPS,
 * or localhost), and ts-mls needs it. */
export function canEncryptHere(): boolean {
  return typeof crypto !== 'undefined' && crypto.subtle !== undefined;
}

/** `E2ee.failure` on a page that is not a secure context (plain HTTP from another machine). */
export const INSECURE = 'insecure_context';

/** A member device other than the chat's creator starts its group only when the creator's page
 * has not done so for this long (it may have closed right after creating the chat). */
export const CREATOR_GRACE_MS = 30_000;
/** How long a look at a chat's people's keys waits for more events like the one that asked for it. */
const KEY_CHECK_DELAY_MS = 500;
/** Tries at a send, a commit or a sync before giving up. */
const TRIES = 4;

export class E2ee {
  /** What this device read, per chat and seq. */
  decrypted = $state<Record<number, Record<number, Known>>>({});
  /** The newest message read per chat, for the chat list. */
  latest = $state<Record<number, { seq: number; text: string }>>({});
  /** Per encrypted chat this session looked at: where the device stands. */
  keys = $state<Record<number, Keys>>({});
  /** Jobs queued or running per chat: while there are any, unread messages are on their way. */
  busy = $state<Record<number, number>>({});
  /** Why the device could not start (an API error's code, else its message), or null. */
  failure = $state<string | null>(null);
  /** Another tab of this browser has the device: this one waits for it. */
  elsewhere = $state(false);
  /** Contacts' keys as this device pinned them (lib/mls/pins.ts), by user id, once looked at. */
  contacts = $state<Record<number, Pin>>({});
  /** Per encrypted chat: the other people with devices in its group, at the last look. */
  people = $state<Record<number, number[]>>({});
  /** Per chat whose group this device is in: the group's epoch code now. */
  epochCodes = $state<Record<number, string>>({});
  /** Counts changes seen in this user's own devices: every safety number of theirs changes too. */
  ownKeys = $state(0);
  /** Reactions read, per chat and message, as community messages carry them. */
  reactions = $state<Record<number, Record<number, Reaction[]>>>({});
  /** Content queued and not sent yet, per chat, oldest first. */
  outbox = $state<Record<number, Queued[]>>({});
  /** Set by the app. */
  outcomes: Outcomes = { sent: () => {}, refused: () => {} };

  private userId: number | null = null;
  private device: DeviceLike | null = null;
  private opening: Promise<DeviceLike> | null = null;
  /** Bumped at sign-out: work of an earlier session stops touching the state. */
  private generation = 0;
  private readonly chains = new Map<number, Promise<unknown>>();
  /** Chats whose vault history was read and whose first sync ran. */
  private readonly contacted = new Set<number>();
  /** The seq of the last live message given to the device, per chat; unknown after a sync. */
  private readonly lastFed = new Map<number, number>();
  /** A commit waiting for its turn per chat, and whether another was asked for meanwhile. */
  private readonly commits = new Map<number, { again: boolean }>();
  /** Chats this page created (it starts their groups at once). */
  private readonly mine = new Set<number>();
  private readonly createdAt = new Map<number, number>();
  private welcoming: Promise<void> | null = null;
  private welcomeAgain = false;
  /** A look at a chat's people's keys waiting or running per chat (as `commits`). */
  private readonly keyChecks = new Map<number, { again: boolean }>();
  /** Per chat and other user: their devices in the chat's group when their keys were last looked at. */
  private readonly devicesSeen = new Map<number, Map<number, string>>();
  /** What reporting each message read would disclose, per chat and seq. */
  private readonly disclosures = new Map<number, Map<number, Disclosure>>();
  /** Per chat and message: the latest reaction (by seq) of each sender and emoji. */
  private readonly reacted = new Map<number, Map<number, Map<string, { seq: number; senderId: number; emoji: string; on: boolean }>>>();
  /** Per chat and message: the seqs of edits that name it (their text goes when it is deleted). */
  private readonly edits = new Map<number, Map<number, number[]>>();

  constructor(private readonly deps: Deps = browserDeps) {}

  /** The signed-in user: the device, when needed, is theirs. */
  signedIn(userId: number): void {
    if (this.userId !== userId) this.reset();
    this.userId = userId;
  }

  /** Forgets the session's device and everything read (sign-out). With `wipe`, its sealed vault
   * goes too: the session is over, and a later sign-in is a new device. */
  async signedOut(wipe: boolean): Promise<void> {
    const device = this.device;
    const identity = device?.identity;
    this.reset();
    this.userId = null;
    // The vault's connection first: while it is open, deleting the vault waits for the page to close.
    device?.close();
    this.deps.close();
    if (wipe && identity) await this.deps.forgetVault(identity.userId, identity.deviceId).catch(() => {});
  }

  private reset(): void {
    this.generation += 1;
    this.device = null;
    this.opening = null;
    this.chains.clear();
    this.contacted.clear();
    this.lastFed.clear();
    this.commits.clear();
    this.mine.clear();
    this.createdAt.clear();
    this.welcoming = null;
    this.keyChecks.clear();
    this.devicesSeen.clear();
    this.contacts = {};
    this.people = {};
    this.epochCodes = {};
    this.disclosures.clear();
    this.reacted.clear();
    this.edits.clear();
    this.decrypted = {};
    this.reactions = {};
    this.outbox = {};
    this.latest = {};
    this.keys = {};
    this.busy = {};
    this.failure = null;
    this.elsewhere = false;
  }

  /** The device, opened once. After a failure it is tried again only on reconnect (`onReady`):
   * each try makes and publishes new key packages. */
  ensure(): Promise<DeviceLike> {
    if (this.opening) return this.opening;
    const userId = this.userId;
    if (userId === null) return Promise.reject(new Error('not signed in'));
    if (this.failure !== null) return Promise.reject(new Error(this.failure));
    if (!this.deps.secure()) {
      // Not on plain HTTP from another machine: no device, no key packages; the chats say why.
      this.failure = INSECURE;
      for (const id of Object.keys(this.keys).map(Number)) this.keys[id] = 'failed';
      return Promise.reject(new Error(INSECURE));
    }
    const generation = this.generation;
    const elsewhere = () => {
      if (generation === this.generation) this.elsewhere = true;
    };
    const opening = this.deps.open(userId, elsewhere).then((device) => {
      if (generation !== this.generation) throw new Error('signed out meanwhile');
      this.device = device;
      this.failure = null;
      this.elsewhere = false;
      return device;
    });
    this.opening = opening;
    opening.catch((error: unknown) => {
      if (generation !== this.generation) return;
      this.opening = null;
      this.failure = error instanceof ApiError ? error.code : String(error instanceof Error ? error.message : error);
      for (const id of Object.keys(this.keys).map(Number)) if (this.keys[id] === 'opening') this.keys[id] = 'failed';
    });
    return opening;
  }

  /** Runs `job` after every earlier job of the chat; its failure does not stop later ones. */
  private run<T>(chatId: number, job: () => Promise<T>): Promise<T> {
    const generation = this.generation;
    const before = this.chains.get(chatId) ?? Promise.resolve();
    this.busy[chatId] = (this.busy[chatId] ?? 0) + 1;
    const result = before.then(() => {
      if (generation !== this.generation) throw new Error('signed out meanwhile');
      return job();
    });
    const settled = result.catch(() => {}).finally(() => {
      if (generation !== this.generation) return;
      this.busy[chatId] = Math.max(0, (this.busy[chatId] ?? 1) - 1);
      this.noteEpoch(chatId);
    });
    this.chains.set(chatId, settled);
    return result;
  }

  private record(chatId: number, received: Received): void {
    if (!this.decrypted[chatId]) this.decrypted[chatId] = {};
    const read = this.decrypted[chatId];
    const content = received.content as AnyContent;
    if (content.t === 'text' && typeof content.text === 'string') {
      const replyTo = typeof content.reply_to === 'number' ? content.reply_to : null;
      read[received.seq] = { text: content.text, replyTo, senderId: received.senderId, edited: false };
      if (received.disclosure) inner(this.disclosures, chatId).set(received.seq, { bytes: received.disclosure, text: content.text });
      const latest = this.latest[chatId];
      if (!latest || received.seq >= latest.seq) this.latest[chatId] = { seq: received.seq, text: content.text };
      return;
    }
    read[received.seq] = HIDDEN;
    // An edit counts only from the sender of the message it edits.
    if (content.t === 'edit' && typeof content.of === 'number' && typeof content.text === 'string') {
      const edits = inner(this.edits, chatId);
      edits.set(content.of, [...(edits.get(content.of) ?? []), received.seq]);
      const original = read[content.of];
      if (typeof original === 'object' && original.senderId === received.senderId) {
        read[content.of] = { ...original, text: content.text, edited: true };
        if (this.latest[chatId]?.seq === content.of) this.latest[chatId] = { seq: content.of, text: content.text };
      }
    }
    if (content.t === 'react' && typeof content.of === 'number' && typeof content.emoji === 'string' && typeof content.on === 'boolean') {
      if (EMOJI.test(content.emoji)) this.react(chatId, content.of, { seq: received.seq, senderId: received.senderId, emoji: content.emoji, on: content.on });
    }
  }

  /** Folds a reaction into message `of`'s: per sender and emoji, the latest by seq stands. */
  private react(chatId: number, of: number, reaction: { seq: number; senderId: number; emoji: string; on: boolean }): void {
    const byMessage = inner(this.reacted, chatId);
    const latest = byMessage.get(of) ?? new Map();
    byMessage.set(of, latest);
    const key = `${reaction.senderId} ${reaction.emoji}`;
    if ((latest.get(key)?.seq ?? 0) >= reaction.seq) return;
    latest.set(key, reaction);
    const shown: Reaction[] = [];
    for (const { senderId, emoji, on } of latest.values()) {
      if (!on) continue;
      const same = shown.find((r) => r.emoji === emoji);
      if (same) same.user_ids.push(senderId);
      else shown.push({ emoji, user_ids: [senderId] });
    }
    if (!this.reactions[chatId]) this.reactions[chatId] = {};
    this.reactions[chatId][of] = shown;
  }

  private markUnreadable(chatId: number, seq: number): void {
    if (!this.decrypted[chatId]) this.decrypted[chatId] = {};
    if (!this.decrypted[chatId][seq]) this.decrypted[chatId][seq] = UNREADABLE;
  }

  // --- what the views ask ---

  /** What message `seq` of the chat says, as far as this device knows. */
  reading(chatId: number, seq: number): Reading {
    const known = this.decrypted[chatId]?.[seq];
    if (known) return known;
    const keys = this.keys[chatId];
    // Not in the group yet: whatever the chat holds came before the commit that will add this
    // device, so it will never be readable here.
    if (keys === 'failed' || keys === 'waiting') return UNREADABLE;
    if (keys === undefined || keys === 'opening' || (this.busy[chatId] ?? 0) > 0) return PENDING;
    return UNREADABLE;
  }

  /** The reactions to message `seq` read so far. */
  reactionsTo(chatId: number, seq: number): Reaction[] {
    return this.reactions[chatId]?.[seq] ?? [];
  }

  /** What reporting message `seq` would disclose; null when this device did not keep it (read by
   * an older version, or not read). */
  disclosure(chatId: number, seq: number): Disclosure | null {
    return this.disclosures.get(chatId)?.get(seq) ?? null;
  }

  /** The chat list's line for an encrypted chat: the newest text read, '' when there is nothing
   * to say (no message, or only the group's own changes), null when the newest message is not
   * read (yet, or at all). */
  preview(chat: Chat): string | null {
    const last = chat.last_message;
    const latest = this.latest[chat.id];
    if (!last || last.mls?.kind === 'commit') return latest?.text ?? '';
    const known = this.decrypted[chat.id]?.[last.seq];
    if (typeof known === 'object') return known.text;
    if (known === HIDDEN) return latest?.text ?? '';
    if (latest && latest.seq >= last.seq) return latest.text;
    return null;
  }

  // --- what the app tells ---

  /** The user's chats, after each load of the list: encrypted ones are looked at (once). */
  track(chats: Chat[]): void {
    if (this.userId === null) return;
    for (const chat of chats) {
      if (chat.privacy !== 'encrypted') continue;
      this.createdAt.set(chat.id, chat.created_at);
      if (!(chat.id in this.keys)) void this.look(chat.id);
    }
  }

  /** This page has just created the encrypted chat: its group is started at once. */
  async created(chat: Chat): Promise<void> {
    this.mine.add(chat.id);
    this.createdAt.set(chat.id, chat.created_at);
    await this.look(chat.id);
    await this.run(chat.id, () => this.commitIfDue(chat.id)).catch((error) => console.warn('e2ee: starting the group failed', error));
  }

  /** The first look at a chat (or another after a failure): what the vault read, then what is new. */
  private look(chatId: number): Promise<void> {
    if (!(chatId in this.keys) || this.keys[chatId] === 'failed') this.keys[chatId] = this.failure === null ? 'opening' : 'failed';
    return this.run(chatId, () => this.contact(chatId)).catch((error) => console.warn('e2ee: a chat could not be read', error));
  }

  /** Inside the chat's chain. */
  private async contact(chatId: number): Promise<void> {
    const device = await this.ensure();
    if (!this.contacted.has(chatId)) {
      for (const received of await device.history(chatId)) this.record(chatId, received);
      this.outbox[chatId] = await device.queued(chatId);
    }
    if (!device.isMember(chatId)) await this.welcomes();
    this.contacted.add(chatId);
    if (device.isMember(chatId)) {
      this.keys[chatId] = 'ready';
      await this.syncIn(device, chatId);
      // What was queued before a reload (or a crash) goes now.
      await this.flush(chatId);
    } else {
      this.keys[chatId] = 'waiting';
    }
    // Something may be due that no event will announce any more (a device added while this one
    // was away, a group nobody started).
    this.scheduleCommit(chatId);
  }

  /** A message of an encrypted chat, live or from a catch-up, in the order the server sent it. */
  onMessage(message: Message): void {
    if (!message.mls || this.userId === null) return;
    const chatId = message.chat_id;
    if (!(chatId in this.keys)) this.keys[chatId] = this.failure === null ? 'opening' : 'failed';
    void this.run(chatId, async () => {
      if (!this.contacted.has(chatId)) return this.contact(chatId);
      const device = await this.ensure();
      if (!device.isMember(chatId)) return; // the Welcome brings it in, with a sync
      const last = this.lastFed.get(chatId);
      if (last !== undefined && message.seq <= last) return;
      if (last !== undefined && message.seq > last + 1) return this.syncIn(device, chatId);
      try {
        const received = await device.process(chatId, message);
        if (received) this.record(chatId, received);
      } catch (error) {
        console.warn(`e2ee: message ${chatId}/${message.seq} could not be read`, error);
        if (message.mls?.kind === 'application') this.markUnreadable(chatId, message.seq);
      }
      this.lastFed.set(chatId, message.seq);
      if (!device.isMember(chatId)) this.keys[chatId] = 'waiting'; // removed from the group
    }).catch((error) => console.warn('e2ee: a message could not be handled', error));
  }

  /** A page of the chat's history was loaded: make sure the device has looked at the chat. */
  onHistory(chatId: number): void {
    if (this.userId === null) return;
    if (!(chatId in this.keys) || this.keys[chatId] === 'failed') void this.look(chatId);
  }

  /** `mls.welcome`: one of this user's devices was added to a chat's group. */
  onWelcome(): void {
    if (this.userId === null) return;
    void this.welcomes().catch((error) => console.warn('e2ee: welcomes failed', error));
  }

  /** `mls.changed`, or members came or went: a commit may be due, and someone's keys changed. */
  onGroupChange(chatId: number): void {
    if (this.userId === null || !(chatId in this.keys)) return;
    this.scheduleCommit(chatId);
    this.scheduleKeyCheck(chatId);
  }

  /** The person opened the encrypted chat: its people's keys are looked at. */
  onOpen(chatId: number): void {
    if (this.userId === null) return;
    this.scheduleKeyCheck(chatId);
  }

  /** `mls.key_packages_low`. */
  onKeyPackagesLow(): void {
    if (!this.device) return;
    void this.device.replenish().catch((error) => console.warn('e2ee: key packages not published', error));
  }

  /** Connected again (or told to re-read everything): what came meanwhile is fetched. */
  onReady(): void {
    if (this.userId === null) return;
    if (this.failure !== null) {
      this.failure = null;
      for (const id of Object.keys(this.keys).map(Number)) void this.look(id);
      return;
    }
    if (!this.device) return;
    const device = this.device;
    this.onWelcome();
    for (const chatId of this.contacted) {
      void this.run(chatId, async () => {
        if (!device.isMember(chatId)) return;
        await this.syncIn(device, chatId);
        // What was queued while offline goes, in order.
        await this.flush(chatId);
      }).catch((error) => console.warn('e2ee: catching up failed', error));
    }
  }

  /** Message `seq` of the chat was deleted: what this device read of it goes, from the view and
   * from the vault, with the text of edits that changed it. */
  forget(chatId: number, seq: number): void {
    if (this.userId === null) return;
    void this.run(chatId, async () => {
      const device = await this.ensure();
      const edits = this.edits.get(chatId)?.get(seq) ?? [];
      await device.forget(chatId, seq, edits);
      if (this.decrypted[chatId]) delete this.decrypted[chatId][seq];
      this.disclosures.get(chatId)?.delete(seq);
      this.edits.get(chatId)?.delete(seq);
      this.reacted.get(chatId)?.delete(seq);
      if (this.reactions[chatId]) delete this.reactions[chatId][seq];
      if (this.latest[chatId]?.seq === seq) delete this.latest[chatId];
    }).catch((error) => console.warn('e2ee: a deleted message could not be forgotten', error));
  }

  // --- inside a chat's chain ---

  /** Everything after the device's position in the chat, read. */
  private async syncIn(device: DeviceLike, chatId: number): Promise<void> {
    this.lastFed.delete(chatId);
    for (let attempt = 1; ; attempt++) {
      try {
        for (const received of await device.sync(chatId)) this.record(chatId, received);
        break;
      } catch (error) {
        // A message that could not be read is behind the device now: go on after it.
        console.warn(`e2ee: syncing chat ${chatId} stopped`, error);
        if (attempt >= TRIES || (error instanceof ApiError && error.status !== 400 && error.status < 500)) throw error;
      }
    }
    if (!device.isMember(chatId)) this.keys[chatId] = 'waiting';
  }

  private async welcomes(): Promise<void> {
    if (this.welcoming) {
      this.welcomeAgain = true;
      return this.welcoming;
    }
    const generation = this.generation;
    this.welcoming = (async () => {
      do {
        this.welcomeAgain = false;
        const device = await this.ensure();
        for (const chatId of await device.acceptWelcomes()) {
          if (generation !== this.generation) return;
          this.keys[chatId] = 'ready';
          // The chat's own chain reads what came after the Welcome's commit.
          void this.run(chatId, async () => {
            this.contacted.add(chatId);
            await this.syncIn(device, chatId);
          }).catch((error) => console.warn('e2ee: reading a joined chat failed', error));
        }
      } while (this.welcomeAgain && generation === this.generation);
    })().finally(() => {
      if (generation === this.generation) this.welcoming = null;
    });
    return this.welcoming;
  }

  /** Asks for a commit of what the chat waits for, after a short random delay (so that not every
   * member's device commits at once); at most one waits or runs per chat. */
  private scheduleCommit(chatId: number, delay = 150 + this.deps.random() * 850): void {
    this.later(this.commits, chatId, delay, () => this.run(chatId, () => this.commitIfDue(chatId)), 'commit', () => this.scheduleCommit(chatId));
  }

  /** Runs `job` for the chat after `delay`, at most one waiting or running per chat in `pending`;
   * asked for again meanwhile, `again` asks once more after it. */
  private later(pending: Map<number, { again: boolean }>, chatId: number, delay: number, job: () => Promise<void>, what: string, again: () => void): void {
    const waiting = pending.get(chatId);
    if (waiting) {
      waiting.again = true;
      return;
    }
    const entry = { again: false };
    pending.set(chatId, entry);
    const generation = this.generation;
    void this.deps.wait(delay)
      .then(() => (generation === this.generation ? job() : undefined))
      .catch((error) => console.warn(`e2ee: ${what} in chat ${chatId} failed`, error))
      .finally(() => {
        if (generation !== this.generation) return;
        pending.delete(chatId);
        if (entry.again) again();
      });
  }

  /** Commits when the chat's group waits for something: devices to add, leaves to remove, or a
   * group nobody has started. Inside the chat's chain. */
  private async commitIfDue(chatId: number): Promise<void> {
    const device = await this.ensure();
    if (!this.contacted.has(chatId)) await this.contact(chatId);
    for (let attempt = 1; attempt <= TRIES; attempt++) {
      const state = await this.deps.mlsGroup(chatId);
      if (!device.isMember(chatId)) {
        if (state.epoch !== 0) return;
        const age = this.deps.now() - (this.createdAt.get(chatId) ?? 0);
        if (!this.mine.has(chatId) && age < CREATOR_GRACE_MS) {
          // The creator's page starts it; if it does not, this device will.
          const generation = this.generation;
          void this.deps.wait(CREATOR_GRACE_MS - age + this.deps.random() * 5000).then(() => {
            if (generation === this.generation) this.scheduleCommit(chatId, 0);
          });
          return;
        }
      } else {
        const others = state.pending_add.filter((d) => d.device_id !== device.identity.deviceId);
        if (!others.length && !state.pending_remove.length) return;
        // Read up to now first: a message sent meanwhile at this epoch is lost to a committer
        // that moves past it unread.
        await this.syncIn(device, chatId);
      }
      try {
        await device.commit(chatId);
        this.keys[chatId] = 'ready';
        this.lastFed.delete(chatId);
        return;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'mls_epoch_conflict') || attempt === TRIES) throw error;
        // Another device's commit came first: read it, then look again at what is still due.
        await this.syncIn(device, chatId);
        await this.deps.wait(100 + this.deps.random() * 500);
      }
    }
  }

  // --- contacts' keys (lib/mls/pins.ts, Verify.svelte) ---

  /** Looks at the chat's people's keys soon: events come in bursts. Not in the chat's chain: it
   * touches no MLS state. */
  private scheduleKeyCheck(chatId: number): void {
    if (this.failure !== null) return;
    this.later(this.keyChecks, chatId, KEY_CHECK_DELAY_MS, () => this.checkKeys(chatId), 'looking at keys', () => this.scheduleKeyCheck(chatId));
  }

  /** Looks at the devices of everyone else in the chat's group whose devices there (leaves, and
   * devices waiting to be added or removed) changed since this session last looked, everyone the
   * first time: one request for the group, one per such person. */
  private async checkKeys(chatId: number): Promise<void> {
    const device = await this.ensure();
    const me = device.identity.userId;
    const state = await this.deps.mlsGroup(chatId);
    const devices = new Map<number, string[]>();
    const note = (userId: number, entry: string) => devices.set(userId, [...(devices.get(userId) ?? []), entry]);
    for (const leaf of state.leaves) note(leaf.user_id, leaf.signature_key);
    for (const waiting of state.pending_add) note(waiting.user_id, `+${waiting.device_id}`);
    for (const removed of state.pending_remove) {
      const leaf = state.leaves.find((l) => l.leaf === removed);
      if (leaf) note(leaf.user_id, `-${removed}`);
    }
    if (device !== this.device) return; // signed out meanwhile
    this.people[chatId] = [...devices.keys()].filter((userId) => userId !== me);
    const seen = this.devicesSeen.get(chatId) ?? new Map<number, string>();
    this.devicesSeen.set(chatId, seen);
    for (const [userId, entries] of devices) {
      const now = entries.sort().join(' ');
      const before = seen.get(userId);
      if (before === now) continue;
      if (userId === me) {
        if (before !== undefined) this.ownKeys += 1;
      } else {
        this.pinned(device, userId, await device.pins.look(userId, await device.signatureKeys(userId)));
        if (device !== this.device) return;
      }
      seen.set(userId, now);
    }
  }

  /** The chat's epoch code as this device's group has it now, for Verify. */
  private noteEpoch(chatId: number): void {
    const code = this.device?.epochCode(chatId) ?? null;
    if (code === (this.epochCodes[chatId] ?? null)) return;
    if (code === null) delete this.epochCodes[chatId];
    else this.epochCodes[chatId] = code;
  }

  /** People in the chat whose keys changed since the person last acknowledged it. */
  keyChanges(chatId: number): number[] {
    return (this.people[chatId] ?? []).filter((userId) => this.contacts[userId]?.change);
  }

  /** What Verify shows of a contact, looked at afresh (and the look pinned); null while they have
   * no device with keys. */
  async safety(userId: number): Promise<Comparison | null> {
    const device = await this.ensure();
    const safety = await device.safety(userId);
    const pin = await device.pins.look(userId, safety.keys);
    this.pinned(device, userId, pin);
    return pin && safety.keys.length ? { ...safety, fingerprint: pin.fingerprint } : null;
  }

  /** The person compared the safety number Verify showed (made from `keys`) and found it equal. */
  async verify(userId: number, keys: Uint8Array[]): Promise<void> {
    const device = await this.ensure();
    this.pinned(device, userId, await device.pins.verify(userId, keys));
  }

  async unverify(userId: number): Promise<void> {
    const device = await this.ensure();
    this.pinned(device, userId, await device.pins.unverify(userId));
  }

  /** The person saw that the contact's keys changed and lets it be. */
  async dismiss(userId: number): Promise<void> {
    const device = await this.ensure();
    this.pinned(device, userId, await device.pins.dismiss(userId));
  }

  /** Shows what the device pinned, unless the session changed meanwhile. */
  private pinned(device: DeviceLike, userId: number, pin: Pin | null): void {
    if (pin && device === this.device) this.contacts[userId] = pin;
  }

  // --- sending ---

  /** Queues a text (a reply to `replyTo`): it goes out at once when it can, else on reconnect. */
  send(chatId: number, text: string, replyTo: number | null = null): Promise<void> {
    return this.post(chatId, replyTo === null ? { t: 'text', text } : { t: 'text', text, reply_to: replyTo });
  }

  /** Queues a new text for one's own message `of`. */
  edit(chatId: number, of: number, text: string): Promise<void> {
    return this.post(chatId, { t: 'edit', of, text });
  }

  /** Queues this user's reaction `emoji` to message `of`: off when it is on (or queued on), else on. */
  toggleReaction(chatId: number, of: number, emoji: string): Promise<void> {
    // No findLast: old phone browsers lack it.
    const queued = [...(this.outbox[chatId] ?? [])].reverse().map((item) => item.content)
      .find((content) => content.t === 'react' && content.of === of && content.emoji === emoji);
    const on = queued?.t === 'react' ? queued.on
      : this.reactionsTo(chatId, of).some((r) => r.emoji === emoji && r.user_ids.includes(this.userId ?? 0));
    return this.post(chatId, { t: 'react', of, emoji, on: !on });
  }

  /** Seals content in the device's outbox with its client_msg_id, then sends the chat's queue in
   * its chain. Resolves once queued; throws `NotReady` when this device is not in the group. */
  private async post(chatId: number, content: Content): Promise<void> {
    const generation = this.generation;
    const device = await this.ensure();
    if (!device.isMember(chatId)) throw new NotReady(chatId);
    const item = await device.queue(chatId, content);
    if (generation !== this.generation) return;
    this.outbox[chatId] = [...(this.outbox[chatId] ?? []), item];
    void this.run(chatId, () => this.flush(chatId)).catch((error) => console.warn('e2ee: sending failed', error));
  }

  /** Sends what the chat has queued, oldest first, and stops at the first that cannot go now
   * (offline, server trouble): the next reconnect goes on from there. Inside the chat's chain. */
  private async flush(chatId: number): Promise<void> {
    const generation = this.generation;
    const device = await this.ensure();
    if (!this.contacted.has(chatId)) return this.contact(chatId); // which flushes
    const items = await device.queued(chatId);
    this.outbox[chatId] = items;
    if (!device.isMember(chatId)) return;
    for (const item of items) {
      try {
        const message = await this.deliver(device, chatId, item);
        if (generation !== this.generation) return;
        this.record(chatId, { seq: message.seq, senderId: message.sender_id, content: item.content });
        this.outcomes.sent(message);
      } catch (error) {
        console.warn('e2ee: a queued message was not sent', error);
        if (!(error instanceof ApiError) || error.status >= 500) return;
        this.outcomes.refused(chatId, error.code, item.content);
      }
      await device.unqueue(chatId, item);
      this.outbox[chatId] = (this.outbox[chatId] ?? []).filter((queued) => queued.clientMsgId !== item.clientMsgId);
    }
  }

  /** Encrypts and sends one queued item: after `mls_commit_required` commits first, after
   * `mls_epoch_stale` reads what moved the group on, then sends again under the same id. */
  private async deliver(device: DeviceLike, chatId: number, item: Queued): Promise<Message> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await device.send(chatId, item.content, item.clientMsgId);
      } catch (error) {
        if (!(error instanceof ApiError) || attempt >= TRIES) throw error;
        if (error.code === 'mls_commit_required') await this.commitNow(device, chatId);
        else if (error.code === 'mls_epoch_stale') await this.syncIn(device, chatId);
        else throw error;
      }
    }
  }

  /** A commit now (a send waits for it), through conflicts. Inside the chat's chain. */
  private async commitNow(device: DeviceLike, chatId: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.syncIn(device, chatId);
        await device.commit(chatId);
        this.lastFed.delete(chatId);
        return;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'mls_epoch_conflict') || attempt >= TRIES) throw error;
        await this.deps.wait(100 + this.deps.random() * 500);
      }
    }
  }
}

/** A send to a chat whose group this device is not in yet. */
export class NotReady extends Error {
  constructor(readonly chatId: number) {
    super(`this device is not in the group of chat ${chatId} yet`);
  }
}

/** The inner map of `outer` at `key`, made when missing. */
function inner<K, V>(outer: Map<number, Map<K, V>>, key: number): Map<K, V> {
  let map = outer.get(key);
  if (!map) {
    map = new Map();
    outer.set(key, map);
  }
  return map;
}

export const e2ee = new E2ee();
