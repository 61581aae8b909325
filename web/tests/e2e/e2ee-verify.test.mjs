// Verifying encryption through the web client: Anna (desktop) and Boris (a 360 px phone) open
// «Проверить шифрование» in their encrypted direct chat and see the same 60-digit safety number,
// the same QR code and the same epoch code; Anna marks Boris verified. Boris then signs in on a
// second browser (a new device): Anna's page adds it, warns that his keys changed, takes the mark
// away, and the safety number is another. A group's screen lists its members, and its epoch code
// is the same for everyone. Screenshots at 360 px and desktop, light and dark, go to web/test-results/.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import decodeQR from 'qr/decode.js';
import { artifacts, launchBrowser, person, register, startServer } from './harness.mjs';
import { PHONE } from './school.mjs';

let server;
let browser;
let anna;
let boris;
let borisLaptop;
let vera;
/** The safety number Anna and Boris compared first. */
let firstNumber;

const PASSWORD = 'correct horse battery';
const GROUP = 'Родительский комитет 5Б';

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  anna = await person(browser, server.base);
  boris = await person(browser, server.base, { viewport: PHONE });
  vera = await person(browser, server.base, { colorScheme: 'dark' });
  for (const who of [anna, boris, vera]) watch(who.page);
  await register(anna.page, 'anna', 'Анна Петрова');
  await register(boris.page, 'boris', 'Борис Иванов');
  await register(vera.page, 'vera', 'Вера Сидорова');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function watch(page) {
  page.on('console', (message) => {
    if (message.type() === 'error' && !/409|404/.test(message.text())) console.error(`page console: ${message.text()}`);
  });
}

function composer(page) {
  return page.locator('form.composer textarea');
}

async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

function verifyButton(page) {
  return page.locator('section.chat .head .verify-open');
}

function dialog(page) {
  return page.locator('dialog.verify');
}

/** Opens Verify from the chat's header. */
async function openVerify(page) {
  await verifyButton(page).click();
  await dialog(page).waitFor();
}

async function closeVerify(page) {
  await dialog(page).getByRole('button', { name: /^(Закрыть|Close)$/ }).click();
  await dialog(page).waitFor({ state: 'detached' });
}

/** The groups of digits a list on the Verify screen shows, as one string. */
async function digits(list) {
  return (await list.locator('li').allTextContents()).join(' ');
}

async function safetyNumber(page) {
  const list = dialog(page).locator('ol.safety');
  await list.locator('li').nth(11).waitFor();
  return digits(list);
}

async function epochCode(page) {
  const list = dialog(page).locator('.epoch ol');
  await list.locator('li').nth(5).waitFor();
  return digits(list);
}

/** What the QR code drawn on the Verify screen says, read back from its pixels as a camera would. */
async function qrText(page) {
  const qr = dialog(page).locator('svg.qr');
  await qr.waitFor();
  const image = await qr.evaluate(async (svg) => {
    const size = 480;
    const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: 'image/svg+xml' }));
    const picture = new Image(size, size);
    picture.src = url;
    await picture.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const context = canvas.getContext('2d');
    context.drawImage(picture, 0, 0, size, size);
    URL.revokeObjectURL(url);
    return { width: size, height: size, data: Array.from(context.getImageData(0, 0, size, size).data) };
  });
  return decodeQR({ width: image.width, height: image.height, data: Uint8Array.from(image.data) });
}

