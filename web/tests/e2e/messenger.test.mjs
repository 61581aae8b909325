// End to end: two people in two browser contexts against the real server.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, focusMovesTo, launchBrowser, person, register, startServer } from './harness.mjs';
import { call, shots } from './school.mjs';

let server;
let browser;
let anna;
let boris;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  anna = await person(browser, server.base);
  boris = await person(browser, server.base);
  await register(anna.page, 'anna', 'Анна Петрова');
  await register(boris.page, 'boris', 'Борис Иванов');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The history of the open chat, as the reader sees it. */
function history(page) {
  return page.locator('[role=log]');
}

async function send(page, text) {
  const box = page.locator('textarea');
  await box.fill(text);
  await box.press('Enter');
}

async function openChat(page, title) {
  await page.locator('nav a', { hasText: title }).first().click();
  await page.locator('section.chat h2', { hasText: title }).waitFor();
}

test('a direct chat carries messages live both ways', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Новый чат' }).click();
  await page.locator('input[name=chat-name]').fill('boris');
  // A community chat: edits, reactions, files and the outbox are not in encrypted chats yet.
  await page.getByLabel('Сквозное шифрование').uncheck();
  await page.getByRole('button', { name: 'Создать' }).click();
  await page.locator('section.chat h2', { hasText: 'Борис Иванов' }).waitFor();
  await send(page, 'Здравствуйте, Борис!');
  await history(page).getByText('Здравствуйте, Борис!').waitFor();

  // Boris sees the chat appear with an unread badge, then the message.
  await boris.page.locator('nav a', { hasText: 'Анна Петрова' }).locator('.badge').waitFor();
  await openChat(boris.page, 'Анна Петрова');
  await history(boris.page).getByText('Здравствуйте, Борис!').waitFor();
  await send(boris.page, 'Добрый день!');
  await history(page).getByText('Добрый день!').waitFor();
  // Boris has read Anna's message: her message shows it.
  await history(page).locator('article.own .status', { hasText: 'Прочитано' }).first().waitFor();
});

test('edits, deletes and reactions show up for the other person', async () => {
  const { page } = anna;
  await send(page, 'Собрание в 18:00');
  const mine = history(page).locator('article', { hasText: 'Собрание в 18:00' });
  await mine.waitFor();
  await mine.getByRole('button', { name: 'Действия' }).click();
  await mine.getByRole('button', { name: 'Изменить' }).click();
  await page.locator('textarea').fill('Собрание в 19:00');
  await page.locator('textarea').press('Enter');
  const theirs = history(boris.page).locator('article', { hasText: 'Собрание в 19:00' });
  await theirs.waitFor();
  await theirs.getByText('изменено').waitFor();

  await theirs.getByRole('button', { name: 'Действия' }).click();
  await theirs.getByRole('button', { name: 'Реакция 👍' }).click();
  await history(page).locator('article', { hasText: 'Собрание в 19:00' }).locator('.chip', { hasText: '👍 1' }).waitFor();

  const edited = history(page).locator('article', { hasText: 'Собрание в 19:00' });
  await edited.getByRole('button', { name: 'Действия' }).click();
  await edited.getByRole('button', { name: 'Удалить' }).click();
  await history(boris.page).getByText('Сообщение удалено').first().waitFor();
  assert.equal(await history(boris.page).getByText('Собрание в 19:00').count(), 0);
});

test('a group joined by invite link works live, with Russian plurals', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Новый чат' }).click();
  await page.getByLabel('Группа').check();
  await page.locator('input[name=chat-name]').fill('5Б родители');
  // A community chat: edits, reactions, files and the outbox are not in encrypted chats yet.
  await page.getByLabel('Сквозное шифрование').uncheck();
  await page.getByRole('button', { name: 'Создать' }).click();
  await page.locator('section.chat h2', { hasText: '5Б родители' }).waitFor();
  await page.getByRole('button', { name: 'Участники' }).click();
  await page.getByRole('button', { name: 'Создать ссылку' }).click();
  const link = await page.locator('.info input[readonly]').first().inputValue();
  assert.match(link, /\/join\/[A-Za-z0-9_-]+$/);

  await boris.page.goto(new URL(link).pathname);
  await boris.page.getByRole('button', { name: 'Вступить' }).click();
  await boris.page.locator('section.chat h2', { hasText: '5Б родители' }).waitFor();
  await boris.page.getByText('2 участника').waitFor();

  await send(boris.page, 'Спасибо за приглашение');
  await history(page).getByText('Спасибо за приглашение').waitFor();
});

