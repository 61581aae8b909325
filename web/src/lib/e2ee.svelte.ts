// End-to-end encrypted chats in the app: the session's MLS device (lib/mls/device.ts, opened only
// once the user has or makes an encrypted chat, so ts-mls stays out of the first page load), the
// order in which each chat's messages reach it, and what it read, for the views to show.
//
// Every chat has one promise chain: syncs, live messages, commits and sends of that chat run one
// after another, because each of them moves the chat's MLS state and messages must be processed
// strictly in seq order. A live message goes to the device as it comes when it is the next one;
// anything else (the first look at a chat, a gap, a reconnect) fetches from the device's own
// position on (`sync`), so nothing is ever skipped.

import { api, ApiError, type Chat, type Message, type MlsGroupState } from './api';
import type { Content } from './mls/content';
import type { Received } from './mls/device';

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
interface AnyContent { t?: unknown; text?: unknown; reply_to?: unknown; of?: unknown }

/** Where this device stands in an encrypted chat: looking at it for the first time; in its group
 * (it reads and sends); waiting to be added by another member's device; or the device could not
 * start in this browser. */
export type Keys = 'opening' | 'ready' | 'waiting' | 'failed';

/** What this module needs of the MLS device (lib/mls/device.ts's `Device`). */
export interface DeviceLike {
  readonly identity: { userId: number; deviceId: number };
  isMember(chatId: number): boolean;
  commit(chatId: number): Promise<Message>;
  acceptWelcomes(): Promise<number[]>;
  send(chatId: number, content: Content): Promise<Message>;
  sync(chatId: number): Promise<Received[]>;
  process(chatId: number, message: Message): Promise<Received | null>;
  history(chatId: number): Promise<Received[]>;
  replenish(): Promise<void>;
}

/** The outside world, replaceable in tests. */
export interface Deps {
  /** Opens the user's device; `elsewhere` is called when another tab of this browser holds it
   * (the opening then waits until that tab lets it go). */
  open(userId: number, elsewhere: () => void): Promise<DeviceLike>;
  /** Lets the device go (sign-out), for another tab to take. */
  close(): void;
  mlsGroup(chatId: number): Promise<Pick<MlsGroupState, 'epoch' | 'pending_add' | 'pending_remove'>>;
  /** Forgets the sealed vault of a session's device (sign-out, a revoked session). */
  forgetVault(userId: number, deviceId: number): Promise<void>;
  wait(ms: number): Promise<void>;
  random(): number;
  now(): number;
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
};

/** A member device other than the chat's creator starts its group only when the creator's page
 * has not done so for this long (it may have closed right after creating the chat). */
export const CREATOR_GRACE_MS = 30_000;
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

  constructor(private readonly deps: Deps = browserDeps) {}

  /** The signed-in user: the device, when needed, is theirs. */
  signedIn(userId: number): void {
    if (this.userId !== userId) this.reset();
    this.userId = userId;
  }

  /** Forgets the session's device and everything read (sign-out). With `wipe`, its sealed vault
   * goes too: the session is over, and a later sign-in is a new device. */
  async signedOut(wipe: boolean): Promise<void> {
    const identity = this.device?.identity;
    this.reset();
    this.userId = null;
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
    this.decrypted = {};
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
      if (generation === this.generation) this.busy[chatId] = Math.max(0, (this.busy[chatId] ?? 1) - 1);
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
      const latest = this.latest[chatId];
      if (!latest || received.seq >= latest.seq) this.latest[chatId] = { seq: received.seq, text: content.text };
      return;
    }
    read[received.seq] = HIDDEN;
    // An edit counts only from the sender of the message it edits.
    if (content.t === 'edit' && typeof content.of === 'number' && typeof content.text === 'string') {
      const original = read[content.of];
      if (typeof original === 'object' && original.senderId === received.senderId) {
        read[content.of] = { ...original, text: content.text, edited: true };
        if (this.latest[chatId]?.seq === content.of) this.latest[chatId] = { seq: content.of, text: content.text };
      }
    }
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
    }
    if (!device.isMember(chatId)) await this.welcomes();
    this.contacted.add(chatId);
    if (device.isMember(chatId)) {
      this.keys[chatId] = 'ready';
      await this.syncIn(device, chatId);
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

  /** `mls.changed`, or members came or went: a commit may be due. */
  onGroupChange(chatId: number): void {
    if (this.userId === null || !(chatId in this.keys)) return;
    this.scheduleCommit(chatId);
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
      void this.run(chatId, () => (device.isMember(chatId) ? this.syncIn(device, chatId) : Promise.resolve()))
        .catch((error) => console.warn('e2ee: catching up failed', error));
    }
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
    const waiting = this.commits.get(chatId);
    if (waiting) {
      waiting.again = true;
      return;
    }
    const entry = { again: false };
    this.commits.set(chatId, entry);
    const generation = this.generation;
    void this.deps.wait(delay)
      .then(() => (generation === this.generation ? this.run(chatId, () => this.commitIfDue(chatId)) : undefined))
      .catch((error) => console.warn(`e2ee: commit in chat ${chatId} failed`, error))
      .finally(() => {
        if (generation !== this.generation) return;
        this.commits.delete(chatId);
        if (entry.again) this.scheduleCommit(chatId);
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

  // --- sending ---

  /** Encrypts and sends a text (a reply to `replyTo`) to the chat: after `mls_commit_required`
   * commits first, after `mls_epoch_stale` reads what moved the group on, then sends again.
   * Throws `ApiError`s the person must hear about (offline, refused), or `NotReady`. */
  send(chatId: number, text: string, replyTo: number | null = null): Promise<Message> {
    return this.run(chatId, async () => {
      const device = await this.ensure();
      if (!this.contacted.has(chatId)) await this.contact(chatId);
      if (!device.isMember(chatId)) throw new NotReady(chatId);
      const content: Content = replyTo === null ? { t: 'text', text } : { t: 'text', text, reply_to: replyTo };
      for (let attempt = 1; ; attempt++) {
        try {
          const message = await device.send(chatId, content);
          this.record(chatId, { seq: message.seq, senderId: message.sender_id, content });
          return message;
        } catch (error) {
          if (!(error instanceof ApiError) || attempt >= TRIES) throw error;
          if (error.code === 'mls_commit_required') await this.commitNow(device, chatId);
          else if (error.code === 'mls_epoch_stale') await this.syncIn(device, chatId);
          else throw error;
        }
      }
    });
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

export const e2ee = new E2ee();
