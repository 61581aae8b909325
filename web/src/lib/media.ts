// Files on messages: the signed links their bytes load from, and how they are described.
//
// This is the only place that asks the server for links (POST /media/links). Links asked for in
// one turn of the event loop (a screen of messages mounting) go out together, one request per
// chat and at most 100 ids each; each link is kept by attachment id and reused until it is
// within five minutes of expiring. A link works without the session token for an hour, so
// <img>, <audio>, <video> and <a download> load it directly.

import { api, type Attachment, type AttachmentKind, type MediaLink } from './api';
import { count, formatNumber, t, tf } from './i18n.svelte';

/** At most this many ids in one request (the server's limit). */
export const MAX_IDS = 100;
/** A link this close to expiring is asked for again. */
export const REFRESH_MARGIN = 5 * 60_000;
/** A link just received is never asked for again sooner than this (a skewed clock must not loop). */
const MIN_REUSE = 30_000;

/** Asks the server for links: what api.mediaLinks does. `serverNow` is the server's clock when it answered. */
export type FetchLinks = (chatId: number, ids: number[]) => Promise<{ links: MediaLink[]; serverNow?: number }>;

interface Entry {
  link: MediaLink;
  /** When (on this device's clock) to ask again. */
  refreshAt: number;
}

interface Waiter {
  /** The cache's generation when it was asked: a link asked for before clear() is not kept. */
  generation: number;
  resolve: (link: MediaLink | null) => void;
  reject: (error: unknown) => void;
}

export class LinkCache {
  private entries = new Map<number, Entry>();
  /** Requests waiting for the next flush: chat → attachment id → its waiter. */
  private queued = new Map<number, Map<number, Waiter>>();
  /** Requests queued or on their way, by `chat:id`, so that one id is asked for once at a time. */
  private inflight = new Map<string, Promise<MediaLink | null>>();
  private scheduled = false;
  /** Bumped by clear(): answers to requests made before it are dropped. */
  private generation = 0;

  constructor(private fetchLinks: FetchLinks, private now: () => number = Date.now) {}

  /**
   * The link to attachment `id` of chat `chatId`: the kept one while fresh, else a new one (null
   * when the chat does not show that file, e.g. its message was deleted). `force` asks anew even
   * if the kept one looks fresh (it failed to load). Rejects with the ApiError of the request
   * (`not_member`, offline…); nothing is kept then, so the next call asks again.
   */
  get(chatId: number, id: number, force = false): Promise<MediaLink | null> {
    const entry = this.entries.get(id);
    if (entry && !force && this.now() < entry.refreshAt) return Promise.resolve(entry.link);
    const key = `${chatId}:${id}`;
    const waiting = this.inflight.get(key);
    if (waiting) return waiting;
    const promise = new Promise<MediaLink | null>((resolve, reject) => {
      let chat = this.queued.get(chatId);
      if (!chat) this.queued.set(chatId, (chat = new Map()));
      chat.set(id, { generation: this.generation, resolve, reject });
    });
    this.inflight.set(key, promise);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
    return promise;
  }

  /** The kept link to attachment `id` if it is fresh, at once (a row scrolled back into view shows its image without waiting). */
  peek(id: number): MediaLink | undefined {
    const entry = this.entries.get(id);
    return entry && this.now() < entry.refreshAt ? entry.link : undefined;
  }

  /**
   * Forgets every link (signing out). Requests already asked for go out now and answer only
   * their own callers; their answers are not kept, and nobody who asks after (the next person to
   * sign in) shares them.
   */
  clear(): void {
    this.entries.clear();
    this.generation += 1;
    this.inflight.clear();
    this.flush();
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queued;
    this.queued = new Map();
    for (const [chatId, waiters] of queued) {
      const ids = [...waiters.keys()];
      for (let start = 0; start < ids.length; start += MAX_IDS) void this.request(chatId, ids.slice(start, start + MAX_IDS), waiters);
    }
  }

