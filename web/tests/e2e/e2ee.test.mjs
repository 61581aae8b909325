// End-to-end encryption across libraries: the browser's MLS device (ts-mls in Debian's Chromium,
// web/src/lib/mls) and a Rust one (openmls, target/debug/kolokol-mls-peer) in the same groups
// through the real server, both directions, through joins, key updates, removals and a race of
// commits; their epoch authenticators must match.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { artifacts, launchBrowser, startServer } from './harness.mjs';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PASSWORD = 'correct horse battery';

let server;
let browser;
let bundle;
const peers = [];

/** A Rust device: kolokol-mls-peer, one JSON command per line in, one answer per line out. */
function startPeer() {
  const child = spawn(join(web, '../target/debug/kolokol-mls-peer'), [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const answers = createInterface({ input: child.stdout });
  const waiting = [];
  answers.on('line', (line) => waiting.shift()(JSON.parse(line)));
  peers.push(child);
  return (command) => new Promise((resolve) => {
    waiting.push(resolve);
    child.stdin.write(`${JSON.stringify(command)}\n`);
  });
}

async function rustDevice(username) {
  const peer = startPeer();
  const opened = await peer({ cmd: 'sign_in', base: server.base, username, password: PASSWORD, register: true });
  assert.equal(opened.ok, true, JSON.stringify(opened));
  return { peer, userId: opened.user_id };
}

/** A browser device: a page on the server's origin running the bundled web/src/lib/mls. */
async function browserDevice(username) {
  const context = await browser.newContext({ baseURL: server.base });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Refusals the test provokes (409s) show as failed loads; anything else is worth seeing.
    if (message.type() === 'error' && !message.text().includes('409')) console.error(`page console: ${message.text()}`);
  });
  await page.route('**/mls-interop/**', (route) => {
    const name = basename(new URL(route.request().url()).pathname);
    if (name === 'index.html') {
      return route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><meta charset="utf-8"><script type="module" src="/mls-interop/mls-interop.js"></script>',
      });
    }
    return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(bundle, name)) });
  });
  await page.goto('/mls-interop/index.html');
  await page.waitForFunction(() => 'mls' in window);
  const opened = await page.evaluate(([name, password]) => window.mls.signUp(name, password), [username, PASSWORD]);
  const call = (method, ...args) => page.evaluate(([m, a]) => window.mls[m](...a), [method, args]);
  /** Reloads the page: the device comes back from its vault. */
  const reload = async () => {
    await page.reload();
    await page.waitForFunction(() => 'mls' in window);
    return page.evaluate(() => window.mls.resume());
  };
  return { page, call, reload, userId: opened.userId, deviceId: opened.deviceId };
}

async function assertSameEpoch(chatId, browsers, rusts) {
  const codes = [];
  for (const device of browsers) codes.push(await device.call('epoch', chatId));
  for (const device of rusts) {
    const answer = await device.peer({ cmd: 'epoch', chat_id: chatId });
    codes.push({ epoch: answer.epoch, authenticator: answer.authenticator, code: answer.code });
  }
  for (const code of codes) assert.deepEqual(code, codes[0]);
  assert.ok(codes[0].authenticator, 'in the group');
  return codes[0].epoch;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  bundle = join(artifacts, 'mls-interop');
  await build({
    configFile: false,
    publicDir: false,
    logLevel: 'error',
    build: {
      lib: { entry: join(web, 'tests/e2e/mls-entry.ts'), formats: ['es'], fileName: () => 'mls-interop.js' },
      outDir: bundle,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
    },
  });
});

after(async () => {
  for (const peer of peers) peer.kill();
  await browser?.close();
  await server?.stop();
});

