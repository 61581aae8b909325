// The browser's MLS device (src/lib/mls/device.ts) exposed to the interop test, bundled on its
// own and loaded into a page on the server's origin: the real code, the real API, Chromium's
// WebCrypto. Not part of the app.
import { api, setToken } from '../../src/lib/api';
import { toHex } from '../../src/lib/mls/bytes';
import { Device } from '../../src/lib/mls/device';
import type { Content } from '../../src/lib/mls/content';
import { epochCode } from '../../src/lib/mls/safety';

let device: Device | null = null;

function opened(): Device {
  if (!device) throw new Error('open a device first');
  return device;
}

const texts = (received: { content: Content }[]) => received.map((r) => (r.content.t === 'react' ? r.content.emoji : r.content.text));

(window as unknown as { mls: unknown }).mls = {
  async signUp(username: string, password: string) {
    const auth = await api.register(username, password, username);
    setToken(auth.token);
    device = await Device.open(auth.user.id);
    return { userId: auth.user.id, deviceId: device.identity.deviceId };
  },
  /** After a reload: the same session's device, from its vault. */
  async resume() {
    const me = await api.me();
    device = await Device.open(me.id);
    return { userId: me.id, deviceId: device.identity.deviceId };
  },
  /** The browser lost this session's device (site data cleared); the session signs in again. */
  async loseState(vault: string) {
    await new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase(vault);
      req.onsuccess = resolve;
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('the vault is still open'));
    });
    const me = await api.me();
    device = await Device.open(me.id);
    return { userId: me.id, deviceId: device.identity.deviceId };
  },
  async history(chatId: number) { return texts(await opened().history(chatId)); },
  /** Whether the vault's key can be read out of the browser (it must not). */
  async vaultKeyExtractable(name: string) {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const key = await new Promise<CryptoKey>((resolve, reject) => {
      const req = db.transaction('keys').objectStore('keys').get('wrapping');
      req.onsuccess = () => resolve(req.result as CryptoKey);
      req.onerror = () => reject(req.error);
    });
    try {
      await crypto.subtle.exportKey('raw', key);
      return true;
    } catch {
      return key.extractable;
    }
  },
  async createGroup(title: string, memberIds: number[]) {
    return (await api.createChat('group', title, memberIds, 'encrypted')).id;
  },
  async addMembers(chatId: number, userIds: number[]) { await api.addMembers(chatId, userIds); },
  async leave(chatId: number, userId: number) { await api.removeMember(chatId, userId); },
  async commit(chatId: number) {
    try {
      const message = await opened().commit(chatId);
      return { ok: true, seq: message.seq, epoch: message.mls?.epoch };
    } catch (error) {
      return { ok: false, code: (error as { code?: string }).code, error: String(error) };
    }
  },
  async accept() { return opened().acceptWelcomes(); },
  async send(chatId: number, text: string) {
    try {
      return { ok: true, seq: (await opened().send(chatId, { t: 'text', text })).seq };
    } catch (error) {
      return { ok: false, code: (error as { code?: string }).code, error: String(error) };
    }
  },
  async sync(chatId: number) {
    const received = await opened().sync(chatId);
    return { texts: texts(received), member: opened().isMember(chatId) };
  },
  epoch(chatId: number) {
    const group = opened().group(chatId);
    if (!group) return { epoch: null, authenticator: null, code: null };
    return { epoch: Number(group.epoch), authenticator: toHex(group.epochAuthenticator), code: epochCode(group.epochAuthenticator) };
  },
  /** The epoch code as Verify.svelte shows it (lib/e2ee takes it from here). */
  epochCode(chatId: number) { return opened().epochCode(chatId); },
  /** The safety number as Verify.svelte shows it. */
  async safety(userId: number) { return (await opened().safety(userId)).number; },
};
