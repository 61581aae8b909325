// People's files on their way to the server: the only place that uploads (docs/API.md, uploads).
//
// An upload begins with POST /chats/{id}/uploads (kind, size, name; a voice message's length and
// waveform), then its bytes go by PUT /uploads/{id} in pieces of at most 8 MiB, each named by
// `Content-Range: bytes first-last/size`. The pieces go by XMLHttpRequest, whose upload.onprogress
// tells how far each has got (fetch cannot). The server answers 200 with how many bytes it has
// from the start while pieces are missing, and 201 with the file once it is whole. After a lost
// connection (or a server in trouble) the upload waits a little (or until the browser is online
// again), asks GET /uploads/{id} how far the server got, and goes on from there. Cancelling aborts
// the piece on its way and DELETEs the upload, whose pieces the server then drops at once.

import { api, ApiError, token, type Attachment, type AttachmentKind, type UploadRequest, type UploadState } from './api';

/** The largest piece one request carries. */
export const PIECE_SIZE = 8 * 1024 * 1024;
/** A piece that has not moved for this long is given up and sent again (a connection gone quiet). */
const STALL_MS = 60_000;

/** Bytes `first` to `last` (both included) of a file. */
interface Piece { first: number; last: number }

/**
 * The pieces still to send of a file of `size` bytes whose first `received` bytes the server
 * has: in order, each at most `pieceSize` bytes. Empty once the server has it all.
 */
export function planPieces(size: number, received: number, pieceSize = PIECE_SIZE): Piece[] {
  const pieces: Piece[] = [];
  const step = Math.max(1, Math.floor(pieceSize));
  for (let first = Math.max(0, Math.floor(received)); first < size; first += step) {
    pieces.push({ first, last: Math.min(size, first + step) - 1 });
  }
  return pieces;
}

/** The `Content-Range` header of a piece: `bytes 0-8388607/20000000`. */
export function contentRange(piece: Piece, size: number): string {
  return `bytes ${piece.first}-${piece.last}/${size}`;
}

/** How long to wait before trying again after the `attempt`-th failure in a row (from 0): 1 s,
 * 2 s, 4 s… at most 30 s. */
export function retryDelay(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}

/** Types the server shows as photos (it decodes and re-encodes them); other pictures (HEIC, SVG,
 * BMP…) go as documents. */
const IMAGES = new Set(['image/jpeg', 'image/pjpeg', 'image/png', 'image/gif', 'image/webp']);
const VIDEOS = new Set(['video/mp4', 'video/quicktime', 'video/webm', 'video/x-matroska', 'video/3gpp', 'video/3gpp2', 'video/x-m4v']);
const SOUNDS = new Set([
  'audio/mpeg', 'audio/mp3', 'audio/mp4', 'audio/m4a', 'audio/x-m4a', 'audio/aac-mp4', 'audio/ogg', 'audio/opus', 'audio/webm',
  'audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'audio/flac', 'audio/x-flac',
]);

/**
 * The kind to send a file as, by the type the browser gives it: a photo, a video or a sound the
 * server can show as such, else a document. The server decides by the bytes in the end
 * (`invalid_media` when they do not fit); a recorded voice message is sent as `voice` instead.
 */
export function kindOf(type: string): AttachmentKind {
  const base = type.split(';')[0].trim().toLowerCase();
  if (IMAGES.has(base)) return 'image';
  if (VIDEOS.has(base)) return 'video';
  if (SOUNDS.has(base)) return 'audio';
  return 'file';
}

/** Why an upload stopped: a server's error code (`invalid_media`, `payload_too_large`,
 * `not_member`…), `cancelled`, or `lost` (it could not be finished even when begun anew). */
export class UploadError extends Error {
  constructor(public code: string, message = code) {
    super(message);
  }
}

/** The connection failed (no answer at all): worth trying again. */
export class NetworkError extends Error {}

/** What the server answered a piece: 200 with the upload's state, 201 with the file, or an error. */
export interface PutAnswer { status: number; body: unknown }