/** Waits until `read` gives the same value on every page (epochs move as commits are processed). */
async function sameOnAll(pages, read, timeout = 20_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const values = await Promise.all(pages.map(read));
    if (values.every((value) => value === values[0])) return values[0];
    if (Date.now() > until) assert.fail(`not the same everywhere: ${JSON.stringify(values)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function shot(page, name) {
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

async function shotsLightDark(page, name) {
  await page.emulateMedia({ colorScheme: 'light' });
  await shot(page, `${name}-light`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: null });
}

test('both sides of an encrypted direct chat see the same safety number, QR code and epoch code; Anna marks Boris verified', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Новый чат' }).click();
  await page.locator('input[name=chat-name]').fill('boris');
  await page.getByRole('button', { name: 'Создать' }).click();
  await page.locator('section.chat h2', { hasText: 'Борис Иванов' }).waitFor();
  await composer(page).waitFor();
  await boris.page.locator('nav a', { hasText: 'Анна Петрова' }).click();
  await composer(boris.page).waitFor({ timeout: 30_000 });
  await send(boris.page, 'Анна, проверим шифрование? 🔐');
  await page.locator('[role=log]').getByText('Анна, проверим шифрование? 🔐').waitFor();

  // The header's button is named for what it does (a phone shows its icon only).
  await verifyButton(page).getByText('Проверить шифрование').waitFor();
  await openVerify(page);
  await openVerify(boris.page);
  await dialog(page).getByText('Вы и Борис Иванов').waitFor();
  await dialog(boris.page).getByText('при встрече или по звонку').waitFor();

  firstNumber = await safetyNumber(page);
  assert.match(firstNumber, /^(\d{5} ){11}\d{5}$/);
  assert.equal(await safetyNumber(boris.page), firstNumber);
  // The QR code carries both users' fingerprints, lower user id first, the same on both screens.
  const code = await qrText(page);
  assert.match(code, /^kolokol-safety:1:\d+:[0-9a-f]{64}:\d+:[0-9a-f]{64}$/);
  assert.equal(await qrText(boris.page), code);
  const [, low, , high] = code.split(':').slice(1);
  assert.ok(Number(low) < Number(high));
  // The epoch code: 30 digits, the same on both devices of the group.
  const epoch = await sameOnAll([page, boris.page], epochCode);
  assert.match(epoch, /^(\d{5} ){5}\d{5}$/);

  await shotsLightDark(boris.page, 'e2ee-verify-phone');
  await shot(page, 'e2ee-verify-desktop');

  await dialog(page).getByRole('button', { name: 'Отметить как проверенный' }).click();
  await dialog(page).locator('[data-verified]').getByText('Проверено').waitFor();
  // Undo, and mark again.
  await dialog(page).getByRole('button', { name: 'Снять отметку' }).click();
  await dialog(page).getByRole('button', { name: 'Отметить как проверенный' }).click();
  await dialog(page).getByRole('button', { name: 'Снять отметку' }).waitFor();
  await closeVerify(page);
  await closeVerify(boris.page);
  // The header says so, with a check.
  await page.locator('section.chat .head .verify-open.verified').getByText('Шифрование проверено').waitFor();
  assert.equal(await page.locator('.key-note').count(), 0);
});

test('a new device of a verified contact: a warning, the mark is gone, and the safety number changed', async () => {
  const { page } = anna;
  // Boris signs in on his laptop: a new device, which Anna's open page adds to the group.
  borisLaptop = await person(browser, server.base, { colorScheme: 'dark' });
  watch(borisLaptop.page);
  await borisLaptop.page.goto('/');
  await borisLaptop.page.locator('input[name=username]').fill('boris');
  await borisLaptop.page.locator('input[name=password]').fill(PASSWORD);
  await borisLaptop.page.locator('form button[type=submit]').click();
  await borisLaptop.page.locator('nav a', { hasText: 'Анна Петрова' }).click();
  await composer(borisLaptop.page).waitFor({ timeout: 30_000 });

  const warning = page.locator('.key-note.warning[role=alert]');
  await warning.getByText('Борис Иванов: ключи шифрования изменились после вашей проверки').waitFor({ timeout: 20_000 });
  await verifyButton(page).getByText('Проверить шифрование').waitFor();
  assert.equal(await page.locator('section.chat .head .verify-open.verified').count(), 0);
  await shot(page, 'e2ee-key-warning-desktop');
  await page.setViewportSize(PHONE);
  await shotsLightDark(page, 'e2ee-key-warning-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // «Проверить» on the warning opens Verify: the number is another, and says why.
  await warning.getByRole('button', { name: 'Проверить' }).click();
  await dialog(page).waitFor();
  await dialog(page).locator('.warning').getByText('после вашей проверки').waitFor();
  const newNumber = await safetyNumber(page);
  assert.notEqual(newNumber, firstNumber);
  await shot(page, 'e2ee-verify-changed-desktop');
  assert.equal(await dialog(page).locator('[data-verified]').count(), 0);
  // Both of Boris's devices show the new number (his phone's screen, reopened, too).
  await openVerify(boris.page);
  assert.equal(await safetyNumber(boris.page), newNumber);
  await openVerify(borisLaptop.page);
  assert.equal(await safetyNumber(borisLaptop.page), newNumber);
  await sameOnAll([page, boris.page, borisLaptop.page], epochCode);
  await shot(borisLaptop.page, 'e2ee-verify-laptop-dark');

  // Compared again: verified again, and the warning goes.
  await dialog(page).getByRole('button', { name: 'Отметить как проверенный' }).click();
  await dialog(page).locator('[data-verified]').waitFor();
  await closeVerify(page);
  await page.locator('.key-note').waitFor({ state: 'detached' });
  await page.locator('section.chat .head .verify-open.verified').waitFor();
  for (const who of [boris.page, borisLaptop.page]) await closeVerify(who);
});

test('a group: the members each with their own safety number, and one epoch code for everyone', async () => {
  const { page } = anna;
  await page.getByRole('button', { name: 'Новый чат' }).click();
  await page.getByLabel('Группа').check();
  await page.locator('input[name=chat-name]').fill(GROUP);
  await page.getByRole('button', { name: 'Создать' }).click();
  await page.locator('section.chat h2', { hasText: GROUP }).waitFor();
  await composer(page).waitFor();
  await page.getByRole('button', { name: 'Участники' }).click();
  for (const [username, members] of [['boris', '2 участника'], ['vera', '3 участника']]) {
    await page.locator('input[name=add-member-username]').fill(username);
    await page.getByRole('button', { name: 'Добавить', exact: true }).click();
    await page.getByText(members).waitFor();
  }
  await page.getByRole('button', { name: 'Участники' }).click();
  await boris.page.getByRole('button', { name: 'Назад' }).click();
  for (const who of [boris.page, vera.page]) {
    await who.locator('nav a', { hasText: GROUP }).click();
    await composer(who).waitFor({ timeout: 30_000 });
  }

  await openVerify(page);
  await openVerify(vera.page);
  await dialog(page).getByText('Сравните код безопасности с каждым участником').waitFor();
  // Everyone but herself; Boris, verified in the direct chat, is verified here too.
  const members = dialog(page).locator('ul.members li');
  await members.nth(1).waitFor();
  assert.deepEqual((await members.locator('.name').allTextContents()).sort(), ['Борис Иванов', 'Вера Сидорова']);
  await members.filter({ hasText: 'Борис Иванов' }).getByText('Проверено').waitFor();
  await openVerify(boris.page);
  await sameOnAll([page, boris.page, vera.page], epochCode);
  await shot(page, 'e2ee-verify-group-desktop');
  await shot(vera.page, 'e2ee-verify-group-desktop-dark');
  await boris.page.emulateMedia({ colorScheme: 'dark' });
  await shot(boris.page, 'e2ee-verify-group-phone-dark');
  await boris.page.emulateMedia({ colorScheme: null });

  // A member's own screen, the same safety number as in their direct chat would be; back to the list.
  await members.filter({ hasText: 'Вера Сидорова' }).getByRole('button').click();
  await dialog(page).getByText('Вы и Вера Сидорова').waitFor();
  await dialog(vera.page).locator('ul.members li', { hasText: 'Анна Петрова' }).getByRole('button').click();
  assert.equal(await safetyNumber(page), await safetyNumber(vera.page));
  await dialog(page).getByRole('button', { name: 'Ко всем участникам' }).click();
  await members.nth(1).waitFor();
  for (const who of [page, boris.page, vera.page]) await closeVerify(who);
  await borisLaptop.context.close();

  // Vera, never verified, signs in on her phone too: one quiet line in the group, until dismissed.
  const veraPhone = await person(browser, server.base, { viewport: PHONE });
  watch(veraPhone.page);
  await veraPhone.page.goto('/');
  await veraPhone.page.locator('input[name=username]').fill('vera');
  await veraPhone.page.locator('input[name=password]').fill(PASSWORD);
  await veraPhone.page.locator('form button[type=submit]').click();
  await veraPhone.page.locator('nav a', { hasText: GROUP }).click();
  await composer(veraPhone.page).waitFor({ timeout: 30_000 });
  const line = page.locator('.key-note[role=status]');
  await line.getByText('Вера Сидорова: ключи шифрования изменились (новое устройство?)').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('.key-note.warning').count(), 0);
  await page.setViewportSize(PHONE);
  await page.waitForFunction(() => !document.querySelector('section.chat .toast')?.textContent);
  await shotsLightDark(page, 'e2ee-key-note-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  await line.getByRole('button', { name: 'Скрыть' }).click();
  await line.waitFor({ state: 'detached' });
  await veraPhone.context.close();
});
