// One device as an MLS member (RFC 9420), on ts-mls: its signing key and key packages, and the
// groups it is in. The same ciphersuite and the same choices as kolokol-e2ee's `member.rs`
// (openmls): handshakes as PublicMessage, the ratchet tree in Welcomes, full commits for key
// updates. Nothing here talks to the server; `device.ts` does.

import {
  type CiphersuiteImpl, type ClientConfig, type ClientState, type KeyPackage, type MLSMessage, type PrivateKeyPackage,
  createApplicationMessage, createCommit, createGroup, decodeGroupState, decodeMlsMessage, defaultAuthenticationService,
  defaultCapabilities, defaultKeyPackageEqualityConfig, defaultPaddingConfig, emptyPskIndex, encodeGroupState, encodeMlsMessage, generateKeyPackageWithKey, getCiphersuiteFromName, getCiphersuiteImpl, joinGroup,
  makePskIndex, processMessage,
} from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { fromBase64, toBase64, toHex } from './bytes';

const SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
const DAY = 86_400n;
/** Key packages live 84 days (as openmls makes them), starting an hour back for clocks that drift. */
const KEY_PACKAGE_DAYS = 84n;
const LAST_RESORT = 10;

let suite: Promise<CiphersuiteImpl> | null = null;
function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(SUITE));
  return suite;
}

/** As openmls: up to 1000 generations ahead (a deleted message leaves a gap), one epoch kept;
 * lifetimes are the server's to check on key packages, not ours on every leaf of a tree. */
const config: ClientConfig = {
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService: defaultAuthenticationService,
  keyRetentionConfig: { retainKeysForGenerations: 10, retainKeysForEpochs: 1, maximumForwardRatchetSteps: 1000 },
  lifetimeConfig: { maximumTotalLifetime: 92n * DAY, validateLifetimeOnReceive: false },
};

export interface DeviceIdentity { userId: number; deviceId: number }

export function credentialOf(identity: DeviceIdentity): Uint8Array {
  return new TextEncoder().encode(`kolokol:${identity.userId}:${identity.deviceId}`);
}

function encode(message: MLSMessage): Uint8Array {
  return encodeMlsMessage(message);
}

function decode(bytes: Uint8Array): MLSMessage {
  const decoded = decodeMlsMessage(bytes, 0);
  if (!decoded || decoded[1] !== bytes.length) throw new Error('not an MLS message');
  return decoded[0];
}

/** What a commit sends: the commit, and a Welcome for the devices it adds. */
export interface Outgoing { commit: Uint8Array; welcome: Uint8Array | null }

export type Incoming =
  | { kind: 'application'; data: Uint8Array; authenticatedData: Uint8Array }
  | { kind: 'commit'; removedMe: boolean };

/** A group this device is in. Its state is immutable: a commit's new state waits aside until the
 * server takes the commit. */
export class Group {
  private pending: ClientState | null = null;
  constructor(private state: ClientState) {}

  /** The group's state as bytes, private keys included: only ever stored sealed (vault.ts). */
  export(): Uint8Array { return encodeGroupState(this.state); }
  /** A commit's state while it waits for the server, as bytes. */
  exportPending(): Uint8Array | null { return this.pending ? encodeGroupState(this.pending) : null; }

  static restore(bytes: Uint8Array): Group {
    return new Group(restoreState(bytes));
  }

  /** The commit made before a reload reached the server after all: take its state. */
  adopt(pending: Uint8Array): void {
    this.state = restoreState(pending);
    this.pending = null;
  }

  get epoch(): bigint { return this.state.groupContext.epoch; }
  get ownLeaf(): number { return this.state.privatePath.leafIndex; }
  get epochAuthenticator(): Uint8Array { return this.state.keySchedule.epochAuthenticator; }
  get active(): boolean { return this.state.groupActiveState.kind === 'active'; }

  /** Adds `keyPackages` (MLSMessages as published), removes `removedLeaves`, with a fresh path
   * for this device: also how keys are updated. Pending until [`merge`] or [`clear`]. */
  async commit(keyPackages: Uint8Array[], removedLeaves: number[]): Promise<Outgoing> {
    const cs = await cipherSuite();
    const adds = keyPackages.map((bytes) => {
      const message = decode(bytes);
      if (message.wireformat !== 'mls_key_package') throw new Error('not a key package');
      return { proposalType: 'add' as const, add: { keyPackage: message.keyPackage } };
    });
    const removes = removedLeaves.map((removed) => ({ proposalType: 'remove' as const, remove: { removed } }));
    const result = await createCommit(
      { state: this.state, cipherSuite: cs, pskIndex: makePskIndex(this.state, {}) },
      { extraProposals: [...removes, ...adds], wireAsPublicMessage: true, ratchetTreeExtension: true },
    );
    this.pending = result.newState;
    return {
      commit: encode(result.commit),
      welcome: result.welcome ? encode({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome }) : null,
    };
  }

  /** The server took this device's commit. */
  merge(): void {
    if (!this.pending) throw new Error('no commit waits');
    this.state = this.pending;
    this.pending = null;
  }

  /** Another commit won the epoch. */
  clear(): void {
    this.pending = null;
  }

  async encrypt(authenticatedData: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    const result = await createApplicationMessage(this.state, data, await cipherSuite(), authenticatedData);
    this.state = result.newState;
    return encode({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: result.privateMessage });
  }

