// A school for browser tests: an org with docs/roster-example.csv imported and claim codes issued,
// people who sign up and claim them, REST calls as a signed-in page, and screenshots at two sizes.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, person, register } from './harness.mjs';

export const roster = join(import.meta.dirname, '../../../docs/roster-example.csv');

/** A REST call as the page's signed-in user; returns the status and the JSON body. */
export async function call(page, method, path, body, contentType = 'application/json') {
  return page.evaluate(async ([method, path, body, contentType]) => {
    const headers = { Authorization: `Bearer ${localStorage.getItem('kolokol.token')}` };
    if (body !== undefined) headers['Content-Type'] = contentType;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
    return { status: response.status, body: response.status === 204 ? null : await response.json() };
  }, [method, path, body, contentType]);
}

/** Creates an org as the signed-in instance admin (the CLI's job; here through the API). */
export async function createOrg(page, name) {
  const created = await call(page, 'POST', '/orgs', { name });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

/** An org with the example roster imported and everyone's claim code issued; `codeOf(name)` is a person's code. */
export async function school(page, name) {
  const org = await createOrg(page, name);
  const imported = await call(page, 'PUT', `/orgs/${org.id}/roster?dry_run=false`, readFileSync(roster, 'utf8'), 'text/csv; charset=utf-8');
  assert.equal(imported.status, 200, JSON.stringify(imported.body));
  const issued = await call(page, 'POST', `/orgs/${org.id}/claim-codes`, {});
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  const codeOf = (person) => issued.body.codes.find((entry) => entry.name === person).code;
  return { org, codeOf };
}

/** Someone new signs up, claims the school's code, and sees one of their chats (`chat`). */
export async function claimed(browser, base, username, name, code, { chat = '5Б · родители', ...options } = {}) {
  const who = await person(browser, base, { timezoneId: 'Europe/Moscow', ...options });
  await register(who.page, username, name);
  const result = await call(who.page, 'POST', '/claim', { code });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await who.page.reload();
  await who.page.locator('nav a', { hasText: chat }).waitFor();
  return who;
}

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/** A screenshot at desktop and at phone size, with `subject` in view; the page goes back to
 * its size after. */
export async function shots(page, name, subject) {
  const size = page.viewportSize();
  for (const [suffix, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
    await subject?.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, `${name}-${suffix}.png`) });
  }
  await page.setViewportSize(size);
}

/** HH:MM in Moscow, the org's time zone. */
export function moscow(millis) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Moscow', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(millis);
}