  private async request(chatId: number, ids: number[], waiters: Map<number, Waiter>): Promise<void> {
    const sentAt = this.now();
    let answer: Awaited<ReturnType<FetchLinks>>;
    try {
      answer = await this.fetchLinks(chatId, ids);
    } catch (error) {
      for (const id of ids) {
        const waiter = waiters.get(id);
        if (!waiter) continue;
        // Asked for before clear(): the id's in-flight entry may be someone else's by now.
        if (waiter.generation === this.generation) this.inflight.delete(`${chatId}:${id}`);
        waiter.reject(error);
      }
      return;
    }
    const receivedAt = this.now();
    // The server's clock against ours: its Date header has whole seconds, so its middle.
    const skew = answer.serverNow === undefined ? 0 : answer.serverNow + 500 - (sentAt + receivedAt) / 2;
    const byId = new Map(answer.links.map((link) => [link.id, link]));
    for (const [id, entry] of this.entries) if (entry.refreshAt <= receivedAt) this.entries.delete(id);
    for (const id of ids) {
      const waiter = waiters.get(id);
      if (!waiter) continue;
      const link = checked(byId.get(id));
      // Asked for before clear(): its caller gets it, nobody else; the same id may be asked
      // for anew since, by someone else.
      if (waiter.generation !== this.generation) {
        waiter.resolve(link);
        continue;
      }
      if (link) {
        const expires = link.expires_at - skew;
        // Five minutes before it expires; halfway through a link that lives less than ten.
        const refreshAt = Math.max(expires - REFRESH_MARGIN, receivedAt + (expires - receivedAt) / 2, receivedAt + MIN_REUSE);
        this.entries.set(id, { link, refreshAt });
      }
      this.inflight.delete(`${chatId}:${id}`);
      waiter.resolve(link);
    }
  }
}

