// Files on their way into messages: the composer's tray (what is attached to the message being
// written, each uploading at once), and messages sent before their files were all up, which wait
// here and enter the outbox when they are. The outbox (lib/outbox.ts) keeps only the files' ids,
// so a message enters it only once every file of it is uploaded. lib/upload.ts does the uploading.
//
// Both live here rather than in the chat view, so that going to another chat and back neither
// loses the tray nor stops a message waiting for its files.

import type { Attachment, AttachmentKind, UploadRequest } from './api';
import { sendMessage } from './app.svelte';
import { t } from './i18n.svelte';
import { kindOf, Upload, UploadError } from './upload';

/** At most this many files in one message (the server's limit). */
export const MAX_FILES = 10;

/** `offline`: waiting for the connection to come back, to go on from where the server got. */
export type ItemStatus = 'uploading' | 'offline' | 'done' | 'failed';

/** One file attached: what the tray and a waiting message show of it. */
export interface Item {
  key: string;
  name: string;
  size: number;
  kind: AttachmentKind;
  /** An object URL of the picture itself, for its thumbnail in the tray; null for other files. */
  preview: string | null;
  /** Bytes the server has (or that are on their way). */
  sent: number;
  status: ItemStatus;
  /** Why it failed: the server's code (`invalid_media`, `payload_too_large`…) or `lost`/`internal`. */
  code: string | null;
  attachment: Attachment | null;
  /** A recording's length. */
  durationMs: number | null;
  /** A round video message. */
  note: boolean;
}

/** A message sent while its files were still uploading. */
export interface WaitingSend {
  key: string;
  chatId: number;
  text: string;
  replyTo: number | null;
  requestAck: boolean;
  urgent: boolean;
  items: Item[];
}

/** A waiting message given back to the composer because one of its files was refused. */
export interface Returned { text: string; code: string; kind: AttachmentKind }

export const attach = $state({
  /** Files attached to the message being written, per chat. */
  tray: {} as Record<number, Item[]>,
  /** Messages waiting for their files, per chat, in the order they were sent. */
  waiting: {} as Record<number, WaitingSend[]>,
  /** Per chat, a waiting message given back (its files are back in the tray), for the chat view to explain once. */
  returned: {} as Record<number, Returned>,
});

/** What an item uploads: its bytes and how it was begun (not reactive). */
interface Source { chatId: number; file: Blob; request: Omit<UploadRequest, 'size'>; upload: Upload | null }
const sources = new Map<string, Source>();
/** Files uploaded in this session by their id, to put back in the tray after a refused send. */
const uploaded = new Map<number, Omit<Item, 'key' | 'preview'>>();

function newKey(): string {
  return crypto.randomUUID();
}

/** Makes an item (its proxy, so that changes to it show) and starts its upload. */
function track(chatId: number, file: Blob, request: Omit<UploadRequest, 'size'>, shown: Partial<Item>, into: (item: Item) => Item): Item {
  const key = newKey();
  const item = into({
    key, name: request.name ?? '', size: file.size, kind: request.kind, preview: null, sent: 0, status: 'uploading', code: null,
    attachment: null, durationMs: request.duration_ms ?? null, note: false, ...shown,
  });
  sources.set(key, { chatId, file, request, upload: null });
  start(item);
  return item;
}

function start(item: Item): void {
  const source = sources.get(item.key);
  if (!source) return;
  item.status = 'uploading';
  item.code = null;
  item.sent = 0;
  const upload = new Upload(source.chatId, source.file, source.request, {
    onProgress: (sent) => (item.sent = sent),
    onWaiting: (waiting) => (item.status = waiting ? 'offline' : 'uploading'),
  });
  source.upload = upload;
  upload.done.then(
    (attachment) => {
      if (source.upload !== upload) return;
      item.attachment = attachment;
      item.status = 'done';
      item.sent = item.size;
      const { key: _key, preview: _preview, ...kept } = $state.snapshot(item);
      uploaded.set(attachment.id, kept);
      settle(source.chatId);
    },
    (error: unknown) => {
      if (source.upload !== upload) return;
      const code = error instanceof UploadError ? error.code : 'internal';
      if (code === 'cancelled') return;
      item.status = 'failed';
      item.code = code;
      settle(source.chatId);
    },
  );
}

