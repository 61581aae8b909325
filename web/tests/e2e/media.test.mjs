// End to end, in Russian: people send files. Anna (on a phone) records a voice message with the
// browser's fake microphone; Boris (at a desk, same chat) sees its waveform, plays it at 2× to its
// end. Anna attaches a photo through the file picker on a slow connection, sees it upload, sends
// it before it is up (it goes once it is), and Boris sees its thumbnail. She drops a PDF on the
// chat, pastes a screenshot, is told in Russian which files the server refused, cancels a big
// upload midway (nothing is sent), loses the connection in the middle of another (it goes on
// from where the server got), and records a round video message.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, person, register, startServer } from './harness.mjs';
import { call, PHONE, shots } from './school.mjs';

let server;
let browser;
let anna;
let boris;
let chatId;

/** Files are up to 40 MiB on this server, so that a larger one is refused. */
const LIMIT_MB = 40;
const MiB = 1024 * 1024;

before(async () => {
  server = await startServer(['--media-max-mb', String(LIMIT_MB)]);
  browser = await launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  anna = await person(browser, server.base, { viewport: PHONE });
  boris = await person(browser, server.base);
  for (const who of [anna, boris]) await who.context.grantPermissions(['microphone', 'camera'], { origin: server.base });
  await register(anna.page, 'anna', 'Анна Петрова');
  await register(boris.page, 'boris', 'Борис Иванов');
  // Anna starts a direct chat with Boris; both have it open.
  const { page } = anna;
  await page.getByRole('button', { name: 'Новый чат' }).click();
  await page.locator('input[name=chat-name]').fill('boris');
  // A community chat: edits, reactions, files and the outbox are not in encrypted chats yet.
  await page.getByLabel('Сквозное шифрование').uncheck();
  await page.getByRole('button', { name: 'Создать' }).click();
  await page.locator('section.chat h2', { hasText: 'Борис Иванов' }).waitFor();
  await send(page, 'Добрый день! Сейчас пришлю файлы.');
  await boris.page.locator('nav a', { hasText: 'Анна Петрова' }).click();
  await history(boris.page).getByText('Сейчас пришлю файлы').waitFor();
  chatId = (await call(page, 'GET', '/chats')).body.chats[0].id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function history(page) {
  return page.locator('[role=log]');
}

function composer(page) {
  return page.locator('form.composer');
}

async function send(page, text) {
  const box = page.locator('textarea');
  await box.fill(text);
  await box.press('Enter');
}

/** Screenshots at a desk and on a phone, then the phone in the dark. */
async function shotsLightAndDark(page, name, subject) {
  await shots(page, name, subject);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await subject?.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `test-results/${name}-phone-dark.png` });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(PHONE);
}

/** The messages of the chat, as the server has them. */
async function messages(page) {
  return (await call(page, 'GET', `/chats/${chatId}/messages?limit=100`)).body.messages;
}

/** A slow connection for the page (bytes a second up), or a normal one again (null). */
async function throttle(page, bytesPerSecond) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: bytesPerSecond ? 20 : 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond ?? -1,
  });
  return cdp;
}

/** A JPEG photo of `width` × `height` drawn in the page (colour bands and noise, so it is not tiny), as bytes. */
async function jpeg(page, width, height) {
  const base64 = await page.evaluate(async ([width, height]) => {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    const gradient = context.createLinearGradient(0, 0, width, height);
    gradient.addColorStop(0, '#ffd27a');
    gradient.addColorStop(1, '#5aa0ff');
    context.fillStyle = gradient;
    context.fillRect(0, 0, width, height);
    const image = context.getImageData(0, 0, width, height);
    for (let i = 0; i < image.data.length; i += 4) {
      const noise = (Math.random() - 0.5) * 90;
      image.data[i] += noise;
      image.data[i + 1] += noise;
      image.data[i + 2] += noise;
    }
    context.putImageData(image, 0, 0);
    context.fillStyle = '#1f3b70';
    context.font = `bold ${Math.round(height / 8)}px sans-serif`;
    context.fillText('Утренник 5Б', width / 10, height / 2);
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.95 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }, [width, height]);
  return Buffer.from(base64, 'base64');
}

