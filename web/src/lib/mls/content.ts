// What an encrypted message says, inside the MLS ciphertext, as kolokol-e2ee's `content.rs`
// writes it: versioned JSON with a fresh franking key, whose HMAC-SHA256 over the content bytes
// travels (bound by the AEAD) as the message's authenticated data, after a version byte. A
// reporter can then disclose one message, and the server checks it against the tag it kept.

import { equalBytes, fromBase64Url, toBase64Url } from './bytes';

export const FRANKING_VERSION = 1;

/** Edits and reactions are messages of their own naming the message they change by seq; apply an
 * edit only from the sender of the message it edits. */
export type Content =
  | { t: 'text'; text: string; reply_to?: number }
  | { t: 'edit'; of: number; text: string }
  | { t: 'react'; of: number; emoji: string; on: boolean };

export interface Framed { bytes: Uint8Array; authenticatedData: Uint8Array }

async function tag(key: Uint8Array, bytes: Uint8Array): Promise<Uint8Array> {
  const hmac = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', hmac, bytes as BufferSource));
}

/** Frames `content` with a fresh franking key. */
export async function frame(content: Content): Promise<Framed> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, fk: toBase64Url(key), ...content }));
  const authenticatedData = new Uint8Array(33);
  authenticatedData[0] = FRANKING_VERSION;
  authenticatedData.set(await tag(key, bytes), 1);
  return { bytes, authenticatedData };
}

/** Reads content received with `authenticatedData`; throws unless its franking tag matches. */
export async function open(bytes: Uint8Array, authenticatedData: Uint8Array): Promise<Content> {
  let envelope: { v?: unknown; fk?: unknown; t?: unknown; text?: unknown; reply_to?: unknown; of?: unknown; emoji?: unknown; on?: unknown };
  try {
    envelope = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new Error('not Kolokol content');
  }
  if (envelope.v !== 1 || typeof envelope.fk !== 'string') throw new Error('an unknown content version');
  const sent = authenticatedData.subarray(1);
  if (authenticatedData[0] !== FRANKING_VERSION || !equalBytes(sent, await tag(fromBase64Url(envelope.fk), bytes))) {
    throw new Error('the franking tag does not match');
  }
  const { t, text, of, emoji, on } = envelope;
  if (t === 'text' && typeof text === 'string') {
    return typeof envelope.reply_to === 'number' ? { t, text, reply_to: envelope.reply_to } : { t, text };
  }
  if (t === 'edit' && typeof of === 'number' && typeof text === 'string') return { t, of, text };
  if (t === 'react' && typeof of === 'number' && typeof emoji === 'string' && typeof on === 'boolean') return { t, of, emoji, on };
  throw new Error('content of an unknown kind');
}