/** Lets go of an item: its upload stops (if it still runs) and its thumbnail is freed. */
function release(item: Item, cancel: boolean): void {
  const source = sources.get(item.key);
  if (cancel && source?.upload && item.status !== 'done') source.upload.cancel();
  sources.delete(item.key);
  if (item.preview) URL.revokeObjectURL(item.preview);
}

function addToTray(chatId: number, item: Item): Item {
  attach.tray[chatId] = [...(attach.tray[chatId] ?? []), item];
  return attach.tray[chatId][attach.tray[chatId].length - 1];
}

/**
 * Attaches files to the message being written in chat `chatId`; each starts uploading at once.
 * Gives how many were left out because the message already has MAX_FILES.
 */
export function addFiles(chatId: number, files: Iterable<File>): number {
  let left = 0;
  for (const file of files) {
    if ((attach.tray[chatId]?.length ?? 0) >= MAX_FILES) {
      left += 1;
      continue;
    }
    const kind = kindOf(file.type);
    const request = { kind, ...(file.name ? { name: file.name } : {}) };
    const shown = { name: file.name || t('file') };
    if (file.size === 0) {
      // The server takes no empty files: said at once, nothing is sent.
      addToTray(chatId, {
        key: newKey(), name: shown.name, size: 0, kind, preview: null, sent: 0, status: 'failed', code: 'empty', attachment: null,
        durationMs: null, note: false,
      });
      continue;
    }
    track(chatId, file, request, { ...shown, preview: kind === 'image' ? URL.createObjectURL(file) : null }, (item) => addToTray(chatId, item));
  }
  return left;
}

/** Takes a file out of the tray, cancelling its upload. */
export function removeItem(chatId: number, key: string): void {
  const tray = attach.tray[chatId] ?? [];
  const item = tray.find((i) => i.key === key);
  if (!item) return;
  release(item, true);
  attach.tray[chatId] = tray.filter((i) => i.key !== key);
}

/** Tries a failed file again; `asFile` sends a photo, video or sound the server could not read as
 * such as a document instead. */
export function retryItem(chatId: number, key: string, asFile = false): void {
  const item = attach.tray[chatId]?.find((i) => i.key === key);
  const source = item && sources.get(key);
  if (!item || !source) return;
  if (asFile) {
    source.request = { kind: 'file', ...(source.request.name ? { name: source.request.name } : {}) };
    item.kind = 'file';
    item.note = false;
    if (item.preview) URL.revokeObjectURL(item.preview);
    item.preview = null;
  }
  start(item);
}

export function busy(items: Item[]): boolean {
  return items.some((item) => item.status === 'uploading' || item.status === 'offline');
}

export interface SendOptions { replyTo: number | null; requestAck: boolean; urgent: boolean }

/**
 * Sends a message with the tray's files: into the outbox at once when they are all uploaded,
 * else it waits (shown in the chat) and goes when they are. False (and nothing is sent) while a
 * file in the tray has failed: it is to be tried again or taken out first.
 */
export function sendWithFiles(chatId: number, text: string, options: SendOptions): boolean {
  const items = attach.tray[chatId] ?? [];
  if (items.some((item) => item.status === 'failed')) return false;
  attach.tray[chatId] = [];
  const send: WaitingSend = { key: newKey(), chatId, text, ...options, items };
  attach.waiting[chatId] = [...(attach.waiting[chatId] ?? []), send];
  settle(chatId);
  return true;
}

/**
 * Sends a recording at once, as a message of its own: a voice message (with its length and
 * waveform) or a round video. It waits in the chat while it uploads.
 */
export function sendRecording(chatId: number, blob: Blob, recording: { kind: 'voice' | 'video'; name: string; durationMs: number; waveform?: number[] },
  options: SendOptions): void {
  const request: Omit<UploadRequest, 'size'> = {
    kind: recording.kind, name: recording.name, duration_ms: recording.durationMs,
    ...(recording.waveform?.length ? { waveform: recording.waveform } : {}),
  };
  track(chatId, blob, request, { name: recording.kind === 'voice' ? t('voiceMessage') : t('videoNote'), note: recording.kind === 'video' },
    (item) => {
      const send: WaitingSend = { key: newKey(), chatId, text: '', ...options, items: [item] };
      attach.waiting[chatId] = [...(attach.waiting[chatId] ?? []), send];
      // The proxy in the list is the one its upload must change, so that the chat shows it.
      return attach.waiting[chatId][attach.waiting[chatId].length - 1].items[0];
    });
}

