// Messages written while offline wait here, in IndexedDB, until the server has them. Each keeps
// its client_msg_id, so sending it again after a reconnect can never duplicate it.

import { openDB, type IDBPDatabase } from 'idb';
import type { Poll } from './api';

export interface Pending {
  client_msg_id: string;
  chat_id: number;
  text: string;
  reply_to: number | null;
  /** Ask readers to acknowledge it (admins only); absent in items queued by older versions. */
  request_ack?: boolean;
  /** Send now even in quiet hours or do-not-disturb (org admins only); absent in older items. */
  urgent?: boolean;
  /** A poll, the text its question; absent in older items. */
  poll?: Poll;
  /** The message whose thread this reply goes in; absent in older items. */
  thread_of?: number;
  /** The ids of the files it shows, uploaded before it was queued (lib/attach.svelte.ts); absent when none. */
  attachments?: number[];
  created_at: number;
}

let db: Promise<IDBPDatabase> | null = null;

function database(): Promise<IDBPDatabase> {
  db ??= openDB('kolokol', 1, {
    upgrade(database) {
      database.createObjectStore('outbox', { keyPath: 'client_msg_id' });
    },
  });
  return db;
}

export async function enqueue(item: Pending): Promise<void> {
  await (await database()).put('outbox', item);
}

export async function pending(): Promise<Pending[]> {
  const all: Pending[] = await (await database()).getAll('outbox');
  return all.sort((a, b) => a.created_at - b.created_at);
}

export async function done(clientMsgId: string): Promise<void> {
  await (await database()).delete('outbox', clientMsgId);
}

export function newClientMsgId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}
