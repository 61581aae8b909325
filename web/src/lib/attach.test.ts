import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Attachment } from './api';

// Uploads that finish when the test says, and a send that records what went.
const uploads: FakeUpload[] = [];
class FakeUpload {
  done: Promise<Attachment>;
  finish!: (attachment: Attachment) => void;
  fail!: (error: unknown) => void;
  cancelled = false;
  constructor(public chatId: number, public file: Blob, public request: { kind: string; name?: string }, public options: { onProgress?: (sent: number) => void }) {
    this.done = new Promise((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    this.done.catch(() => {});
    uploads.push(this);
  }
  cancel() {
    this.cancelled = true;
    this.fail(new UploadError('cancelled'));
  }
}
class UploadError extends Error {
  constructor(public code: string) {
    super(code);
  }
}
vi.mock('./upload', () => ({
  Upload: FakeUpload,
  UploadError,
  kindOf: (type: string) => (type.startsWith('image/') ? 'image' : 'file'),
}));
const sent: { chatId: number; text: string; attachments?: number[] }[] = [];
vi.mock('./app.svelte', () => ({
  sendMessage: vi.fn(async (chatId: number, text: string, _reply: number | null, _ack: boolean, _urgent: boolean, extra: { attachments?: number[] }) => {
    sent.push({ chatId, text, attachments: extra.attachments });
  }),
}));

const { addFiles, attach, cancelWaiting, MAX_FILES, removeItem, retryItem, sendRecording, sendWithFiles, takeReturned } = await import('./attach.svelte');

const file = (name: string, type = 'application/pdf', size = 10) => new File([new Uint8Array(size)], name, { type });
const done = (id: number): Attachment => ({ id, kind: 'file', mime: 'application/pdf', size: 10, thumb: false });
const options = { replyTo: null, requestAck: false, urgent: false };
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  uploads.length = 0;
  sent.length = 0;
  attach.tray = {};
  attach.waiting = {};
  attach.returned = {};
  URL.createObjectURL = () => 'blob:preview';
  URL.revokeObjectURL = () => {};
});

describe('the tray', () => {
  it('uploads each file at once, a photo as a photo with its own thumbnail', () => {
    expect(addFiles(1, [file('Справка.pdf'), file('Фото.jpg', 'image/jpeg')])).toBe(0);
    expect(uploads.map((u) => [u.chatId, u.request.kind, u.request.name])).toEqual([[1, 'file', 'Справка.pdf'], [1, 'image', 'Фото.jpg']]);
    expect(attach.tray[1].map((i) => [i.name, i.kind, i.status, i.preview])).toEqual([
      ['Справка.pdf', 'file', 'uploading', null], ['Фото.jpg', 'image', 'uploading', 'blob:preview'],
    ]);
  });

  it('takes at most 10 files, and refuses empty ones at once', () => {
    const files = Array.from({ length: MAX_FILES + 2 }, (_, i) => file(`${i}.pdf`));
    expect(addFiles(1, files)).toBe(2);
    expect(attach.tray[1]).toHaveLength(MAX_FILES);
    attach.tray = {};
    uploads.length = 0;
    addFiles(1, [file('Пустой.txt', 'text/plain', 0)]);
    expect(uploads).toHaveLength(0);
    expect(attach.tray[1][0]).toMatchObject({ status: 'failed', code: 'empty' });
  });

  it('shows progress and failures on the item', async () => {
    addFiles(1, [file('a.pdf')]);
    uploads[0].options.onProgress?.(4);
    expect(attach.tray[1][0].sent).toBe(4);
    uploads[0].fail(new UploadError('invalid_media'));
    await settle();
    expect(attach.tray[1][0]).toMatchObject({ status: 'failed', code: 'invalid_media' });
  });

  it('taking a file out cancels its upload', () => {
    addFiles(1, [file('a.pdf'), file('b.pdf')]);
    removeItem(1, attach.tray[1][0].key);
    expect(uploads[0].cancelled).toBe(true);
    expect(attach.tray[1].map((i) => i.name)).toEqual(['b.pdf']);
  });

  it('a picture the server could not read can go again as a document', async () => {
    addFiles(1, [file('Фото.jpg', 'image/jpeg')]);
    uploads[0].fail(new UploadError('invalid_media'));
    await settle();
    retryItem(1, attach.tray[1][0].key, true);
    expect(uploads[1].request).toEqual({ kind: 'file', name: 'Фото.jpg' });
    expect(attach.tray[1][0]).toMatchObject({ kind: 'file', status: 'uploading', preview: null });
  });
});

