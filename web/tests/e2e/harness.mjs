// Starts a real `kolokol serve` (the debug binary built by cargo) on 127.0.0.1:0 with a fresh
// data folder and the built web client, and Debian's Chromium through playwright-core.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = join(web, 'test-results');
mkdirSync(artifacts, { recursive: true });

/**
 * With `KOLOKOL_E2E_POSTGRES` set (a server URL such as `postgres://postgres@127.0.0.1/postgres`),
 * each server gets a fresh PostgreSQL database instead of an SQLite file, so the same browser
 * tests run on both storage backends.
 */
function freshDatabase() {
  const server = process.env.KOLOKOL_E2E_POSTGRES;
  if (!server) return { args: [], drop: () => {} };
  const name = `kolokol_e2e_${process.pid}_${Date.now()}`;
  execFileSync('psql', [server, '-q', '-c', `CREATE DATABASE ${name}`]);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    args: ['--database', url.toString()],
    drop: () => execFileSync('psql', [server, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}

/** `args` go to `kolokol serve` after the defaults, e.g. `['--admin', 'director']`. */
export async function startServer(args = []) {
  const binary = process.env.KOLOKOL_BIN ?? join(web, '../target/debug/kolokol');
  const dataDir = mkdtempSync(join(tmpdir(), 'kolokol-e2e-'));
  const database = freshDatabase();
  const child = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--web-dir', join(web, 'dist'), ...database.args, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KOLOKOL_REGISTER_PER_IP_PER_HOUR: '10000', KOLOKOL_LOGIN_PER_IP_PER_MINUTE: '10000' },
  });
  const lines = createInterface({ input: child.stdout });
  const base = await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`kolokol exited with ${code}`)));
    lines.once('line', (line) => ok(line.replace('kolokol listening on ', '').trim()));
  });
  const stop = () => new Promise((done) => {
    const finish = () => {
      database.drop();
      done();
    };
    if (child.exitCode !== null || child.signalCode !== null) return finish();
    child.once('exit', finish);
    child.kill('SIGTERM');
  });
  return { base, stop };
}

/** Playwright gives every launch a fresh, empty profile folder (our --user-data-dir). `args` are
 * more switches, e.g. a fake camera and microphone for recording. */
export async function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...args,
    ],
  });
}

/** A new browser context (a separate person) on a fresh page at the app. */
export async function person(browser, base, { locale = 'ru-RU', viewport = { width: 1280, height: 800 }, colorScheme = 'light', timezoneId } = {}) {
  const context = await browser.newContext({ baseURL: base, locale, viewport, colorScheme, timezoneId });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  return { context, page };
}

export async function register(page, username, displayName, password = 'correct horse battery') {
  await page.goto('/');
  await signUp(page, username, displayName, password);
}

/** Signs up with the form the page shows, staying at its address (an invite, a bot's link). */
export async function signUp(page, username, displayName, password = 'correct horse battery') {
  await page.getByRole('button', { name: /Зарегистрироваться|Sign up/ }).last().click();
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=display_name]').fill(displayName);
  await page.locator('input[name=password]').fill(password);
  await page.locator('form button[type=submit]').click();
  await page.getByRole('heading', { name: /Чаты|Chats/ }).waitFor();
}

/**
 * Waits until the focused element is named `name` (its aria-label or its text). Focus moves back
 * on a dialog's `close` event, which fires a task after the dialog leaves the accessibility tree,
 * so checking at once after it is gone races.
 */
export async function focusMovesTo(page, name, timeout = 5000) {
  const focused = (name) => {
    const element = document.activeElement;
    return element?.getAttribute('aria-label') === name || element?.textContent?.trim() === name;
  };
  await page.waitForFunction(focused, name, { timeout }).catch(async () => {
    const actual = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
    throw new Error(`focus did not move to «${name}»; it is on ${actual}`);
  });
}
