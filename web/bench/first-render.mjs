// Web client benchmark: the gzip size of the JavaScript a first visit loads, and the time until a
// chat holding 10,000 messages is rendered in headless Chromium.
//
//   node bench/first-render.mjs            (after `npm run build` and `cargo build --release`)
//
// Uses KOLOKOL_BIN (default ../target/release/kolokol) against a fresh data folder.

import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { launchBrowser, person, startServer } from '../tests/e2e/harness.mjs';

const MESSAGES = 10_000;
const RUNS = 5;
process.env.KOLOKOL_BIN ??= new URL('../../target/release/kolokol', import.meta.url).pathname;

// 1. What a first visit downloads: index.html's scripts and styles, gzipped.
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const loaded = [...html.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let jsGzip = 0;
for (const file of loaded) {
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  if (file.endsWith('.js')) jsGzip += size;
  console.log(`first visit loads ${file}: ${(size / 1024).toFixed(1)} KiB gzipped`);
}
console.log(`JavaScript on first visit: ${(jsGzip / 1024).toFixed(1)} KiB gzipped (${readdirSync(join(dist, 'assets')).length} asset files built)`);

// 2. A chat with 10,000 messages.
const server = await startServer();
const call = async (path, body, token) => {
  const response = await fetch(`${server.base}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return response.json();
};
const { token } = await call('/auth/register', { username: 'teacher', password: 'correct horse battery', display_name: 'Учитель' });
const chat = await call('/chats', { kind: 'group', title: '10 000 сообщений' }, token);
for (let start = 0; start < MESSAGES; start += 200) {
  await Promise.all(Array.from({ length: 200 }, (_, i) =>
    call(`/chats/${chat.id}/messages`, { client_msg_id: `m${start + i}`, text: `Сообщение номер ${start + i + 1}` }, token)));
}

const browser = await launchBrowser();
const times = [];
for (let run = 0; run < RUNS; run++) {
  const { context, page } = await person(browser, server.base);
  await context.addInitScript((t) => localStorage.setItem('kolokol.token', t), token);
  await page.goto('/');
  await page.locator('nav a').first().waitFor();
  // Measured inside the page, frame by frame: from the click until the newest message is laid
  // out inside the viewport (polling from outside would add its own delay).
  times.push(await page.evaluate((seq) => {
    const started = performance.now();
    document.querySelector('nav a').click();
    return new Promise((resolve) => {
      const check = () => {
        const box = document.querySelector(`[data-seq="${seq}"]`)?.getBoundingClientRect();
        if (box && box.height > 0 && box.bottom <= innerHeight && box.top >= 0) resolve(performance.now() - started);
        else requestAnimationFrame(check);
      };
      check();
    });
  }, MESSAGES));
  if (run === 0) await page.screenshot({ path: new URL('../test-results/bench-10000.png', import.meta.url).pathname });
  await context.close();
}
times.sort((a, b) => a - b);
console.log(`open a chat of ${MESSAGES} messages until its newest is on screen: median ${times[RUNS >> 1].toFixed(0)} ms (runs: ${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
await browser.close();
server.stop();