/** Drags a DataTransfer of files made in the page by `make` over the chat and drops it there. */
async function dropFiles(page, make, arg, { shot } = {}) {
  const transfer = await page.evaluateHandle(make, arg);
  const target = history(page);
  await target.dispatchEvent('dragenter', { dataTransfer: transfer });
  await target.dispatchEvent('dragover', { dataTransfer: transfer });
  await page.locator('.drop', { hasText: 'Отпустите файлы, чтобы прикрепить их к сообщению' }).waitFor();
  assert.equal(await page.getByRole('status').filter({ hasText: 'Отпустите файлы' }).count(), 1, 'the drop is announced');
  if (shot) await shot();
  await target.dispatchEvent('drop', { dataTransfer: transfer });
  await page.locator('.drop').waitFor({ state: 'detached' });
  await transfer.dispose();
}

/** Upload requests the page makes, as «METHOD /path», and the pieces' Content-Range. */
function watchUploads(page) {
  const seen = [];
  const ranges = [];
  const listener = (request) => {
    const path = new URL(request.url()).pathname;
    if (!/\/uploads(\/|$)/.test(path)) return;
    seen.push(`${request.method()} ${path.replace('/api/v1', '')}`);
    if (request.method() === 'PUT') ranges.push(request.headers()['content-range']);
  };
  page.on('request', listener);
  return { seen, ranges, stop: () => page.off('request', listener) };
}

test('a voice message: recorded with its waveform, played by the other at 2× to its end', async () => {
  const { page } = anna;
  const record = page.getByRole('button', { name: 'Записать голосовое сообщение' });
  await record.click();
  const panel = page.getByRole('group', { name: 'Идёт запись голосового сообщения' });
  await panel.waitFor();
  const stop = panel.getByRole('button', { name: 'Отправить голосовое сообщение' });
  await page.waitForFunction(() => document.querySelector('.record .send')?.disabled === false);
  // Focus is on sending it; the microphone's level shows.
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Отправить голосовое сообщение');
  await page.waitForTimeout(1500);
  assert.ok(await panel.locator('.levels rect').count() > 10, 'the level shows as it records');
  await shotsLightAndDark(page, 'media-recording', panel);
  await stop.click();

  // Boris sees it with its waveform and its length.
  const voice = history(boris.page).locator('article .voice').last();
  await voice.waitFor();
  const sent = (await messages(boris.page)).at(-1);
  const [attachment] = sent.attachments;
  assert.equal(attachment.kind, 'voice');
  assert.match(attachment.mime, /^audio\/webm/);
  assert.equal(sent.text, '');
  assert.ok(attachment.duration_ms >= 1300 && attachment.duration_ms < 6000, `duration ${attachment.duration_ms}`);
  assert.ok(attachment.waveform.length > 10 && attachment.waveform.length <= 64, `waveform of ${attachment.waveform.length}`);
  assert.ok(attachment.waveform.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  assert.ok(Math.max(...attachment.waveform) > Math.min(...attachment.waveform), 'the fake microphone beeps: the waveform is not flat');
  const heights = await voice.locator('.wave rect').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('height'))));
  assert.equal(heights.length, 40);
  assert.ok(new Set(heights).size > 1, 'bars of different heights');
  const seconds = Math.round(attachment.duration_ms / 1000);
  await voice.getByText(`0:0${seconds}`).waitFor();
  assert.equal(await voice.getAttribute('aria-label'), `Голосовое сообщение, 0:0${seconds}`);

  // He plays it, switches to 2× and it plays to its end, the bars filling meanwhile.
  const audio = voice.locator('audio');
  const ended = audio.evaluate((element) => new Promise((resolve) => element.addEventListener('ended', () => resolve(element.playbackRate), { once: true })));
  await voice.getByRole('button', { name: 'Слушать' }).click();
  const speed = voice.getByRole('button', { name: /^Скорость/ });
  assert.equal(await speed.textContent(), '1×');
  await speed.click();
  assert.equal(await speed.textContent(), '1,5×');
  await speed.click();
  assert.equal(await speed.getAttribute('aria-label'), 'Скорость: 2×');
  await boris.page.waitForFunction((element) => element.querySelectorAll('.wave rect.filled').length > 0, await voice.elementHandle());
  await shots(boris.page, 'media-voice-playing', voice);
  assert.equal(await ended, 2, 'it ended, playing at 2×');
  await voice.getByRole('button', { name: 'Слушать' }).waitFor();
  // The slider moves by keyboard too.
  const slider = voice.getByRole('slider', { name: 'Перемотка' });
  await slider.focus();
  await boris.page.keyboard.press('End');
  assert.equal(await slider.getAttribute('aria-valuenow'), String(Math.round(attachment.duration_ms / 1000)));
  await boris.page.keyboard.press('Home');
  assert.equal(await slider.getAttribute('aria-valuenow'), '0');
  // Anna's chat list sums it up.
  await boris.page.locator('nav a', { hasText: 'Анна Петрова' }).getByText('🎤 Голосовое сообщение').waitFor();
});

