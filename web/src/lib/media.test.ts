import { describe, expect, it, vi } from 'vitest';
import type { Attachment, MediaLink } from './api';
import { setLang } from './i18n.svelte';
import {
  attachmentsGist, duration, fileType, humanSize, isVideoNote, LinkCache, MAX_IDS, mediaBox, nameParts, nextSpeed, REFRESH_MARGIN, speedLabel, videoNoteName,
  waveBars,
  type FetchLinks,
} from './media';

const HOUR = 3_600_000;

/** A server that answers every id with a link that expires an hour after `clock.server`. */
function server(clock: { now: number; server?: number }, options: { missing?: number[] } = {}) {
  const calls: { chatId: number; ids: number[] }[] = [];
  const fetchLinks: FetchLinks = vi.fn(async (chatId: number, ids: number[]) => {
    calls.push({ chatId, ids });
    const serverNow = clock.server ?? clock.now;
    const links: MediaLink[] = ids.filter((id) => !options.missing?.includes(id))
      .map((id) => ({ id, url: `/api/v1/media/${id}?v=o&e=${serverNow}`, thumb_url: `/api/v1/media/${id}?v=t&e=${serverNow}`, expires_at: serverNow + HOUR }));
    return { links, serverNow: clock.server };
  });
  return { calls, fetchLinks };
}