  /** The next message of the chat, in seq order. A commit is applied at once: the server took it. */
  async process(bytes: Uint8Array): Promise<Incoming> {
    const message = decode(bytes);
    if (message.wireformat !== 'mls_private_message' && message.wireformat !== 'mls_public_message') {
      throw new Error('not a group message');
    }
    let authenticatedData: Uint8Array = new Uint8Array();
    if (message.wireformat === 'mls_private_message') authenticatedData = message.privateMessage.authenticatedData;
    const result = await processMessage(message, this.state, emptyPskIndex, () => 'accept', await cipherSuite());
    this.state = result.newState;
    if (result.kind === 'applicationMessage') return { kind: 'application', data: result.message, authenticatedData };
    return { kind: 'commit', removedMe: !this.active };
  }
}

function restoreState(bytes: Uint8Array): ClientState {
  const decoded = decodeGroupState(bytes, 0);
  if (!decoded) throw new Error('a stored group that cannot be read');
  return { ...decoded[0], clientConfig: config };
}

interface StoredMember {
  userId: number; deviceId: number; signKey: string; publicKey: string;
  privates: { ref: string; keyPackage: string; init: string; hpke: string; signature: string }[];
}

/** A device's MLS identity: one Ed25519 key for every key package and leaf it makes. */
export class Member {
  private readonly privates = new Map<string, { publicPackage: KeyPackage; privatePackage: PrivateKeyPackage }>();

  private constructor(readonly identity: DeviceIdentity, private readonly keys: { signKey: Uint8Array; publicKey: Uint8Array }) {}

  static async create(identity: DeviceIdentity): Promise<Member> {
    const cs = await cipherSuite();
    return new Member(identity, await cs.signature.keygen());
  }

  get signatureKey(): Uint8Array { return this.keys.publicKey; }

  /** The signing key and the private parts of unused key packages, as bytes: only ever stored
   * sealed (vault.ts). */
  export(): Uint8Array {
    const stored: StoredMember = {
      userId: this.identity.userId, deviceId: this.identity.deviceId,
      signKey: toBase64(this.keys.signKey), publicKey: toBase64(this.keys.publicKey),
      privates: [...this.privates].map(([ref, made]) => ({
        ref,
        keyPackage: toBase64(encode({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: made.publicPackage })),
        init: toBase64(made.privatePackage.initPrivateKey),
        hpke: toBase64(made.privatePackage.hpkePrivateKey),
        signature: toBase64(made.privatePackage.signaturePrivateKey),
      })),
    };
    return new TextEncoder().encode(JSON.stringify(stored));
  }

  static restore(bytes: Uint8Array): Member {
    const stored = JSON.parse(new TextDecoder().decode(bytes)) as StoredMember;
    const member = new Member({ userId: stored.userId, deviceId: stored.deviceId },
      { signKey: fromBase64(stored.signKey), publicKey: fromBase64(stored.publicKey) });
    for (const made of stored.privates) {
      const message = decode(fromBase64(made.keyPackage));
      if (message.wireformat !== 'mls_key_package') throw new Error('a stored key package that is not one');
      member.privates.set(made.ref, {
        publicPackage: message.keyPackage,
        privatePackage: { initPrivateKey: fromBase64(made.init), hpkePrivateKey: fromBase64(made.hpke), signaturePrivateKey: fromBase64(made.signature) },
      });
    }
    return member;
  }

  /** A key package to publish, as an MLSMessage; its private keys stay here until a Welcome uses them. */
  async keyPackage(lastResort: boolean): Promise<Uint8Array> {
    const cs = await cipherSuite();
    const now = BigInt(Math.floor(Date.now() / 1000));
    const capabilities = defaultCapabilities();
    const extensions = [];
    if (lastResort) {
      capabilities.extensions = [...capabilities.extensions, LAST_RESORT];
      extensions.push({ extensionType: LAST_RESORT, extensionData: new Uint8Array() });
    }
    const credential = { credentialType: 'basic' as const, identity: credentialOf(this.identity) };
    const lifetime = { notBefore: now - 3600n, notAfter: now + KEY_PACKAGE_DAYS * DAY };
    const made = await generateKeyPackageWithKey(credential, capabilities, lifetime, extensions, this.keys, cs);
    this.privates.set(toHex(await makeKeyPackageRef(made.publicPackage, cs.hash)), made);
    return encode({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: made.publicPackage });
  }

  /** Starts a chat's group with this device alone in it, at epoch 0. */
  async createGroup(groupId: Uint8Array): Promise<Group> {
    const cs = await cipherSuite();
    const own = await this.keyPackage(false);
    const message = decode(own);
    if (message.wireformat !== 'mls_key_package') throw new Error('not a key package');
    const ref = toHex(await makeKeyPackageRef(message.keyPackage, cs.hash));
    const made = this.privates.get(ref)!;
    this.privates.delete(ref);
    return new Group(await createGroup(groupId, made.publicPackage, made.privatePackage, [], cs, config));
  }

  /** Joins from a Welcome naming one of this device's key packages. */
  async join(welcomeBytes: Uint8Array): Promise<Group> {
    const message = decode(welcomeBytes);
    if (message.wireformat !== 'mls_welcome') throw new Error('not a Welcome');
    const welcome = message.welcome;
    const ref = welcome.secrets.map((secret) => toHex(secret.newMember)).find((hex) => this.privates.has(hex));
    if (!ref) throw new Error('a Welcome for none of this device\'s key packages');
    const made = this.privates.get(ref)!;
    const state = await joinGroup(welcome, made.publicPackage, made.privatePackage, emptyPskIndex, await cipherSuite(), undefined, undefined, config);
    if (!made.publicPackage.extensions.some((extension) => extension.extensionType === LAST_RESORT)) this.privates.delete(ref);
    return new Group(state);
  }
}
