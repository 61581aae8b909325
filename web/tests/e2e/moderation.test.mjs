// End to end, in Russian: a chat's owner decides who posts and how often, mutes and removes a
// member; a student reports a classmate's message to the school; the safeguarding notice on a
// teacher–student chat; a user shows or hides their @username.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { focusMovesTo, launchBrowser, person, register, startServer } from './harness.mjs';
import { PHONE, call, claimed, school as importedSchool, shots } from './school.mjs';

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

/** Someone new, signed up; `me` is their user as the server has it. */
async function signedUp(username, name, options = {}) {
  const who = await person(browser, server.base, { timezoneId: 'Europe/Moscow', ...options });
  await register(who.page, username, name);
  who.me = (await call(who.page, 'GET', '/me')).body;
  return who;
}

async function openChat(page, title) {
  await page.locator('nav a', { hasText: title }).first().click();
  await page.locator('section.chat h2', { hasText: title }).waitFor();
}

/** The composer's message box (absent when the user may not post). */
function composer(page) {
  return page.locator('textarea[id^=composer]');
}

async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

/** The texts of the chat's messages as the server has them. */
async function texts(page, chatId) {
  return (await call(page, 'GET', `/chats/${chatId}/messages?limit=100`)).body.messages.map((m) => m.text);
}

/** Saves the chat rules form; the owner is told, and the server has `expected`. */
async function saveRules(owner, chatId, expected) {
  const status = owner.page.locator('form.rules').getByRole('status');
  // Changing the form took the last "saved" away.
  assert.equal((await status.textContent()).trim(), '');
  await owner.page.locator('form.rules').getByRole('button', { name: 'Сохранить' }).click();
  await status.getByText('Сохранено').waitFor();
  const chat = (await call(owner.page, 'GET', `/chats/${chatId}`)).body;
  assert.deepEqual({ posting: chat.posting, slow_mode_secs: chat.slow_mode_secs }, expected);
}

