// Runs bench/mls-entry.ts in Debian's Chromium (headless) and prints a Markdown table, for
// docs/PERFORMANCE.md. Needs no server: the page is served from memory, at a loopback address
// (a secure context: WebCrypto's Ed25519, X25519 and AES-GCM, as the app on its server gets).
// `cd web && node bench/mls.mjs [--members 30,500] [--messages 1000]`
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchBrowser } from '../tests/e2e/harness.mjs';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const sizes = option('--members', '30,500').split(',').map(Number);
const messages = Number(option('--messages', '1000'));

const out = join(tmpdir(), 'kolokol-mls-bench');
await build({
  configFile: false,
  publicDir: false,
  logLevel: 'error',
  build: {
    lib: { entry: join(web, 'bench/mls-entry.ts'), formats: ['es'], fileName: () => 'bench.js' },
    outDir: out,
    emptyOutDir: true,
    target: 'es2022',
  },
});
const browser = await launchBrowser();
const page = await browser.newPage();
await page.route('http://127.0.0.1:9/**', (route) => {
  const name = basename(new URL(route.request().url()).pathname);
  if (name === 'index.html') {
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><script type="module" src="bench.js"></script>' });
  }
  return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(out, name)) });
});
await page.goto('http://127.0.0.1:9/index.html');
await page.waitForFunction(() => 'bench' in window);
const version = await browser.version();
console.log(`ts-mls 1.6.4 in Chromium ${version} (headless), ciphersuite 0x0001; ${messages} messages`);
console.log('| members | key packages made | commit adding all | commit size | Welcome size | join by the last | key update (commit / process) | encrypt / decrypt per message |');
console.log('|---|---|---|---|---|---|---|---|');
for (const members of sizes) {
  const r = await page.evaluate(([m, n]) => window.bench(m, n), [members, messages]);
  const kb = (bytes) => (bytes / 1000).toFixed(1);
  console.log(`| ${members} | ${members - 1} in ${r.made.toFixed(0)} ms | ${r.commit.toFixed(0)} ms | ${kb(r.commitSize)} KB | ${kb(r.welcomeSize)} KB | ${r.join.toFixed(0)} ms | ${r.update.toFixed(1)} ms / ${r.process.toFixed(1)} ms | ${r.encrypt.toFixed(2)} ms / ${r.decrypt.toFixed(2)} ms |`);
}
await browser.close();