test('a photo through the file picker: its upload shows, it is sent before it is up and goes once it is', async () => {
  const { page } = anna;
  const photo = await jpeg(page, 1600, 1200);
  assert.ok(photo.length > 600_000, `a photo of ${photo.length} bytes`);
  // A slow line: about 200 KB a second up.
  const cdp = await throttle(page, 200 * 1024);
  await page.locator('input[type=file]').setInputFiles({ name: 'Утренник.jpg', mimeType: 'image/jpeg', buffer: photo });
  const tray = composer(page).getByRole('list', { name: 'Прикреплённые файлы' });
  const item = tray.locator('li', { hasText: 'Утренник.jpg' });
  const progress = item.getByRole('progressbar', { name: 'Загрузка «Утренник.jpg»' });
  await page.waitForFunction((bar) => bar && Number(bar.value) > 0 && Number(bar.value) < Number(bar.max), await progress.elementHandle());
  assert.match(await item.locator('img').getAttribute('src'), /^blob:/, 'its own thumbnail, from the file itself');
  await item.getByText(/ из \d(,\d)?\u00a0МБ$/).waitFor();
  await shotsLightAndDark(page, 'media-tray-progress', composer(page));

  // Sent while it uploads: the message waits in the chat, then goes.
  await page.locator('textarea').fill('Фото с утренника');
  await page.locator('textarea').press('Enter');
  const waiting = history(page).locator('[data-waiting]');
  await waiting.getByText('Отправится, когда загрузятся файлы').waitFor();
  await waiting.getByText('Фото с утренника').waitFor();
  assert.equal(await tray.count(), 0, 'the composer is free for the next message');
  await shotsLightAndDark(page, 'media-waiting', waiting);
  await throttle(page, null);
  await cdp.detach();

  // Boris sees the photo's thumbnail over its caption.
  const article = history(boris.page).locator('article', { hasText: 'Фото с утренника' });
  const thumb = article.locator('img');
  await thumb.waitFor();
  await boris.page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thumb.elementHandle());
  assert.match(await thumb.getAttribute('src'), /^\/api\/v1\/media\/\d+\?v=t&/);
  const [attachment] = (await messages(boris.page)).at(-1).attachments;
  assert.deepEqual([attachment.kind, attachment.mime, attachment.width, attachment.height, attachment.name], ['image', 'image/jpeg', 1600, 1200, 'Утренник.jpg']);
  await waiting.waitFor({ state: 'detached' });
  await shots(boris.page, 'media-photo-received', article);
});

test('a PDF dropped on the chat, and a screenshot pasted into it', async () => {
  const { page } = anna;
  const before = (await messages(page)).length;
  await dropFiles(page, () => {
    const transfer = new DataTransfer();
    const pdf = '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n';
    transfer.items.add(new File([pdf], 'Справка для бассейна.pdf', { type: 'application/pdf' }));
    return transfer;
  }, undefined, { shot: () => shots(page, 'media-drop') });
  const item = composer(page).locator('li', { hasText: 'Справка для бассейна.pdf' });
  await item.getByText('Загружено').waitFor();
  // Files alone go without text.
  await page.locator('textarea').press('Enter');
  const card = history(boris.page).locator('a.file', { hasText: 'Справка для бассейна.pdf' });
  await card.waitFor();
  await card.getByText(/^PDF · \d+\u00a0Б$/).waitFor();

  // A screenshot pasted into the message box.
  await page.locator('textarea').evaluate((box) => new Promise((done) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 400;
    const context = canvas.getContext('2d');
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, 640, 400);
    context.fillStyle = '#1f6feb';
    context.fillRect(0, 0, 640, 60);
    context.fillStyle = '#1b1f24';
    context.font = '28px sans-serif';
    context.fillText('Расписание на понедельник', 30, 130);
    canvas.toBlob((blob) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([blob], 'image.png', { type: 'image/png' }));
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      done();
    }, 'image/png');
  }));
  const pasted = composer(page).locator('li', { hasText: 'image.png' });
  await pasted.getByText('Загружено').waitFor();
  assert.equal(await page.locator('textarea').inputValue(), '', 'nothing was pasted as text');
  await send(page, 'Скриншот расписания');
  const shot = history(boris.page).locator('article', { hasText: 'Скриншот расписания' }).locator('img');
  await shot.waitFor();
  await boris.page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await shot.elementHandle());
  const latest = await messages(page);
  assert.equal(latest.length, before + 2);
  assert.deepEqual(latest.slice(-2).map((m) => [m.text, m.attachments[0].kind]), [['', 'file'], ['Скриншот расписания', 'image']]);
});