test('a group owner decides who posts and how often, mutes a member, then removes him', async () => {
  const owner = await signedUp('olga', 'Ольга Сергеевна');
  const member = await signedUp('pavel', 'Павел Смирнов');
  const group = await call(owner.page, 'POST', '/chats', { kind: 'group', title: 'Родительский комитет', member_ids: [member.me.id] });
  const chatId = group.body.id;
  await openChat(owner.page, 'Родительский комитет');
  await openChat(member.page, 'Родительский комитет');
  await send(owner.page, 'Собираем на подарок учителю до пятницы');
  await member.page.locator('[role=log] article', { hasText: 'Собираем на подарок' }).waitFor();

  // A member has no rules to set and no one to mute.
  await member.page.getByRole('button', { name: 'Участники' }).click();
  await member.page.locator('.info li', { hasText: 'Ольга Сергеевна' }).waitFor();
  assert.equal(await member.page.locator('form.rules').count(), 0);
  assert.equal(await member.page.getByRole('button', { name: /^Действия с участником/ }).count(), 0);
  await member.page.getByRole('button', { name: 'Участники' }).click();

  // Admins only: the member's composer gives way to a notice; the owner keeps hers.
  await owner.page.getByRole('button', { name: 'Участники' }).click();
  // The rules are folded, their summary says how things are.
  const summary = owner.page.locator('details.chat-rules summary');
  await summary.getByText('Пишут все').waitFor();
  await summary.click();
  const rules = owner.page.locator('form.rules');
  await rules.getByRole('group', { name: 'Кто пишет' }).getByLabel('Пишут все').waitFor();
  assert.equal(await rules.getByLabel('Пишут все').isChecked(), true);
  await rules.getByLabel('Только администраторы').check();
  await saveRules(owner, chatId, { posting: 'admins', slow_mode_secs: 0 });
  await member.page.locator('.readonly', { hasText: 'Пишут только администраторы' }).waitFor();
  assert.equal(await composer(member.page).count(), 0);
  await composer(owner.page).waitFor();
  await shots(owner.page, 'chat-rules-ru', rules);
  await shots(member.page, 'admins-only-member-ru');

  // A read-only archive: nobody writes, the owner neither.
  await rules.getByLabel('Никто — архив только для чтения').check();
  await saveRules(owner, chatId, { posting: 'nobody', slow_mode_secs: 0 });
  await member.page.locator('.readonly', { hasText: 'Это архив: писать сюда нельзя' }).waitFor();
  await owner.page.locator('.readonly', { hasText: 'Это архив: писать сюда нельзя' }).waitFor();
  assert.equal(await composer(owner.page).count(), 0);
  await shots(member.page, 'archive-member-ru');

  // Everyone again, with slow mode: the member is told, and a second message at once is refused
  // with the reason and its text given back.
  await rules.getByLabel('Пишут все').check();
  await rules.getByLabel('Медленный режим').selectOption({ label: 'Одно сообщение в 30 секунд' });
  await saveRules(owner, chatId, { posting: 'everyone', slow_mode_secs: 30 });
  await summary.getByText('Пишут все · Медленный режим: одно сообщение в 30 секунд').waitFor();
  const slowNote = member.page.locator('.slow-note', { hasText: 'Медленный режим: одно сообщение в 30 секунд' });
  await slowNote.waitFor();
  await composer(owner.page).waitFor();
  assert.equal(await owner.page.locator('.slow-note').count(), 0, 'slow mode does not hold admins');
  await send(member.page, 'Я переведу сегодня');
  await member.page.locator('[role=log] article', { hasText: 'Я переведу сегодня' }).waitFor();
  await send(member.page, 'И ещё вопрос про сумму');
  await member.page.getByRole('alert').getByText('Медленный режим: отправьте сообщение чуть позже.').waitFor();
  assert.equal(await composer(member.page).inputValue(), 'И ещё вопрос про сумму');
  assert.equal((await texts(owner.page, chatId)).includes('И ещё вопрос про сумму'), false);
  await shots(member.page, 'slow-mode-member-ru', slowNote);
  await composer(member.page).fill('');
  await rules.getByLabel('Медленный режим').selectOption({ label: 'Выключен' });
  await saveRules(owner, chatId, { posting: 'everyone', slow_mode_secs: 0 });
  await slowNote.waitFor({ state: 'detached' });

  // A mute for an hour: the owner is told until when (Moscow time, «завтра» late at night); the
  // member, live, cannot write.
  const row = owner.page.locator('.info li', { hasText: 'Павел Смирнов' });
  assert.equal(await owner.page.getByRole('button', { name: 'Действия с участником: Ольга Сергеевна' }).count(), 0, 'not on oneself');
  await row.getByRole('button', { name: 'Действия с участником: Павел Смирнов' }).click();
  await shots(owner.page, 'member-tools-ru', row);
  await owner.page.emulateMedia({ colorScheme: 'dark' });
  await shots(owner.page, 'member-tools-dark-ru', row);
  await owner.page.emulateMedia({ colorScheme: 'light' });
  await row.getByRole('button', { name: 'Запретить писать на 1 час' }).click();
  await owner.page.getByRole('status').getByText(/^Павел Смирнов не может писать до \d\d:\d\d( завтра)?$/).waitFor();
  await row.getByText(/не может писать до \d\d:\d\d/).waitFor();
  await member.page.locator('.readonly', { hasText: /^Вы не можете писать в этот чат до \d\d:\d\d( завтра)?$/ }).waitFor();
  assert.equal(await composer(member.page).count(), 0);
  await shots(member.page, 'muted-member-ru');
  // After a reload the server tells the page of the mute (Chat.muted_until): still no composer.
  await member.page.reload();
  await member.page.locator('.readonly', { hasText: /^Вы не можете писать в этот чат до \d\d:\d\d( завтра)?$/ }).waitFor();
  assert.equal(await composer(member.page).count(), 0);

  // Unmuted, he writes again.
  await row.getByRole('button', { name: 'Действия с участником: Павел Смирнов' }).click();
  await row.getByRole('button', { name: 'Разрешить писать' }).click();
  await owner.page.getByRole('status').getByText('Павел Смирнов снова может писать').waitFor();
  await send(member.page, 'Спасибо, всё понял');
  await owner.page.locator('[role=log] article', { hasText: 'Спасибо, всё понял' }).waitFor();

  // A report in a chat no school keeps is explained, not lost.
  const fromOwner = member.page.locator('[role=log] article', { hasText: 'Собираем на подарок' });
  await fromOwner.getByRole('button', { name: 'Действия' }).click();
  await fromOwner.getByRole('button', { name: 'Пожаловаться' }).click();
  const dialog = member.page.getByRole('dialog', { name: 'Жалоба на сообщение' });
  await dialog.getByLabel('Что не так с этим сообщением?').fill('Сбор денег без согласия родителей');
  await dialog.getByRole('button', { name: 'Отправить жалобу' }).click();
  await dialog.getByRole('alert').getByText('В этом чате нет модераторов: жалобы принимают в чатах школы или организации.').waitFor();
  await shots(member.page, 'report-no-moderators-ru', dialog);
  await dialog.getByRole('button', { name: 'Закрыть' }).click();
  await dialog.waitFor({ state: 'detached' });

  // Removing asks first; «Отмена» keeps him.
  await row.getByRole('button', { name: 'Действия с участником: Павел Смирнов' }).click();
  await row.getByRole('button', { name: 'Удалить из чата' }).click();
  const confirm = row.getByRole('group', { name: 'Удалить Павел Смирнов из чата?' });
  await confirm.getByRole('button', { name: 'Отмена' }).click();
  await confirm.waitFor({ state: 'detached' });
  await row.getByRole('button', { name: 'Удалить из чата' }).click();
  await confirm.getByRole('button', { name: 'Удалить' }).click();
  await owner.page.getByRole('status').getByText('Павел Смирнов: удалён(а) из чата').waitFor();
  await row.waitFor({ state: 'detached' });
  await member.page.locator('nav a', { hasText: 'Родительский комитет' }).waitFor({ state: 'detached' });
  const members = (await call(owner.page, 'GET', `/chats/${chatId}/members`)).body.members;
  assert.deepEqual(members.map((m) => m.user.id), [owner.me.id]);

  for (const who of [owner, member]) await who.context.close();
});

