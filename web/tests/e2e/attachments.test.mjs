// End to end, in Russian: a class's bot (plain fetch calls to /bot-api/, as a Max bot makes them)
// uploads a timetable photo, a PDF, a sound and a video the browser cannot play, and sends them
// to a parent who started it. The parent sees the photo (and opens it full size), downloads the
// PDF from its card, plays the sound, and is offered the video as a download — on a phone, light
// and dark, and at a desk.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { focusMovesTo, launchBrowser, person, register, startServer } from './harness.mjs';
import { call, DESKTOP, PHONE, shots } from './school.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// --- files the bot sends, made here ---

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])));
  return Buffer.concat([head, data, crc]);
}

/** A 480 × 320 RGB PNG that looks like a timetable: a blue header, rows, a grid, some lessons. */
function timetablePng(width = 480, height = 320) {
  const rows = [];
  const lessons = [[1, 1, [255, 205, 120]], [2, 3, [160, 220, 160]], [3, 0, [250, 170, 170]], [4, 4, [170, 200, 250]], [1, 4, [200, 180, 240]]];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const col = Math.floor(x / (width / 5));
      const line = Math.floor((y - 48) / ((height - 48) / 5));
      let rgb = [255, 255, 255];
      if (y < 48) rgb = [31, 111, 235];
      else if (x % (width / 5) < 2 || (y - 48) % ((height - 48) / 5) < 2) rgb = [190, 198, 208];
      else {
        const lesson = lessons.find(([l, c]) => l === line && c === col);
        if (lesson) rgb = lesson[2];
      }
      row.set(rgb, 1 + x * 3);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0)),
  ]);
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n'
  + 'trailer << /Root 1 0 R >>\n%%EOF\n');