test('offline: the outbox delivers once on reconnect, and missed messages arrive by resume', async () => {
  await boris.context.setOffline(true);
  await send(boris.page, 'Пишу без сети');
  await history(boris.page).locator('[data-pending]', { hasText: 'Пишу без сети' }).waitFor();
  await boris.page.waitForTimeout(500);
  assert.equal(await history(anna.page).getByText('Пишу без сети').count(), 0);
  // Meanwhile Anna writes; Boris gets it when he is back, through resume.
  await send(anna.page, 'Пока вас не было');
  await history(anna.page).locator('article', { hasText: 'Пока вас не было' }).waitFor();
  assert.equal(await history(boris.page).getByText('Пока вас не было').count(), 0);
  await boris.context.setOffline(false);
  await history(boris.page).locator('article', { hasText: 'Пока вас не было' }).waitFor();
  await history(anna.page).getByText('Пишу без сети').waitFor();
  await history(boris.page).locator('article', { hasText: 'Пишу без сети' }).waitFor();
  await boris.page.waitForTimeout(1000);
  assert.equal(await history(anna.page).getByText('Пишу без сети').count(), 1);
  assert.equal(await history(boris.page).getByText('Пока вас не было').count(), 1);
  assert.equal(await history(boris.page).locator('[data-pending]').count(), 0);
});

const XSS = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=1</script>',
  '"><svg onload=window.__xss=1>',
  'javascript:window.__xss=1',
  '[click](javascript:window.__xss=1)',
  '<a href="javascript:window.__xss=1">click</a>',
  '{@html "<b>bold</b>"}',
  'https://example.org/"onmouseover="window.__xss=1',
];

