// What people compare to know they talk to each other's real devices, computed as
// kolokol-e2ee's `safety.rs` does (both check tests/mls/vectors.json): a contact's 60-digit
// safety number from both users' device signing keys, and a group's 30-digit epoch code from its
// MLS epoch authenticator.

import { toHex } from './bytes';

const LABEL = new TextEncoder().encode('kolokol safety v1');

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** A user's devices, by their signing keys (in any order). */
export async function fingerprint(userId: number, signatureKeys: Uint8Array[]): Promise<Uint8Array> {
  const keys = [...signatureKeys].sort(compare);
  const id = new Uint8Array(8);
  new DataView(id.buffer).setBigInt64(0, BigInt(userId));
  const parts = [LABEL, id, ...keys];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

/** Six groups of five digits from the first 30 bytes. */
function digits(bytes: Uint8Array): string[] {
  const groups: string[] = [];
  for (let i = 0; i < 30; i += 5) {
    let value = 0n;
    for (const byte of bytes.subarray(i, i + 5)) value = (value << 8n) | BigInt(byte);
    groups.push((value % 100000n).toString().padStart(5, '0'));
  }
  return groups;
}

export interface Party { userId: number; keys: Uint8Array[] }

function ordered(one: Party, other: Party): [Party, Party] {
  return one.userId <= other.userId ? [one, other] : [other, one];
}

/** Two users' safety number, the same whoever computes it. */
export async function safetyNumber(one: Party, other: Party): Promise<string> {
  const [low, high] = ordered(one, other);
  return [...digits(await fingerprint(low.userId, low.keys)), ...digits(await fingerprint(high.userId, high.keys))].join(' ');
}

/** What a QR code of the safety number carries. */
export async function safetyCode(one: Party, other: Party): Promise<string> {
  const [low, high] = ordered(one, other);
  return `kolokol-safety:1:${low.userId}:${toHex(await fingerprint(low.userId, low.keys))}:${high.userId}:${toHex(await fingerprint(high.userId, high.keys))}`;
}

/** A group's epoch code: 30 digits of its epoch authenticator. */
export function epochCode(epochAuthenticator: Uint8Array): string {
  return digits(epochAuthenticator).join(' ');
}
