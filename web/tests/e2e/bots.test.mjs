// End to end, in Russian: a teacher makes a bot in «Мои боты» and copies its token; a tiny bot in
// this file (plain fetch calls to /bot-api/, as a Max bot makes them) sets its commands and
// answers; a parent opens the bot's link signed out, signs up, starts the bot, and uses its
// commands after "/" — in the bot's chat and in a group the bot joins. Bots' buttons, formatting
// and mini-apps follow.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { focusMovesTo, launchBrowser, person, register, signUp, startServer } from './harness.mjs';
import { call, claimed, school, shots } from './school.mjs';

let server;
let browser;
let teacher;
let bot;

before(async () => {
  // Olga runs the instance too: the second test needs a school. The mini-app test serves its app
  // over plain http on this machine, which only a server that allows private addresses takes.
  server = await startServer(['--admin', 'olga', '--bot-webhooks-allow-private']);
  browser = await launchBrowser();
  teacher = await person(browser, server.base);
  await teacher.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await register(teacher.page, 'olga', 'Ольга Сергеевна');
});

after(async () => {
  await bot?.stop();
  await browser?.close();
  await server?.stop();
});

/** A call to the bot API with the bot's token, the current Max way (no "Bearer"). */
async function botApi(token, method, path, body, signal) {
  const response = await fetch(`${server.base}/bot-api${path}`, {
    method, signal, headers: { Authorization: token, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

/** The bot: long-polls its updates, echoes every message and greets every start with its
 * payload. `started` keeps the bot_started updates it got. */
function runBot(token) {
  const stopping = new AbortController();
  const started = [];
  const loop = (async () => {
    let marker;
    while (!stopping.signal.aborted) {
      const query = `/updates?timeout=5${marker === undefined ? '' : `&marker=${marker}`}`;
      const batch = await botApi(token, 'GET', query, undefined, stopping.signal).catch((error) => {
        if (stopping.signal.aborted) return { updates: [] };
        throw error;
      });
      marker = batch.marker ?? marker;
      for (const update of batch.updates) {
        if (update.update_type === 'message_created') {
          const { recipient, body } = update.message;
          await botApi(token, 'POST', `/messages?chat_id=${recipient.chat_id}`, { text: `Эхо: ${body.text}` });
        } else if (update.update_type === 'bot_started') {
          started.push(update);
          await botApi(token, 'POST', `/messages?chat_id=${update.chat_id}`, { text: `Привет! payload=${update.payload}` });
        }
      }
    }
  })();
  return {
    started,
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}

function history(page) {
  return page.locator('[role=log]');
}

const composer = (page) => page.locator('textarea');

test('a bot is made in «Мои боты», started from its link by someone new, and offers its commands after "/"', async () => {
  const { page } = teacher;
  await page.getByRole('button', { name: 'Настройки' }).click();
  await page.getByRole('button', { name: 'Открыть «Мои боты»' }).click();
  await page.getByRole('heading', { name: 'Мои боты' }).waitFor();
  await page.getByText('У вас пока нет ботов.').waitFor();

  // A username the server refuses is explained.
  await page.locator('input[name=bot-username]').fill('домашка');
  await page.locator('input[name=bot-name]').fill('Домашка 5Б');
  await page.getByRole('button', { name: 'Создать бота' }).click();
  await page.getByRole('alert').getByText('Имя пользователя бота: от 3 до 32 символов').waitFor();

  await page.locator('input[name=bot-username]').fill('homework_bot');
  await page.getByRole('button', { name: 'Создать бота' }).click();
  const card = page.locator('article.bot', { hasText: '@homework_bot' });
  const tokenBox = card.locator('section.token');
  await tokenBox.getByRole('heading', { name: 'Токен бота @homework_bot' }).waitFor();
  await tokenBox.getByText('Токен показан только сейчас').waitFor();
  await tokenBox.getByText('полностью управляет ботом').waitFor();
  const token = await tokenBox.locator('[name=bot-token]').inputValue();
  assert.match(token, /^kkb_[A-Za-z0-9_-]{20,}$/);
  await tokenBox.getByRole('button', { name: 'Скопировать: Токен', exact: true }).click();
  await tokenBox.getByRole('status').getByText('Скопировано').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  // Where to point a bot's program, and the link to share.
  assert.equal(await page.locator('input[name=bot-api-url]').inputValue(), `${server.base}/bot-api/`);
  await page.getByText(`baseUrl: '${server.base}/bot-api/'`).waitFor();
  await page.getByText(`bot.set_api_url('${server.base}/bot-api')`).waitFor();
  assert.equal(await card.locator('input[name=bot-link]').inputValue(), `${server.base}/bot/homework_bot?start=`);
  await shots(page, 'bots-my-bots', tokenBox);

  // A taken username, and what the server now holds.
  await page.locator('input[name=bot-username]').fill('homework_bot');
  await page.locator('input[name=bot-name]').fill('Ещё один');
  await page.getByRole('button', { name: 'Создать бота' }).click();
  await page.getByRole('alert').getByText('Это имя пользователя уже занято').waitFor();
  const mine = await call(page, 'GET', '/bots');
  assert.deepEqual(mine.body.bots.map((b) => [b.username, b.name]), [['homework_bot', 'Домашка 5Б']]);

  // The bot's program starts: its commands, then answers.
  const commands = [{ name: 'homework', description: 'Домашнее задание' }, { name: 'help', description: 'Что умеет бот' }];
  await botApi(token, 'PATCH', '/me/commands', { commands });
  bot = runBot(token);
  await page.getByRole('button', { name: 'Я сохранил(а) токен' }).click();
  await page.reload();
  await card.getByText('/homework').waitFor();
  await card.getByText('Домашнее задание').waitFor();
  assert.equal(await card.locator('section.token').count(), 0, 'a token is never shown again');
  await shots(page, 'bots-my-bots-connect', page.locator('section.connect'));

  // A parent opens the link signed out: the card waits above the sign-up form.
  const parent = await person(browser, server.base);
  const { page: p } = parent;
  await p.goto('/bot/homework_bot?start=deep');
  await p.getByRole('heading', { name: 'Бот @homework_bot' }).waitFor();
  await p.getByText('Войдите или зарегистрируйтесь, чтобы начать').waitFor();
  assert.equal(await p.getByRole('button', { name: 'Начать' }).count(), 0);
  await shots(p, 'bots-link-signed-out', p.getByRole('heading', { name: 'Бот @homework_bot' }));
  await signUp(p, 'marina', 'Марина Иванова');

  // Signed up: the same card, now with the bot's name and «Начать».
  assert.equal(new URL(p.url()).pathname + new URL(p.url()).search, '/bot/homework_bot?start=deep');
  const botCard = p.locator('article.card');
  await botCard.getByText('Домашка 5Б').waitFor();
  await botCard.getByText('бот', { exact: true }).waitFor();
  await shots(p, 'bots-link-card', botCard);
  await botCard.getByRole('button', { name: 'Начать' }).click();

  // The bot got the payload and greets with it; the chat shows who it is.
  await p.locator('section.chat h2', { hasText: 'Домашка 5Б' }).getByText('бот', { exact: true }).waitFor();
  await p.locator('section.chat .who').getByText('@homework_bot').waitFor();
  await history(p).getByText('Привет! payload=deep').waitFor();
  assert.equal(bot.started.length, 1);
  assert.equal(bot.started[0].payload, 'deep');
  assert.equal(bot.started[0].user.name, 'Марина Иванова');
  await p.locator('nav a', { hasText: 'Домашка 5Б' }).getByText('бот', { exact: true }).waitFor();

  // "/" offers the bot's commands; the keys move through them.
  await composer(p).fill('/');
  const homework = p.getByRole('option', { name: '/homework — Домашнее задание' });
  const help = p.getByRole('option', { name: '/help — Что умеет бот' });
  await homework.waitFor();
  await help.waitFor();
  await shots(p, 'bots-commands', p.locator('.suggest'));
  assert.equal(await homework.getAttribute('aria-selected'), 'true');
  await composer(p).press('ArrowDown');
  assert.equal(await help.getAttribute('aria-selected'), 'true');
  await composer(p).press('ArrowDown');
  assert.equal(await homework.getAttribute('aria-selected'), 'true');
  await composer(p).press('Escape');
  await homework.waitFor({ state: 'detached' });
  await composer(p).pressSequentially('ho');
  await homework.waitFor();
  assert.equal(await help.count(), 0);
  await composer(p).press('Enter');
  assert.equal(await composer(p).inputValue(), '/homework ');
  await composer(p).press('Enter');
  await history(p).getByText('Эхо: /homework').waitFor();
  await shots(p, 'bots-chat', history(p).getByText('Эхо: /homework'));

  // A group: no commands until the bot joins; then its messages carry the badge, and so does
  // its row among the members.
  const peer = (await call(p, 'GET', '/chats')).body.chats.find((c) => c.peer?.username === 'homework_bot').peer;
  assert.equal(peer.is_bot, true);
  const group = (await call(p, 'POST', '/chats', { kind: 'group', title: '5Б · домашка', member_ids: [] })).body;
  await p.locator('nav a', { hasText: '5Б · домашка' }).click();
  await p.locator('section.chat h2', { hasText: '5Б · домашка' }).waitFor();
  await composer(p).fill('/');
  await p.waitForTimeout(300);
  assert.equal(await p.getByRole('option').count(), 0);
  const commandsAsked = p.waitForResponse((r) => r.url().endsWith(`/api/v1/chats/${group.id}/commands`));
  assert.equal((await call(p, 'POST', `/chats/${group.id}/members`, { user_ids: [peer.id] })).status, 204);
  await commandsAsked;
  await composer(p).fill('');
  await composer(p).fill('/');
  await p.getByRole('option', { name: '/homework — Домашнее задание' }).waitFor();
  await composer(p).fill('');

  await botApi(token, 'POST', `/messages?chat_id=${-group.id}`, { text: 'Задание на завтра: §12, упражнения 3–5' });
  const posted = history(p).locator('article', { hasText: 'Задание на завтра' });
  await posted.locator('.sender', { hasText: 'Домашка 5Б' }).getByText('бот', { exact: true }).waitFor();
  await p.getByRole('button', { name: 'Участники' }).click();
  await p.locator('.info li', { hasText: 'Домашка 5Б' }).getByText('бот', { exact: true }).waitFor();
  assert.equal(await p.locator('.info li', { hasText: 'Марина Иванова' }).getByText('бот', { exact: true }).count(), 0);
  await shots(p, 'bots-group', posted);

  // A link to a bot that does not exist.
  await p.goto('/bot/nobody_bot?start=x');
  await p.getByRole('alert').getByText('Такого бота нет').waitFor();
  assert.equal(await p.getByRole('button', { name: 'Начать' }).count(), 0);

  // A new token, after a confirmation: the old one stops at once.
  await bot.stop();
  bot = undefined;
  await page.getByRole('button', { name: 'Новый токен' }).click();
  await page.getByText('Старый перестанет работать сразу').waitFor();
  await page.getByRole('button', { name: 'Выпустить' }).click();
  const renewed = await card.locator('[name=bot-token]').inputValue();
  assert.match(renewed, /^kkb_/);
  assert.notEqual(renewed, token);
  await assert.rejects(botApi(token, 'GET', '/me'), /401/);
  assert.equal((await botApi(renewed, 'GET', '/me')).username, 'homework_bot');
  await parent.context.close();
});

test('a student cannot start a bot from outside the school: the safeguarding rules say why', async () => {
  const { codeOf } = await school(teacher.page, 'Школа №5');
  const student = await claimed(browser, server.base, 'artem7', 'Артём Иванов', codeOf('Иванов Артём Сергеевич'), { chat: '5Б · класс' });
  await student.page.goto('/bot/homework_bot?start=x');
  await student.page.locator('article.card').getByText('Домашка 5Б').waitFor();
  await student.page.getByRole('button', { name: 'Начать' }).click();
  await student.page.getByRole('alert').getByText('Правила защиты детей не позволяют этого').waitFor();
  const chats = (await call(student.page, 'GET', '/chats')).body.chats;
  assert.equal(chats.some((c) => c.peer?.username === 'homework_bot'), false);
  await student.context.close();
});

/** The bot's updates, read in order by long polls, as a bot without a loop of its own reads them
 * (the test plays the bot). `seen` keeps every update read. */
function updatesOf(token) {
  let marker;
  const seen = [];
  /** Read but not yet gone past by `next`. */
  const unread = [];
  return {
    seen,
    /** The first update not gone past yet that `matches`, within `polls` long polls. */
    async next(matches, polls = 6) {
      for (let i = 0; ; i++) {
        const index = unread.findIndex(matches);
        if (index >= 0) return unread.splice(0, index + 1).at(-1);
        if (i === polls) throw new Error('the update did not come');
        const batch = await botApi(token, 'GET', `/updates?timeout=5${marker === undefined ? '' : `&marker=${marker}`}`);
        marker = batch.marker ?? marker;
        seen.push(...batch.updates);
        unread.push(...batch.updates);
      }
    },
  };
}

/** Screenshots in the light and the dark colour scheme. */
async function shotsLightAndDark(page, name, subject) {
  await shots(page, name, subject);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shots(page, `${name}-dark`, subject);
  await page.emulateMedia({ colorScheme: 'light' });
}

/** A new bot of the teacher's, started by someone new (`username`, `name`) from its link: the
 * bot's token, that person, and their chat with the bot. */
async function startedBot(bot, username, name) {
  const made = await call(teacher.page, 'POST', '/bots', bot);
  const token = made.body.token;
  assert.match(token, /^kkb_/);
  const parent = await person(browser, server.base);
  const { page: p } = parent;
  await register(p, username, name);
  await p.goto(`/bot/${bot.username}`);
  await p.locator('article.card').getByRole('button', { name: 'Начать' }).click();
  await p.locator('section.chat h2', { hasText: bot.name }).waitFor();
  // A dialog's Max chat id is its Kolokol id.
  const chat = (await call(p, 'GET', '/chats')).body.chats.find((c) => c.peer?.username === bot.username);
  return { token, parent, chat };
}

test('a bot asks with buttons: a press reaches it, its answer shows and edits the message; links show where they go; no phone number is asked for', async () => {
  const { token, parent, chat } = await startedBot({ username: 'trip_bot', name: 'Экскурсии 5Б' }, 'irina', 'Ирина Петрова');
  const { page: p } = parent;
  await parent.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const updates = updatesOf(token);

  await botApi(token, 'POST', `/messages?chat_id=${chat.id}`, {
    text: 'Пойдёте на экскурсию?',
    attachments: [{
      type: 'inline_keyboard',
      payload: {
        buttons: [
          [{ type: 'callback', text: 'Да', payload: 'yes' }, { type: 'callback', text: 'Нет', payload: 'no' }],
          [{ type: 'link', text: 'Программа', url: 'https://example.org/trip' }],
          [{ type: 'request_contact', text: 'Мой телефон' }],
        ],
      },
    }],
  });
  const asked = history(p).locator('article', { hasText: 'Пойдёте на экскурсию?' });
  const keyboard = asked.getByRole('group', { name: 'Кнопки бота' });
  const yes = keyboard.getByRole('button', { name: 'Да', exact: true });
  const no = keyboard.getByRole('button', { name: 'Нет', exact: true });
  await yes.waitFor();

  // The link opens in a new tab, with no way back to this page and no referrer, and shows its host.
  const link = keyboard.getByRole('link', { name: /^Программа/ });
  assert.equal(await link.getAttribute('href'), 'https://example.org/trip');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.ok(await link.getByText('example.org').isVisible());

  // Kolokol never gives a bot a phone number: the button is disabled, says why, and sends nothing.
  const phone = keyboard.getByRole('button', { name: 'Мой телефон' });
  assert.equal(await phone.getAttribute('aria-disabled'), 'true');
  const why = await phone.getAttribute('aria-describedby');
  assert.equal(await p.locator(`[id="${why}"]`).textContent(), 'Колокол не передаёт ботам номер телефона');
  // (Forced: Playwright waits for an aria-disabled button to be enabled; a person just presses it.)
  await phone.click({ force: true });
  await p.getByRole('status').filter({ hasText: 'Колокол не передаёт ботам номер телефона' }).waitFor();
  await shotsLightAndDark(p, 'bots-keyboard', asked);

  // «Нет» with no answer: the button is busy and the other waits; after 10 s both take presses again.
  await no.click();
  assert.equal(await no.getAttribute('aria-busy'), 'true');
  assert.equal(await yes.getAttribute('aria-disabled'), 'true');
  await shots(p, 'bots-keyboard-busy', asked);
  await keyboard.getByText('Бот не ответил').waitFor({ timeout: 15_000 });
  await shots(p, 'bots-keyboard-unanswered', asked);
  assert.equal(await yes.getAttribute('aria-disabled'), 'false');
  assert.equal(await no.getAttribute('aria-busy'), 'false');

  // «Да»: the bot gets the press, answers with a notification and edits the message, dropping the buttons.
  await yes.click();
  assert.equal(await yes.getAttribute('aria-busy'), 'true');
  const pressed = await updates.next((u) => u.update_type === 'message_callback' && u.callback.payload === 'yes');
  assert.ok(updates.seen.some((u) => u.update_type === 'message_callback' && u.callback.payload === 'no'), 'the unanswered press reached the bot too');
  assert.equal(pressed.callback.user.name, 'Ирина Петрова');
  await botApi(token, 'POST', `/answers?callback_id=${encodeURIComponent(pressed.callback.callback_id)}`, {
    notification: 'Записали: да', message: { text: 'Вы идёте на экскурсию', attachments: [] },
  });
  await p.getByRole('status').filter({ hasText: 'Записали: да' }).waitFor();
  const answered = history(p).locator('article', { hasText: 'Вы идёте на экскурсию' });
  await answered.waitFor();
  assert.equal(await answered.getByRole('group', { name: 'Кнопки бота' }).count(), 0);
  assert.equal(await history(p).getByText('Пойдёте на экскурсию?').count(), 0);
  await shots(p, 'bots-keyboard-answered', answered);

  // A message button sends its text as the person; a clipboard button copies; location is
  // disabled; a mini-app's button takes presses (the last test opens one).
  await botApi(token, 'POST', `/messages?chat_id=${chat.id}`, {
    text: 'Что ещё подсказать?',
    attachments: [{
      type: 'inline_keyboard',
      payload: {
        buttons: [
          [{ type: 'message', text: 'Когда выезд?' }, { type: 'clipboard', text: 'Код группы', payload: 'TRIP-5B' }],
          [{ type: 'request_geo_location', text: 'Где я' }, { type: 'open_app', text: 'Приложение', web_app: 'trip_bot' }],
        ],
      },
    }],
  });
  const more = history(p).locator('article', { hasText: 'Что ещё подсказать?' }).getByRole('group', { name: 'Кнопки бота' });
  await more.getByRole('button', { name: 'Код группы' }).click();
  await p.getByRole('status').filter({ hasText: 'Скопировано' }).waitFor();
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), 'TRIP-5B');
  const where = more.getByRole('button', { name: 'Где я' });
  assert.equal(await where.getAttribute('aria-disabled'), 'true');
  assert.equal(await where.getAttribute('title'), 'Колокол не передаёт ботам местоположение');
  assert.equal(await more.getByRole('button', { name: 'Приложение' }).getAttribute('aria-disabled'), null);
  await shotsLightAndDark(p, 'bots-keyboard-more', more);
  await more.getByRole('button', { name: 'Когда выезд?' }).click();
  await history(p).locator('article.own', { hasText: 'Когда выезд?' }).waitFor();
  const said = await updates.next((u) => u.update_type === 'message_created' && u.message.body.text === 'Когда выезд?');
  assert.equal(said.message.sender.name, 'Ирина Петрова');
  await parent.context.close();
});

test("a bot's chat button: the first press makes the group it names and opens it, the next press joins the same group, and the bot hears the group was made", async () => {
  const { token, parent, chat } = await startedBot({ username: 'excursion_bot', name: 'Экскурсии' }, 'svetlana', 'Светлана Морозова');
  const { page: p } = parent;
  const other = await person(browser, server.base);
  const { page: q } = other;
  await register(q, 'denis', 'Денис Волков');
  const denis = (await call(q, 'GET', '/me')).body;
  const parents = (await call(p, 'POST', '/chats', { kind: 'group', title: '5Б · родители', member_ids: [chat.peer.id, denis.id] })).body;

  await botApi(token, 'POST', `/messages?chat_id=${-parents.id}`, {
    text: 'Экскурсия в пятницу',
    attachments: [{ type: 'inline_keyboard', payload: { buttons: [[{ type: 'chat', text: 'Обсудить', chat_title: 'Экскурсия 5Б', start_payload: 'trip-12' }]] } }],
  });

  /** Opens the group, finds the bot's message and presses «Обсудить»: lands in the chat «Экскурсия 5Б»,
   * listed too. `pressed` runs while the press is on its way. */
  async function discuss(page, pressed = async () => {}) {
    await page.locator('nav a', { hasText: '5Б · родители' }).click();
    const trip = history(page).locator('article', { hasText: 'Экскурсия в пятницу' });
    const button = trip.getByRole('group', { name: 'Кнопки бота' }).getByRole('button', { name: /^Обсудить/ });
    await button.getByText('Чат: Экскурсия 5Б').waitFor();
    await button.click();
    await pressed(button);
    await page.locator('section.chat h2', { hasText: 'Экскурсия 5Б' }).waitFor();
    await page.locator('nav a', { hasText: 'Экскурсия 5Б' }).waitFor();
    return { id: Number(/^\/chat\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]), trip };
  }

  // The first press is held on its way, to see the button busy meanwhile.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await p.route('**/chat-button', async (route) => {
    await held;
    await route.continue();
  });
  const made = await discuss(p, async (button) => {
    assert.equal(await button.getAttribute('aria-busy'), 'true');
    await shots(p, 'bots-chat-button-busy', button);
    release();
  });
  await p.unroute('**/chat-button');
  assert.notEqual(made.id, parents.id);
  const joined = await discuss(q);
  assert.equal(joined.id, made.id, 'one group for the button');
  await q.locator('nav a', { hasText: '5Б · родители' }).click();
  await shotsLightAndDark(q, 'bots-chat-button', joined.trip);

  // Who is in the group: the first presser owns it, the bot is its admin, the next presser a member.
  const { members } = (await call(p, 'GET', `/chats/${made.id}/members`)).body;
  const roles = members.map((m) => [m.user.display_name, m.role]).sort();
  assert.deepEqual(roles, [['Денис Волков', 'member'], ['Светлана Морозова', 'owner'], ['Экскурсии', 'admin']]);

  // The bot heard once that the group was made, with the button's payload, and greets there.
  const heard = await botApi(token, 'GET', '/updates?timeout=5&types=message_chat_created');
  assert.equal(heard.updates.length, 1);
  const [created] = heard.updates;
  assert.equal(created.chat.title, 'Экскурсия 5Б');
  assert.equal(created.chat.chat_id, -made.id);
  assert.equal(created.start_payload, 'trip-12');
  await botApi(token, 'POST', `/messages?chat_id=${created.chat.chat_id}`, { text: 'Здесь обсуждаем экскурсию: сбор в 9:00 у школы' });
  const greeting = history(p).getByText('Здесь обсуждаем экскурсию');
  await greeting.waitFor();
  await shotsLightAndDark(p, 'bots-chat-button-made', greeting);
  await other.context.close();
  await parent.context.close();
});