test('refused files are explained in Russian, per file; a picture that is not one can go as a document', async () => {
  const { page } = anna;
  const before = (await messages(page)).length;
  // A «photo» that is really a PDF, and a file over the server's limit.
  await dropFiles(page, (limit) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['%PDF-1.4\n%%EOF\n'], 'Фото.jpg', { type: 'image/jpeg' }));
    transfer.items.add(new File([new Uint8Array((limit + 1) * 1024 * 1024)], 'Фильм.zip', { type: 'application/zip' }));
    return transfer;
  }, LIMIT_MB);
  const fake = composer(page).locator('li', { hasText: 'Фото.jpg' });
  const huge = composer(page).locator('li', { hasText: 'Фильм.zip' });
  await fake.getByRole('alert').getByText('Эту картинку не получится показать в чате. Её можно отправить как файл.').waitFor();
  await huge.getByRole('alert').getByText('Файл слишком большой для отправки.').waitFor();
  // It will not send with refused files in it.
  await page.locator('textarea').fill('Вот');
  await page.locator('textarea').press('Enter');
  await composer(page).getByRole('alert').getByText('Сначала уберите файлы, которые не загрузились, или загрузите их снова.').waitFor();
  await shotsLightAndDark(page, 'media-refused', composer(page));

  // The big one is taken out; the «photo» goes as a document.
  await huge.getByRole('button', { name: 'Убрать «Фильм.zip»' }).click();
  await huge.waitFor({ state: 'detached' });
  await fake.getByRole('button', { name: 'Отправить как файл' }).click();
  await fake.getByText('Загружено').waitFor();
  await page.locator('textarea').press('Enter');
  await history(boris.page).locator('article', { hasText: 'Вот' }).locator('a.file', { hasText: 'Фото.jpg' }).waitFor();
  const latest = await messages(page);
  assert.equal(latest.length, before + 1);
  assert.equal(latest.at(-1).attachments[0].kind, 'file');
});

test('a big upload cancelled midway: its upload is deleted and nothing is sent', async () => {
  const { page } = anna;
  const before = (await messages(page)).length;
  const borisRows = await history(boris.page).locator('article').count();
  const cdp = await throttle(page, 2 * MiB);
  const uploads = watchUploads(page);
  await dropFiles(page, (size) => {
    const transfer = new DataTransfer();
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) bytes[i] = i % 251;
    transfer.items.add(new File([bytes], 'Видео с праздника.zip', { type: 'application/zip' }));
    return transfer;
  }, 30 * MiB);
  const item = composer(page).locator('li', { hasText: 'Видео с праздника.zip' });
  const progress = item.getByRole('progressbar');
  await page.waitForFunction((bar) => Number(bar.value) > 1024 * 1024, await progress.elementHandle(), { timeout: 20_000 });
  const value = Number(await progress.getAttribute('value'));
  assert.ok(value < 30 * MiB, 'midway');
  const deleted = page.waitForResponse((response) => response.request().method() === 'DELETE' && /\/uploads\/\d+$/.test(response.url()));
  await item.getByRole('button', { name: 'Отменить загрузку «Видео с праздника.zip»' }).click();
  await item.waitFor({ state: 'detached' });
  assert.equal((await deleted).status(), 204);
  const id = /\/uploads\/(\d+)/.exec(uploads.seen.find((seen) => seen.startsWith('PUT')))[1];
  // Pieces of at most 8 MiB, the first on its way when cancelled; the server forgot the upload.
  assert.deepEqual(uploads.seen.slice(0, 2), [`POST /chats/${chatId}/uploads`, `PUT /uploads/${id}`]);
  assert.equal(uploads.ranges[0], `bytes 0-${8 * MiB - 1}/${30 * MiB}`);
  assert.equal((await call(page, 'GET', `/uploads/${id}`)).status, 404);
  await throttle(page, null);
  await cdp.detach();
  await page.waitForTimeout(500);
  assert.equal(uploads.seen.filter((seen) => seen.startsWith('PUT')).length, 1, 'nothing more went after cancelling');
  uploads.stop();
  assert.equal((await messages(page)).length, before, 'nothing was sent');
  assert.equal(await history(boris.page).locator('article').count(), borisRows);
  assert.equal(await composer(page).getByRole('list', { name: 'Прикреплённые файлы' }).count(), 0);
});