/** Waiting messages whose files are all up go out (in the order they were sent); one whose
 * file was refused goes back to the composer. */
function settle(chatId: number): void {
  const list = attach.waiting[chatId] ?? [];
  const still: WaitingSend[] = [];
  let blocked = false;
  for (const send of list) {
    const failed = send.items.find((item) => item.status === 'failed');
    if (failed) {
      giveBack(chatId, send, failed);
      continue;
    }
    if (blocked || send.items.some((item) => item.status !== 'done')) {
      blocked = true;
      still.push(send);
      continue;
    }
    const ids = send.items.map((item) => item.attachment!.id);
    for (const item of send.items) release(item, false);
    void sendMessage(chatId, send.text, send.replyTo, send.requestAck, send.urgent, { attachments: ids }).catch(() => {});
  }
  if (still.length !== list.length) attach.waiting[chatId] = still;
}

function giveBack(chatId: number, send: WaitingSend, failed: Item): void {
  attach.tray[chatId] = [...send.items, ...(attach.tray[chatId] ?? [])];
  attach.returned[chatId] = { text: send.text, code: failed.code ?? 'internal', kind: failed.kind };
}

/** Cancels a waiting message: its uploads stop, nothing is sent. */
export function cancelWaiting(chatId: number, key: string): void {
  const list = attach.waiting[chatId] ?? [];
  const send = list.find((s) => s.key === key);
  if (!send) return;
  for (const item of send.items) release(item, true);
  attach.waiting[chatId] = list.filter((s) => s.key !== key);
  settle(chatId);
}

/** Takes the waiting message given back in chat `chatId`, if any (once). */
export function takeReturned(chatId: number): Returned | null {
  const returned = attach.returned[chatId];
  if (!returned) return null;
  delete attach.returned[chatId];
  return returned;
}

/** Puts the files of a refused send back in the tray (those uploaded in this session), to send again. */
export function restoreFiles(chatId: number, ids: number[]): void {
  for (const id of ids) {
    const kept = uploaded.get(id);
    if (!kept || (attach.tray[chatId]?.length ?? 0) >= MAX_FILES) continue;
    addToTray(chatId, { ...kept, key: newKey(), preview: null });
  }
}

/** Signing out: every upload stops and nothing waits any more. */
export function forgetUploads(): void {
  for (const items of Object.values(attach.tray)) for (const item of items) release(item, true);
  for (const list of Object.values(attach.waiting)) for (const send of list) for (const item of send.items) release(item, true);
  attach.tray = {};
  attach.waiting = {};
  attach.returned = {};
  uploaded.clear();
}

/** Whether anything is still on its way: a file uploading, or a message waiting for its files. */
export function uploading(): boolean {
  return Object.values(attach.tray).some(busy) || Object.values(attach.waiting).some((list) => list.length > 0);
}

// Closing or reloading the page would lose files on their way: the browser asks first.
if (typeof window !== 'undefined') {
  window.addEventListener('beforeunload', (event) => {
    if (uploading()) event.preventDefault();
  });
}

/** Why a file was not uploaded, in the user's language. */
export function problemText(item: Pick<Item, 'code' | 'kind'>): string {
  switch (item.code) {
    case 'invalid_media':
      if (item.kind === 'image') return t('uploadNotImage');
      if (item.kind === 'video') return t('uploadNotVideo');
      if (item.kind === 'audio' || item.kind === 'voice') return t('uploadNotAudio');
      return t('uploadUnreadable');
    case 'payload_too_large':
      return t('uploadTooLarge');
    case 'empty':
      return t('uploadEmpty');
    case 'not_member':
    case 'forbidden':
    case 'muted':
      return t('uploadNotAllowed');
    default:
      return t('uploadFailed');
  }
}
