// End-to-end encrypted chats through the web client, as people use them: Anna makes an encrypted
// group in the create form, adds Boris (on a phone), they write both ways in Russian with emoji,
// the lock shows in the header and the list, the server holds only ciphertext; Vera is added
// later, cannot read what came before her (one quiet line says so) and reads what follows.
// Reactions, edits and deletes travel encrypted; a message written offline waits sealed and goes
// on reconnect; a parent reports a message of a school's encrypted chat by disclosing it.
// Screenshots at 360 px and desktop, light and dark, go to web/test-results/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifacts, launchBrowser, person, register, startServer } from './harness.mjs';
import { call, claimed, createOrg, PHONE, roster } from './school.mjs';

let server;
let browser;
let anna;
let boris;
let vera;
let chatId;
/** The school's admin, and its org whose parents' chats are encrypted (made in `before`, so that
 * they are old enough for any member's device to start their groups at once). */
let director;
let schoolOrg;
let codeOf;

const TITLE = 'Родительский комитет 5Б';

before(async () => {
  server = await startServer(['--admin', 'director']);
  // lan.kolokol.test is this server as another machine on the network sees it: plain HTTP.
  browser = await launchBrowser(['--host-resolver-rules=MAP lan.kolokol.test 127.0.0.1']);
  anna = await person(browser, server.base);
  boris = await person(browser, server.base, { viewport: PHONE });
  vera = await person(browser, server.base, { viewport: PHONE, colorScheme: 'dark' });
  for (const who of [anna, boris, vera]) {
    who.page.on('console', (message) => {
      if (message.type() === 'error' && !/409|404/.test(message.text())) console.error(`page console: ${message.text()}`);
    });
  }
  await register(anna.page, 'anna', 'Анна Петрова');
  await register(boris.page, 'boris', 'Борис Иванов');
  await register(vera.page, 'vera', 'Вера Сидорова');
  director = await person(browser, server.base);
  await register(director.page, 'director', 'Директор Школы');
  schoolOrg = await createOrg(director.page, 'Школа №5');
  const policy = await call(director.page, 'PUT', `/orgs/${schoolOrg.id}/policy`, { quiet_hours: null, student_contacts: 'class', encrypted_chats: ['parents'] });
  assert.equal(policy.status, 200, JSON.stringify(policy.body));
  const imported = await call(director.page, 'PUT', `/orgs/${schoolOrg.id}/roster?dry_run=false`, readFileSync(roster, 'utf8'), 'text/csv; charset=utf-8');
  assert.equal(imported.status, 200, JSON.stringify(imported.body));
  const issued = await call(director.page, 'POST', `/orgs/${schoolOrg.id}/claim-codes`, {});
  codeOf = (name) => issued.body.codes.find((entry) => entry.name === name).code;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function history(page) {
  return page.locator('[role=log]');
}

/** The composer is there once this device is in the chat's MLS group. */
function composer(page) {
  return page.locator('form.composer textarea');
}

async function send(page, text) {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

async function shot(page, name) {
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

/** The message that says `text` in the chat open on the page. */
function bubble(page, text) {
  return history(page).locator('article', { hasText: text });
}

/** Presses one of a message's actions. */
async function act(page, text, action) {
  const message = bubble(page, text);
  const more = message.getByRole('button', { name: 'Действия' });
  // A tap can land while the list re-renders (a message or a commit arriving): tap again then.
  for (let tries = 1; (await more.getAttribute('aria-expanded')) !== 'true'; tries++) {
    if (tries > 1) await page.waitForTimeout(300);
    if (tries > 5) assert.fail(`the actions of «${text}» do not open`);
    if ((await more.getAttribute('aria-expanded')) !== 'true') await more.click();
  }
  await clickSteady(message.getByRole('button', { name: action, exact: true }));
}

/** Clicks once the element has stopped moving: the virtual list re-measures a row that grew (an
 * opened menu, a new reaction) a frame later and may scroll, which can move another button under
 * a click (a tap meant for ❤️ landing on 👍). */
async function clickSteady(locator) {
  await locator.waitFor();
  let before = await locator.boundingBox();
  for (let tries = 0; tries < 20; tries++) {
    await locator.page().waitForTimeout(80);
    const now = await locator.boundingBox();
    if (now && before && now.x === before.x && now.y === before.y) break;
    before = now;
  }
  await locator.click();
}

/** The keys and values of an IndexedDB store of the page's origin as text (bytes decoded), or
 * null when no database's name matches `pattern`. */
async function storedText(page, pattern, store) {
  return page.evaluate(async ([pattern, store]) => {
    const found = (await indexedDB.databases()).find((d) => new RegExp(pattern).test(d.name ?? ''));
    if (!found) return null;
    const request = (req) => new Promise((ok, fail) => {
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
    const db = await request(indexedDB.open(found.name));
    const objects = db.transaction(store).objectStore(store);
    const [keys, values] = await Promise.all([request(objects.getAllKeys()), request(objects.getAll())]);
    db.close();
    const text = (value) => (value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? new TextDecoder().decode(value)
      : value && typeof value === 'object' ? Object.values(value).map(text).join(' ') : String(value));
    return `${keys.join(' ')} ${values.map(text).join(' ')}`;
  }, [pattern, store]);
}

/** Light and dark of the same screen. */
async function shotsLightDark(page, name) {
  await page.emulateMedia({ colorScheme: 'light' });
  await shot(page, `${name}-light`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
}

test('two people make an encrypted group in the UI and talk both ways; the server holds only ciphertext', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Новый чат' }).click();
  // On by default for direct chats and groups, off for channels, with a line saying what it means.
  const toggle = page.getByLabel('Сквозное шифрование');
  assert.equal(await toggle.isChecked(), true);
  await page.getByLabel('Канал').check();
  assert.equal(await toggle.isChecked(), false);
  await page.getByLabel('Группа').check();
  assert.equal(await toggle.isChecked(), true);
  assert.match(await page.locator('#e2ee-hint').textContent(), /не сервер.*Ботов добавить нельзя/);
  await page.locator('input[name=chat-name]').fill(TITLE);
  await page.setViewportSize(PHONE);
  await shotsLightDark(page, 'e2ee-create-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('button', { name: 'Создать' }).click();

  await page.locator('section.chat h2', { hasText: TITLE }).waitFor();
  chatId = Number(new URL(page.url()).pathname.split('/').pop());
  // The lock, with its word, in the header; in the list, read out as «Зашифрован».
  await page.locator('section.chat .head').getByText('Зашифрован').waitFor();
  await page.locator('nav a', { hasText: TITLE }).getByText('Зашифрован').waitFor();
  // Text only for now: no files, voice, polls; the composer says why.
  await composer(page).waitFor();
  await page.getByText('пока только текст').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Прикрепить файл' }).count(), 0);
  assert.equal(await page.locator('.poll-toggle').count(), 0);

  await page.getByRole('button', { name: 'Участники' }).click();
  await page.locator('input[name=add-member-username]').fill('boris');
  await page.getByRole('button', { name: 'Добавить', exact: true }).click();
  await page.getByText('2 участника').waitFor();
  await page.getByRole('button', { name: 'Участники' }).click();

  // Boris's client sees the chat, starts his device, and Anna's device adds it: his composer
  // shows once his device is in the group.
  await boris.page.locator('nav a', { hasText: TITLE }).getByText('Зашифрован').waitFor();
  await boris.page.locator('nav a', { hasText: TITLE }).click();
  await boris.page.locator('section.chat h2', { hasText: TITLE }).waitFor();
  await composer(boris.page).waitFor({ timeout: 30_000 });

  await send(page, 'Привет, Борис! Собрание в пятницу в 18:00 🎉');
  await history(page).locator('article.own', { hasText: 'Собрание в пятницу' }).waitFor();
  await history(boris.page).getByText('Привет, Борис! Собрание в пятницу в 18:00 🎉').waitFor();
  await send(boris.page, 'Принято 👍 Ёлка в школе тоже в пятницу?');
  await history(page).getByText('Принято 👍 Ёлка в школе тоже в пятницу?').waitFor();
  await history(boris.page).locator('article.own', { hasText: 'Ёлка в школе' }).waitFor();

  // A reply carries its quote inside the ciphertext.
  const question = history(page).locator('article', { hasText: 'Ёлка в школе' });
  await question.getByRole('button', { name: 'Действия' }).click();
  // Reactions and reports are offered; threads are not, in encrypted chats (yet).
  assert.equal(await question.getByRole('button', { name: /Реакция/ }).count(), 3);
  await question.getByRole('button', { name: 'Пожаловаться' }).waitFor();
  assert.equal(await question.getByRole('button', { name: 'Ответить в треде' }).count(), 0);
  await question.getByRole('button', { name: 'Ответить', exact: true }).click();
  await send(page, 'Да, в 16:00 ✨');
  await history(boris.page).locator('article', { hasText: 'Да, в 16:00 ✨' }).locator('blockquote', { hasText: 'Ёлка в школе' }).waitFor();

  // The chat list shows the decrypted text (the server could not have given it).
  await page.locator('nav a', { hasText: TITLE }).locator('.preview', { hasText: 'Да, в 16:00 ✨' }).waitFor();
  // Commits (the group's start, Boris's device added) never show as messages.
  assert.equal(await history(page).locator('article').count(), 3);

  // What the server has: ciphertext, empty text, nothing readable.
  const stored = await call(page, 'GET', `/chats/${chatId}/messages?after=0&limit=100`);
  assert.equal(stored.status, 200);
  const body = JSON.stringify(stored.body);
  for (const secret of ['Собрание', 'Ёлка', '16:00', '🎉']) assert.ok(!body.includes(secret), `the server holds «${secret}»`);
  assert.ok(stored.body.messages.every((m) => m.text === '' && m.mls));
  assert.ok(stored.body.messages.some((m) => m.mls.kind === 'commit'));

  // Screens: Boris's phone, light and dark; Anna's desktop, light and dark; Boris's chat list.
  await shotsLightDark(boris.page, 'e2ee-chat-phone');
  await shotsLightDark(page, 'e2ee-chat-desktop');
  await boris.page.getByRole('button', { name: 'Назад' }).click();
  await boris.page.locator('nav a', { hasText: TITLE }).locator('.preview', { hasText: 'Да, в 16:00 ✨' }).waitFor();
  await shotsLightDark(boris.page, 'e2ee-list-phone');
});

test('a third person added later reads what follows, and one quiet line says what came before', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Участники' }).click();
  await page.locator('input[name=add-member-username]').fill('vera');
  await page.getByRole('button', { name: 'Добавить', exact: true }).click();
  await page.getByText('3 участника').waitFor();
  await page.getByRole('button', { name: 'Участники' }).click();

  await vera.page.locator('nav a', { hasText: TITLE }).click();
  await vera.page.locator('section.chat h2', { hasText: TITLE }).waitFor();
  await composer(vera.page).waitFor({ timeout: 30_000 });
  // The three messages from before her device joined: one line, not three bubbles.
  const sealed = history(vera.page).locator('.sealed');
  await sealed.getByText('3 сообщения нельзя прочитать на этом устройстве').waitFor();
  assert.equal(await history(vera.page).locator('article').count(), 0);

  await send(page, 'Вера, добро пожаловать! 🌷');
  await history(vera.page).getByText('Вера, добро пожаловать! 🌷').waitFor();
  await boris.page.locator('nav a', { hasText: TITLE }).locator('.preview', { hasText: 'Вера, добро пожаловать! 🌷' }).waitFor();
  await send(vera.page, 'Спасибо! Я принесу пирог 🥧');
  await history(page).getByText('Спасибо! Я принесу пирог 🥧').waitFor();
  await boris.page.locator('nav a', { hasText: TITLE }).click();
  await history(boris.page).getByText('Спасибо! Я принесу пирог 🥧').waitFor();

  await shotsLightDark(vera.page, 'e2ee-joined-later-phone');
});

test('a device added while every other member is away waits for the keys, and joins when they are back', async () => {
  const gleb = await person(browser, server.base, { viewport: PHONE });
  await register(gleb.page, 'gleb', 'Глеб Орлов');
  const glebId = (await call(gleb.page, 'GET', '/me')).body.id;
  // Everyone else goes offline; Anna's token adds Gleb from outside the browsers.
  const token = await anna.page.evaluate(() => localStorage.getItem('kolokol.token'));
  for (const who of [anna, boris, vera]) await who.context.setOffline(true);
  const added = await fetch(`${server.base}/api/v1/chats/${chatId}/members`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_ids: [glebId] }),
  });
  assert.equal(added.status, 204);

  await gleb.page.locator('nav a', { hasText: TITLE }).click();
  const waiting = gleb.page.getByRole('status').filter({ hasText: 'Ждём ключи чата' });
  await waiting.waitFor();
  assert.equal(await composer(gleb.page).count(), 0);
  await shotsLightDark(gleb.page, 'e2ee-waiting-phone');

  // Back online, their clients catch up (mls.changed came meanwhile) and one adds his device.
  for (const who of [anna, boris, vera]) await who.context.setOffline(false);
  await composer(gleb.page).waitFor({ timeout: 30_000 });
  await send(boris.page, 'Глеб, привет! Теперь ты с нами 🙂');
  await history(gleb.page).getByText('Глеб, привет! Теперь ты с нами 🙂').waitFor();
  await gleb.context.close();
});

test('after a reload, what this device read is still there, and it goes on', async () => {
  const { page } = anna;
  await page.reload();
  await page.locator('section.chat h2', { hasText: TITLE }).waitFor();
  await history(page).getByText('Привет, Борис! Собрание в пятницу в 18:00 🎉').waitFor();
  await history(page).getByText('Спасибо! Я принесу пирог 🥧').waitFor();
  await history(page).getByText('Глеб, привет! Теперь ты с нами 🙂').waitFor();
  assert.equal(await history(page).locator('.sealed').count(), 0);
  await composer(page).waitFor();
  await send(page, 'После перезагрузки всё на месте 👌');
  await history(boris.page).getByText('После перезагрузки всё на месте 👌').waitFor();
});

test('reactions, an edit and a delete travel encrypted; the server holds none of them', async () => {
  const question = 'Кто принесёт чай? ☕';
  await send(anna.page, question);
  await bubble(boris.page, question).waitFor();
  // Boris reacts, Anna sees it and adds hers; each sees their own pressed.
  await act(boris.page, question, 'Реакция 👍');
  await clickSteady(bubble(anna.page, question).getByRole('button', { name: '👍 1' }));
  const borisThumbs = bubble(boris.page, question).getByRole('button', { name: '👍 2' });
  await borisThumbs.waitFor();
  assert.equal(await borisThumbs.getAttribute('aria-pressed'), 'true');
  await act(boris.page, question, 'Реакция ❤️');
  await bubble(anna.page, question).getByRole('button', { name: '❤️ 1' }).waitFor();
  await shotsLightDark(boris.page, 'e2ee-reactions-phone');
  await shotsLightDark(anna.page, 'e2ee-reactions-desktop');
  // He takes his 👍 back.
  await clickSteady(borisThumbs);
  const annaThumbs = bubble(anna.page, question).getByRole('button', { name: '👍 1' });
  await annaThumbs.waitFor();
  assert.equal(await annaThumbs.getAttribute('aria-pressed'), 'true');

  // Anna edits her message in the composer; Boris sees the new text, marked edited, with its reactions.
  await act(anna.page, question, 'Изменить');
  assert.equal(await composer(anna.page).inputValue(), question);
  await composer(anna.page).fill('Кто принесёт чай и сахар? ☕');
  await composer(anna.page).press('Enter');
  const edited = bubble(boris.page, 'Кто принесёт чай и сахар? ☕');
  await edited.getByText('изменено').waitFor();
  await edited.getByRole('button', { name: '❤️ 1' }).waitFor();
  // Nobody else can edit it: the action is only on one's own messages.
  await edited.getByRole('button', { name: 'Действия' }).click();
  assert.equal(await edited.getByRole('button', { name: 'Изменить' }).count(), 0);
  await edited.getByRole('button', { name: 'Действия' }).click();

  // Anna deletes it: both see the tombstone, without its reactions.
  const seq = await edited.getAttribute('data-seq');
  await act(anna.page, 'Кто принесёт чай и сахар?', 'Удалить');
  const gone = history(boris.page).locator(`article[data-seq="${seq}"]`);
  await gone.getByText('Сообщение удалено').waitFor();
  assert.equal(await gone.locator('.reactions').count(), 0);
  await history(anna.page).locator(`article[data-seq="${seq}"]`).getByText('Сообщение удалено').waitFor();

  // The server had ciphertext only, and forgot the deleted message's.
  const stored = (await call(anna.page, 'GET', `/chats/${chatId}/messages?after=0&limit=100`)).body.messages;
  const body = JSON.stringify(stored);
  for (const secret of ['чай', 'сахар', '👍', '❤️']) assert.ok(!body.includes(secret), `the server holds «${secret}»`);
  const deleted = stored.find((m) => m.seq === Number(seq));
  assert.equal(deleted.deleted, true);
  assert.equal(deleted.mls.data, null);
});

test('a message written offline waits sealed on the device, shows as sending, and goes once on reconnect', async () => {
  const text = 'Пишу из метро, без сети 🚇';
  await anna.context.setOffline(true);
  await send(anna.page, text);
  const waiting = history(anna.page).locator('[data-pending]', { hasText: text });
  await waiting.getByText('Отправляется').waitFor();
  await anna.page.waitForTimeout(500);
  assert.equal(await bubble(boris.page, text).count(), 0);
  await shotsLightDark(anna.page, 'e2ee-outbox-desktop');
  // Queued in the device's sealed vault, never in the browser's plaintext outbox.
  const vault = await storedText(anna.page, '^kolokol-e2ee-', 'records');
  assert.match(vault, /outbox:\d+:/);
  assert.ok(!vault.includes('метро'), 'the vault holds the text in clear');
  assert.ok(!((await storedText(anna.page, '^kolokol$', 'outbox')) ?? '').includes('метро'), 'the plaintext outbox holds it');

  await anna.context.setOffline(false);
  await bubble(boris.page, text).waitFor();
  await history(anna.page).locator('article.own', { hasText: text }).waitFor();
  assert.equal(await waiting.count(), 0);
  await boris.page.waitForTimeout(1500);
  assert.equal(await bubble(boris.page, text).count(), 1);
  assert.doesNotMatch(await storedText(anna.page, '^kolokol-e2ee-', 'records'), /outbox:\d+:/);
});

test('a report in an encrypted chat no school keeps is explained', async () => {
  await act(boris.page, 'Пишу из метро', 'Пожаловаться');
  const dialog = boris.page.getByRole('dialog', { name: 'Жалоба на сообщение' });
  await dialog.getByText('увидят текст только этого сообщения', { exact: false }).waitFor();
  await dialog.getByLabel('Что не так с этим сообщением?').fill('Проверяю жалобы');
  await dialog.getByRole('button', { name: 'Отправить жалобу' }).click();
  await dialog.getByRole('alert').getByText('В этом чате нет модераторов', { exact: false }).waitFor();
  await dialog.getByRole('button', { name: 'Закрыть' }).click();
  await dialog.waitFor({ state: 'detached' });
});

test('English: the create form, the badge and the previews', async () => {
  const ivan = await person(browser, server.base, { locale: 'en-US', viewport: PHONE });
  await register(ivan.page, 'ivan', 'Ivan');
  await ivan.page.getByRole('button', { name: 'New chat' }).click();
  await ivan.page.getByLabel('End-to-end encryption').waitFor();
  assert.equal(await ivan.page.getByLabel('End-to-end encryption').isChecked(), true);
  await ivan.page.locator('input[name=chat-name]').fill('anna');
  await ivan.page.getByRole('button', { name: 'Create' }).click();
  await ivan.page.locator('section.chat h2', { hasText: 'Анна Петрова' }).waitFor();
  await ivan.page.locator('section.chat .head').getByText('Encrypted').waitFor();
  await composer(ivan.page).waitFor();
  await ivan.page.getByText('text, replies and reactions only for now').waitFor();
  await send(ivan.page, 'Hello from an encrypted direct chat 🔐');
  await anna.page.locator('nav a', { hasText: 'Ivan' }).locator('.preview', { hasText: 'Hello from an encrypted direct chat 🔐' }).waitFor();
  await shotsLightDark(ivan.page, 'e2ee-direct-en-phone');

  // A second tab of the same session waits while the first holds the device, then takes it over
  // with what the first read.
  const second = await ivan.context.newPage();
  await second.goto(new URL(ivan.page.url()).pathname);
  await second.getByRole('status').filter({ hasText: 'open in another tab' }).waitFor();
  assert.equal(await composer(second).count(), 0);
  await ivan.page.close();
  await composer(second).waitFor({ timeout: 30_000 });
  await history(second).getByText('Hello from an encrypted direct chat 🔐').waitFor();
  await send(second, 'Written from the second tab');
  await anna.page.locator('nav a', { hasText: 'Ivan' }).locator('.preview', { hasText: 'Written from the second tab' }).waitFor();

  // The same sign-in in a browser without its vault (data cleared, a copied token): the session
  // starts again as a new device, Anna's open page adds it, and it reads what follows.
  const token = await second.evaluate(() => localStorage.getItem('kolokol.token'));
  const path = new URL(second.url()).pathname;
  await ivan.context.close();
  const bare = await person(browser, server.base, { locale: 'en-US', viewport: PHONE });
  await bare.context.addInitScript((value) => localStorage.setItem('kolokol.token', value), token);
  await bare.page.goto(path);
  await composer(bare.page).waitFor({ timeout: 30_000 });
  await anna.page.locator('nav a', { hasText: 'Ivan' }).click();
  await send(anna.page, 'Keys again');
  await history(bare.page).getByText('Keys again').waitFor();
  await bare.context.close();
});

test("a parent reports a message of the school's encrypted chat: its moderators see exactly that message", async () => {
  const CHAT = '5Б · родители';
  const maria = await claimed(browser, server.base, 'ivanova', 'Мария Иванова', codeOf('Иванова Мария Петровна'), { chat: CHAT });
  const katya = await claimed(browser, server.base, 'petrova', 'Екатерина Петрова', codeOf('Петрова Екатерина Юрьевна'), { chat: CHAT, viewport: PHONE });
  for (const who of [maria, katya]) {
    await who.page.locator('nav a', { hasText: CHAT }).getByText('Зашифрован').waitFor();
    await who.page.locator('nav a', { hasText: CHAT }).click();
    await composer(who.page).waitFor({ timeout: 60_000 });
  }
  const other = 'Собираем по 500 ₽ на подарок учителю 🎁';
  const threat = 'Кто не сдаст деньги — пусть пеняет на себя 😠';
  await send(maria.page, other);
  await send(maria.page, threat);
  await bubble(katya.page, threat).waitFor();
  await bubble(katya.page, other).waitFor();

  await act(katya.page, threat, 'Пожаловаться');
  const dialog = katya.page.getByRole('dialog', { name: 'Жалоба на сообщение' });
  await dialog.locator('blockquote', { hasText: threat }).waitFor();
  await dialog.getByText('увидят текст только этого сообщения, в точности как его отправили', { exact: false }).waitFor();
  await dialog.getByLabel('Что не так с этим сообщением?').fill('Угрозы в чате родителей');
  await shotsLightDark(katya.page, 'e2ee-report-phone');
  await katya.page.setViewportSize({ width: 1280, height: 800 });
  await shot(katya.page, 'e2ee-report-desktop-light');
  await katya.page.setViewportSize(PHONE);
  await dialog.getByRole('button', { name: 'Отправить жалобу' }).click();
  await dialog.waitFor({ state: 'detached' });
  await katya.page.getByRole('status').getByText('Жалоба отправлена модераторам').waitFor();

  // The school's admin has exactly that message (the server checked it against its franking tag), and nothing else of the chat.
  const reports = (await call(director.page, 'GET', `/orgs/${schoolOrg.id}/reports`)).body.reports;
  const mariaId = (await call(maria.page, 'GET', '/me')).body.id;
  assert.deepEqual(reports.map((r) => [r.text, r.reason, r.author_id]), [[threat, 'Угрозы в чате родителей', mariaId]]);
  await director.page.goto(`/orgs/${schoolOrg.id}`);
  await director.page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Жалобы' }).click();
  const report = director.page.locator('section.reports article', { hasText: 'Угрозы в чате родителей' });
  await report.getByText(threat).waitFor();
  assert.equal(await director.page.getByText(other).count(), 0);
  // Deleted by the moderator: gone for the parents too.
  const seq = await bubble(katya.page, threat).getAttribute('data-seq');
  await report.getByRole('button', { name: 'Удалить сообщение' }).click();
  await history(katya.page).locator(`article[data-seq="${seq}"]`).getByText('Сообщение удалено').waitFor();
  await history(maria.page).locator(`article[data-seq="${seq}"]`).getByText('Сообщение удалено').waitFor();
  await bubble(katya.page, other).waitFor();
  for (const who of [maria, katya]) await who.context.close();
});

test('on plain HTTP from another machine encryption is not offered, and an encrypted chat says why', async () => {
  const lena = await person(browser, server.base.replace('127.0.0.1', 'lan.kolokol.test'), { viewport: PHONE });
  await register(lena.page, 'lena', 'Лена Смирнова');
  assert.equal(await lena.page.evaluate(() => window.isSecureContext), false);
  await lena.page.getByRole('button', { name: 'Новый чат' }).click();
  const box = lena.page.getByRole('checkbox', { name: 'Сквозное шифрование' });
  assert.equal(await box.isChecked(), false);
  assert.equal(await box.isDisabled(), true);
  await lena.page.getByText('Шифрование работает, только когда сайт открыт по HTTPS').waitFor();
  await lena.page.getByRole('button', { name: 'Отмена' }).click();

  const lenaId = (await call(lena.page, 'GET', '/me')).body.id;
  assert.equal((await call(anna.page, 'POST', `/chats/${chatId}/members`, { user_ids: [lenaId] })).status, 204);
  await lena.page.locator('nav a', { hasText: TITLE }).click();
  await lena.page.getByRole('status').filter({ hasText: 'сайт открыт без HTTPS' }).waitFor();
  assert.equal(await composer(lena.page).count(), 0);
  assert.equal(await lena.page.getByRole('button', { name: 'Проверить шифрование' }).count(), 0);
  await shotsLightDark(lena.page, 'e2ee-insecure-phone');
  await lena.context.close();
});

test("signing out deletes the device's sealed vault from the browser", async () => {
  const { page } = anna;
  const vaults = () => page.evaluate(async () => (await indexedDB.databases()).filter((d) => d.name?.startsWith('kolokol-e2ee-')).length);
  assert.equal(await vaults(), 1);
  await page.getByRole('button', { name: 'Выйти' }).click();
  // Deleted at once, while the page stays open: the vault's connection is closed first.
  await page.waitForFunction(async () => !(await indexedDB.databases()).some((d) => d.name?.startsWith('kolokol-e2ee-')), null, { timeout: 10_000 });
});