test('a bot formats its messages in markdown and in HTML: the person sees the formatting, and no script or javascript: link', async () => {
  const { token, parent, chat } = await startedBot({ username: 'news_bot', name: 'Новости 5Б' }, 'pavel', 'Павел Смирнов');
  const { page: p } = parent;
  const dialogs = [];
  p.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  await botApi(token, 'POST', `/messages?chat_id=${chat.id}`, {
    text: '**Собрание** в _пятницу_ в `18:00`, ~~кабинет 12~~ ++актовый зал++ ^^важно^^ — [программа](https://example.org/plan) <script>alert(1)</script>',
    format: 'markdown',
  });
  const meeting = history(p).locator('article', { hasText: 'Собрание' }).locator('span.text');
  await meeting.waitFor();
  for (const [tag, text] of [['strong', 'Собрание'], ['em', 'пятницу'], ['code', '18:00'], ['s', 'кабинет 12'], ['u', 'актовый зал'], ['mark', 'важно']]) {
    assert.deepEqual(await meeting.locator(tag).allTextContents(), [text], `<${tag}>`);
  }
  const plan = meeting.getByRole('link');
  assert.equal(await plan.textContent(), 'программа');
  assert.equal(await plan.getAttribute('href'), 'https://example.org/plan');
  assert.equal(await plan.getAttribute('target'), '_blank');
  assert.equal(await plan.getAttribute('rel'), 'noopener noreferrer');

  await botApi(token, 'POST', `/messages?chat_id=${chat.id}`, {
    text: '<b>Жирный</b> <i>курсив</i> <a href="javascript:alert(1)">плохая ссылка</a> <h1>Заголовок</h1>',
    format: 'html',
  });
  const html = history(p).locator('article', { hasText: 'Жирный' }).locator('span.text');
  await html.waitFor();
  assert.deepEqual(await html.locator('strong:not(.heading)').allTextContents(), ['Жирный']);
  assert.deepEqual(await html.locator('em').allTextContents(), ['курсив']);
  assert.deepEqual(await html.locator('.heading').allTextContents(), ['Заголовок']);
  await html.getByText('плохая ссылка').waitFor();
  assert.equal(await html.getByRole('link').count(), 0, 'a javascript: link is text');

  assert.equal(await history(p).locator('script').count(), 0);
  assert.deepEqual(dialogs, []);
  await shotsLightAndDark(p, 'bots-markup', html);
  await parent.context.close();
});