test('a connection lost midway: the upload goes on from where the server got', async () => {
  const { page } = anna;
  const cdp = await throttle(page, 3 * MiB);
  const uploads = watchUploads(page);
  const size = 20 * MiB;
  await dropFiles(page, (size) => {
    const transfer = new DataTransfer();
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 1000) bytes[i] = (i / 1000) % 256;
    transfer.items.add(new File([bytes], 'Презентация.zip', { type: 'application/zip' }));
    return transfer;
  }, size);
  const item = composer(page).locator('li', { hasText: 'Презентация.zip' });
  const progress = item.getByRole('progressbar');
  // Past its first piece (8 MiB), the line drops.
  await page.waitForFunction((bar) => Number(bar.value) > 9 * 1024 * 1024, await progress.elementHandle(), { timeout: 30_000 });
  // (Through the same DevTools session as the throttling, which would otherwise win over going offline.)
  await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await item.getByText('Нет соединения — продолжим, когда оно появится').waitFor();
  await shots(page, 'media-offline', composer(page));
  await page.waitForTimeout(1500);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.detach();
  await item.getByText('Загружено').waitFor({ timeout: 30_000 });
  uploads.stop();
  // It asked how far the server got and sent only the rest: the first piece once.
  const id = /\/uploads\/(\d+)/.exec(uploads.seen[1])[1];
  assert.ok(uploads.seen.includes(`GET /uploads/${id}`), uploads.seen.join(', '));
  assert.equal(uploads.seen.filter((seen) => seen === `POST /chats/${chatId}/uploads`).length, 1, uploads.seen.join(', '));
  assert.equal(uploads.ranges[0], `bytes 0-${8 * MiB - 1}/${size}`);
  assert.equal(uploads.ranges.filter((range) => range === uploads.ranges[0]).length, 1, `the first piece went once: ${uploads.ranges.join(', ')}`);
  assert.equal(uploads.ranges.at(-1), `bytes ${16 * MiB}-${size - 1}/${size}`, uploads.ranges.join(', '));
  console.log(`resumed: ${uploads.seen.join(', ')}; ${uploads.ranges.join(', ')}`);
  await item.getByRole('button', { name: 'Убрать «Презентация.zip»' }).click();
  await item.waitFor({ state: 'detached' });
});

test('a round video message', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Записать видеосообщение' }).click();
  const panel = page.getByRole('group', { name: 'Идёт запись видеосообщения' });
  await panel.waitFor();
  await page.waitForFunction(() => document.querySelector('.record .send')?.disabled === false);
  await page.waitForFunction(() => document.querySelector('.record video')?.readyState >= 2);
  await page.waitForTimeout(1500);
  await shotsLightAndDark(page, 'media-recording-video', panel);
  await panel.getByRole('button', { name: 'Отправить видеосообщение' }).click();

  const note = history(boris.page).locator('article .note').last();
  await note.waitFor();
  const [attachment] = (await messages(boris.page)).at(-1).attachments;
  assert.deepEqual([attachment.kind, attachment.name], ['video', 'video-note.webm']);
  assert.match(attachment.mime, /^video\/webm/);
  assert.ok(attachment.duration_ms >= 1300, `duration ${attachment.duration_ms}`);
  await boris.page.waitForFunction((element) => element.querySelector('video').readyState >= 1, await note.elementHandle());
  const box = await note.boundingBox();
  assert.ok(Math.abs(box.width - box.height) < 1, 'round: as wide as tall');
  const ended = note.locator('video').evaluate((video) => new Promise((resolve) => video.addEventListener('ended', () => resolve(true), { once: true })));
  await note.getByRole('button', { name: 'Смотреть видеосообщение' }).click();
  await note.getByRole('button', { name: 'Пауза' }).waitFor();
  assert.equal(await ended, true);
  await boris.page.locator('nav a', { hasText: 'Анна Петрова' }).getByText('🎬 Видеосообщение').waitFor();
  await shots(boris.page, 'media-video-note', note);
  await shots(anna.page, 'media-chat', history(anna.page).locator('article').last());
  await anna.page.emulateMedia({ colorScheme: 'dark' });
  await anna.page.screenshot({ path: 'test-results/media-chat-phone-dark.png' });
  await anna.page.emulateMedia({ colorScheme: 'light' });
});
