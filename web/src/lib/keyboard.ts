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
  /** Opens the mini-app of the bot `username`, after the person agrees; `startParam` is the bot's payload. */
  | { kind: 'app'; username: string; startParam: string | null }
  /** Makes or joins the group the button stands for (called `title`); the server knows the button
   * by its place in the keyboard. */
  | { kind: 'chat'; row: number; column: number; title: string }
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

/** A bot's username, as Max's `web_app` may give it (with or without "@"). */
const BOT_USERNAME = /^@?([a-z0-9_.]{3,32})$/i;

/** A button's place in its keyboard, 0-based. */
export interface Place { row: number; column: number }

/** `sender` is the username of the bot that sent the buttons: an `open_app` button that names no
 * bot opens that bot's mini-app. */
export function pressOf(button: Button, { row, column }: Place, sender: string | null = null): Press {
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
    case 'open_app': {
      // Max's `web_app` is a bot's username or a link to the bot; only a username is read here.
      const username = BOT_USERNAME.exec(button.web_app.trim())?.[1]?.toLowerCase() ?? sender;
      return username ? { kind: 'app', username, startParam: button.payload || null } : { kind: 'unsupported', reason: 'kbUnsupported' };
    }
    case 'chat':
      return { kind: 'chat', row, column, title: button.chat_title };
    default:
      // A kind of button this client does not know yet.
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

/** Why the server would not make or let the person join a chat button's group, by its error code:
 * the group's rules (safeguarding, or a school's approved bots) keep them out. */
export function chatButtonRefusal(code: string): Key {
  return code === 'safeguarding' || code === 'forbidden' ? 'kbChatRefused' : pressRefusal(code);
}

/** Why the server would not open a bot's mini-app, by its error code. */
export function appRefusal(code: string): Key {
  switch (code) {
    case 'user_not_found':
      return 'botNotFound';
    case 'not_found':
      return 'appNone';
    case 'forbidden':
      return 'appNoChat';
    case 'not_member':
      return 'notMemberAnymore';
    case 'rate_limited':
      return 'kbTooFast';
    default:
      return 'errorGeneric';
  }
}

/**
 * The address a mini-app opens at: the signed launch data goes in the fragment, which the browser
 * never sends to the app's server. An app that routes by its fragment (`#/week`) gets the data
 * after a "?" there, where Telegram's bridge script looks for it too.
 */
export function appLaunchUrl(url: string, initData: string): string {
  const launch = `WebAppData=${encodeURIComponent(initData)}&WebAppPlatform=web&WebAppVersion=1`;
  const hash = url.indexOf('#');
  if (hash < 0) return `${url}#${launch}`;
  if (hash === url.length - 1) return `${url}${launch}`;
  return `${url}${url.includes('?', hash) ? '&' : '?'}${launch}`;
}