/** A bot's mini-app for the test: a page on 127.0.0.1 that shows its address's fragment.
 * `requests` keeps what reached it: the path and the referrer of each request. */
async function miniApp() {
  const requests = [];
  const site = createServer((request, response) => {
    requests.push({ url: request.url, referer: request.headers.referer });
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>Дневник</title><p id="hash"></p><script>document.getElementById("hash").textContent = location.hash</script>');
  });
  await new Promise((listening) => site.listen(0, '127.0.0.1', listening));
  return {
    url: `http://127.0.0.1:${site.address().port}/diary`,
    host: `127.0.0.1:${site.address().port}`,
    requests,
    stop: () => new Promise((closed) => site.close(closed)),
  };
}

/** Whether `initData` was signed with the bot's token, as a bot checks it (Max's scheme, which is Telegram's). */
function signedFor(token, initData) {
  const fields = [...new URLSearchParams(initData)];
  const hash = fields.find(([key]) => key === 'hash')?.[1];
  const checked = fields.filter(([key]) => key !== 'hash').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => `${key}=${value}`).join('\n');
  const secret = createHmac('sha256', 'WebAppData').update(token).digest();
  return hash === createHmac('sha256', secret).update(checked).digest('hex');
}

test("a bot's mini-app: its owner gives its address in «Мои боты»; a person presses its button, sees where it goes and what the bot learns, and opens it in a new tab with data the bot can check", async () => {
  const app = await miniApp();
  const { token, parent, chat } = await startedBot({ username: 'diary_bot', name: 'Дневник 5Б' }, 'anna', 'Анна Козлова');
  const { page: p, context } = parent;
  try {
    await botApi(token, 'POST', `/messages?chat_id=${chat.id}`, {
      text: 'Оценки за неделю',
      attachments: [{ type: 'inline_keyboard', payload: { buttons: [[{ type: 'open_app', text: 'Дневник', web_app: 'diary_bot', payload: 'week-5' }]] } }],
    });
    const button = history(p).locator('article', { hasText: 'Оценки за неделю' }).getByRole('button', { name: 'Дневник' });
    const dialog = p.getByRole('dialog', { name: 'Открыть приложение бота «Дневник 5Б»?' });

    // Before the bot has a mini-app, pressing says so, and opens nothing.
    await button.click();
    await dialog.getByRole('alert').getByText('У этого бота нет мини-приложения.').waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Открыть' }).count(), 0);
    await dialog.getByRole('button', { name: 'Закрыть' }).click();
    await dialog.waitFor({ state: 'detached' });
    await focusMovesTo(p, 'Дневник');

    // The owner gives the address in «Мои боты»; what is not a website is refused.
    const { page } = teacher;
    await page.goto('/bots');
    const card = page.locator('article.bot', { hasText: '@diary_bot' });
    const field = card.getByRole('textbox', { name: 'Адрес мини-приложения' });
    await field.fill('ftp://diary.example/');
    await card.getByRole('button', { name: 'Сохранить' }).click();
    await card.getByRole('alert').getByText('Нужен адрес сайта в интернете, начинающийся с https://').waitFor();
    await field.fill(app.url);
    await card.getByRole('button', { name: 'Сохранить' }).click();
    await card.getByRole('status').getByText('Адрес сохранён').waitFor();
    await shotsLightAndDark(page, 'bots-web-app-address', card.locator('form.web-app'));
    await page.reload();
    assert.equal(await field.inputValue(), app.url);
    const saved = (await call(page, 'GET', '/bots')).body.bots.find((bot) => bot.username === 'diary_bot');
    assert.equal(saved.web_app_url, app.url);

    // The dialog shows where the app is and what the bot learns; «Отмена» opens nothing.
    const opened = [];
    context.on('page', (page) => opened.push(page.url()));
    await button.click();
    await dialog.getByText(app.host, { exact: true }).waitFor();
    await dialog.getByText('Это сайт автора бота, а не Колокола').waitFor();
    const me = (await call(p, 'GET', '/me')).body;
    await dialog.getByText(me.show_username ? 'Бот узнает ваше имя, имя пользователя и номер в Колоколе.' : 'Бот узнает ваше имя и номер в Колоколе.').waitFor();
    await shotsLightAndDark(p, 'bots-web-app-dialog', dialog);
    await dialog.getByRole('button', { name: 'Отмена' }).click();
    await dialog.waitFor({ state: 'detached' });
    await focusMovesTo(p, 'Дневник');
    // Escape closes it too.
    await button.click();
    await dialog.getByText(app.host, { exact: true }).waitFor();
    await p.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await p.waitForTimeout(300);
    assert.deepEqual(opened, []);
    assert.deepEqual(app.requests, []);

    // «Открыть»: a new tab at the app, with no way back to Kolokol and no referrer.
    await button.click();
    const [tab] = await Promise.all([context.waitForEvent('page'), dialog.getByRole('button', { name: 'Открыть' }).click()]);
    await tab.locator('#hash').getByText('#WebAppData=').waitFor();
    await dialog.waitFor({ state: 'detached' });
    const launched = new URL(tab.url());
    assert.equal(`${launched.origin}${launched.pathname}${launched.search}`, app.url);
    assert.equal(await tab.locator('#hash').textContent(), launched.hash);
    assert.equal(await tab.evaluate(() => window.opener), null);
    assert.equal(await tab.evaluate(() => document.referrer), '');
    // The fragment stays in the browser: the app's server saw only its path.
    assert.deepEqual(app.requests.filter((request) => request.url !== '/favicon.ico'), [{ url: '/diary', referer: undefined }]);

    // The launch data: signed with the bot's token, the button's payload, and who opened it.
    const launch = new URLSearchParams(launched.hash.slice(1));
    assert.equal(launch.get('WebAppPlatform'), 'web');
    assert.equal(launch.get('WebAppVersion'), '1');
    const initData = launch.get('WebAppData');
    assert.ok(signedFor(token, initData), 'the bot can check the data with its token');
    assert.ok(!signedFor(token, initData.replace('week-5', 'week-6')), 'changed data fails the check');
    const fields = new URLSearchParams(initData);
    assert.equal(fields.get('start_param'), 'week-5');
    const user = JSON.parse(fields.get('user'));
    assert.equal(user.id, me.id);
    assert.equal(user.first_name, 'Анна Козлова');
    assert.equal(user.username, me.show_username ? 'anna' : undefined);
    assert.ok(Math.abs(Number(fields.get('auth_date')) - Date.now() / 1000) < 120, 'auth_date is now, in seconds');
    await tab.close();

    // Someone who shares no chat with the bot is refused, and a bot that is not there is not found.
    const stranger = await person(browser, server.base);
    await register(stranger.page, 'boris', 'Борис Орлов');
    const refused = await call(stranger.page, 'POST', '/bots/by-username/diary_bot/web-app', {});
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'forbidden');
    const nobody = await call(stranger.page, 'POST', '/bots/by-username/nobody_bot/web-app', {});
    assert.equal(nobody.status, 404);
    assert.equal(nobody.body.code, 'user_not_found');
    await stranger.context.close();

    // «Убрать»: the bot has no mini-app again.
    await card.getByRole('button', { name: 'Убрать' }).click();
    await card.getByRole('status').getByText('Мини-приложение убрано').waitFor();
    assert.equal(await field.inputValue(), '');
    const gone = await call(p, 'POST', '/bots/by-username/diary_bot/web-app', { chat_id: chat.id, start_param: 'week-5' });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'not_found');
  } finally {
    await parent.context.close();
    await app.stop();
  }
});
