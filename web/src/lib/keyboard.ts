// A bot's buttons under its message (Max's inline keyboard): what pressing each kind does here,
// and why some do nothing. Pure, apart from the words' keys.

import type { Button } from './api';
import type { Key } from './i18n.svelte';

/** What pressing a button does in Kolokol. */
export type Press =
  | { kind: 'callback'; payload: string }
  | { kind: 'link'; url: string; host: string }
  | { kind: 'message'; text: string }
  | { kind: 'clipboard'; text: string }
  /** Shown disabled; `reason` says why. */
  | { kind: 'unsupported'; reason: Key };

/** Where an http(s) link goes (its host, with a port if it has one), or null for any other link. */
export function linkHost(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    return parsed.host || null;
  } catch {
    return null;
  }
}

export function pressOf(button: Button): Press {
  switch (button.type) {
    case 'callback':
      return { kind: 'callback', payload: button.payload };
    case 'link': {
      // The server lets only http(s) through; anything else is not opened all the same.
      const host = linkHost(button.url);
      return host ? { kind: 'link', url: button.url, host } : { kind: 'unsupported', reason: 'kbUnsupported' };
    }
    case 'message':
      return { kind: 'message', text: button.text };
    case 'clipboard':
      return { kind: 'clipboard', text: button.payload };
    // Kolokol never gives bots a phone number or a location.
    case 'request_contact':
      return { kind: 'unsupported', reason: 'kbNoContact' };
    case 'request_geo_location':
      return { kind: 'unsupported', reason: 'kbNoLocation' };
    case 'open_app':
      return { kind: 'unsupported', reason: 'kbNoApps' };
    default:
      // A kind of button this client does not know yet (Max's `chat`, say).
      return { kind: 'unsupported', reason: 'kbUnsupported' };
  }
}

/** Why the server refused a press of a callback button, by its error code. */
export function pressRefusal(code: string): Key {
  switch (code) {
    case 'not_found':
      return 'kbGone';
    case 'message_not_found':
      return 'kbMessageGone';
    case 'not_member':
      return 'notMemberAnymore';
    case 'rate_limited':
      return 'kbTooFast';
    default:
      return 'errorGeneric';
  }
}