/** How an upload talks to the server; the app's goes over the network, tests give their own. */
export interface Transport {
  begin(chatId: number, request: UploadRequest): Promise<UploadState>;
  /** Sends one piece; `onProgress` hears how many of its bytes have gone. Rejects with
   * NetworkError when the connection fails, and with UploadError('cancelled') when aborted. */
  put(id: number, bytes: Blob, range: string, onProgress: (loaded: number) => void): { answer: Promise<PutAnswer>; abort: () => void };
  state(id: number): Promise<UploadState>;
  cancel(id: number): Promise<void>;
}

/** The real thing: JSON calls through lib/api.ts, pieces by XMLHttpRequest. */
export const network: Transport = {
  begin: (chatId, request) => api.beginUpload(chatId, request),
  state: (id) => api.uploadState(id),
  cancel: (id) => api.cancelUpload(id),
  put(id, bytes, range, onProgress) {
    const xhr = new XMLHttpRequest();
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, STALL_MS);
    };
    const answer = new Promise<PutAnswer>((resolve, reject) => {
      xhr.open('PUT', `/api/v1/uploads/${id}`);
      const current = token();
      if (current) xhr.setRequestHeader('Authorization', `Bearer ${current}`);
      xhr.setRequestHeader('Content-Range', range);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (event) => {
        watch();
        onProgress(event.loaded);
      };
      xhr.onload = () => {
        clearTimeout(timer);
        let body: unknown = {};
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // An answer that is not JSON (a proxy's error page): its status says enough.
        }
        resolve({ status: xhr.status, body });
      };
      xhr.onerror = xhr.ontimeout = () => {
        clearTimeout(timer);
        reject(new NetworkError('the connection failed'));
      };
      xhr.onabort = () => {
        clearTimeout(timer);
        reject(stalled ? new NetworkError('the connection stalled') : new UploadError('cancelled'));
      };
      watch();
      xhr.send(bytes);
    });
    return { answer, abort: () => xhr.abort() };
  },
};

/** Waits `ms`, or less when the browser comes back online. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      globalThis.removeEventListener?.('online', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    globalThis.addEventListener?.('online', done);
  });
}

interface UploadOptions {
  transport?: Transport;
  /** How many bytes the server has, or is being sent now: for a progress bar. */
  onProgress?: (sent: number, size: number) => void;
  /** True while the upload waits for the connection to come back; false once it moves again. */
  onWaiting?: (waiting: boolean) => void;
  /** How to wait before trying again (tests pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
  pieceSize?: number;
}

/** Answers worth asking again: no answer at all, a server in trouble, or one too busy. */
function retryable(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429 || error.status === 408;
  return !(error instanceof UploadError);
}