/** Whether `url` leads to this app's own server (a link goes into src and href as it is). */
function sameOrigin(url: unknown): boolean {
  if (typeof url !== 'string') return false;
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

/** A link as the server gave it, if it leads to the server; a preview that leads elsewhere is dropped. Else null. */
function checked(link: MediaLink | undefined): MediaLink | null {
  if (!link || !sameOrigin(link.url)) return null;
  if (link.thumb_url === undefined || sameOrigin(link.thumb_url)) return link;
  const { thumb_url: _dropped, ...rest } = link;
  return rest;
}

/** The app's links, asked for with the signed-in session. */
export const mediaLinks = new LinkCache((chatId, ids) => api.mediaLinks(chatId, ids));

// --- describing files ---

const UNITS = ['sizeBytes', 'sizeKB', 'sizeMB', 'sizeGB'] as const;

/** A size for people: «512 Б», «1,5 КБ», «12 МБ» (binary units, as file managers count them). */
export function humanSize(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // One decimal below 10 (1,5 МБ), none above (12 МБ) and none for bytes; 1023,97 КБ reads 1 МБ.
  let digits = unit > 0 && value < 10 ? 1 : 0;
  if (Number(value.toFixed(digits)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
    digits = 1;
  }
  return tf(UNITS[unit], { n: formatNumber(value, digits) });
}

/** Known document types by their bytes' type, for files whose name has no extension. */
const MIME_LABELS: Record<string, string> = {
  'application/pdf': 'PDF',
  'application/zip': 'ZIP',
  'application/msword': 'DOC',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'application/vnd.ms-excel': 'XLS',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'XLSX',
  'application/vnd.ms-powerpoint': 'PPT',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PPTX',
  'application/vnd.oasis.opendocument.text': 'ODT',
  'application/vnd.oasis.opendocument.spreadsheet': 'ODS',
  'application/rtf': 'RTF',
  'text/plain': 'TXT',
  'text/csv': 'CSV',
  'image/jpeg': 'JPG',
  'image/png': 'PNG',
  'image/gif': 'GIF',
  'image/webp': 'WEBP',
};

/**
 * A file's type as a short label («PDF», «DOCX»): its name's extension (what its sender meant:
 * a .docx is a ZIP by its bytes), else its type, else null (the caller says «Файл»).
 */
export function fileType(attachment: Pick<Attachment, 'name' | 'mime'>): string | null {
  const extension = /\.([a-z0-9]{1,5})$/i.exec(attachment.name ?? '')?.[1];
  if (extension) return extension.toUpperCase();
  return MIME_LABELS[attachment.mime.split(';')[0].trim().toLowerCase()] ?? null;
}

/**
 * A file's name in pieces a line may break between: after «-» and «_», and before each «.», so
 * «Расписание-5Б.pdf» wraps as «Расписание-» «5Б.pdf» rather than mid-word (a hyphen before a
 * digit is no break for the browser). Rendered with <wbr> between.
 */
export function nameParts(name: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (const char of name) {
    if (char === '.' && current) {
      parts.push(current);
      current = '';
    }
    current += char;
    if (char === '-' || char === '_') {
      parts.push(current);
      current = '';
    }
  }
  if (current) parts.push(current);
  return parts;
}

/** A duration as a player shows it: «0:07», «12:30», «1:02:03». */
export function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** Widest and tallest a single picture shows in a message (CSS px at 16 px to the rem). */
const BOX_WIDTH = 280;
const BOX_HEIGHT = 320;
const MIN_WIDTH = 120;

/**
 * The box a picture or video takes before it loads, from its width and height, so the list does
 * not jump: at most BOX_WIDTH × BOX_HEIGHT, never upscaled beyond MIN_WIDTH, and no taller than
 * 1 : 2 or wider than 3 : 1 (the rest is cropped). Unknown sizes (videos are not probed) get
 * 16 : 9 for videos and 4 : 3 for pictures.
 */
export function mediaBox(kind: AttachmentKind, width?: number, height?: number): { width: number; ratio: number } {
  if (!width || !height) return { width: BOX_WIDTH, ratio: kind === 'video' ? 16 / 9 : 4 / 3 };
  const ratio = Math.min(3, Math.max(0.5, width / height));
  const fits = Math.min(BOX_WIDTH, BOX_HEIGHT * ratio);
  return { width: Math.round(Math.min(fits, Math.max(width, MIN_WIDTH))), ratio };
}

const ICONS: Record<AttachmentKind, string> = { image: '🖼', video: '🎬', audio: '🎵', voice: '🎤', file: '📄' };

/** A round video message's name without its extension: messages show videos called so as circles. */
const VIDEO_NOTE_NAME = 'video-note';

const VIDEO_NOTE_PATTERN = new RegExp(`^${VIDEO_NOTE_NAME}\\.(webm|mp4)$`, 'i');

/** The name a recorded round video message is sent with: «video-note.webm». */
export function videoNoteName(extension: string): string {
  return `${VIDEO_NOTE_NAME}.${extension}`;
}

/** A round video message («кружок»): a video named as the web client's recorder names them (videoNoteName). */
export function isVideoNote(attachment: Pick<Attachment, 'kind' | 'name'>): boolean {
  return attachment.kind === 'video' && VIDEO_NOTE_PATTERN.test(attachment.name ?? '');
}

/**
 * A voice message's waveform as `bars` heights 0–1 for its player: the loudest value of each
 * stretch when there are more values, each value spread over several bars when there are fewer.
 * Without one (a bot's voice message), a low flat line.
 */
export function waveBars(waveform: number[] | undefined, bars: number): number[] {
  const values = waveform?.filter((value) => Number.isFinite(value)) ?? [];
  if (values.length === 0) return Array.from({ length: bars }, () => 0.1);
  return Array.from({ length: bars }, (_, bar) => {
    const from = Math.floor((bar * values.length) / bars);
    const to = Math.max(from + 1, Math.floor(((bar + 1) * values.length) / bars));
    const value = Math.max(...values.slice(from, to));
    // Never quite flat, so that every bar can be seen filling up.
    return Math.max(0.1, Math.min(1, value / 255));
  });
}

/** Playback speeds the voice player cycles through. */
const SPEEDS = [1, 1.5, 2];

/** The speed after `rate`: 1× → 1,5× → 2× → 1×. */
export function nextSpeed(rate: number): number {
  const index = SPEEDS.indexOf(rate);
  return SPEEDS[(index + 1) % SPEEDS.length];
}

/** A speed as the player's button shows it: «1×», «1,5×» («1.5×» in English). */
export function speedLabel(rate: number): string {
  return `${formatNumber(rate, 1)}×`;
}

/** What one file is called in a sentence: its name, or its kind («Фото», «Голосовое сообщение»). */
export function attachmentName(attachment: Attachment): string {
  if (attachment.kind === 'voice') return t('voiceMessage');
  if (isVideoNote(attachment)) return t('videoNote');
  if (attachment.name) return attachment.name;
  return t(({ image: 'photo', video: 'video', audio: 'audio', file: 'file' } as const)[attachment.kind]);
}

/**
 * A message's files in a line (the chat list, the pinned bar, a quote): «🖼 Фото», «🖼 3 фото»,
 * «📄 Расписание.pdf», «📎 2 файла»; with its text after them when it has some («🖼 Расписание»).
 */
export function attachmentsGist(attachments: Attachment[] | undefined, text = ''): string {
  const files = attachments ?? [];
  const words = text.replace(/\s+/g, ' ').trim();
  if (files.length === 0) return words;
  const kinds = new Set(files.map((file) => file.kind));
  const [first] = files;
  const icon = kinds.size === 1 ? ICONS[first.kind] : '📎';
  if (words) return `${icon} ${words}`;
  if (files.length === 1) return `${icon} ${attachmentName(first)}`;
  if (kinds.size === 1 && first.kind === 'image') return `${icon} ${count('photos', files.length)}`;
  if (kinds.size === 1 && first.kind === 'video') return `${icon} ${count('videos', files.length)}`;
  return `${icon} ${count('files', files.length)}`;
}

/** How a download link reads to a screen reader: «Скачать «Расписание.pdf», PDF, 12 КБ». */
export function downloadLabel(attachment: Attachment): string {
  const type = fileType(attachment);
  return tf('fileDownloadLabel', { name: attachmentName(attachment), details: [type, humanSize(attachment.size)].filter(Boolean).join(', ') });
}