/** A school with its roster imported, and claim codes for everyone on it. Made once. */
let school;
async function aSchool() {
  if (school) return school;
  const { org, codeOf } = await importedSchool(director.page, 'Школа №7');
  /** Someone signs up and claims their place on the roster; `me` is their user. */
  const claim = async (username, name, rosterName, options = {}) => {
    const who = await claimed(browser, server.base, username, name, codeOf(rosterName), { chat: '5Б · класс', ...options });
    who.me = (await call(who.page, 'GET', '/me')).body;
    return who;
  };
  school = {
    org,
    teacher: await claim('smirnova7', 'Ольга Викторовна', 'Смирнова Ольга Викторовна'),
    student: await claim('artem7', 'Артём Иванов', 'Иванов Артём Сергеевич', { viewport: PHONE }),
    classmate: await claim('timur7', 'Тимур Салимов', 'Салимов Тимур Рустамович'),
  };
  return school;
}

test("a student reports a classmate's message in the class chat; it reaches the school's queue", async () => {
  const { org, student, classmate } = await aSchool();
  await openChat(classmate.page, '5Б · класс');
  await send(classmate.page, 'Кто не скинет ответы к контрольной, тот предатель');
  await openChat(student.page, '5Б · класс');
  const message = student.page.locator('[role=log] article', { hasText: 'Кто не скинет ответы' });
  await message.getByRole('button', { name: 'Действия' }).click();
  // One's own messages are not reported.
  const own = classmate.page.locator('[role=log] article', { hasText: 'Кто не скинет ответы' });
  await own.getByRole('button', { name: 'Действия' }).click();
  assert.equal(await own.getByRole('button', { name: 'Пожаловаться' }).count(), 0);

  // Escape closes the dialog without reporting.
  await message.getByRole('button', { name: 'Пожаловаться' }).click();
  const dialog = student.page.getByRole('dialog', { name: 'Жалоба на сообщение' });
  await dialog.getByText('Тимур Салимов').waitFor();
  await student.page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await focusMovesTo(student.page, 'Действия');

  await message.getByRole('button', { name: 'Действия' }).click();
  await message.getByRole('button', { name: 'Пожаловаться' }).click();
  // The reason box has the focus; a reason is required.
  const reason = dialog.getByLabel('Что не так с этим сообщением?');
  assert.equal(await reason.evaluate((element) => element === document.activeElement), true);
  await dialog.getByRole('button', { name: 'Отправить жалобу' }).click();
  await dialog.getByRole('alert').getByText('Напишите причину — от 1 до 500 символов.').waitFor();
  await reason.fill('Давит на одноклассников, чтобы списывать');
  await shots(student.page, 'report-dialog-ru', dialog);
  await student.page.emulateMedia({ colorScheme: 'dark' });
  await shots(student.page, 'report-dialog-dark-ru', dialog);
  await student.page.emulateMedia({ colorScheme: 'light' });
  await dialog.getByRole('button', { name: 'Отправить жалобу' }).click();
  await dialog.waitFor({ state: 'detached' });
  await student.page.getByRole('status').getByText('Жалоба отправлена модераторам').waitFor();
  await shots(student.page, 'report-sent-ru');

  // A reply in a thread is reported from the thread; Escape closes the dialog, not the thread.
  await own.getByRole('button', { name: 'Ответить в треде' }).click();
  const classmateThread = classmate.page.getByRole('complementary', { name: /^Тред: Кто не скинет ответы/ });
  await classmateThread.getByRole('textbox').fill('Я серьёзно, жду до вечера');
  await classmateThread.getByRole('textbox').press('Enter');
  await message.getByRole('button', { name: '1 ответ' }).click();
  const thread = student.page.getByRole('complementary', { name: /^Тред: Кто не скинет ответы/ });
  const reply = thread.locator('li', { hasText: 'Я серьёзно, жду до вечера' });
  await reply.getByRole('button', { name: 'Пожаловаться' }).click();
  await dialog.getByText('Я серьёзно, жду до вечера').waitFor();
  await student.page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await thread.waitFor();
  await focusMovesTo(student.page, 'Пожаловаться');
  await reply.getByRole('button', { name: 'Пожаловаться' }).click();
  await dialog.getByLabel('Что не так с этим сообщением?').fill('Продолжает давить');
  await dialog.getByRole('button', { name: 'Отправить жалобу' }).click();
  await student.page.getByRole('status').getByText('Жалоба отправлена модераторам').waitFor();

  // The school's admin finds both in the queue (newest first), with the text as it was and the reason.
  const reports = (await call(director.page, 'GET', `/orgs/${org.id}/reports`)).body.reports;
  assert.equal(reports.length, 2);
  assert.deepEqual([reports[0].text, reports[0].reason], ['Я серьёзно, жду до вечера', 'Продолжает давить']);
  reports.shift();
  const seq = Number(await message.getAttribute('data-seq'));
  assert.deepEqual(
    { seq: reports[0].seq, reporter: reports[0].reporter_id, author: reports[0].author_id, text: reports[0].text, reason: reports[0].reason },
    { seq, reporter: student.me.id, author: classmate.me.id, text: 'Кто не скинет ответы к контрольной, тот предатель', reason: 'Давит на одноклассников, чтобы списывать' },
  );
});

