// Where a browser device keeps its MLS state and what it decrypted: IndexedDB, every record
// sealed with AES-256-GCM under a key that cannot leave the browser (generated non-extractable,
// kept as a CryptoKey in the same database), the record's name as associated data. Script in the
// page can still use the key while it runs; it cannot copy it out. The CSP (scripts from this
// origin only) is the other wall.

/** Named byte records: what the device's state needs of a store. */
export interface Records {
  get(name: string): Promise<Uint8Array | undefined>;
  put(name: string, value: Uint8Array): Promise<void>;
  delete(name: string): Promise<void>;
  /** Names starting with `prefix`, in order. */
  names(prefix: string): Promise<string[]>;
  /** Lets go of the store (sign-out): until then, the browser cannot delete it. */
  close(): void;
}

/** Records in memory: for tests, and for browsers without IndexedDB (state lasts the page). */
export class MemoryRecords implements Records {
  private readonly values = new Map<string, Uint8Array>();
  async get(name: string) { return this.values.get(name); }
  async put(name: string, value: Uint8Array) { this.values.set(name, value.slice()); }
  async delete(name: string) { this.values.delete(name); }
  async names(prefix: string) { return [...this.values.keys()].filter((n) => n.startsWith(prefix)).sort(); }
  close() {}
}

const KEYS = 'keys';
const RECORDS = 'records';
const WRAPPING_KEY = 'wrapping';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase(name: string): Promise<IDBDatabase> {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => {
    req.result.createObjectStore(KEYS);
    req.result.createObjectStore(RECORDS);
  };
  return request(req);
}

interface Sealed { iv: Uint8Array; ct: ArrayBuffer }

/** Records sealed in IndexedDB database `name`. */
export class SealedRecords implements Records {
  private constructor(private readonly db: IDBDatabase, private readonly key: CryptoKey) {}

  static async open(name: string): Promise<SealedRecords> {
    const db = await openDatabase(name);
    const keys = db.transaction(KEYS, 'readwrite').objectStore(KEYS);
    let key = (await request(keys.get(WRAPPING_KEY))) as CryptoKey | undefined;
    if (!key) {
      key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await request(db.transaction(KEYS, 'readwrite').objectStore(KEYS).put(key, WRAPPING_KEY));
    }
    return new SealedRecords(db, key);
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    const sealed = (await request(this.db.transaction(RECORDS).objectStore(RECORDS).get(name))) as Sealed | undefined;
    if (!sealed) return undefined;
    const params = { name: 'AES-GCM', iv: sealed.iv as BufferSource, additionalData: new TextEncoder().encode(name) };
    return new Uint8Array(await crypto.subtle.decrypt(params, this.key, sealed.ct));
  }

  async put(name: string, value: Uint8Array): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const params = { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(name) };
    const ct = await crypto.subtle.encrypt(params, this.key, value as BufferSource);
    await request(this.db.transaction(RECORDS, 'readwrite').objectStore(RECORDS).put({ iv, ct } satisfies Sealed, name));
  }

  async delete(name: string): Promise<void> {
    await request(this.db.transaction(RECORDS, 'readwrite').objectStore(RECORDS).delete(name));
  }

  async names(prefix: string): Promise<string[]> {
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const names = await request(this.db.transaction(RECORDS).objectStore(RECORDS).getAllKeys(range));
    return (names as string[]).sort();
  }

  close(): void {
    this.db.close();
  }
}

/** The vault of one session's device. */
export function vaultName(userId: number, deviceId: number): string {
  return `kolokol-e2ee-${userId}-${deviceId}`;
}

/** Opens the vault, in memory where IndexedDB is missing. */
export async function openVault(userId: number, deviceId: number): Promise<Records> {
  if (typeof indexedDB === 'undefined') return new MemoryRecords();
  return SealedRecords.open(vaultName(userId, deviceId));
}

/** Forgets a session's vault (sign-out, or the session was revoked). */
export async function forgetVault(userId: number, deviceId: number): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  await request(indexedDB.deleteDatabase(vaultName(userId, deviceId)));
}