test('a browser (ts-mls) and a Rust device (openmls) talk in one encrypted group, both ways', async () => {
  const anna = await browserDevice('anna');
  const boris = await rustDevice('boris');
  const chatId = await anna.call('createGroup', 'Родительский комитет 5Б', [boris.userId]);

  // Anna's browser starts the group and adds Boris's openmls device; he joins from its Welcome.
  const started = await anna.call('commit', chatId);
  assert.equal(started.ok, true, JSON.stringify(started));
  assert.deepEqual((await boris.peer({ cmd: 'accept' })).chats, [chatId]);
  assert.equal(await assertSameEpoch(chatId, [anna], [boris]), 1);
  // The epoch code the browser's Verify screen shows (lib/e2ee takes it from the device) is the Rust peer's.
  assert.equal(await anna.call('epochCode', chatId), (await boris.peer({ cmd: 'epoch', chat_id: chatId })).code);
  // Both compute the same safety number from each other's devices.
  const number = await anna.call('safety', boris.userId);
  assert.match(number, /^(\d{5} ){11}\d{5}$/);
  assert.equal((await boris.peer({ cmd: 'safety', user_id: anna.userId })).number, number);

  assert.equal((await anna.call('send', chatId, 'Привет из браузера 🌐')).ok, true);
  assert.deepEqual((await boris.peer({ cmd: 'sync', chat_id: chatId })).texts, ['Привет из браузера 🌐']);
  assert.equal((await boris.peer({ cmd: 'send', chat_id: chatId, text: 'И тебе из Rust 🦀' })).ok, true);
  assert.deepEqual((await anna.call('sync', chatId)).texts, ['И тебе из Rust 🦀']);

  // Key updates from each side.
  assert.equal((await boris.peer({ cmd: 'commit', chat_id: chatId })).ok, true);
  await anna.call('sync', chatId);
  assert.equal((await anna.call('commit', chatId)).ok, true);
  await boris.peer({ cmd: 'sync', chat_id: chatId });
  assert.equal(await assertSameEpoch(chatId, [anna], [boris]), 3);

  // Boris (openmls) adds Vera's browser: a ts-mls device joins from an openmls Welcome.
  const vera = await browserDevice('vera');
  await anna.call('addMembers', chatId, [vera.userId]);
  await boris.peer({ cmd: 'sync', chat_id: chatId });
  assert.equal((await boris.peer({ cmd: 'commit', chat_id: chatId })).ok, true);
  assert.deepEqual(await vera.call('accept'), [chatId]);
  await anna.call('sync', chatId);
  assert.equal(await assertSameEpoch(chatId, [anna, vera], [boris]), 4);
  await vera.call('send', chatId, 'Вера на связи');
  assert.deepEqual((await anna.call('sync', chatId)).texts, ['Вера на связи']);
  assert.deepEqual((await boris.peer({ cmd: 'sync', chat_id: chatId })).texts, ['Вера на связи']);

  // Vera leaves; Anna's browser commits her removal; she reads nothing after it.
  await vera.call('leave', chatId, vera.userId);
  const refused = await anna.call('send', chatId, 'too early');
  assert.equal(refused.code, 'mls_commit_required');
  assert.equal((await anna.call('commit', chatId)).ok, true);
  await boris.peer({ cmd: 'sync', chat_id: chatId });
  await anna.call('send', chatId, 'Уже без Веры');
  assert.deepEqual((await boris.peer({ cmd: 'sync', chat_id: chatId })).texts, ['Уже без Веры']);
  assert.equal(await assertSameEpoch(chatId, [anna], [boris]), 5);

  // Anna reloads: her device comes back from its sealed vault, with what it read, and goes on.
  await boris.peer({ cmd: 'send', chat_id: chatId, text: 'Пока ты перезагружалась' });
  const resumed = await anna.reload();
  assert.equal(resumed.deviceId, anna.deviceId);
  assert.equal(await assertSameEpoch(chatId, [anna], [boris]), 5);
  assert.deepEqual((await anna.call('sync', chatId)).texts, ['Пока ты перезагружалась']);
  const history = await anna.call('history', chatId);
  assert.deepEqual(history.slice(0, 2), ['Привет из браузера 🌐', 'И тебе из Rust 🦀']);
  assert.equal(history.at(-1), 'Пока ты перезагружалась');
  assert.equal((await anna.call('send', chatId, 'Я снова здесь')).ok, true);
  assert.deepEqual((await boris.peer({ cmd: 'sync', chat_id: chatId })).texts, ['Я снова здесь']);
  assert.equal(await anna.call('vaultKeyExtractable', `kolokol-e2ee-${anna.userId}-${anna.deviceId}`), false);

  // Anna's browser loses her keys (site data cleared) but keeps the session: her device starts
  // again under a new key, Boris's device replaces her leaf, and she reads what follows.
  await anna.page.reload();
  await anna.page.waitForFunction(() => 'mls' in window);
  await anna.page.evaluate((vault) => window.mls.loseState(vault), `kolokol-e2ee-${anna.userId}-${anna.deviceId}`);
  await boris.peer({ cmd: 'sync', chat_id: chatId });
  assert.equal((await boris.peer({ cmd: 'commit', chat_id: chatId })).ok, true);
  assert.deepEqual(await anna.call('accept'), [chatId]);
  await boris.peer({ cmd: 'send', chat_id: chatId, text: 'Ключи на месте' });
  assert.deepEqual((await anna.call('sync', chatId)).texts, ['Ключи на месте']);
  assert.equal(await assertSameEpoch(chatId, [anna], [boris]), 6);
});

test('of two commits at once, from the browser and from Rust, one wins and both converge', async () => {
  const anna = await browserDevice('anna2');
  const boris = await rustDevice('boris2');
  const chatId = await anna.call('createGroup', 'Гонка', [boris.userId]);
  await anna.call('commit', chatId);
  await boris.peer({ cmd: 'accept' });
  for (let round = 0; round < 3; round++) {
    const [fromAnna, fromBoris] = await Promise.all([anna.call('commit', chatId), boris.peer({ cmd: 'commit', chat_id: chatId })]);
    assert.equal([fromAnna.ok, fromBoris.ok].filter(Boolean).length, 1, `round ${round}: exactly one wins`);
    const lost = fromAnna.ok ? fromBoris : fromAnna;
    assert.equal(lost.code, 'mls_epoch_conflict');
    if (fromAnna.ok) {
      await boris.peer({ cmd: 'sync', chat_id: chatId });
      assert.equal((await boris.peer({ cmd: 'commit', chat_id: chatId })).ok, true);
      await anna.call('sync', chatId);
    } else {
      await anna.call('sync', chatId);
      assert.equal((await anna.call('commit', chatId)).ok, true);
      await boris.peer({ cmd: 'sync', chat_id: chatId });
    }
    await assertSameEpoch(chatId, [anna], [boris]);
  }
  await boris.peer({ cmd: 'send', chat_id: chatId, text: 'Сошлись' });
  assert.deepEqual((await anna.call('sync', chatId)).texts, ['Сошлись']);
});