test('a direct chat between a teacher and a student says that the safeguarding lead may read it', async (t) => {
  const { teacher, student } = await aSchool();
  const direct = await call(teacher.page, 'POST', '/chats', { kind: 'direct', member_ids: [student.me.id] });
  assert.ok(direct.status === 200 || direct.status === 201, JSON.stringify(direct.body));
  if (!('safeguarding' in direct.body)) return t.skip('waits for the server change "safeguarding-flag"');
  assert.equal(direct.body.safeguarding?.org, 'Школа №7');

  const notice = 'Переписку учителя и ученика может прочитать ответственный за безопасность детей в школе «Школа №7».';
  await student.page.goto('/');
  await openChat(student.page, 'Ольга Викторовна');
  await student.page.locator('.safeguarding-note', { hasText: notice }).waitFor();
  await teacher.page.goto('/');
  await openChat(teacher.page, 'Артём Иванов');
  await teacher.page.locator('.safeguarding-note', { hasText: notice }).waitFor();
  await shots(student.page, 'safeguarding-notice-ru');
  // Not in a group such as the class chat.
  await openChat(teacher.page, '5Б · класс');
  assert.equal(await teacher.page.locator('.safeguarding-note').count(), 0);
});

test('a user chooses whether others see their @username', async (t) => {
  const nina = await signedUp('nina', 'Нина Орлова');
  const igor = await signedUp('igor', 'Игорь Ким');
  if (!('show_username' in igor.me)) {
    for (const who of [nina, igor]) await who.context.close();
    return t.skip('waits for the server change "username-privacy"');
  }
  assert.equal(igor.me.show_username, false, 'hidden by default');
  await call(nina.page, 'POST', '/chats', { kind: 'group', title: 'Кружок робототехники', member_ids: [igor.me.id] });

  /** What Nina sees of Igor: his row in the member list, and whether "@ig" suggests him. */
  const ninaSees = async () => {
    await nina.page.reload();
    await openChat(nina.page, 'Кружок робототехники');
    await nina.page.getByRole('button', { name: 'Участники' }).click();
    const row = nina.page.locator('.info li', { hasText: 'Игорь Ким' });
    await row.waitFor();
    await composer(nina.page).fill('@ig');
    const suggested = await nina.page.getByRole('option', { name: '@igor — Игорь Ким' }).count();
    await composer(nina.page).fill('');
    return { row: (await row.textContent()).replace(/\s+/g, ' ').trim(), suggested };
  };

  // Hidden: only his name; she still sees her own username.
  let seen = await ninaSees();
  assert.doesNotMatch(seen.row, /@igor/);
  assert.equal(seen.suggested, 0);
  await nina.page.locator('.info li', { hasText: 'Нина Орлова' }).getByText('@nina').waitFor();

  // He turns it on in Settings.
  await igor.page.goto('/settings');
  const toggle = igor.page.getByRole('switch', { name: 'Показывать моё имя пользователя (@igor) другим участникам' });
  assert.equal(await toggle.isChecked(), false);
  await toggle.check();
  await igor.page.waitForFunction(async () => {
    const response = await fetch('/api/v1/me', { headers: { Authorization: `Bearer ${localStorage.getItem('kolokol.token')}` } });
    return (await response.json()).show_username === true;
  });
  await shots(igor.page, 'settings-privacy-ru', igor.page.locator('section.privacy'));
  seen = await ninaSees();
  assert.match(seen.row, /@igor/);
  assert.equal(seen.suggested, 1);

  // And off again.
  await toggle.uncheck();
  await igor.page.waitForFunction(async () => {
    const response = await fetch('/api/v1/me', { headers: { Authorization: `Bearer ${localStorage.getItem('kolokol.token')}` } });
    return (await response.json()).show_username === false;
  });
  seen = await ninaSees();
  assert.doesNotMatch(seen.row, /@igor/);

  for (const who of [nina, igor]) await who.context.close();
});