/** Two seconds of a 440 Hz tone: a WAV, 8 kHz mono, 16-bit. */
function toneWav() {
  const samples = 16000;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(8000, 24);
  wav.writeUInt32LE(16000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
  return wav;
}

/** An MP4 by its first bytes, with nothing a browser can play in it. */
function brokenMp4() {
  const head = Buffer.from('\0\0\0\x18ftypisom\0\0\x02\0isomiso2', 'latin1');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(4096 + 8);
  return Buffer.concat([head, size, Buffer.from('mdat'), Buffer.alloc(4096, 7)]);
}

// --- the bot ---

async function botApi(token, method, path, body) {
  const response = await fetch(`${server.base}/bot-api${path}`, {
    method, headers: { Authorization: token, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

/** Max's upload: ask for a URL, send the file to it as the form field `data`. Gives the URL's answer and /uploads'. */
async function upload(token, type, bytes, filename, contentType) {
  const endpoint = await botApi(token, 'POST', `/uploads?type=${type}`);
  assert.equal(typeof endpoint.url, 'string', JSON.stringify(endpoint));
  const form = new FormData();
  form.append('data', new Blob([bytes], { type: contentType }), filename);
  const response = await fetch(new URL(endpoint.url, server.base), { method: 'POST', body: form });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return { endpoint, text };
}

function history(page) {
  return page.locator('[role=log]');
}

/** Screenshots at desktop and phone size, light and dark. */
async function shotsLightAndDark(page, name, subject) {
  await shots(page, name, subject);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shots(page, `${name}-dark`, subject);
  await page.emulateMedia({ colorScheme: 'light' });
}

test('a bot sends a timetable photo, a PDF, a sound and a video: the parent sees the photo, opens it, downloads the PDF, plays the sound, and can download the video', async () => {
  const teacher = await person(browser, server.base);
  await register(teacher.page, 'olga', 'Ольга Сергеевна');
  const made = await call(teacher.page, 'POST', '/bots', { username: 'timetable_bot', name: 'Расписание 5Б' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const token = made.body.token;

  // A parent on a phone starts the bot.
  const parent = await person(browser, server.base, { viewport: PHONE });
  const { page: p } = parent;
  await register(p, 'marina', 'Марина Иванова');
  await p.goto('/bot/timetable_bot');
  await p.locator('article.card').getByRole('button', { name: 'Начать' }).click();
  await p.locator('section.chat h2', { hasText: 'Расписание 5Б' }).waitFor();
  const me = (await call(p, 'GET', '/me')).body;
  const chat = (await call(p, 'GET', '/chats')).body.chats.find((c) => c.peer?.username === 'timetable_bot');

  // The photo, with a caption.
  const png = timetablePng();
  const photo = await upload(token, 'image', png, 'timetable.png', 'image/png');
  const photos = JSON.parse(photo.text).photos;
  const [photoToken] = Object.values(photos).map((entry) => entry.token);
  assert.ok(photoToken, photo.text);
  await botApi(token, 'POST', `/messages?user_id=${me.id}`, { text: 'Расписание', attachments: [{ type: 'image', payload: { token: photoToken } }] });

  const captioned = history(p).locator('article', { hasText: 'Расписание' }).filter({ has: p.locator('img') });
  const thumb = captioned.locator('img');
  await thumb.waitFor();
  await p.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thumb.elementHandle());
  const src = await thumb.getAttribute('src');
  assert.match(src, /^\/api\/v1\/media\/\d+\?v=t&e=\d+&s=/, 'the thumbnail, same-origin');
  const thumbSize = await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  assert.deepEqual(thumbSize, [320, 213], 'a thumbnail at most 320 a side');
  const alt = await thumb.getAttribute('alt');
  assert.ok(alt === 'timetable.png' || alt === 'Фото', `alt «${alt}»`);
  // The box keeps the photo's shape (480 × 320) from before it loads.
  const box = await captioned.locator('.frame').boundingBox();
  assert.ok(Math.abs(box.width / box.height - 1.5) < 0.02, `box ${box.width} × ${box.height}`);
  // The caption is under the photo.
  const caption = await captioned.locator('span.text').boundingBox();
  assert.ok(caption.y >= box.y + box.height - 1, 'the text is the caption, under the photo');
  const opener = captioned.getByRole('button', { name: `Открыть фото: ${alt}` });
  await shotsLightAndDark(p, 'attachments-photo', captioned);

  // Open it full size; Escape closes it, and focus goes back to the photo.
  await opener.click();
  const viewer = p.getByRole('dialog', { name: alt });
  const full = viewer.locator('img.picture');
  await full.waitFor();
  await p.waitForFunction((img) => img.complete && img.naturalWidth > 0, await full.elementHandle());
  assert.deepEqual(await full.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [480, 320]);
  assert.match(await full.getAttribute('src'), /\?v=o&/);
  await viewer.getByText('480 × 320').waitFor();
  await p.screenshot({ path: 'test-results/attachments-viewer-phone.png' });
  await p.setViewportSize(DESKTOP);
  await p.screenshot({ path: 'test-results/attachments-viewer-desktop.png' });
  await p.setViewportSize(PHONE);
  await p.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  await focusMovesTo(p, `Открыть фото: ${alt}`);
  // «×» closes it too.
  await opener.press('Enter');
  await viewer.getByRole('button', { name: 'Закрыть' }).click();
  await viewer.waitFor({ state: 'detached' });

  // A PDF with no text: a card with its name, size and type that downloads it.
  const pdf = await upload(token, 'file', PDF, 'Расписание-5Б.pdf', 'application/pdf');
  const pdfToken = JSON.parse(pdf.text).token;
  assert.ok(pdfToken, pdf.text);
  await botApi(token, 'POST', `/messages?user_id=${me.id}`, { text: '', attachments: [{ type: 'file', payload: { token: pdfToken } }] });
  const card = history(p).locator('a.file', { hasText: 'Расписание-5Б.pdf' });
  await card.waitFor();
  const sizeText = `PDF · ${PDF.length}\u00a0Б`;
  await card.getByText(sizeText).waitFor();
  assert.equal(await card.getAttribute('aria-label'), `Скачать «Расписание-5Б.pdf», PDF, ${PDF.length}\u00a0Б`);
  assert.equal(await card.getAttribute('download'), 'Расписание-5Б.pdf');
  const fileMessage = history(p).locator('article', { has: p.locator('a.file', { hasText: 'Расписание-5Б.pdf' }) });
  await fileMessage.waitFor();
  assert.equal(await fileMessage.locator('span.text').count(), 0, 'no empty line of text');
  const href = await card.getAttribute('href');
  assert.match(href, /^\/api\/v1\/media\/\d+\?v=o&/);
  // The link works without a session (as the browser's download does), and gives the same bytes.
  const fetched = await fetch(new URL(href, server.base));
  assert.equal(fetched.status, 200);
  assert.match(fetched.headers.get('content-disposition') ?? '', /^attachment/);
  assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), PDF);
  // And the browser downloads it under its name.
  const [download] = await Promise.all([p.waitForEvent('download'), card.click()]);
  assert.equal(download.suggestedFilename(), 'Расписание-5Б.pdf');
  assert.deepEqual(Buffer.from(await (await download.createReadStream()).toArray().then(Buffer.concat)), PDF);
  await shotsLightAndDark(p, 'attachments-file', fileMessage);

  // A sound: the browser's player, which reads its length.
  const wav = toneWav();
  const sound = await upload(token, 'audio', wav, 'Звонок.wav', 'audio/wav');
  await botApi(token, 'POST', `/messages?user_id=${me.id}`, { text: 'Так звучит новый звонок', attachments: [{ type: 'audio', payload: { token: sound.endpoint.token } }] });
  const player = history(p).locator('article', { hasText: 'Так звучит новый звонок' }).locator('audio');
  await player.waitFor();
  assert.equal(await player.getAttribute('preload'), 'metadata');
  await p.waitForFunction((audio) => audio.readyState >= 1 && Math.abs(audio.duration - 2) < 0.05, await player.elementHandle());

  // A video this browser cannot play: offered as a download instead of a broken player.
  const video = await upload(token, 'video', brokenMp4(), 'Линейка.mp4', 'video/mp4');
  await botApi(token, 'POST', `/messages?user_id=${me.id}`, { text: 'Видео с линейки', attachments: [{ type: 'video', payload: { token: video.endpoint.token } }] });
  const clip = history(p).locator('article', { hasText: 'Видео с линейки' });
  await clip.getByText('Этот браузер не может воспроизвести файл').waitFor({ timeout: 15_000 });
  await clip.getByRole('link', { name: /^Скачать «Линейка\.mp4»/ }).waitFor();
  await shotsLightAndDark(p, 'attachments-sound-video', clip);

  // The chat list says what came, the last message being a video.
  await p.getByRole('button', { name: 'Назад' }).click();
  await p.locator('nav a', { hasText: 'Расписание 5Б' }).getByText('🎬 Видео с линейки').waitFor();

  // Opening the chat again asks for all its files' links in one request.
  const asked = [];
  p.on('request', (request) => {
    if (request.url().endsWith('/api/v1/media/links')) asked.push(JSON.parse(request.postData()).ids.length);
  });
  await p.reload();
  await p.locator('nav a', { hasText: 'Расписание 5Б' }).click();
  await card.waitFor();
  await p.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thumb.elementHandle());
  await p.waitForTimeout(300);
  assert.deepEqual(asked, [4], 'one request for the four files');
  await shots(p, 'attachments-chat', card);

  // Files in a thread: the parent answers under the timetable with the PDF (forwarded by its id);
  // the thread shows the photo above its caption and the PDF's card.
  const history_ = (await call(p, 'GET', `/chats/${chat.id}/messages?limit=10`)).body.messages;
  const timetable = history_.find((m) => m.text === 'Расписание');
  const pdfId = history_.find((m) => m.attachments?.[0]?.kind === 'file').attachments[0].id;
  const forwarded = await call(p, 'POST', `/chats/${chat.id}/messages`, { client_msg_id: 'thread-pdf', text: '', attachments: [pdfId], thread_of: timetable.seq });
  assert.equal(forwarded.status, 201, JSON.stringify(forwarded.body));
  await captioned.locator('.thread-link').click();
  const thread = p.getByRole('complementary', { name: 'Тред: 🖼 Расписание' });
  await p.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thread.locator('.root img').elementHandle());
  await thread.locator('.reply a.file', { hasText: 'Расписание-5Б.pdf' }).waitFor();
  assert.equal(await thread.locator('.reply .text span.text').count(), 0, 'no empty line under the file');
  await shotsLightAndDark(p, 'attachments-thread', thread.locator('.reply'));
  await thread.getByRole('button', { name: 'Закрыть тред' }).click();

  // Someone outside the chat gets no links to its files.
  const stranger = await person(browser, server.base);
  await register(stranger.page, 'boris', 'Борис Орлов');
  const ids = [...new Set((await call(p, 'GET', `/chats/${chat.id}/messages?limit=10`)).body.messages.flatMap((m) => (m.attachments ?? []).map((a) => a.id)))];
  assert.equal(ids.length, 4);
  const refused = await call(stranger.page, 'POST', '/media/links', { chat_id: chat.id, ids });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'not_member');

  // In English, the same card reads in English.
  await p.evaluate(() => localStorage.setItem('kolokol.lang', 'en'));
  await p.reload();
  await history(p).getByRole('link', { name: `Download “Расписание-5Б.pdf”, PDF, ${PDF.length}\u00a0B` }).waitFor();
  await stranger.context.close();
  await parent.context.close();
  await teacher.context.close();
});
