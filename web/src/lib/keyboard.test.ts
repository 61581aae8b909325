import { describe, expect, it } from 'vitest';
import type { Button } from './api';
import { appLaunchUrl, appRefusal, chatButtonRefusal, linkHost, pressOf, pressRefusal } from './keyboard';

/** Where the buttons are pressed, unless a test says otherwise. */
const here = { row: 0, column: 0 };

describe('where a link button goes', () => {
  it('is the host of an http(s) address, with its port if any', () => {
    expect(linkHost('https://example.org/trip?day=2')).toBe('example.org');
    expect(linkHost('http://school5.ru:8080/')).toBe('school5.ru:8080');
    expect(linkHost('HTTPS://Example.ORG')).toBe('example.org');
  });

  it('is the real host, not the user name put before it', () => {
    expect(linkHost('https://bank.ru@evil.example/login')).toBe('evil.example');
  });

  it('shows an international domain in punycode, so a look-alike cannot pass for another', () => {
    expect(linkHost('https://пример.рф/')).toBe('xn--e1afmkfd.xn--p1ai');
  });

  it('is nothing for other schemes and for what is not an address', () => {
    for (const url of ['javascript:alert(1)', 'data:text/html,hi', 'ftp://example.org', 'example.org', '', 'mailto:a@b.c']) {
      expect(linkHost(url)).toBeNull();
    }
  });
});

describe('what pressing a button does', () => {
  it('tells the bot, opens a link, sends text, or copies', () => {
    expect(pressOf({ type: 'callback', text: 'Да', payload: 'yes' }, here)).toEqual({ kind: 'callback', payload: 'yes' });
    expect(pressOf({ type: 'link', text: 'Программа', url: 'https://example.org/trip' }, here))
      .toEqual({ kind: 'link', url: 'https://example.org/trip', host: 'example.org' });
    expect(pressOf({ type: 'message', text: 'Расписание' }, here)).toEqual({ kind: 'message', text: 'Расписание' });
    expect(pressOf({ type: 'clipboard', text: 'Код', payload: '5B-2026' }, here)).toEqual({ kind: 'clipboard', text: '5B-2026' });
  });

  it('does nothing Kolokol does not do, and says why', () => {
    expect(pressOf({ type: 'request_contact', text: 'Мой телефон' }, here)).toEqual({ kind: 'unsupported', reason: 'kbNoContact' });
    expect(pressOf({ type: 'request_geo_location', text: 'Где я', quick: true }, here)).toEqual({ kind: 'unsupported', reason: 'kbNoLocation' });
  });

  it("opens the mini-app of the bot `web_app` names, else of the bot that sent the buttons, with the button's payload", () => {
    expect(pressOf({ type: 'open_app', text: 'Дневник', web_app: 'diary_bot', payload: 'week-5' }, here, 'trip_bot'))
      .toEqual({ kind: 'app', username: 'diary_bot', startParam: 'week-5' });
    expect(pressOf({ type: 'open_app', text: 'Дневник', web_app: '@Diary.Bot' }, here, 'trip_bot'))
      .toEqual({ kind: 'app', username: 'diary.bot', startParam: null });
    for (const web_app of ['https://max.ru/diary_bot', 'мини-приложение', 'ab', '']) {
      expect(pressOf({ type: 'open_app', text: 'Дневник', web_app, payload: '' }, here, 'trip_bot'))
        .toEqual({ kind: 'app', username: 'trip_bot', startParam: null });
    }
  });

  it('cannot open a mini-app when it does not know whose', () => {
    expect(pressOf({ type: 'open_app', text: 'Дневник', web_app: 'https://example.org/app' }, here)).toEqual({ kind: 'unsupported', reason: 'kbUnsupported' });
  });

  it("makes or joins a chat button's group, known to the server by the button's place", () => {
    const discuss: Button = { type: 'chat', text: 'Обсудить', chat_title: 'Экскурсия 5Б', start_payload: 'trip-12' };
    expect(pressOf(discuss, { row: 2, column: 1 }, 'trip_bot')).toEqual({ kind: 'chat', row: 2, column: 1, title: 'Экскурсия 5Б' });
  });

  it('never opens a link that is not http(s), nor a kind of button it does not know', () => {
    expect(pressOf({ type: 'link', text: 'x', url: 'javascript:alert(1)' }, here)).toEqual({ kind: 'unsupported', reason: 'kbUnsupported' });
    const newKind = { type: 'poll', text: 'Опрос' } as unknown as Button;
    expect(pressOf(newKind, here)).toEqual({ kind: 'unsupported', reason: 'kbUnsupported' });
  });
});

describe('a refused press', () => {
  it('is explained by its code', () => {
    expect(pressRefusal('not_found')).toBe('kbGone');
    expect(pressRefusal('message_not_found')).toBe('kbMessageGone');
    expect(pressRefusal('not_member')).toBe('notMemberAnymore');
    expect(pressRefusal('rate_limited')).toBe('kbTooFast');
    expect(pressRefusal('internal')).toBe('errorGeneric');
  });

  it("of a chat button is explained by its code: the group's rules may keep the person out", () => {
    expect(chatButtonRefusal('safeguarding')).toBe('kbChatRefused');
    expect(chatButtonRefusal('forbidden')).toBe('kbChatRefused');
    expect(chatButtonRefusal('not_found')).toBe('kbGone');
    expect(chatButtonRefusal('message_not_found')).toBe('kbMessageGone');
    expect(chatButtonRefusal('not_member')).toBe('notMemberAnymore');
    expect(chatButtonRefusal('rate_limited')).toBe('kbTooFast');
    expect(chatButtonRefusal('internal')).toBe('errorGeneric');
  });

  it('of a mini-app is explained by its code', () => {
    expect(appRefusal('user_not_found')).toBe('botNotFound');
    expect(appRefusal('not_found')).toBe('appNone');
    expect(appRefusal('forbidden')).toBe('appNoChat');
    expect(appRefusal('not_member')).toBe('notMemberAnymore');
    expect(appRefusal('rate_limited')).toBe('kbTooFast');
    expect(appRefusal('internal')).toBe('errorGeneric');
  });
});

describe('where a mini-app opens', () => {
  const initData = 'query_id=q1&user=%7B%22id%22%3A7%7D&hash=ab';
  const launch = `WebAppData=${encodeURIComponent(initData)}&WebAppPlatform=web&WebAppVersion=1`;

  it('is its address with the launch data in the fragment', () => {
    expect(appLaunchUrl('https://diary.example/app?school=5', initData)).toBe(`https://diary.example/app?school=5#${launch}`);
    expect(appLaunchUrl('https://diary.example/app#', initData)).toBe(`https://diary.example/app#${launch}`);
  });

  it("keeps an app's own route in the fragment, the data after it", () => {
    expect(appLaunchUrl('https://diary.example/#/week', initData)).toBe(`https://diary.example/#/week?${launch}`);
    expect(appLaunchUrl('https://diary.example/#/week?day=2', initData)).toBe(`https://diary.example/#/week?day=2&${launch}`);
  });

  it('decodes back to the init data exactly', () => {
    const fragment = new URL(appLaunchUrl('https://diary.example/', initData)).hash.slice(1);
    expect(new URLSearchParams(fragment).get('WebAppData')).toBe(initData);
  });
});