function codeOf(body: unknown, status: number): string {
  const code = (body as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : status === 413 ? 'payload_too_large' : 'internal';
}

/**
 * One file going to chat `chatId`. It starts at once; `done` gives the file (its id goes in a
 * message's `attachments`) or rejects with an UploadError.
 */
export class Upload {
  readonly size: number;
  readonly done: Promise<Attachment>;
  /** The upload's id once begun (the file's own id comes in `done`). */
  id: number | null = null;
  private transport: Transport;
  private sleep: (ms: number) => Promise<void>;
  private pieceSize: number;
  private cancelled = false;
  private abortPiece: (() => void) | null = null;
  private wake: (() => void) | null = null;
  private waiting = false;

  constructor(private chatId: number, private file: Blob, private request: Omit<UploadRequest, 'size'>, private options: UploadOptions = {}) {
    this.size = file.size;
    this.transport = options.transport ?? network;
    this.sleep = options.sleep ?? pause;
    this.pieceSize = options.pieceSize ?? PIECE_SIZE;
    this.done = this.run();
    // The caller may look at `done` later: its rejection is not "unhandled" meanwhile.
    this.done.catch(() => {});
  }

  /** Stops it: the piece on its way is aborted and the server forgets the upload. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.abortPiece?.();
    this.wake?.();
    if (this.id !== null) void this.transport.cancel(this.id).catch(() => {});
  }

  private check(): void {
    if (this.cancelled) throw new UploadError('cancelled');
  }

  private setWaiting(waiting: boolean): void {
    if (this.waiting === waiting) return;
    this.waiting = waiting;
    this.options.onWaiting?.(waiting);
  }

  /** Waits before trying again, unless cancelled meanwhile. */
  private async rest(attempt: number): Promise<void> {
    const woken = new Promise<void>((resolve) => (this.wake = resolve));
    this.setWaiting(true);
    if (!this.cancelled) await Promise.race([this.sleep(retryDelay(attempt)), woken]);
    this.wake = null;
    this.check();
  }

  /** A JSON call, asked again while the connection or the server is in trouble. */
  private async persist<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      this.check();
      try {
        const result = await call();
        this.check();
        return result;
      } catch (error) {
        this.check();
        if (!retryable(error)) throw error instanceof ApiError ? new UploadError(error.code, error.message) : error;
        await this.rest(attempt);
      }
    }
  }

  private async run(): Promise<Attachment> {
    // Begun anew at most once: when the server has every byte but the answer with the file was
    // lost (GET /uploads/{id} then tells only that it is whole), or the upload was forgotten.
    for (let round = 0; ; round += 1) {
      const begun = await this.persist(() => this.transport.begin(this.chatId, { ...this.request, size: this.size }).then((state) => {
        this.id = state.id;
        // Cancelled while it was being begun: the server forgets it at once too.
        if (this.cancelled) void this.transport.cancel(state.id).catch(() => {});
        return state;
      }));
      const attachment = await this.send(begun.received);
      if (attachment) return attachment;
      void this.transport.cancel(begun.id).catch(() => {});
      this.id = null;
      if (round >= 1) throw new UploadError('lost');
    }
  }

  /** Sends the bytes from `received` on: the file, or null when this upload cannot be finished. */
  private async send(received: number): Promise<Attachment | null> {
    const id = this.id!;
    let failures = 0;
    let stuck = 0;
    this.options.onProgress?.(received, this.size);
    for (;;) {
      const [piece] = planPieces(this.size, received, this.pieceSize);
      if (!piece) return null;
      let answer: PutAnswer | null = null;
      try {
        this.check();
        const sending = this.transport.put(id, this.file.slice(piece.first, piece.last + 1), contentRange(piece, this.size), (loaded) => {
          this.setWaiting(false);
          this.options.onProgress?.(Math.min(this.size, piece.first + loaded), this.size);
        });
        this.abortPiece = sending.abort;
        answer = await sending.answer;
      } catch (error) {
        this.check();
        if (!(error instanceof NetworkError)) throw error;
      } finally {
        this.abortPiece = null;
      }
      this.check();
      if (answer?.status === 201) {
        this.setWaiting(false);
        this.options.onProgress?.(this.size, this.size);
        return answer.body as Attachment;
      }
      if (answer?.status === 200) {
        this.setWaiting(false);
        failures = 0;
        const next = (answer.body as UploadState).received;
        // The server must move on; if it keeps not doing so, something is wrong with it.
        stuck = next > received ? 0 : stuck + 1;
        if (stuck >= 3) throw new UploadError('internal');
        received = next;
        this.options.onProgress?.(received, this.size);
        continue;
      }
      if (answer?.status === 404) return null;
      if (answer && !retryable(new ApiError(answer.status, '', ''))) throw new UploadError(codeOf(answer.body, answer.status));
      // No answer, or a server in trouble: wait, then ask how far it got.
      await this.rest(failures);
      failures += 1;
      let state: UploadState;
      try {
        state = await this.persist(() => this.transport.state(id));
      } catch (error) {
        if (error instanceof UploadError && error.code === 'not_found') return null;
        throw error;
      }
      received = state.received;
      this.options.onProgress?.(received, this.size);
    }
  }
}
