// End to end, in Russian: a school admin imports a roster and prints claim codes in the web
// client; a parent claims a code (signing up on the way) and lands in her class's chat.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, focusMovesTo, launchBrowser, person, register, startServer } from './harness.mjs';
import { PHONE, call, claimed as claimedIn, createOrg, moscow, roster, school, shots } from './school.mjs';

/** Someone new signs up on this file's server and claims a code. */
const claimed = (...args) => claimedIn(browser, server.base, ...args);

let server;
let browser;
let director;

before(async () => {
  server = await startServer(['--admin', 'director']);
  browser = await launchBrowser();
  director = await person(browser, server.base);
  await register(director.page, 'director', 'Директор');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an admin imports a roster, issues codes, and a parent claims one', async () => {
  const { page } = director;
  const org = await createOrg(page, 'Школа №1234');
  assert.equal(org.name, 'Школа №1234');

  await page.getByRole('button', { name: 'Школы и организации' }).click();
  await page.getByRole('link', { name: 'Управлять' }).click();
  await page.getByRole('heading', { name: 'Школа №1234' }).waitFor();

  // A bad file is refused with its lines, and nothing changes.
  await page.locator('input[name=roster]').setInputFiles({
    name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('role,class,name\npupil,5Б,Иванов\n'),
  });
  // In Russian, by the problem the server names (its English message is for the CLI; English is in orgadmin's test).
  await page.getByRole('alert').getByText('строка 2: неизвестная роль «pupil»: используйте student, guardian, class_teacher или teacher').waitFor();
  await shots(page, 'roster-errors-ru', page.getByRole('alert'));

  // The real file: checked first, then imported.
  await page.locator('input[name=roster]').setInputFiles(roster);
  const check = page.getByRole('status').filter({ hasText: 'Проверка файла' });
  await check.getByText('Новые классы (2)').waitFor();
  await check.getByText('Добавлены (21)').waitFor();
  await page.getByRole('button', { name: 'Загрузить', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Список загружен' }).getByText('Создано чатов').waitFor();
  const class5b = page.locator('details', { hasText: '5Б' });
  await class5b.getByText('Подключено 0 из 13').waitFor();
  await class5b.getByText('Семьи: подключено 0 из 5').waitFor();
  await class5b.locator('.unreached').getByText('Фёдоров Илья Олегович — нет родителя в списке').waitFor();
  await page.screenshot({ path: join(artifacts, 'org-admin-ru.png'), fullPage: true });

  await class5b.getByRole('button', { name: 'Выдать коды неподключённым' }).click();
  const card = page.locator('article.card', { hasText: 'Иванова Мария Петровна' });
  await card.waitFor();
  await card.getByText('5Б — родитель: Иванов Артём Сергеевич').waitFor();
  const code = (await card.locator('.code').textContent()).trim();
  assert.match(code, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  await page.locator('section.codes').screenshot({ path: join(artifacts, 'claim-codes-ru.png') });

  // The parent opens /claim signed out, types the code, signs up, and is in.
  const parent = await person(browser, server.base, { viewport: { width: 390, height: 740 } });
  await parent.page.goto('/claim');
  await parent.page.getByRole('heading', { name: 'Код доступа от школы' }).waitFor();
  await parent.page.locator('input[name=claim-code]').fill(code.toLowerCase());
  await parent.page.getByRole('button', { name: 'Зарегистрироваться' }).last().click();
  await parent.page.locator('input[name=username]').fill('ivanova');
  await parent.page.locator('input[name=display_name]').fill('Мария Иванова');
  await parent.page.locator('input[name=password]').fill('correct horse battery');
  await parent.page.locator('form button[type=submit]').click();
  await parent.page.getByText('Готово: вы в организации «Школа №1234» как Иванова Мария Петровна.').waitFor();
  await parent.page.screenshot({ path: join(artifacts, 'claim-done-ru.png') });
  await parent.page.getByRole('button', { name: 'Перейти к чатам' }).click();
  await parent.page.locator('nav a', { hasText: '5Б · родители' }).waitFor();
  await parent.page.locator('nav a', { hasText: 'Школа №1234 · объявления' }).waitFor();

  // The class teacher joins with her code, posts to the parents, and sees who has read it.
  const teacherCode = (await page.locator('article.card', { hasText: 'Смирнова Ольга Викторовна' }).locator('.code').textContent()).trim();
  const teacher = await person(browser, server.base);
  await register(teacher.page, 'smirnova', 'Ольга Викторовна');
  await teacher.page.goto('/claim');
  await teacher.page.locator('input[name=claim-code]').fill(teacherCode);
  await teacher.page.getByRole('button', { name: 'Подтвердить' }).click();
  await teacher.page.getByRole('button', { name: 'Перейти к чатам' }).click();
  await teacher.page.locator('nav a', { hasText: '5Б · родители' }).click();
  const box = teacher.page.locator('textarea');
  await teacher.page.getByLabel('Попросить подтверждение').check();
  await box.fill('Родительское собрание в четверг в 18:00');
  await box.press('Enter');
  await parent.page.locator('nav a', { hasText: '5Б · родители' }).click();
  const received = parent.page.locator('[role=log] article', { hasText: 'Родительское собрание в четверг в 18:00' });
  await received.getByRole('button', { name: 'Ознакомлен(а)' }).click();
  await received.getByText('✓ Вы подтвердили').waitFor();
  await parent.page.screenshot({ path: join(artifacts, 'acknowledged-ru.png') });
  const notice = teacher.page.locator('[role=log] article', { hasText: 'Родительское собрание' });
  await notice.getByRole('button', { name: 'Действия' }).click();
  await notice.getByRole('button', { name: 'Кто прочитал' }).click();
  const reach = notice.locator('.reach');
  await reach.getByText('Прочитали 1 из 1 · Семьи: прочитали 1 из 5 · получили 1 из 5 семей').waitFor();
  // One class: no lines by class.
  assert.equal(await reach.getByText('По классам').count(), 0);
  await reach.getByText('Подтвердили 1 из 1 · семьи: 1 из 5').waitFor();
  await reach.getByText('5Б · Салимов Тимур Рустамович — Салимова Гульнара Ахмедовна (не подключён(а))').waitFor();
  await teacher.page.screenshot({ path: join(artifacts, 'who-read-ru.png') });
  // The lists: «Не прочитали» is open; the family that acknowledged is under «Прочитали» and «Ознакомились».
  const ivanovs = '5Б · Иванов Артём Сергеевич — Иванов Сергей Николаевич (не подключён(а)), Иванова Мария Петровна';
  const list = (label) => reach.locator('details', { has: teacher.page.locator('summary', { hasText: label }) });
  assert.equal(await list(/^Не прочитали: 4$/).getAttribute('open'), '');
  assert.equal(await list(/^Прочитали: 1$/).getAttribute('open'), null);
  assert.equal(await reach.getByText(ivanovs).count(), 0);
  await list(/^Прочитали: 1$/).locator('summary').click();
  await list(/^Прочитали: 1$/).getByText(ivanovs).waitFor();
  await list(/^Ознакомились: 1$/).locator('summary').click();
  await list(/^Ознакомились: 1$/).getByText(ivanovs).waitFor();
  await list(/^Ещё не ознакомились: 4$/).waitFor();
  // The families the message did not get to at all: no parent of theirs has joined (or there is none on the roster).
  await list(/^Не получили: 4$/).locator('summary').click();
  await list(/^Не получили: 4$/).getByText('5Б · Фёдоров Илья Олегович — нет родителя в списке').waitFor();
  assert.equal(await list(/^Не получили: 4$/).getByText(ivanovs).count(), 0);
  assert.equal(await list(/^Не прочитали: 4$/).getByText(ivanovs).count(), 0);
  await shots(teacher.page, 'reach-lists-ru', list(/^Ознакомились: 1$/));
  // Shut again by keyboard.
  await list(/^Прочитали: 1$/).locator('summary').focus();
  await teacher.page.keyboard.press('Enter');
  await list(/^Прочитали: 1$/).getByText(ivanovs).waitFor({ state: 'detached' });

  // In the school's announcement channel too: the class teacher asks for an acknowledgement, the parent gives it.
  await teacher.page.locator('nav a', { hasText: 'Школа №1234 · объявления' }).click();
  await teacher.page.getByLabel('Попросить подтверждение').check();
  await box.fill('В субботу в школе день открытых дверей');
  await box.press('Enter');
  await parent.page.getByRole('button', { name: 'Назад' }).click();
  await parent.page.locator('nav a', { hasText: 'Школа №1234 · объявления' }).click();
  const announced = parent.page.locator('[role=log] article', { hasText: 'В субботу в школе день открытых дверей' });
  await announced.getByRole('button', { name: 'Ознакомлен(а)' }).click();
  await announced.getByText('✓ Вы подтвердили').waitFor();
  await shots(parent.page, 'announcement-acknowledged-ru', announced);
  const announcement = teacher.page.locator('[role=log] article', { hasText: 'В субботу в школе день открытых дверей' });
  await announcement.getByRole('button', { name: 'Действия' }).click();
  await announcement.getByRole('button', { name: 'Кто прочитал' }).click();
  const channelReach = announcement.locator('.reach');
  await channelReach.getByText('Подтвердили 1 из 1 · семьи: 1 из 9').waitFor();
  // Every class on a line of its own, in the school's order. In 7А the teacher is Морозова Дарья's mother:
  // the family has her in the chat, and her own message counts as read.
  const byClass = channelReach.locator('details', { has: teacher.page.locator('summary', { hasText: /^По классам$/ }) });
  assert.equal(await byClass.getAttribute('open'), '');
  assert.deepEqual(await byClass.locator('li').allTextContents(), [
    '5Б: получили 1 из 5 · прочитали 1 · ознакомились 1',
    '7А: получили 1 из 4 · прочитали 1 · ознакомились 0',
  ]);
  await channelReach.getByText(/ · получили 2 из 9 семей$/).waitFor();
  await channelReach.locator('summary', { hasText: /^Ознакомились: 1$/ }).click();
  await channelReach.locator('details', { hasText: /Ознакомились: 1/ }).getByText(ivanovs).waitFor();
  await shots(teacher.page, 'announcement-reach-ru', channelReach);
  await teacher.context.close();

  // The admin sees her joined.
  await page.reload();
  const reloaded5b = page.locator('details', { hasText: '5Б' });
  await reloaded5b.getByText('Подключено 2 из 13').waitFor();
  await reloaded5b.getByText('Семьи: подключено 1 из 5').waitFor();
  await page.screenshot({ path: join(artifacts, 'org-reach-ru.png') });
  await parent.context.close();
});

test('a teacher reminds those who have not read; quiet hours hold her message; a parent sets do-not-disturb', async () => {
  const { page } = director;
  const { org, codeOf } = await school(page, 'Гимназия №5');

  const teacher = await claimed('smirnova5', 'Ольга Викторовна', codeOf('Смирнова Ольга Викторовна'));
  const reader = await claimed('ivanova5', 'Мария Иванова', codeOf('Иванова Мария Петровна'));
  const petrova = await claimed('petrova5', 'Екатерина Петрова', codeOf('Петрова Екатерина Юрьевна'), { viewport: PHONE });

  // The teacher posts; one parent reads it, the other does not.
  await teacher.page.locator('nav a', { hasText: '5Б · родители' }).click();
  const box = teacher.page.locator('textarea');
  // Urgent sends are for org admins only; a teacher does not see the choice.
  assert.equal(await teacher.page.locator('input[name=urgent]').count(), 0);
  await box.fill('Сдаём деньги на экскурсию до пятницы');
  await box.press('Enter');
  const notice = teacher.page.locator('[role=log] article', { hasText: 'Сдаём деньги на экскурсию' });
  await reader.page.locator('nav a', { hasText: '5Б · родители' }).click();
  await reader.page.locator('[role=log] article', { hasText: 'Сдаём деньги на экскурсию' }).waitFor();
  await notice.locator('.status', { hasText: 'Прочитано' }).waitFor();

  // «Кто прочитал» → remind the one who has not.
  await notice.getByRole('button', { name: 'Действия' }).click();
  await notice.getByRole('button', { name: 'Кто прочитал' }).click();
  const reach = notice.locator('.reach');
  await reach.getByText('Прочитали 1 из 2').waitFor();
  await shots(teacher.page, 'reach-remind-ru', reach);
  await reach.getByRole('button', { name: 'Напомнить непрочитавшим' }).click();
  await reach.getByText('Напоминание отправлено: 1').waitFor();
  await reach.getByText(/^Напоминали в \d\d:\d\d$/).waitFor();
  await shots(teacher.page, 'reach-reminded-ru', reach);
  await reach.getByRole('button', { name: 'Напомнить непрочитавшим' }).click();
  await reach.getByText('Напоминать можно раз в час').waitFor();

  // Only the parent who had not read is reminded.
  const petrovaChat = petrova.page.locator('nav a', { hasText: '5Б · родители' });
  await petrovaChat.getByText('Напоминание').waitFor();
  await petrova.page.screenshot({ path: join(artifacts, 'reminder-badge-ru-phone.png') });
  assert.equal(await reader.page.locator('nav a', { hasText: '5Б · родители' }).locator('.reminder').count(), 0);
  await petrovaChat.click();
  const reminded = petrova.page.locator('[role=log] article', { hasText: 'Сдаём деньги на экскурсию' });
  await reminded.getByText('Вас просят прочитать это сообщение').waitFor();
  await petrova.page.screenshot({ path: join(artifacts, 'reminder-highlight-ru-phone.png') });
  await petrova.page.getByRole('button', { name: 'Назад' }).click();
  await petrovaChat.waitFor();
  assert.equal(await petrovaChat.locator('.reminder').count(), 0);
  await petrovaChat.click();

  // The admin sets quiet hours around the present moment, in the school's time (Moscow).
  await page.goto(`/orgs/${org.id}/rules`);
  const quiet = page.locator('section.quiet');
  await quiet.getByText('Сейчас тихих часов нет').waitFor();
  await quiet.getByText('Часовой пояс: Europe/Moscow', { exact: false }).waitFor();
  await quiet.getByLabel('Включить тихие часы').check();
  await quiet.getByLabel('Начало').fill('10:00');
  await quiet.getByLabel('Конец').fill('10:00');
  await quiet.getByRole('button', { name: 'Сохранить' }).click();
  await quiet.getByRole('alert').getByText('Укажите начало и конец').waitFor();
  const start = moscow(Date.now() - 3_600_000);
  const end = moscow(Date.now() + 3_600_000);
  await quiet.getByLabel('Начало').fill(start);
  await quiet.getByLabel('Конец').fill(end);
  await quiet.getByRole('button', { name: 'Сохранить' }).click();
  await quiet.getByText('Сохранено').waitFor();
  await quiet.getByText(`Сейчас: с ${start} до ${end}`).waitFor();
  await shots(page, 'org-quiet-hours-ru', quiet);

  // The class teacher's message to the parents waits; she cancels it; the parents never get it.
  await box.fill('Завтра контрольная по литературе');
  await box.press('Enter');
  const held = teacher.page.locator('[data-held]', { hasText: 'Завтра контрольная' });
  await held.getByText(/Будет доставлено .*\(тихие часы\)/).waitFor();
  await shots(teacher.page, 'held-ru', held);
  await teacher.page.reload();
  await held.getByText('Будет доставлено', { exact: false }).waitFor();
  await held.getByRole('button', { name: /Отменить/ }).click();
  await held.waitFor({ state: 'detached' });
  const chatId = Number(new URL(teacher.page.url()).pathname.split('/').pop());
  assert.deepEqual((await call(teacher.page, 'GET', `/chats/${chatId}/held`)).body.messages, []);
  assert.equal(await petrova.page.locator('[role=log] article', { hasText: 'Завтра контрольная' }).count(), 0);

  // An org admin may send urgently: the choice shows in a chat he runs.
  const group = await call(page, 'POST', '/chats', { kind: 'group', title: 'Завучи', member_ids: [] });
  await page.goto(`/chat/${group.body.id}`);
  await page.getByLabel('Срочно (в тихие часы тоже)').waitFor();

  // Do-not-disturb for an hour, shown, then turned off.
  await petrova.page.goto('/settings');
  const dnd = petrova.page.locator('section.dnd');
  await dnd.getByText('Режим «Не беспокоить» выключен').waitFor();
  // Until a chosen time: the day after tomorrow at 10:00 (local time in the browser).
  const chosen = await petrova.page.evaluate(() => {
    const d = new Date(Date.now() + 2 * 86_400_000);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T10:00`;
  });
  await dnd.getByLabel('До выбранного времени').check();
  await dnd.getByLabel('Дата и время окончания').fill(chosen);
  await dnd.getByRole('button', { name: 'Сохранить' }).click();
  await dnd.getByRole('status').getByText(/Не беспокоить до 10:00, \d+ [а-я]+/).waitFor();
  await dnd.getByLabel('На 1 час').check();
  await dnd.getByRole('button', { name: 'Сохранить' }).click();
  await dnd.getByRole('status').getByText(/Не беспокоить до \d\d:\d\d/).waitFor();
  await shots(petrova.page, 'settings-dnd-ru', dnd);
  await dnd.getByRole('button', { name: 'Выключить' }).click();
  await dnd.getByText('Режим «Не беспокоить» выключен').waitFor();
  assert.equal((await call(petrova.page, 'GET', '/me/dnd')).body.until, null);

  for (const who of [teacher, reader, petrova]) await who.context.close();
});

test('a wrong code is explained in Russian', async () => {
  const parent = await person(browser, server.base);
  await register(parent.page, 'guesser', 'Гость');
  await parent.page.goto('/claim');
  await parent.page.locator('input[name=claim-code]').fill('AAAA-BBBB-CCCC');
  await parent.page.getByRole('button', { name: 'Подтвердить' }).click();
  await parent.page.getByRole('alert').getByText('Такого кода нет').waitFor();
  await parent.context.close();
});

test('a class teacher pins a message and asks a poll; a parent votes and answers in a thread; the badge tells the real teacher', async () => {
  const { page } = director;
  const { codeOf } = await school(page, 'Лицей №2');
  const teacher = await claimed('smirnova2', 'Ольга Викторовна', codeOf('Смирнова Ольга Викторовна'));
  const parent = await claimed('ivanova2', 'Мария Иванова', codeOf('Иванова Мария Петровна'));

  await teacher.page.locator('nav a', { hasText: '5Б · родители' }).click();
  await parent.page.locator('nav a', { hasText: '5Б · родители' }).click();
  const teacherLog = teacher.page.locator('[role=log]');
  const parentLog = parent.page.locator('[role=log]');
  const teacherBox = teacher.page.locator('textarea[id^=composer]');

  // The teacher pins her notice; the parent sees it at the top of the chat.
  await teacherBox.fill('Экскурсия в музей в субботу, сбор в 9:00 у школы');
  await teacherBox.press('Enter');
  const notice = teacherLog.locator('article', { hasText: 'Экскурсия в музей' });
  await notice.getByRole('button', { name: 'Действия' }).click();
  await notice.getByRole('button', { name: 'Закрепить' }).click();
  const banner = parent.page.locator('.pinned-bar');
  await banner.getByText('Экскурсия в музей в субботу, сбор в 9:00 у школы').waitFor();
  await banner.getByText('Закреплённое сообщение').waitFor();

  // The badge: next to the class teacher's name, and in the member list; a parent has none.
  const fromTeacher = parentLog.locator('article', { hasText: 'Экскурсия в музей' });
  await fromTeacher.locator('.sender .badge', { hasText: '✓ Классный руководитель 5Б' }).waitFor();
  await fromTeacher.getByRole('button', { name: /Классный руководитель 5Б/ }).click();
  await fromTeacher.getByRole('note').getByText('Подтверждено школой «Лицей №2»', { exact: false }).waitFor();
  await shots(parent.page, 'pinned-badge-ru', banner);

  // A poll: the question in the message box; Enter goes from option to option and adds one.
  await teacher.page.getByRole('button', { name: 'Опрос' }).click();
  await teacherBox.fill('Кто поедет на экскурсию?');
  await teacher.page.getByRole('textbox', { name: 'Вариант 1' }).fill('Поедем');
  await teacher.page.getByRole('textbox', { name: 'Вариант 1' }).press('Enter');
  await teacher.page.keyboard.type('Не сможем');
  await teacher.page.keyboard.press('Enter');
  await teacher.page.getByRole('button', { name: 'Отправить опрос' }).click();
  await teacher.page.getByRole('alert').getByText('Заполните или уберите пустой вариант.').waitFor();
  await teacher.page.keyboard.type('Ещё не знаем');
  assert.equal(await teacher.page.getByRole('textbox', { name: 'Вариант 3' }).inputValue(), 'Ещё не знаем');
  await teacher.page.getByRole('button', { name: 'Добавить вариант' }).click();
  await teacher.page.getByRole('button', { name: 'Убрать вариант 4' }).click();
  await shots(teacher.page, 'poll-form-ru', teacher.page.locator('.poll-form'));
  await teacher.page.getByRole('button', { name: 'Отправить опрос' }).click();
  const teacherPoll = teacherLog.locator('article', { hasText: 'Кто поедет на экскурсию?' });
  await teacherPoll.getByText('Открытый опрос').waitFor();
  // The author sees the results at once.
  await teacherPoll.getByText('Пока никто не проголосовал').waitFor();

  // The parent votes; the teacher's counts move without a reload.
  const parentPoll = parentLog.locator('article', { hasText: 'Кто поедет на экскурсию?' });
  await parentPoll.getByRole('button', { name: 'Поедем' }).click();
  await parentPoll.getByText('1 человек проголосовал').waitFor();
  await parentPoll.locator('li.chosen', { hasText: 'Поедем' }).getByText('1 · 100%').waitFor();
  await teacherPoll.getByText('1 человек проголосовал').waitFor();
  await teacherPoll.locator('li', { hasText: 'Поедем' }).getByText('1 · 100%').waitFor();
  await teacherPoll.getByRole('button', { name: 'Кто голосовал' }).click();
  await teacherPoll.locator('li', { hasText: 'Поедем' }).getByText('Мария Иванова').waitFor();
  await shots(teacher.page, 'poll-results-ru', teacherPoll);
  // She changes her mind, and the teacher sees that too.
  await parentPoll.getByRole('button', { name: 'Изменить голос' }).click();
  await parentPoll.getByRole('button', { name: 'Ещё не знаем' }).click();
  await teacherPoll.locator('li', { hasText: 'Ещё не знаем' }).getByText('1 · 100%').waitFor();
  await teacherPoll.locator('li', { hasText: 'Поедем' }).getByText('0 · 0%').waitFor();
  await shots(parent.page, 'poll-voted-ru', parentPoll);
  await parent.page.emulateMedia({ colorScheme: 'dark' });
  await shots(parent.page, 'poll-voted-dark-ru', parentPoll);
  await parent.page.emulateMedia({ colorScheme: 'light' });

  // The parent answers in the thread under the notice.
  await fromTeacher.getByRole('button', { name: 'Действия' }).click();
  await fromTeacher.getByRole('button', { name: 'Ответить в треде' }).click();
  const parentThread = parent.page.getByRole('complementary', { name: /^Тред: Экскурсия в музей/ });
  await parentThread.getByText('Ответов пока нет').waitFor();
  await parentThread.getByRole('textbox').fill('Мы придём вдвоём с сыном');
  await parentThread.getByRole('textbox').press('Enter');
  await parentThread.locator('li', { hasText: 'Мы придём вдвоём с сыном' }).waitFor();
  await parentThread.getByRole('heading', { name: 'Тред · 1 ответ' }).waitFor();
  await fromTeacher.getByRole('button', { name: '1 ответ' }).waitFor();
  await shots(parent.page, 'thread-panel-ru', parentThread);
  await parent.page.keyboard.press('Escape');
  await parentThread.waitFor({ state: 'detached' });

  // The teacher sees «1 ответ» under her notice (the reply is not in the chat's flow) and opens it.
  const replies = notice.getByRole('button', { name: '1 ответ' });
  await replies.waitFor();
  assert.equal(await teacherLog.locator('article', { hasText: 'Мы придём вдвоём' }).count(), 0);
  await replies.click();
  const teacherThread = teacher.page.getByRole('complementary', { name: /^Тред: Экскурсия/ });
  const reply = teacherThread.locator('li', { hasText: 'Мы придём вдвоём с сыном' });
  await reply.getByText('Мария Иванова').waitFor();
  // A parent carries no badge, here or in the member list.
  assert.equal(await reply.locator('.badge').count(), 0);
  await teacherThread.getByRole('textbox').fill('Отлично, ждём!');
  await teacherThread.getByRole('textbox').press('Enter');
  await parent.page.locator('article', { hasText: 'Экскурсия в музей' }).getByRole('button', { name: '2 ответа' }).waitFor();
  await teacher.page.keyboard.press('Escape');
  await teacherThread.waitFor({ state: 'detached' });
  await focusMovesTo(teacher.page, '💬 2 ответа');

  await teacher.page.getByRole('button', { name: 'Участники' }).click();
  const info = teacher.page.locator('.info');
  await info.locator('li', { hasText: 'Ольга Викторовна' }).getByText('Лицей №2 · классный руководитель 5Б (русский язык; литература)', { exact: false }).waitFor();
  assert.equal(await info.locator('li', { hasText: 'Мария Иванова' }).locator('.badge').count(), 0);
  await shots(teacher.page, 'members-badge-ru', info);
  await teacher.page.getByRole('button', { name: 'Участники' }).click();

  // Deleting the pinned message takes the banner down for everyone.
  await notice.getByRole('button', { name: 'Действия' }).click();
  await notice.getByRole('button', { name: 'Удалить' }).click();
  await banner.waitFor({ state: 'detached' });

  for (const who of [teacher, parent]) await who.context.close();
});
