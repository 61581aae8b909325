import { describe, expect, it } from 'vitest';
import type { Attachment, UploadRequest, UploadState } from './api';
import { ApiError } from './api';
import { contentRange, kindOf, NetworkError, PIECE_SIZE, planPieces, retryDelay, Upload, UploadError, type PutAnswer, type Transport } from './upload';

const MiB = 1024 * 1024;

describe('planning pieces', () => {
  it('cuts a file into pieces of at most 8 MiB, in order', () => {
    expect(PIECE_SIZE).toBe(8 * MiB);
    expect(planPieces(20 * MiB, 0)).toEqual([
      { first: 0, last: 8 * MiB - 1 }, { first: 8 * MiB, last: 16 * MiB - 1 }, { first: 16 * MiB, last: 20 * MiB - 1 },
    ]);
  });

  it('sends a small file as one piece, and a file of exactly a piece as one', () => {
    expect(planPieces(1000, 0)).toEqual([{ first: 0, last: 999 }]);
    expect(planPieces(8 * MiB, 0)).toEqual([{ first: 0, last: 8 * MiB - 1 }]);
    expect(planPieces(8 * MiB + 1, 0)).toEqual([{ first: 0, last: 8 * MiB - 1 }, { first: 8 * MiB, last: 8 * MiB }]);
  });

  it('goes on from what the server has, wherever that is', () => {
    expect(planPieces(20 * MiB, 8 * MiB)).toEqual([{ first: 8 * MiB, last: 16 * MiB - 1 }, { first: 16 * MiB, last: 20 * MiB - 1 }]);
    // Mid-piece (a piece cut off and kept in part): the next pieces start there.
    expect(planPieces(20 * MiB, 5 * MiB)).toEqual([{ first: 5 * MiB, last: 13 * MiB - 1 }, { first: 13 * MiB, last: 20 * MiB - 1 }]);
    expect(planPieces(20 * MiB, 20 * MiB - 1)).toEqual([{ first: 20 * MiB - 1, last: 20 * MiB - 1 }]);
  });

  it('has nothing left once the server has it all', () => {
    expect(planPieces(1000, 1000)).toEqual([]);
    expect(planPieces(1000, 5000)).toEqual([]);
  });

  it('names pieces as Content-Range does', () => {
    expect(contentRange({ first: 0, last: 8 * MiB - 1 }, 20 * MiB)).toBe('bytes 0-8388607/20971520');
    expect(contentRange({ first: 999, last: 999 }, 1000)).toBe('bytes 999-999/1000');
  });

  it('waits longer after each failure, up to half a minute', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('choosing the kind', () => {
  it('sends photos, videos and sounds the server shows as such, the rest as documents', () => {
    expect(kindOf('image/jpeg')).toBe('image');
    expect(kindOf('image/png')).toBe('image');
    expect(kindOf('image/heic')).toBe('file'); // not decodable by the server
    expect(kindOf('image/svg+xml')).toBe('file');
    expect(kindOf('video/mp4')).toBe('video');
    expect(kindOf('video/quicktime')).toBe('video');
    expect(kindOf('video/x-msvideo')).toBe('file');
    expect(kindOf('audio/mpeg')).toBe('audio');
    expect(kindOf('audio/webm;codecs=opus')).toBe('audio');
    expect(kindOf('application/pdf')).toBe('file');
    expect(kindOf('')).toBe('file');
  });
});

// --- the upload itself, against a pretend server ---

interface Call { method: string; id?: number; range?: string; size?: number }

/**
 * A server that keeps the bytes it got from the start without a gap. `fail` decides, for each PUT
 * (counted from 0), whether the connection drops after `after` bytes of it arrived, or whether
 * the server answers with an error status.
 */
function fakeServer(options: {
  fail?: (put: number) => { drop?: number; status?: number; code?: string; loseAnswer?: boolean } | undefined;
  refuse?: string;
} = {}) {
  const calls: Call[] = [];
  let nextId = 1;
  const uploads = new Map<number, { size: number; received: number; complete: boolean }>();
  let puts = 0;
  const state = (id: number): UploadState => {
    const upload = uploads.get(id)!;
    return { id, size: upload.size, received: upload.received, expires_at: 0 };
  };
  const transport: Transport = {
    async begin(_chatId, request: UploadRequest) {
      calls.push({ method: 'POST', size: request.size });
      if (options.refuse === 'payload_too_large') throw new ApiError(413, 'payload_too_large', 'too large');
      const id = nextId++;
      uploads.set(id, { size: request.size, received: 0, complete: false });
      return state(id);
    },
    put(id, bytes, range, onProgress) {
      const index = puts++;
      calls.push({ method: 'PUT', id, range });
      const [, first, last] = /bytes (\d+)-(\d+)\//.exec(range)!.map(Number);
      expect(bytes.size).toBe(last - first + 1);
      let aborted = false;
      let reject: (error: unknown) => void = () => {};
      const answer = new Promise<PutAnswer>((resolve, fail) => {
        reject = fail;
        queueMicrotask(() => {
          if (aborted) return;
          const upload = uploads.get(id);
          if (!upload) return resolve({ status: 404, body: { code: 'not_found' } });
          const failure = options.fail?.(index);
          if (failure?.status) return resolve({ status: failure.status, body: { code: failure.code ?? 'internal' } });
          const arrived = failure?.drop ?? bytes.size;
          onProgress(arrived);
          if (aborted) return;
          // Bytes that arrive in order extend what the server has from the start.
          if (first <= upload.received) upload.received = Math.max(upload.received, first + arrived);
          if (failure?.drop !== undefined) return fail(new NetworkError('dropped'));
          if (upload.received === upload.size) {
            upload.complete = true;
            if (options.refuse === 'invalid_media') return resolve({ status: 400, body: { code: 'invalid_media' } });
            if (failure?.loseAnswer) return fail(new NetworkError('answer lost'));
            return resolve({ status: 201, body: { id: 100 + id, kind: 'file', mime: 'application/pdf', size: upload.size, thumb: false } });
          }
          resolve({ status: 200, body: state(id) });
        });
      });
      return { answer, abort: () => { aborted = true; reject(new UploadError('cancelled')); } };
    },
    async state(id) {
      calls.push({ method: 'GET', id });
      if (!uploads.has(id)) throw new ApiError(404, 'not_found', 'no such upload');
      return state(id);
    },
    async cancel(id) {
      calls.push({ method: 'DELETE', id });
      uploads.delete(id);
    },
  };
  return { calls, transport, uploads };
}

const noWait = async () => {};
const blob = (size: number) => new Blob([new Uint8Array(size)]);

describe('uploading', () => {
  it('sends the pieces in order and gives the file', async () => {
    const server = fakeServer();
    const progress: number[] = [];
    const upload = new Upload(7, blob(2500), { kind: 'file', name: 'a.pdf' }, {
      transport: server.transport, pieceSize: 1000, sleep: noWait, onProgress: (sent) => progress.push(sent),
    });
    const file: Attachment = await upload.done;
    expect(file.id).toBe(101);
    expect(server.calls).toEqual([
      { method: 'POST', size: 2500 },
      { method: 'PUT', id: 1, range: 'bytes 0-999/2500' },
      { method: 'PUT', id: 1, range: 'bytes 1000-1999/2500' },
      { method: 'PUT', id: 1, range: 'bytes 2000-2499/2500' },
    ]);
    expect(progress.at(-1)).toBe(2500);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('after a dropped connection, asks the server how far it got and goes on from there', async () => {
    // The second piece drops after 300 of its bytes arrived.
    const server = fakeServer({ fail: (put) => (put === 1 ? { drop: 300 } : undefined) });
    const waits: boolean[] = [];
    const upload = new Upload(7, blob(2500), { kind: 'file' }, {
      transport: server.transport, pieceSize: 1000, sleep: noWait, onWaiting: (waiting) => waits.push(waiting),
    });
    await upload.done;
    expect(server.calls).toEqual([
      { method: 'POST', size: 2500 },
      { method: 'PUT', id: 1, range: 'bytes 0-999/2500' },
      { method: 'PUT', id: 1, range: 'bytes 1000-1999/2500' },
      { method: 'GET', id: 1 },
      { method: 'PUT', id: 1, range: 'bytes 1300-2299/2500' },
      { method: 'PUT', id: 1, range: 'bytes 2300-2499/2500' },
    ]);
    expect(waits).toEqual([true, false]);
  });

  it('waits out a server in trouble, then goes on', async () => {
    const server = fakeServer({ fail: (put) => (put === 0 || put === 1 ? { status: 503 } : undefined) });
    const delays: number[] = [];
    const upload = new Upload(7, blob(1500), { kind: 'file' }, {
      transport: server.transport, pieceSize: 1000, sleep: async (ms) => void delays.push(ms),
    });
    await upload.done;
    expect(delays).toEqual([1000, 2000]);
    expect(server.calls.map((c) => c.method)).toEqual(['POST', 'PUT', 'GET', 'PUT', 'GET', 'PUT', 'PUT']);
  });

  it('stops at a refusal and says why', async () => {
    const server = fakeServer({ refuse: 'invalid_media' });
    const upload = new Upload(7, blob(1500), { kind: 'image' }, { transport: server.transport, pieceSize: 1000, sleep: noWait });
    await expect(upload.done).rejects.toMatchObject({ code: 'invalid_media' });
    const tooLarge = new Upload(7, blob(1500), { kind: 'file' }, { transport: fakeServer({ refuse: 'payload_too_large' }).transport, sleep: noWait });
    await expect(tooLarge.done).rejects.toMatchObject({ code: 'payload_too_large' });
  });

  it('a refusal of a piece is not tried again', async () => {
    const server = fakeServer({ fail: (put) => (put === 1 ? { status: 413, code: 'payload_too_large' } : undefined) });
    const upload = new Upload(7, blob(2500), { kind: 'file' }, { transport: server.transport, pieceSize: 1000, sleep: noWait });
    await expect(upload.done).rejects.toBeInstanceOf(UploadError);
    await expect(upload.done).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(server.calls.map((c) => c.method)).toEqual(['POST', 'PUT', 'PUT']);
  });

  it('cancelling aborts the piece on its way and deletes the upload', async () => {
    const server = fakeServer();
    let upload: Upload | null = null;
    let aborted = 0;
    // Cancelled while its second piece is on its way (some of it has gone).
    const transport: Transport = {
      ...server.transport,
      put(id, bytes, range, onProgress) {
        const second = range.startsWith('bytes 1000-');
        const sending = server.transport.put(id, bytes, range, (loaded) => {
          onProgress(loaded);
          if (second) upload!.cancel();
        });
        return { answer: sending.answer, abort: () => { aborted += 1; sending.abort(); } };
      },
    };
    upload = new Upload(7, blob(2500), { kind: 'file' }, { transport, pieceSize: 1000, sleep: noWait });
    await expect(upload.done).rejects.toMatchObject({ code: 'cancelled' });
    expect(aborted).toBe(1);
    expect(server.calls.at(-1)).toEqual({ method: 'DELETE', id: 1 });
    expect(server.uploads.size).toBe(0);
    expect(server.calls.map((c) => c.method)).toEqual(['POST', 'PUT', 'PUT', 'DELETE']);
  });

  it('cancelling before the server answered the beginning still deletes the upload', async () => {
    const server = fakeServer();
    const upload = new Upload(7, blob(1500), { kind: 'file' }, { transport: server.transport, sleep: noWait });
    upload.cancel();
    await expect(upload.done).rejects.toMatchObject({ code: 'cancelled' });
    expect(server.calls).toEqual([{ method: 'POST', size: 1500 }, { method: 'DELETE', id: 1 }]);
  });

  it('cancelling while it waits for the connection stops at once', async () => {
    const server = fakeServer({ fail: () => ({ drop: 0 }) });
    let upload: Upload | null = null;
    const never = () => new Promise<void>(() => {});
    upload = new Upload(7, blob(1500), { kind: 'file' }, {
      transport: server.transport, pieceSize: 1000, sleep: never, onWaiting: (waiting) => waiting && upload!.cancel(),
    });
    await expect(upload.done).rejects.toMatchObject({ code: 'cancelled' });
    expect(server.calls.map((c) => c.method)).toEqual(['POST', 'PUT', 'DELETE']);
  });

  it('begins anew once when the answer with the file was lost (the server tells only that it is whole)', async () => {
    const server = fakeServer({ fail: (put) => (put === 1 ? { loseAnswer: true } : undefined) });
    const upload = new Upload(7, blob(1500), { kind: 'file' }, { transport: server.transport, pieceSize: 1000, sleep: noWait });
    const file = await upload.done;
    expect(file.id).toBe(102);
    expect(server.calls).toEqual([
      { method: 'POST', size: 1500 },
      { method: 'PUT', id: 1, range: 'bytes 0-999/1500' },
      { method: 'PUT', id: 1, range: 'bytes 1000-1499/1500' },
      { method: 'GET', id: 1 },
      { method: 'DELETE', id: 1 },
      { method: 'POST', size: 1500 },
      { method: 'PUT', id: 2, range: 'bytes 0-999/1500' },
      { method: 'PUT', id: 2, range: 'bytes 1000-1499/1500' },
    ]);
  });

  it('begins anew when the server forgot the upload, and gives up after that', async () => {
    const server = fakeServer();
    // Every upload is forgotten after its first piece.
    const transport: Transport = {
      ...server.transport,
      put(id, bytes, range, onProgress) {
        if (!range.startsWith('bytes 0-')) server.uploads.delete(id);
        return server.transport.put(id, bytes, range, onProgress);
      },
    };
    const upload = new Upload(7, blob(1500), { kind: 'file' }, { transport, pieceSize: 1000, sleep: noWait });
    await expect(upload.done).rejects.toMatchObject({ code: 'lost' });
    expect(server.calls.filter((c) => c.method === 'POST')).toHaveLength(2);
  });
});
