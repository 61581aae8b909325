// End to end, in Russian: a school admin imports a roster and prints claim codes in the web
// client; a parent claims a code (signing up on the way) and lands in her class's chat.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, launchBrowser, person, register, startServer } from './harness.mjs';

const roster = join(import.meta.dirname, '../../../docs/roster-example.csv');

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
  server?.stop();
});

/** Creates an org as the signed-in instance admin (the CLI's job; here through the API). */
async function createOrg(page, name) {
  return page.evaluate(async (orgName) => {
    const response = await fetch('/api/v1/orgs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${localStorage.getItem('kolokol.token')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: orgName }),
    });
    return response.json();
  }, name);
}

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
  await page.getByRole('alert').getByText('строка 2: unknown role "pupil"', { exact: false }).waitFor();

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
  await reach.getByText('Прочитали 1 из 1 · Семьи: прочитали 1 из 5').waitFor();
  await reach.getByText('Подтвердили 1 из 1 · семьи: 1 из 5').waitFor();
  await reach.getByText('5Б · Салимов Тимур Рустамович — Салимова Гульнара Ахмедовна (не подключён(а))').waitFor();
  await teacher.page.screenshot({ path: join(artifacts, 'who-read-ru.png') });
  await teacher.context.close();

  // The admin sees her joined.
  await page.reload();
  const reloaded5b = page.locator('details', { hasText: '5Б' });
  await reloaded5b.getByText('Подключено 2 из 13').waitFor();
  await reloaded5b.getByText('Семьи: подключено 1 из 5').waitFor();
  await page.screenshot({ path: join(artifacts, 'org-reach-ru.png') });
  await parent.context.close();
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
