// End to end, in Russian: a school's admin sets its rules, names a safeguarding lead who reads a
// teacher's chat with a student (and the log shows it), works the moderation queue, and moves the
// classes up at the end of the year; approves a bot for the school's chats and withdraws it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { focusMovesTo, launchBrowser, person, register, startServer } from './harness.mjs';
import { call, claimed as claimedIn, moscow, school, shots } from './school.mjs';

let server;
let browser;
let director;

/** Someone new signs up on this file's server and claims a code. */
const claimed = (...args) => claimedIn(browser, server.base, ...args);

before(async () => {
  server = await startServer(['--admin', 'director']);
  browser = await launchBrowser();
  director = await person(browser, server.base, { timezoneId: 'Europe/Moscow' });
  await register(director.page, 'director', 'Директор Школы');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function policyOf(page, orgId) {
  const orgs = await call(page, 'GET', '/orgs');
  return orgs.body.orgs.find((org) => org.id === orgId).policy;
}

/** The chat of that title among the page user's chats. */
async function chatNamed(page, title) {
  const chats = await call(page, 'GET', '/chats');
  return chats.body.chats.find((chat) => chat.title === title);
}

async function send(page, chatId, text) {
  const sent = await call(page, 'POST', `/chats/${chatId}/messages`, { client_msg_id: crypto.randomUUID(), text });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  return sent.body;
}

test('the admin sets whom students write to, next to quiet hours, and neither is lost', async () => {
  const { page } = director;
  const { org } = await school(page, 'Школа №57');
  await page.goto('/orgs');
  await page.locator('li', { hasText: 'Школа №57' }).getByRole('link', { name: 'Управлять' }).click();
  const sections = page.getByRole('navigation', { name: 'Разделы' });
  await sections.getByRole('link', { name: 'Правила' }).click();
  assert.equal(await sections.getByRole('link', { name: 'Правила' }).getAttribute('aria-current'), 'page');
  assert.equal(new URL(page.url()).pathname, `/orgs/${org.id}/rules`);

  // Quiet hours away from now, so nothing else is held.
  const quiet = page.locator('section.quiet');
  const start = moscow(Date.now() + 2 * 3_600_000);
  const end = moscow(Date.now() + 3 * 3_600_000);
  await quiet.getByLabel('Включить тихие часы').check();
  await quiet.getByLabel('Начало').fill(start);
  await quiet.getByLabel('Конец').fill(end);
  await quiet.getByRole('button', { name: 'Сохранить' }).click();
  await quiet.getByText(`Сейчас: с ${start} до ${end}`).waitFor();

  // The server's default is the tightest: students write only to teachers. The admin lets classmates write to each other.
  const contacts = page.locator('section.contacts');
  await contacts.getByText('Сейчас действует: «Ученики пишут только учителям»').waitFor();
  assert.ok(await contacts.getByLabel('Ученики пишут только учителям').isChecked());
  await contacts.getByLabel('Ученики пишут только одноклассникам и учителям').check();
  await contacts.getByRole('button', { name: 'Сохранить' }).click();
  await contacts.getByRole('status').getByText('Сохранено').waitFor();
  await contacts.getByText('Сейчас действует: «Ученики пишут только одноклассникам и учителям»').waitFor();
  assert.deepEqual(await policyOf(page, org.id), { quiet_hours: { start, end, weekends: false }, student_contacts: 'class', allowed_bots: [] });
  await shots(page, 'org-rules-ru', contacts);

  // After a reload it is still chosen; saving quiet hours again keeps it.
  await page.reload();
  await contacts.getByText('Сейчас действует: «Ученики пишут только одноклассникам и учителям»').waitFor();
  assert.ok(await contacts.getByLabel('Ученики пишут только одноклассникам и учителям').isChecked());
  await quiet.getByLabel('и выходные', { exact: false }).check();
  await quiet.getByRole('button', { name: 'Сохранить' }).click();
  await quiet.getByText(`Сейчас: с ${start} до ${end} и выходные`).waitFor();
  assert.deepEqual(await policyOf(page, org.id), { quiet_hours: { start, end, weekends: true }, student_contacts: 'class', allowed_bots: [] });
});

/** Screenshots at a desk and on a phone, light, then dark. */
async function lightAndDark(page, name, subject) {
  await shots(page, name, subject);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shots(page, `${name}-dark`, subject);
  await page.emulateMedia({ colorScheme: 'light' });
}

test('the admin gives the school’s files 5 GB and 30 days, sees them kept, then goes back to the defaults', async () => {
  const { page } = director;
  const { org } = await school(page, 'Школа №58');
  await page.goto(`/orgs/${org.id}/rules`);
  const files = page.locator('section.files');
  await files.getByRole('heading', { name: 'Файлы' }).waitFor();
  await files.getByText('Сейчас: место для файлов — как задано на сервере (обычно 100 ГБ); файлы хранятся, пока есть их сообщения').waitFor();
  const quota = files.getByLabel('Место для файлов, ГБ');
  const days = files.getByLabel('Через сколько дней удалять (от 1 до 3650)');
  const always = files.getByLabel('Пока есть сообщения, к которым они приложены');
  const afterDays = files.getByLabel('Удалять через заданное число дней после отправки');
  assert.equal(await quota.inputValue(), '');
  assert.ok(await always.isChecked());
  assert.ok(await days.isDisabled());
  const save = files.getByRole('button', { name: 'Сохранить' });

  // 0 days and 0 GB: both fields say what is wrong, nothing is saved.
  await quota.fill('0');
  await afterDays.check();
  await files.getByText('Уже отправленные файлы старше этого срока удалятся', { exact: false }).waitFor();
  await days.fill('0');
  await save.click();
  await files.getByRole('alert').filter({ hasText: 'Укажите размер в гигабайтах' }).waitFor();
  await files.getByRole('alert').filter({ hasText: 'Укажите целое число дней от 1 до 3650.' }).waitFor();
  assert.equal(await quota.getAttribute('aria-invalid'), 'true');
  assert.equal(await days.getAttribute('aria-invalid'), 'true');
  assert.match(await quota.getAttribute('aria-describedby'), /files-quota-error/);
  assert.equal(await days.getAttribute('aria-describedby'), 'files-days-error');
  assert.equal(await quota.evaluate((input) => input === document.activeElement), true);
  await lightAndDark(page, 'org-files-invalid-ru', days);
  // Fixing the room leaves the days' error; saving still sends nothing, and the days get the focus.
  await quota.fill('5');
  assert.equal(await quota.getAttribute('aria-invalid'), null);
  await save.click();
  assert.equal(await files.getByRole('alert').count(), 1);
  assert.equal(await days.evaluate((input) => input === document.activeElement), true);
  assert.deepEqual(await policyOf(page, org.id), { quiet_hours: null, student_contacts: 'staff', allowed_bots: [] });

  // 5 GB and 30 days: saved in MiB; after a reload the form and the sentence show them.
  await days.fill('30');
  assert.equal(await files.getByRole('alert').count(), 0);
  await save.click();
  await files.getByRole('status').getByText('Сохранено').waitFor();
  const inForce = 'Сейчас: место для файлов — 5 ГБ; файлы удаляются через 30 дней после отправки';
  await files.getByText(inForce).waitFor();
  assert.deepEqual(await policyOf(page, org.id),
    { quiet_hours: null, student_contacts: 'staff', allowed_bots: [], media_quota_mb: 5120, media_retention_days: 30 });
  await page.reload();
  await files.getByText(inForce).waitFor();
  assert.equal(await quota.inputValue(), '5');
  assert.ok(await afterDays.isChecked());
  assert.equal(await days.inputValue(), '30');
  await lightAndDark(page, 'org-files-ru', days);

  // The other rules' forms send the files rules along, so saving them keeps these.
  const quiet = page.locator('section.quiet');
  await quiet.getByLabel('Включить тихие часы').check();
  await quiet.getByLabel('Начало').fill('21:00');
  await quiet.getByLabel('Конец').fill('07:00');
  await quiet.getByRole('button', { name: 'Сохранить' }).click();
  await quiet.getByText('Сейчас: с 21:00 до 07:00').waitFor();
  assert.deepEqual(await policyOf(page, org.id), {
    quiet_hours: { start: '21:00', end: '07:00', weekends: false }, student_contacts: 'staff', allowed_bots: [],
    media_quota_mb: 5120, media_retention_days: 30,
  });

  // A refusal from the server is shown in words, and nothing changes.
  await page.route('**/api/v1/orgs/*/policy', (route) => route.continue({
    postData: JSON.stringify({ ...route.request().postDataJSON(), media_retention_days: 0 }),
  }));
  await days.fill('31');
  await save.click();
  await files.getByRole('alert').getByText('Сервер не принял эти значения', { exact: false }).waitFor();
  await page.unroute('**/api/v1/orgs/*/policy');
  assert.equal((await policyOf(page, org.id)).media_retention_days, 30);
  await files.getByText(inForce).waitFor();

  // Back to the defaults: an empty room and files kept while their messages are.
  await quota.fill('');
  await always.check();
  assert.ok(await days.isDisabled());
  await save.click();
  await files.getByRole('status').getByText('Сохранено').waitFor();
  await files.getByText('Сейчас: место для файлов — как задано на сервере (обычно 100 ГБ); файлы хранятся, пока есть их сообщения').waitFor();
  assert.deepEqual(await policyOf(page, org.id),
    { quiet_hours: { start: '21:00', end: '07:00', weekends: false }, student_contacts: 'staff', allowed_bots: [] });
  await page.reload();
  assert.equal(await quota.inputValue(), '');
  assert.ok(await always.isChecked());
});

test('a safeguarding lead reads a teacher’s chat with a student; the log shows the reading', async () => {
  const { page } = director;
  const { org, codeOf } = await school(page, 'Школа №1');
  const teacher = await claimed('smirnova_sg', 'Ольга Викторовна', codeOf('Смирнова Ольга Викторовна'));
  const student = await claimed('artem_sg', 'Артём', codeOf('Иванов Артём Сергеевич'), { chat: '5Б · класс' });
  const studentId = (await call(student.page, 'GET', '/me')).body.id;

  // The class teacher writes to the student directly: 51 messages, one more than a page.
  const direct = await call(teacher.page, 'POST', '/chats', { kind: 'direct', member_ids: [studentId] });
  assert.equal(direct.status, 201, JSON.stringify(direct.body));
  await send(teacher.page, direct.body.id, 'Первое сообщение: Артём, привет!');
  for (let i = 1; i < 50; i += 1) await send(teacher.page, direct.body.id, `Задание ${i}`);
  await send(teacher.page, direct.body.id, 'Артём, зайди после уроков за тетрадью');
  await send(student.page, direct.body.id, 'Хорошо, зайду');

  // The admin names the school psychologist the lead, by username.
  const lead = await person(browser, server.base, { timezoneId: 'Europe/Moscow' });
  await register(lead.page, 'psychologist', 'Анна Психолог');
  await page.goto(`/orgs/${org.id}/roles`);
  const roles = page.locator('section.roles');
  await roles.locator('li', { hasText: 'Директор Школы' }).getByText('Администратор').waitFor();
  await roles.getByLabel('Имя пользователя').fill('nobody_here');
  await roles.getByRole('button', { name: 'Назначить' }).click();
  await roles.getByRole('alert').getByText('Нет пользователя с таким именем', { exact: false }).waitFor();
  await roles.getByLabel('Имя пользователя').fill('psychologist');
  await roles.getByLabel('Ответственный за защиту детей').check();
  await roles.getByRole('button', { name: 'Назначить' }).click();
  await roles.getByRole('status').getByText('psychologist: назначена роль «Ответственный за защиту детей»').waitFor();
  const leadRow = roles.locator('li', { hasText: 'Анна Психолог' });
  await leadRow.getByText('Ответственный за защиту детей').waitFor();

  // The last admin cannot be removed, and the page says why.
  await roles.getByRole('button', { name: 'Снять роль «Администратор» у Директор Школы' }).click();
  await roles.getByRole('alert').getByText('В школе должен остаться хотя бы один администратор', { exact: false }).waitFor();
  await shots(page, 'org-roles-ru', roles);

  // An admin who is not the lead has no way in.
  assert.equal(await page.getByRole('link', { name: 'Защита детей' }).count(), 0);
  await page.goto(`/orgs/${org.id}/safeguarding`);
  await page.getByRole('alert').getByText('Эту страницу видит только ответственный за защиту детей', { exact: false }).waitFor();

  // The lead finds the page from the schools list: no admin sections for her.
  await lead.page.goto('/orgs');
  const entry = lead.page.locator('li', { hasText: 'Школа №1' });
  assert.equal(await entry.getByRole('link', { name: 'Управлять' }).count(), 0);
  await entry.getByRole('link', { name: 'Защита детей' }).click();
  const review = lead.page.locator('section.lead');
  await review.getByRole('note').getByText('Каждое прочтение записывается в журнал школы', { exact: false }).waitFor();
  const pair = review.getByRole('button', { name: /Смирнова Ольга Викторовна.*Иванов Артём Сергеевич/ });
  await shots(lead.page, 'safeguarding-list-ru', pair);
  await pair.click();
  const log = review.getByRole('list', { name: 'Переписка: Смирнова Ольга Викторовна и Иванов Артём Сергеевич' });
  await log.locator('li', { hasText: 'Хорошо, зайду' }).getByText('Иванов Артём Сергеевич').waitFor();
  await log.locator('li', { hasText: 'Артём, зайди после уроков за тетрадью' }).getByText('Смирнова Ольга Викторовна').waitFor();
  assert.equal(await log.locator('li').count(), 50);
  assert.equal(await log.getByText('Первое сообщение', { exact: false }).count(), 0);
  await shots(lead.page, 'safeguarding-chat-ru', log.locator('li').last());
  await shots(lead.page, 'safeguarding-chat-top-ru', review.getByRole('heading', { name: 'Смирнова Ольга Викторовна ↔ Иванов Артём Сергеевич' }));
  await review.getByRole('button', { name: 'Раньше' }).click();
  await log.locator('li').first().getByText('Первое сообщение: Артём, привет!').waitFor();
  assert.equal(await log.locator('li').count(), 52);
  await review.getByRole('button', { name: 'Раньше' }).waitFor({ state: 'detached' });

  // She is not an admin: the org's own page says so.
  await lead.page.goto(`/orgs/${org.id}`);
  await lead.page.getByRole('alert').getByText('Управлять школой могут только её администраторы.').waitFor();
  assert.equal(await lead.page.getByRole('navigation', { name: 'Разделы' }).count(), 0);

  // The admin sees each reading in the log, by name.
  await page.goto(`/orgs/${org.id}/audit`);
  const audit = page.locator('section.audit');
  const readings = audit.locator('li', { hasText: 'Анна Психолог — прочитал(а) переписку сотрудника с учеником' });
  await readings.first().waitFor();
  assert.equal(await readings.count(), 2);
  // She read a chat the admin is not in: named, not linked.
  await readings.first().getByText(`чат №${direct.body.id}`).waitFor();
  assert.equal(await readings.first().getByRole('link').count(), 0);
  await audit.locator('li', { hasText: 'Директор Школы — назначил(а) роль' }).getByText('Анна Психолог «Ответственный за защиту детей»').waitFor();
  await shots(page, 'org-audit-ru', readings.first());

  // Taking the role back closes the page to her.
  await page.goto(`/orgs/${org.id}/roles`);
  await roles.getByRole('button', { name: 'Снять роль «Ответственный за защиту детей» у Анна Психолог' }).click();
  await leadRow.waitFor({ state: 'detached' });
  await lead.page.goto(`/orgs/${org.id}/safeguarding`);
  await lead.page.getByRole('alert').getByText('Эту страницу видит только ответственный за защиту детей', { exact: false }).waitFor();
  assert.equal((await call(lead.page, 'GET', `/orgs/${org.id}/safeguarding/chats`)).status, 403);

  for (const who of [teacher, student, lead]) await who.context.close();
});

test('a member reports messages; the admin deletes one and keeps the other', async () => {
  const { page } = director;
  const { org, codeOf } = await school(page, 'Школа №2');
  const author = await claimed('ivanova_mod', 'Мария Иванова', codeOf('Иванова Мария Петровна'));
  const reporter = await claimed('petrova_mod', 'Екатерина Петрова', codeOf('Петрова Екатерина Юрьевна'));
  const chat = await chatNamed(author.page, '5Б · родители');
  const advert = await send(author.page, chat.id, 'Продаю <b>шубу</b>, недорого! Пишите в личку');
  const question = await send(author.page, chat.id, 'Кто знает, когда собрание?');
  for (const [message, reason] of [[advert, 'Реклама в чате класса'], [question, 'Не по теме']]) {
    const reported = await call(reporter.page, 'POST', `/chats/${chat.id}/messages/${message.seq}/report`, { reason });
    assert.equal(reported.status, 204, JSON.stringify(reported.body));
  }

  await page.goto(`/orgs/${org.id}`);
  await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Жалобы' }).click();
  const queue = page.locator('section.reports');
  const advertReport = queue.locator('article', { hasText: 'Реклама в чате класса' });
  // The text as it was, shown as text; who reported and who wrote it; the chat.
  await advertReport.getByText('Продаю <b>шубу</b>, недорого! Пишите в личку').waitFor();
  await advertReport.getByText('Пожаловался(ась): Екатерина Петрова').waitFor();
  await advertReport.getByText('Автор сообщения: Мария Иванова', { exact: false }).waitFor();
  assert.equal(await advertReport.getByRole('link', { name: `чат №${chat.id}` }).getAttribute('href'), `/chat/${chat.id}`);
  await shots(page, 'org-reports-ru', advertReport);

  await advertReport.getByRole('button', { name: 'Удалить сообщение' }).click();
  await advertReport.getByRole('status').getByText('Сообщение удалено · вы', { exact: false }).waitFor();
  const questionReport = queue.locator('article', { hasText: 'Не по теме' });
  await questionReport.getByRole('button', { name: 'Оставить' }).click();
  await questionReport.getByRole('status').getByText('Оставлено · вы', { exact: false }).waitFor();

  // For everyone: the advert is gone, the question stays.
  const history = (await call(author.page, 'GET', `/chats/${chat.id}/messages`)).body.messages;
  assert.equal(history.find((m) => m.seq === advert.seq).deleted, true);
  assert.equal(history.find((m) => m.seq === question.seq).deleted, false);

  // Nothing open is left; the resolved ones are there on request; the log has both.
  await page.reload();
  await queue.getByText('Новых жалоб нет.').waitFor();
  await queue.getByLabel('Показать и рассмотренные').check();
  await advertReport.getByText('Сообщение удалено', { exact: false }).waitFor();
  assert.equal(await queue.getByRole('button', { name: 'Удалить сообщение' }).count(), 0);
  await shots(page, 'org-reports-resolved-ru', questionReport);
  await page.getByRole('link', { name: 'Журнал' }).click();
  const resolved = page.locator('section.audit li', { hasText: 'Директор Школы — рассмотрел(а) жалобу' });
  await resolved.first().waitFor();
  assert.equal(await resolved.count(), 2);

  for (const who of [author, reporter]) await who.context.close();
});

test('the year-end rollover: a dry run shows the moves, the real run renames the classes, a second is refused', async () => {
  const { page } = director;
  const { org } = await school(page, 'Школа №3');
  await page.goto(`/orgs/${org.id}/year`);
  const year = page.locator('section.rollover');
  assert.equal(await year.getByLabel('Выпускной класс').inputValue(), '11');

  // With 7 as the final grade, 7А would leave.
  await year.getByLabel('Выпускной класс').fill('7');
  await year.getByRole('button', { name: 'Проверить' }).click();
  const plan = year.getByRole('status').filter({ hasText: 'Вот что изменится' });
  await plan.getByText(/^7А → 7А \(выпуск \d{4}\)$/).waitFor();
  await plan.getByText('5Б → 6Б').waitFor();

  await year.getByLabel('Выпускной класс').fill('11');
  await year.getByRole('button', { name: 'Проверить' }).click();
  await plan.getByText('7А → 8А').waitFor();
  await plan.getByText('5Б → 6Б').waitFor();
  assert.equal(await plan.getByText('выпуск', { exact: false }).count(), 0);
  // Nothing has changed yet.
  const before = await call(page, 'GET', `/orgs/${org.id}/roster`);
  assert.deepEqual(before.body.units.map((unit) => unit.name).sort(), ['5Б', '7А']);
  await shots(page, 'org-rollover-plan-ru', year.getByRole('button', { name: 'Перевести классы' }));

  await year.getByRole('button', { name: 'Перевести классы' }).click();
  await year.getByRole('status').filter({ hasText: 'Классы переведены' }).getByText('5Б → 6Б').waitFor();
  const after = await call(page, 'GET', `/orgs/${org.id}/roster`);
  assert.deepEqual(after.body.units.map((unit) => unit.name).sort(), ['6Б', '8А']);
  await page.getByRole('link', { name: 'Списки' }).click();
  await page.locator('details summary', { hasText: '6Б' }).waitFor();
  await page.locator('details summary', { hasText: '8А' }).waitFor();

  // Once a school year.
  await page.getByRole('link', { name: 'Новый учебный год' }).click();
  await year.getByRole('button', { name: 'Проверить' }).click();
  await year.getByRole('alert').getByText('Перевод не выполнен', { exact: false }).waitFor();
  await year.getByRole('alert').getByText('Ответ сервера: this school year was rolled over on', { exact: false }).waitFor();
  await shots(page, 'org-rollover-refused-ru', year.getByRole('alert'));
});

test('the admin approves a bot someone made; only then can a teacher add it to a class chat; the log shows both ways', async () => {
  const { page } = director;
  const { org, codeOf } = await school(page, 'Школа №4');
  const teacher = await claimed('smirnova_bots', 'Ольга Викторовна', codeOf('Смирнова Ольга Викторовна'));

  // Someone outside the school makes the e-diary bot; its program names its commands.
  const developer = await person(browser, server.base);
  await register(developer.page, 'diary_dev', 'Разработчик Дневника');
  const made = await call(developer.page, 'POST', '/bots', { username: 'diary_bot', name: 'Электронный дневник' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const bot = made.body.bot;
  for (const [path, body] of [['/me', { description: 'Оценки и домашние задания' }],
    ['/me/commands', { commands: [{ name: 'marks', description: 'Мои оценки' }, { name: 'homework', description: 'Домашнее задание' }] }]]) {
    const response = await fetch(`${server.base}/bot-api${path}`, {
      method: 'PATCH', headers: { Authorization: made.body.token, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.text());
  }

  // Not approved yet: the class teacher cannot add it, and her chat says why.
  const chat = await chatNamed(teacher.page, '5Б · родители');
  await teacher.page.goto(`/chat/${chat.id}`);
  await teacher.page.getByRole('button', { name: 'Участники' }).click();
  const adding = teacher.page.getByRole('form', { name: 'Добавить участника' });
  await adding.getByLabel('Имя пользователя').fill('diary_bot');
  await adding.getByRole('button', { name: 'Добавить' }).click();
  await adding.getByRole('alert').getByText('Этого бота нельзя добавить: в чаты школы можно добавлять только ботов, которых одобрили её администраторы. Попросите администратора школы одобрить @diary_bot в разделе «Боты».').waitFor();
  await shots(teacher.page, 'chat-add-bot-refused-ru', adding);

  // The admin's «Боты»: nothing approved; a wrong name, and a person's, are not bots.
  await page.goto(`/orgs/${org.id}`);
  const sections = page.getByRole('navigation', { name: 'Разделы' });
  await sections.getByRole('link', { name: 'Боты' }).click();
  assert.equal(new URL(page.url()).pathname, `/orgs/${org.id}/bots`);
  const bots = page.locator('section.org-bots');
  await bots.getByText('Ученики школы могут открыть только этих ботов.').waitFor();
  await bots.getByText('Одобренных ботов пока нет.').waitFor();
  const approve = bots.getByRole('form', { name: 'Одобрить бота' });
  for (const wrong of ['no_such_bot', 'diary_dev']) {
    await approve.getByLabel('Имя пользователя бота').fill(wrong);
    assert.equal(await bots.getByRole('alert').count(), 0);
    await approve.getByRole('button', { name: 'Одобрить' }).click();
    await bots.getByRole('alert').getByText('Такого бота нет').waitFor();
  }
  await approve.getByLabel('Имя пользователя бота').fill('@Diary_Bot');
  await approve.getByRole('button', { name: 'Одобрить' }).click();
  await approve.getByRole('status').getByText('@diary_bot одобрен').waitFor();
  const card = bots.getByRole('article', { name: /Электронный дневник/ });
  await card.getByText('@diary_bot').waitFor();
  await card.getByText('Оценки и домашние задания').waitFor();
  await card.locator('li', { hasText: '/marks' }).getByText('Мои оценки').waitFor();
  await card.locator('li', { hasText: '/homework' }).getByText('Домашнее задание').waitFor();
  assert.deepEqual((await call(page, 'GET', `/orgs/${org.id}/bots`)).body.bots.map((b) => b.id), [bot.id]);
  await shots(page, 'org-bots-ru', card);

  // Approved: the teacher adds it, and it is a member, with its badge.
  await adding.getByRole('button', { name: 'Добавить' }).click();
  await teacher.page.locator('.info li', { hasText: 'Электронный дневник' }).getByText('бот').waitFor();
  assert.ok((await call(teacher.page, 'GET', `/chats/${chat.id}/members`)).body.members.some((m) => m.user.id === bot.id));

  // Withdrawing asks first; cancelling keeps it.
  await card.getByRole('button', { name: 'Отозвать одобрение бота Электронный дневник (@diary_bot)' }).click();
  const question = card.getByRole('group');
  await question.getByText('Из чатов, куда его уже добавили, он не удаляется', { exact: false }).waitFor();
  await focusMovesTo(page, 'Отозвать');
  await shots(page, 'org-bots-confirm-ru', question);
  await question.getByRole('button', { name: 'Отмена' }).click();
  await question.waitFor({ state: 'detached' });
  assert.equal((await call(page, 'GET', `/orgs/${org.id}/bots`)).body.bots.length, 1);
  await card.getByRole('button', { name: 'Отозвать одобрение бота Электронный дневник (@diary_bot)' }).click();
  await question.getByRole('button', { name: 'Отозвать' }).click();
  await bots.getByRole('status').getByText('@diary_bot: одобрение отозвано').waitFor();
  await bots.getByText('Одобренных ботов пока нет.').waitFor();
  assert.deepEqual((await call(page, 'GET', `/orgs/${org.id}/bots`)).body.bots, []);

  // The log names the bot both times.
  await sections.getByRole('link', { name: 'Журнал' }).click();
  const audit = page.locator('section.audit');
  const allowed = audit.locator('li', { hasText: 'Директор Школы — одобрил(а) бота' });
  await allowed.getByText('бот «Электронный дневник» (@diary_bot)').waitFor();
  await audit.locator('li', { hasText: 'Директор Школы — отозвал(а) одобрение бота' }).getByText('бот «Электронный дневник» (@diary_bot)').waitFor();
  await shots(page, 'org-audit-bots-ru', allowed);

  for (const who of [teacher, developer]) await who.context.close();
});

test('the instance admin creates an organisation in the web client and lands on its page; nobody else sees the form', async () => {
  const { page } = director;
  assert.equal((await call(page, 'GET', '/me')).body.instance_admin, true);
  await page.goto('/orgs');
  const form = page.getByRole('form', { name: 'Создать организацию' });
  await form.getByText('Вы станете её администратором', { exact: false }).waitFor();
  const zone = form.getByLabel('Часовой пояс (по нему считаются тихие часы)');
  assert.equal(await zone.inputValue(), 'Europe/Moscow');
  await form.getByLabel('Название организации').fill('Гимназия №9 «Лидер»');
  await zone.selectOption('Asia/Yekaterinburg');
  await lightAndDark(page, 'org-create-ru', form);

  // A refusal (here a time zone the server does not know) is said in words, and nothing is created.
  await page.route('**/api/v1/orgs', (route) => route.request().method() === 'POST'
    ? route.continue({ postData: JSON.stringify({ ...route.request().postDataJSON(), time_zone: 'Mars/Olympus_Mons' }) })
    : route.continue());
  await form.getByRole('button', { name: 'Создать организацию' }).click();
  await form.getByRole('alert').getByText('Проверьте название (от 1 до 100 символов) и часовой пояс.').waitFor();
  await page.unroute('**/api/v1/orgs');
  assert.equal((await call(page, 'GET', '/orgs')).body.orgs.some((o) => o.name === 'Гимназия №9 «Лидер»'), false);

  await form.getByRole('button', { name: 'Создать организацию' }).click();
  await page.getByRole('heading', { name: 'Гимназия №9 «Лидер»' }).waitFor();
  const org = (await call(page, 'GET', '/orgs')).body.orgs.find((o) => o.name === 'Гимназия №9 «Лидер»');
  assert.equal(new URL(page.url()).pathname, `/orgs/${org.id}`);
  assert.equal(org.time_zone, 'Asia/Yekaterinburg');
  assert.deepEqual(org.roles, ['admin']);
  // Its page says what comes next: the roster, on the tab it opens on.
  const next = page.getByRole('status').filter({ hasText: 'Организация «Гимназия №9 «Лидер»» создана' });
  await next.getByText('Следующий шаг — загрузите список классов (CSV)', { exact: false }).waitFor();
  assert.equal(await page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Списки' }).getAttribute('aria-current'), 'page');
  await page.getByRole('heading', { name: 'Загрузить список (CSV)' }).waitFor();
  await lightAndDark(page, 'org-created-ru', next);
  await page.reload();
  await page.getByRole('heading', { name: 'Загрузить список (CSV)' }).waitFor();
  assert.equal(await page.getByText('Следующий шаг', { exact: false }).count(), 0);
  // The log begins with it.
  await page.goto(`/orgs/${org.id}/audit`);
  await page.locator('section.audit li', { hasText: 'Директор Школы — создал(а) организацию' }).waitFor();
  // The schools list has it, to manage.
  await page.goto('/orgs');
  await page.locator('li', { hasText: 'Гимназия №9 «Лидер»' }).getByRole('link', { name: 'Управлять' }).waitFor();

  // Someone who is not one of the server's admins has no form, and the server refuses them anyway.
  const other = await person(browser, server.base);
  await register(other.page, 'not_an_admin', 'Просто Учитель');
  assert.equal((await call(other.page, 'GET', '/me')).body.instance_admin, false);
  await other.page.goto('/orgs');
  await other.page.getByText('Вы пока не состоите ни в одной организации.').waitFor();
  assert.equal(await other.page.getByRole('button', { name: 'Создать организацию' }).count(), 0);
  assert.equal(await other.page.getByRole('form').count(), 0);
  assert.equal((await call(other.page, 'POST', '/orgs', { name: 'Своя школа' })).status, 403);
  await other.context.close();
});

test('the admin gives one parent a new code: it asks first, the old code stops working, the new one lets her in', async () => {
  const { page } = director;
  const { org, codeOf } = await school(page, 'Школа №6');
  const oldCode = codeOf('Петрова Екатерина Юрьевна');
  await page.goto(`/orgs/${org.id}`);
  const class5b = page.locator('details', { hasText: '5Б' });
  const row = class5b.locator('tr', { hasText: 'Петрова Екатерина Юрьевна' });
  const ask = row.getByRole('button', { name: 'Новый код: Петрова Екатерина Юрьевна' });

  // Asking first; «Отмена» keeps the old code and puts the focus back.
  await ask.click();
  const question = row.getByRole('group');
  await question.getByText('Выдать новый код для «Петрова Екатерина Юрьевна»? Прежний код этого человека сразу перестанет работать.').waitFor();
  await focusMovesTo(page, 'Выдать код');
  await shots(page, 'org-new-code-confirm-ru', question);
  await question.getByRole('button', { name: 'Отмена' }).click();
  await question.waitFor({ state: 'detached' });
  await focusMovesTo(page, 'Новый код: Петрова Екатерина Юрьевна');

  await ask.click();
  await question.getByRole('button', { name: 'Выдать код' }).click();
  const codes = page.locator('section.codes');
  await codes.getByRole('heading', { name: 'Новый код · Петрова Екатерина Юрьевна' }).waitFor();
  await focusMovesTo(page, 'Новый код · Петрова Екатерина Юрьевна');
  // One card, hers, with both her places; ready to print.
  assert.equal(await codes.locator('article.card').count(), 1);
  const card = codes.locator('article.card');
  await card.getByText('5Б — родитель: Петрова Алёна Дмитриевна', { exact: false }).waitFor();
  await card.getByText('7А — родитель: Петров Максим Дмитриевич', { exact: false }).waitFor();
  await codes.getByRole('button', { name: 'Печать' }).waitFor();
  const newCode = (await card.locator('.code').textContent()).trim();
  assert.match(newCode, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  assert.notEqual(newCode, oldCode);
  await shots(page, 'org-new-code-ru', card);

  // The old code is refused; the new one links her account to both classes.
  const stranger = await person(browser, server.base);
  await register(stranger.page, 'petrova_old', 'Екатерина');
  const refused = await call(stranger.page, 'POST', '/claim', { code: oldCode });
  assert.ok([404, 410].includes(refused.status), JSON.stringify(refused));
  await stranger.context.close();
  const parent = await claimed('petrova_new', 'Екатерина Петрова', newCode);
  await parent.page.locator('nav a', { hasText: '7А · родители' }).waitFor();
  // Nobody else's code changed.
  const neighbour = await claimed('ivanova_new', 'Мария Иванова', codeOf('Иванова Мария Петровна'));
  for (const who of [parent, neighbour]) await who.context.close();

  // Joined now: no «Новый код» for her.
  await page.reload();
  await row.getByText('✓ подключён(а)').waitFor();
  assert.equal(await row.getByRole('button', { name: /Новый код/ }).count(), 0);
});

test('in English: the org pages, a refused roster line, a new code and the create form', async () => {
  const { page } = director;
  const { org } = await school(page, 'School No. 7');
  const english = await person(browser, server.base, { locale: 'en-US', timezoneId: 'Europe/Moscow' });
  const en = english.page;
  await en.goto('/');
  await en.getByRole('heading', { name: 'Sign in' }).waitFor();
  await en.locator('input[name=username]').fill('director');
  await en.locator('input[name=password]').fill('correct horse battery');
  await en.locator('form button[type=submit]').click();
  await en.getByRole('heading', { name: 'Chats' }).waitFor();
  assert.equal(await en.evaluate(() => document.documentElement.lang), 'en');

  await en.getByRole('button', { name: 'Schools and organisations' }).click();
  await en.getByRole('heading', { name: 'Schools and organisations' }).waitFor();
  const form = en.getByRole('form', { name: 'Create an organisation' });
  await form.getByLabel('Time zone (quiet hours follow it)').waitFor();
  await form.getByRole('option', { name: 'Moscow (UTC+3)' }).waitFor({ state: 'attached' });
  await shots(en, 'org-create-en', form);
  await en.locator('li', { hasText: 'School No. 7' }).getByRole('link', { name: 'Manage' }).click();
  await en.getByRole('heading', { name: 'School No. 7' }).waitFor();
  const sections = en.getByRole('navigation', { name: 'Sections' });
  for (const tab of ['Rosters', 'Rules', 'Roles', 'Bots', 'Reports', 'Log', 'New school year']) await sections.getByRole('link', { name: tab }).waitFor();
  await en.getByRole('heading', { name: 'Upload the roster (CSV)' }).waitFor();
  await en.getByRole('heading', { name: 'Classes' }).waitFor();
  const class5b = en.locator('details', { hasText: '5Б' });
  await class5b.getByText('0 of 13 joined').waitFor();
  await class5b.getByRole('button', { name: 'New code: Иванова Мария Петровна' }).click();
  await class5b.getByRole('group').getByText('Issue a new code for Иванова Мария Петровна? Their old code stops working at once.').waitFor();
  await class5b.getByRole('button', { name: 'Cancel' }).click();

  // A bad file: the lines in English, as the file must be written.
  await en.locator('input[name=roster]').setInputFiles({
    name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('role,class,name,child\npupil,5Б,Иванов\nguardian,5Б,Иванова,\n'),
  });
  const refusal = en.getByRole('alert').filter({ hasText: 'The file has errors; nothing was imported:' });
  await refusal.getByText('line 2: unknown role "pupil": use student, guardian, class_teacher or teacher').waitFor();
  await refusal.getByText("line 3: a guardian needs the child's name in the child column").waitFor();
  await shots(en, 'org-roster-errors-en', refusal);

  await sections.getByRole('link', { name: 'Rules' }).click();
  await en.getByRole('heading', { name: 'Quiet hours' }).waitFor();
  await en.getByRole('heading', { name: 'Files' }).waitFor();
  await sections.getByRole('link', { name: 'Log' }).click();
  await en.locator('section.audit li', { hasText: 'issued claim codes' }).first().waitFor();
  await english.context.close();
  assert.equal(org.name, 'School No. 7');
});