describe('sending with files', () => {
  it('goes at once when every file is up, with their ids only', async () => {
    addFiles(1, [file('a.pdf'), file('b.pdf')]);
    uploads[0].finish(done(11));
    uploads[1].finish(done(12));
    await settle();
    expect(sendWithFiles(1, 'Вот', options)).toBe(true);
    await settle();
    expect(sent).toEqual([{ chatId: 1, text: 'Вот', attachments: [11, 12] }]);
    expect(attach.tray[1]).toEqual([]);
    expect(attach.waiting[1]).toEqual([]);
  });

  it('waits in the chat for files still uploading, then goes; messages keep their order', async () => {
    addFiles(1, [file('big.pdf')]);
    sendWithFiles(1, 'первое', options);
    addFiles(1, [file('small.pdf')]);
    sendWithFiles(1, 'второе', options);
    expect(attach.waiting[1].map((w) => w.text)).toEqual(['первое', 'второе']);
    // The second's file is up first: it still waits for the first.
    uploads[1].finish(done(2));
    await settle();
    expect(sent).toEqual([]);
    uploads[0].finish(done(1));
    await settle();
    expect(sent.map((s) => [s.text, s.attachments])).toEqual([['первое', [1]], ['второе', [2]]]);
    expect(attach.waiting[1]).toEqual([]);
  });

  it('does not send while a file in the tray has failed', async () => {
    addFiles(1, [file('a.pdf')]);
    uploads[0].fail(new UploadError('payload_too_large'));
    await settle();
    expect(sendWithFiles(1, 'Вот', options)).toBe(false);
    expect(attach.tray[1]).toHaveLength(1);
    expect(attach.waiting[1] ?? []).toEqual([]);
  });

  it('gives a waiting message back to the composer when one of its files is refused', async () => {
    addFiles(1, [file('a.pdf'), file('Фото.jpg', 'image/jpeg')]);
    sendWithFiles(1, 'С подписью', options);
    uploads[0].finish(done(1));
    uploads[1].fail(new UploadError('invalid_media'));
    await settle();
    expect(sent).toEqual([]);
    expect(attach.waiting[1]).toEqual([]);
    expect(attach.tray[1].map((i) => [i.name, i.status])).toEqual([['a.pdf', 'done'], ['Фото.jpg', 'failed']]);
    expect(takeReturned(1)).toEqual({ text: 'С подписью', code: 'invalid_media', kind: 'image' });
    expect(takeReturned(1)).toBeNull();
  });

  it('a waiting message can be cancelled: its uploads stop and nothing goes', async () => {
    addFiles(1, [file('a.pdf')]);
    sendWithFiles(1, 'Вот', options);
    cancelWaiting(1, attach.waiting[1][0].key);
    expect(uploads[0].cancelled).toBe(true);
    await settle();
    expect(sent).toEqual([]);
    expect(attach.waiting[1]).toEqual([]);
  });

  it('a recording goes by itself as a message of its own, with its length and waveform', async () => {
    addFiles(1, [file('a.pdf')]);
    sendRecording(1, new Blob([new Uint8Array(5)], { type: 'audio/webm' }), { kind: 'voice', name: 'voice.webm', durationMs: 1500, waveform: [0, 255] }, options);
    expect(uploads[1].request).toEqual({ kind: 'voice', name: 'voice.webm', duration_ms: 1500, waveform: [0, 255] });
    expect(attach.tray[1]).toHaveLength(1); // the tray is left alone
    uploads[1].options.onProgress?.(3);
    expect(attach.waiting[1][0].items[0].sent).toBe(3);
    uploads[1].finish({ ...done(7), kind: 'voice' });
    await settle();
    expect(sent).toEqual([{ chatId: 1, text: '', attachments: [7] }]);
  });
});