test('message text can never inject HTML or script', async () => {
  for (const [i, payload] of XSS.entries()) await send(anna.page, `${i}: ${payload}`);
  const log = history(boris.page);
  // Anchored: a bare "7: " would also match a time such as "17:09".
  await log.getByText(new RegExp(`^${XSS.length - 1}: `)).waitFor();
  for (const [i, payload] of XSS.entries()) {
    await log.getByText(`${i}: ${payload}`, { exact: true }).waitFor();
  }
  assert.equal(await boris.page.evaluate(() => window.__xss), undefined);
  assert.equal(await log.locator('img, script, svg, b').count(), 0);
  const hrefs = await log.locator('a').evaluateAll((links) => links.map((a) => [a.getAttribute('href'), a.getAttribute('rel')]));
  for (const [href, rel] of hrefs) {
    assert.match(href, /^https?:\/\//);
    assert.equal(rel, 'noopener noreferrer');
  }
});

test('an invite opened signed out lands in the chat after signing up', async () => {
  await anna.page.getByRole('button', { name: 'Создать ссылку' }).click();
  const link = await anna.page.locator('.info input[readonly]').last().inputValue();
  const newcomer = await person(browser, server.base);
  await newcomer.page.goto(new URL(link).pathname);
  await newcomer.page.getByText('5Б родители').waitFor();
  await newcomer.page.getByRole('button', { name: 'Зарегистрироваться' }).last().click();
  await newcomer.page.locator('input[name=username]').fill('galina');
  await newcomer.page.locator('input[name=display_name]').fill('Галина');
  await newcomer.page.locator('input[name=password]').fill('correct horse battery');
  await newcomer.page.locator('form button[type=submit]').click();
  await newcomer.page.locator('section.chat h2', { hasText: '5Б родители' }).waitFor();
  await newcomer.page.getByText('3 участника').waitFor();
  await newcomer.context.close();
});

/** Records every error the page shows from now on, however briefly (read back with `alertsShown`). */
async function watchAlerts(page) {
  await page.evaluate(() => {
    window.__alerts = [];
    new MutationObserver(() => {
      for (const alert of document.querySelectorAll('[role=alert]')) {
        const text = alert.textContent.trim();
        if (text && !window.__alerts.includes(text)) window.__alerts.push(text);
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const alertsShown = (page) => page.evaluate(() => window.__alerts);

test('the owner deletes a group for everyone, after a confirmation', async () => {
  const { page } = anna;
  // Not offered in a direct chat, even to the one who started it.
  await openChat(page, 'Борис Иванов');
  await page.getByRole('button', { name: 'Участники' }).click();
  await page.locator('.info li', { hasText: 'Борис Иванов' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Удалить чат' }).count(), 0);

  await page.getByRole('button', { name: 'Новый чат' }).click();
  await page.getByLabel('Группа').check();
  await page.locator('input[name=chat-name]').fill('Шахматный кружок');
  // A community chat: edits, reactions, files and the outbox are not in encrypted chats yet.
  await page.getByLabel('Сквозное шифрование').uncheck();
  await page.getByRole('button', { name: 'Создать' }).click();
  await page.locator('section.chat h2', { hasText: 'Шахматный кружок' }).waitFor();
  await page.getByRole('button', { name: 'Участники' }).click();
  await page.locator('input[name=add-member-username]').fill('boris');
  await page.getByRole('button', { name: 'Добавить', exact: true }).click();
  await page.getByText('2 участника').waitFor();
  await send(page, 'Занятие в четверг в 16:00');
  await history(page).getByText('Занятие в четверг в 16:00').waitFor();
  const chatId = Number(new URL(page.url()).pathname.split('/').pop());

  // Boris, a plain member, has the chat open: nothing deletes it for him.
  await openChat(boris.page, 'Шахматный кружок');
  await history(boris.page).getByText('Занятие в четверг в 16:00').waitFor();
  await boris.page.getByRole('button', { name: 'Участники' }).click();
  await boris.page.locator('.info li', { hasText: 'Анна Петрова' }).waitFor();
  assert.equal(await boris.page.getByRole('button', { name: 'Удалить чат' }).count(), 0);

  // Asked first, with «Отмена» focused; cancelling keeps the chat and returns to the button.
  const remove = page.getByRole('button', { name: 'Удалить чат' });
  await remove.click();
  const confirm = page.getByRole('group', { name: 'Удалить «Шахматный кружок» для всех?' });
  await confirm.getByText('Все сообщения и участники будут удалены безвозвратно.').waitFor();
  await focusMovesTo(page, 'Отмена');
  await shots(page, 'delete-chat-confirm-ru', confirm);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shots(page, 'delete-chat-confirm-dark-ru', confirm);
  await page.emulateMedia({ colorScheme: 'light' });
  await confirm.getByRole('button', { name: 'Отмена' }).click();
  await confirm.waitFor({ state: 'detached' });
  await focusMovesTo(page, 'Удалить чат');
  // Escape answers «Отмена» too.
  await remove.click();
  await focusMovesTo(page, 'Отмена');
  await page.keyboard.press('Escape');
  await confirm.waitFor({ state: 'detached' });
  await focusMovesTo(page, 'Удалить чат');
  await page.locator('nav a', { hasText: 'Шахматный кружок' }).waitFor();
  await history(page).getByText('Занятие в четверг в 16:00').waitFor();

  // Confirmed: gone from both lists without a reload, Boris's through his event stream, and both
  // are back at the list with no error, not even for a moment.
  for (const who of [anna, boris]) await watchAlerts(who.page);
  await remove.click();
  await confirm.getByRole('button', { name: 'Удалить', exact: true }).click();
  for (const who of [anna, boris]) {
    await who.page.locator('nav a', { hasText: 'Шахматный кружок' }).waitFor({ state: 'detached' });
    await who.page.locator('section.chat').waitFor({ state: 'detached' });
    await who.page.getByText('Выберите чат').waitFor();
    assert.equal(new URL(who.page.url()).pathname, '/');
    assert.deepEqual(await alertsShown(who.page), []);
    assert.equal(await who.page.locator('nav a', { hasText: '5Б родители' }).count(), 1);
  }
  const gone = await call(page, 'GET', `/chats/${chatId}`);
  assert.ok(gone.status === 403 || gone.status === 404, `the chat is gone (${gone.status})`);

  // Back where the next tests expect them.
  await openChat(page, '5Б родители');
  await openChat(boris.page, '5Б родители');
});

test('the app shell opens offline once installed', async () => {
  const visitor = await person(browser, server.base);
  await visitor.page.goto('/');
  await visitor.page.evaluate(() => navigator.serviceWorker.ready);
  await visitor.page.reload(); // the service worker now controls the page
  await visitor.context.setOffline(true);
  await visitor.page.reload();
  await visitor.page.getByRole('heading', { name: 'Колокол' }).waitFor();
  await visitor.context.close();
});

test('screenshots at phone and desktop size', async () => {
  await anna.page.screenshot({ path: join(artifacts, 'desktop-chat.png') });
  await boris.page.setViewportSize({ width: 360, height: 740 });
  await boris.page.screenshot({ path: join(artifacts, 'phone-chat.png') });
  await boris.page.getByRole('button', { name: 'Назад' }).click();
  await boris.page.screenshot({ path: join(artifacts, 'phone-chat-list-with-chats.png') });
  await boris.page.setViewportSize({ width: 1280, height: 800 });
  const phone = await person(browser, server.base, { viewport: { width: 360, height: 740 } });
  await phone.page.goto('/');
  await phone.page.screenshot({ path: join(artifacts, 'phone-sign-in.png') });
  await register(phone.page, 'vera', 'Вера');
  await phone.page.screenshot({ path: join(artifacts, 'phone-chat-list.png') });
  await phone.context.close();
  const english = await person(browser, server.base, { locale: 'en-US', viewport: { width: 1280, height: 800 } });
  await english.page.goto('/');
  await english.page.getByRole('button', { name: 'Sign in' }).first().waitFor();
  await english.context.close();

  // Anna on a TV with large text, in the dark.
  const token = await anna.page.evaluate(() => localStorage.getItem('kolokol.token'));
  const tv = await person(browser, server.base, { viewport: { width: 1920, height: 1080 }, colorScheme: 'dark' });
  await tv.context.addInitScript((t) => {
    localStorage.setItem('kolokol.token', t);
    localStorage.setItem('kolokol.large', '1');
  }, token);
  await tv.page.goto('/');
  await tv.page.locator('nav a', { hasText: '5Б родители' }).click();
  await history(tv.page).getByText('Пока вас не было').waitFor();
  await tv.page.screenshot({ path: join(artifacts, 'tv-dark-large-text.png') });
  await tv.context.close();
});