describe('asking for links', () => {
  it('sends the ids asked for in one turn together, one request per chat', async () => {
    const clock = { now: 1_000_000 };
    const { calls, fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const asked = [cache.get(1, 10), cache.get(1, 11), cache.get(2, 20), cache.get(1, 12)];
    expect(calls).toEqual([]); // nothing before the turn ends
    const links = await Promise.all(asked);
    expect(calls).toEqual([{ chatId: 1, ids: [10, 11, 12] }, { chatId: 2, ids: [20] }]);
    expect(links.map((link) => link?.id)).toEqual([10, 11, 20, 12]);
    // The next turn is a new request.
    await cache.get(1, 13);
    expect(calls.at(-1)).toEqual({ chatId: 1, ids: [13] });
  });

  it('asks for at most 100 ids at a time', async () => {
    const clock = { now: 0 };
    const { calls, fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const ids = Array.from({ length: 250 }, (_, i) => i + 1);
    const links = await Promise.all(ids.map((id) => cache.get(7, id)));
    expect(calls.map((call) => call.ids.length)).toEqual([MAX_IDS, MAX_IDS, 50]);
    expect(calls.flatMap((call) => call.ids)).toEqual(ids);
    expect(links.every((link, i) => link?.id === ids[i])).toBe(true);
  });

  it('asks once for an id asked for twice, and not again while its link is kept', async () => {
    const clock = { now: 0 };
    const { calls, fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const [a, b] = await Promise.all([cache.get(1, 5), cache.get(1, 5)]);
    expect(a).toBe(b);
    expect(calls).toEqual([{ chatId: 1, ids: [5] }]);
    // Still asked for while on its way: the same request.
    const c = cache.get(1, 6);
    const d = cache.get(1, 6);
    expect(c).toBe(d);
    await c;
    clock.now += 30 * 60_000;
    expect(await cache.get(1, 5)).toBe(a);
    expect(cache.peek(5)).toBe(a);
    expect(calls).toHaveLength(2);
  });

  it('asks again for a link within five minutes of expiring', async () => {
    const clock = { now: 0 };
    const { calls, fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const first = await cache.get(1, 5);
    clock.now = HOUR - REFRESH_MARGIN - 1;
    expect(await cache.get(1, 5)).toBe(first);
    clock.now = HOUR - REFRESH_MARGIN;
    expect(cache.peek(5)).toBeUndefined();
    const second = await cache.get(1, 5);
    expect(second).not.toBe(first);
    expect(second?.expires_at).toBe(clock.now + HOUR);
    expect(calls).toHaveLength(2);
  });

  it("judges expiry by the server's clock when this device's is wrong", async () => {
    // The device is 2 hours ahead: the link, an hour from the server's now, is fresh all the same.
    const clock: { now: number; server?: number } = { now: 10 * HOUR, server: 8 * HOUR };
    const { calls, fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    await cache.get(1, 5);
    clock.now += 50 * 60_000;
    expect(cache.peek(5)).toBeDefined();
    clock.now += 6 * 60_000;
    expect(cache.peek(5)).toBeUndefined();
    // 20 minutes behind: asked for again before the link really expires, not after.
    clock.now = 10 * HOUR;
    clock.server = 10 * HOUR + 20 * 60_000;
    await cache.get(1, 9);
    clock.now += 54 * 60_000;
    expect(cache.peek(9)).toBeDefined();
    clock.now += 2 * 60_000;
    expect(cache.peek(9)).toBeUndefined();
    expect(calls).toHaveLength(2);
  });

  it('never asks again at once for a link that looks expired on arrival', async () => {
    const clock = { now: 5 * HOUR };
    // No Date header and a clock two hours fast: every link looks stale.
    const fetchLinks: FetchLinks = vi.fn(async (_chat: number, ids: number[]) => ({
      links: ids.map((id) => ({ id, url: `/m/${id}`, expires_at: 3 * HOUR + HOUR })),
    }));
    const cache = new LinkCache(fetchLinks, () => clock.now);
    await cache.get(1, 5);
    await cache.get(1, 5);
    expect(fetchLinks).toHaveBeenCalledTimes(1);
  });

  it('answers null for a file the chat does not show, and keeps nothing for it', async () => {
    const clock = { now: 0 };
    const { calls, fetchLinks } = server(clock, { missing: [6] });
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const [kept, gone] = await Promise.all([cache.get(1, 5), cache.get(1, 6)]);
    expect(kept?.id).toBe(5);
    expect(gone).toBeNull();
    expect(await cache.get(1, 6)).toBeNull();
    expect(calls).toEqual([{ chatId: 1, ids: [5, 6] }, { chatId: 1, ids: [6] }]);
  });

  it('passes a refusal on to everyone who asked, and asks again next time', async () => {
    let refuse = true;
    const fetchLinks: FetchLinks = vi.fn(async (_chat: number, ids: number[]) => {
      if (refuse) throw Object.assign(new Error('not a member'), { code: 'not_member' });
      return { links: ids.map((id) => ({ id, url: `/m/${id}`, expires_at: Date.now() + HOUR })) };
    });
    const cache = new LinkCache(fetchLinks);
    const results = await Promise.allSettled([cache.get(3, 1), cache.get(3, 2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.code).toBe('not_member');
    refuse = false;
    expect((await cache.get(3, 1))?.url).toBe('/m/1');
    expect(fetchLinks).toHaveBeenCalledTimes(2);
  });

  it('asks anew when forced (a link that failed to load)', async () => {
    const clock = { now: 0 };
    const { calls, fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const first = await cache.get(1, 5);
    clock.now += 1000;
    const again = await cache.get(1, 5, true);
    expect(again).not.toBe(first);
    expect(cache.peek(5)).toBe(again);
    expect(calls).toHaveLength(2);
  });

  it('forgets its links on clear, and drops answers that come after', async () => {
    const clock = { now: 0 };
    const { fetchLinks } = server(clock);
    const cache = new LinkCache(fetchLinks, () => clock.now);
    await cache.get(1, 5);
    const late = cache.get(1, 6);
    cache.clear();
    expect(cache.peek(5)).toBeUndefined();
    expect((await late)?.id).toBe(6); // the caller still gets its answer
    expect(cache.peek(6)).toBeUndefined();
  });

  it('never hands a link asked for before clear to whoever asks after it', async () => {
    const clock = { now: 0 };
    let answer: (value: { links: MediaLink[] }) => void = () => {};
    const calls: number[][] = [];
    const fetchLinks: FetchLinks = vi.fn((_chat: number, ids: number[]) => {
      calls.push(ids);
      return new Promise<{ links: MediaLink[] }>((resolve) => (answer = resolve));
    });
    const cache = new LinkCache(fetchLinks, () => clock.now);
    const before = cache.get(1, 5);
    await Promise.resolve(); // sent
    expect(calls).toEqual([[5]]);
    const old = answer;
    cache.clear();
    const after = cache.get(1, 5);
    expect(after).not.toBe(before);
    await Promise.resolve();
    expect(calls).toEqual([[5], [5]]); // asked anew for the one who signed in
    const fresh = answer;
    old({ links: [{ id: 5, url: '/m/5?old', expires_at: HOUR }] });
    expect((await before)?.url).toBe('/m/5?old'); // its own caller only
    expect(cache.peek(5)).toBeUndefined();
    // The old answer does not end the new request.
    expect(cache.get(1, 5)).toBe(after);
    fresh({ links: [{ id: 5, url: '/m/5?new', expires_at: HOUR }] });
    expect((await after)?.url).toBe('/m/5?new');
    expect(cache.peek(5)?.url).toBe('/m/5?new');
  });

  it('sends what was queued before clear at once, and a refusal reaches only its callers', async () => {
    const refusals: ((error: unknown) => void)[] = [];
    const fetchLinks: FetchLinks = vi.fn(() => new Promise<{ links: MediaLink[] }>((_resolve, reject) => refusals.push(reject)));
    const cache = new LinkCache(fetchLinks);
    const sent = cache.get(1, 5);
    await Promise.resolve();
    const queued = cache.get(1, 6);
    cache.clear();
    expect(fetchLinks).toHaveBeenCalledTimes(2); // the queued one went out with the clear
    const after = cache.get(1, 5);
    for (const refuse of refusals) refuse(new Error('offline'));
    await expect(sent).rejects.toThrow('offline');
    await expect(queued).rejects.toThrow('offline');
    expect(cache.get(1, 5)).toBe(after); // the old refusal did not end the new request
  });

  it('takes only links to its own server; a preview elsewhere is dropped', async () => {
    const links: MediaLink[] = [
      { id: 1, url: '/api/v1/media/1?v=o', thumb_url: '/api/v1/media/1?v=t', expires_at: HOUR },
      { id: 2, url: 'https://evil.example/x.png', expires_at: HOUR },
      { id: 3, url: `${location.origin}/api/v1/media/3`, thumb_url: 'https://evil.example/t.png', expires_at: HOUR },
      { id: 4, url: 'javascript:alert(1)', expires_at: HOUR },
      { id: 5, url: '//evil.example/x', expires_at: HOUR },
      { id: 6, url: 'data:image/png;base64,AAAA', expires_at: HOUR },
    ];
    const cache = new LinkCache(async () => ({ links }), () => 0);
    const [one, two, three, four, five, six] = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => cache.get(1, id)));
    expect(one).toEqual(links[0]);
    expect(two).toBeNull();
    expect(three).toEqual({ id: 3, url: `${location.origin}/api/v1/media/3`, expires_at: HOUR });
    expect(three && 'thumb_url' in three).toBe(false);
    expect([four, five, six]).toEqual([null, null, null]);
    expect(cache.peek(2)).toBeUndefined();
    expect(cache.peek(3)?.thumb_url).toBeUndefined();
  });
});

const file = (extra: Partial<Attachment>): Attachment => ({ id: 1, kind: 'file', mime: 'application/octet-stream', size: 1, thumb: false, ...extra });

describe('describing files', () => {
  it('gives sizes in Russian and English units', () => {
    setLang('ru');
    expect(humanSize(0)).toBe('0\u00a0Б');
    expect(humanSize(512)).toBe('512\u00a0Б');
    expect(humanSize(1536)).toBe('1,5\u00a0КБ');
    expect(humanSize(12_900)).toBe('13\u00a0КБ');
    expect(humanSize(1024 * 1024 - 10)).toBe('1\u00a0МБ');
    expect(humanSize(5.25 * 1024 * 1024)).toBe('5,3\u00a0МБ');
    expect(humanSize(2 * 1024 ** 3)).toBe('2\u00a0ГБ');
    setLang('en');
    expect(humanSize(1536)).toBe('1.5\u00a0KB');
    expect(humanSize(300 * 1024 * 1024)).toBe('300\u00a0MB');
    expect(humanSize(1)).toBe('1\u00a0B');
  });

  it("names a file's type by its extension, else by its type", () => {
    expect(fileType({ name: 'Расписание.pdf', mime: 'application/pdf' })).toBe('PDF');
    expect(fileType({ name: 'план.docx', mime: 'application/zip' })).toBe('DOCX');
    expect(fileType({ mime: 'application/pdf' })).toBe('PDF');
    expect(fileType({ name: 'README', mime: 'text/plain; charset=utf-8' })).toBe('TXT');
    expect(fileType({ name: 'архив.backup-2024', mime: 'application/octet-stream' })).toBeNull();
  });

  it('cuts long names where a line may break', () => {
    expect(nameParts('Расписание-5Б.pdf')).toEqual(['Расписание-', '5Б', '.pdf']);
    expect(nameParts('план_урока.final.docx')).toEqual(['план_', 'урока', '.final', '.docx']);
    expect(nameParts('.bashrc')).toEqual(['.bashrc']);
    expect(nameParts('README')).toEqual(['README']);
    expect(nameParts('')).toEqual([]);
  });

  it('shows durations as players do', () => {
    expect(duration(7_400)).toBe('0:07');
    expect(duration(750_000)).toBe('12:30');
    expect(duration(3_723_000)).toBe('1:02:03');
  });

  it('keeps a box for a picture from its size, within bounds', () => {
    expect(mediaBox('image', 1600, 1200)).toEqual({ width: 280, ratio: 4 / 3 });
    expect(mediaBox('image', 1080, 1920)).toEqual({ width: 180, ratio: 0.5625 });
    expect(mediaBox('image', 4000, 100)).toEqual({ width: 280, ratio: 3 }); // cropped to 3 : 1
    expect(mediaBox('image', 100, 4000)).toEqual({ width: 120, ratio: 0.5 }); // cropped to 1 : 2
    expect(mediaBox('image', 40, 30)).toEqual({ width: 120, ratio: 4 / 3 }); // tiny ones a little larger
    expect(mediaBox('video', 0, 0)).toEqual({ width: 280, ratio: 16 / 9 }); // videos are not probed
    expect(mediaBox('image')).toEqual({ width: 280, ratio: 4 / 3 });
  });

  it("sums up a message's files in a line", () => {
    setLang('ru');
    const photo = file({ kind: 'image', mime: 'image/jpeg' });
    expect(attachmentsGist(undefined, 'Привет')).toBe('Привет');
    expect(attachmentsGist([photo])).toBe('🖼 Фото');
    expect(attachmentsGist([photo], '  Расписание\nна неделю ')).toBe('🖼 Расписание на неделю');
    expect(attachmentsGist([photo, photo, photo])).toBe('🖼 3 фото');
    expect(attachmentsGist([file({ name: 'План.pdf' })])).toBe('📄 План.pdf');
    expect(attachmentsGist([file({ kind: 'voice', mime: 'audio/ogg' })])).toBe('🎤 Голосовое сообщение');
    expect(attachmentsGist([photo, file({ kind: 'video', mime: 'video/mp4' })])).toBe('📎 2 файла');
    setLang('en');
    expect(attachmentsGist([photo, photo])).toBe('🖼 2 photos');
    expect(attachmentsGist([file({ kind: 'video' }), file({ kind: 'video' })])).toBe('🎬 2 videos');
    expect(attachmentsGist([file({})])).toBe('📄 File');
  });

  it('tells round video messages by the name the recorder gives them', () => {
    setLang('ru');
    expect(isVideoNote({ kind: 'video', name: 'video-note.webm' })).toBe(true);
    expect(isVideoNote({ kind: 'video', name: 'video-note.mp4' })).toBe(true);
    expect(isVideoNote({ kind: 'video', name: 'Линейка.mp4' })).toBe(false);
    expect(isVideoNote({ kind: 'file', name: 'video-note.webm' })).toBe(false);
    // What the recorder names them is what is shown as a circle.
    expect(videoNoteName('webm')).toBe('video-note.webm');
    expect(isVideoNote({ kind: 'video', name: videoNoteName('mp4') })).toBe(true);
    expect(isVideoNote({ kind: 'video', name: 'video-noteXwebm' })).toBe(false);
    expect(attachmentsGist([file({ kind: 'video', mime: 'video/webm', name: 'video-note.webm' })])).toBe('🎬 Видеосообщение');
  });

  it("draws a voice message's waveform in as many bars as there is room for", () => {
    expect(waveBars([0, 255, 51, 102], 4)).toEqual([0.1, 1, 0.2, 0.4]);
    // More values than bars: the loudest of each stretch.
    expect(waveBars([10, 255, 0, 0, 51, 0], 3)).toEqual([1, 0.1, 0.2]);
    // Fewer: each value over several bars.
    expect(waveBars([255, 0], 4)).toEqual([1, 1, 0.1, 0.1]);
    // None (a bot's voice message): a low flat line.
    expect(waveBars(undefined, 3)).toEqual([0.1, 0.1, 0.1]);
  });

  it('cycles the speed 1× → 1,5× → 2× → 1×, written as the language writes numbers', () => {
    expect(nextSpeed(1)).toBe(1.5);
    expect(nextSpeed(1.5)).toBe(2);
    expect(nextSpeed(2)).toBe(1);
    setLang('ru');
    expect(speedLabel(1.5)).toBe('1,5×');
    expect(speedLabel(2)).toBe('2×');
    setLang('en');
    expect(speedLabel(1.5)).toBe('1.5×');
  });
});
