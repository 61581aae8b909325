// Trust on first use of contacts' keys: the first time this device sees a contact's devices it
// keeps their fingerprint F(u) (safety.ts) without a word; when a later look finds another set
// (a new device, one gone, a key replaced), the person is told, and a contact they had verified
// is verified no more until they compare again. Kept sealed in the device's vault (vault.ts):
// whom someone checked is private too.

import { toHex } from './bytes';
import { fingerprint } from './safety';
import type { Records } from './vault';

/** Keys that changed since the person last acknowledged them. */
export interface KeyChange {
  /** The contact had been marked verified: a warning, not a quiet line. */
  wasVerified: boolean;
  /** How many devices the contact had before the change. */
  from: number;
}

export interface Pin {
  /** F(u) in hex, of the devices last seen (or of those the person verified). */
  fingerprint: string;
  /** How many devices that covers. */
  keys: number;
  verified: boolean;
  change: KeyChange | null;
}

const recordOf = (userId: number) => `pin:${userId}`;

export class Pins {
  /** Read-modify-write of one record at a time: two looks at once must not lose a change. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly records: Records) {}

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job);
    this.queue = result.catch(() => {});
    return result;
  }

  private async read(userId: number): Promise<Pin | null> {
    const bytes = await this.records.get(recordOf(userId));
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as Pin) : null;
  }

  private async write(userId: number, pin: Pin): Promise<Pin> {
    await this.records.put(recordOf(userId), new TextEncoder().encode(JSON.stringify(pin)));
    return pin;
  }

  /** A look at the contact's devices' signing keys as the server lists them now. A contact with
   * no device yet has nothing to pin. */
  look(userId: number, keys: Uint8Array[]): Promise<Pin | null> {
    return this.serial(async () => {
      const pinned = await this.read(userId);
      if (!keys.length) return pinned;
      const seen = toHex(await fingerprint(userId, keys));
      if (pinned?.fingerprint === seen) return pinned;
      if (!pinned) return this.write(userId, { fingerprint: seen, keys: keys.length, verified: false, change: null });
      // A change not yet acknowledged stays as it was first seen (and as serious).
      const change = { wasVerified: pinned.verified || !!pinned.change?.wasVerified, from: pinned.change?.from ?? pinned.keys };
      return this.write(userId, { fingerprint: seen, keys: keys.length, verified: false, change });
    });
  }

  /** The person compared the safety number made from these keys of the contact's (what Verify
   * showed): they are pinned as verified. */
  verify(userId: number, keys: Uint8Array[]): Promise<Pin> {
    return this.serial(async () => this.write(userId, { fingerprint: toHex(await fingerprint(userId, keys)), keys: keys.length, verified: true, change: null }));
  }

  unverify(userId: number): Promise<Pin | null> {
    return this.serial(async () => {
      const pinned = await this.read(userId);
      return pinned ? this.write(userId, { ...pinned, verified: false }) : null;
    });
  }

  /** The person saw the change and lets it be. */
  dismiss(userId: number): Promise<Pin | null> {
    return this.serial(async () => {
      const pinned = await this.read(userId);
      return pinned?.change ? this.write(userId, { ...pinned, change: null }) : pinned;
    });
  }
}
