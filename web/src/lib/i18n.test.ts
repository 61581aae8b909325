import { describe, expect, it } from 'vitest';
import { at, detectLang, formatNumber, plural, setLang, tf, until } from './i18n.svelte';

describe('Russian plurals', () => {
  it.each([
    [1, '1 сообщение'], [2, '2 сообщения'], [4, '4 сообщения'], [5, '5 сообщений'], [11, '11 сообщений'],
    [12, '12 сообщений'], [14, '14 сообщений'], [21, '21 сообщение'], [22, '22 сообщения'], [25, '25 сообщений'],
    [101, '101 сообщение'], [111, '111 сообщений'], [0, '0 сообщений'],
  ])('%i → %s', (n, text) => {
    expect(plural('ru', 'messages', n)).toBe(text);
  });

  it('members and unread follow the same rules', () => {
    expect(plural('ru', 'members', 2)).toBe('2 участника');
    expect(plural('ru', 'members', 5)).toBe('5 участников');
    expect(plural('ru', 'unread', 1)).toBe('1 непрочитанное');
  });

  it('thread replies and poll voters', () => {
    expect(plural('ru', 'replies', 1)).toBe('1 ответ');
    expect(plural('ru', 'replies', 2)).toBe('2 ответа');
    expect(plural('ru', 'replies', 5)).toBe('5 ответов');
    expect(plural('ru', 'replies', 11)).toBe('11 ответов');
    expect(plural('ru', 'replies', 21)).toBe('21 ответ');
    expect(plural('ru', 'replies', 34)).toBe('34 ответа');
    expect(plural('ru', 'voters', 1)).toBe('1 человек проголосовал');
    expect(plural('ru', 'voters', 3)).toBe('3 человека проголосовали');
    expect(plural('ru', 'voters', 12)).toBe('12 человек проголосовали');
    expect(plural('ru', 'voters', 21)).toBe('21 человек проголосовал');
    expect(plural('en', 'replies', 1)).toBe('1 reply');
    expect(plural('en', 'replies', 3)).toBe('3 replies');
    expect(plural('en', 'voters', 1)).toBe('1 person voted');
    expect(plural('en', 'voters', 2)).toBe('2 people voted');
  });

  it('English has one and other', () => {
    expect(plural('en', 'messages', 1)).toBe('1 message');
    expect(plural('en', 'messages', 2)).toBe('2 messages');
    expect(plural('en', 'messages', 0)).toBe('0 messages');
  });
});

describe('language detection', () => {
  it('prefers the first supported browser language', () => {
    expect(detectLang(['de-DE', 'en-GB', 'ru'])).toBe('en');
    expect(detectLang(['ru-RU'])).toBe('ru');
  });

  it('falls back to Russian', () => {
    expect(detectLang(['fr-FR'])).toBe('ru');
    expect(detectLang([])).toBe('ru');
  });
});

describe('filled-in texts', () => {
  it('puts values where their names are and leaves unknown names', () => {
    setLang('ru');
    expect(tf('claimedAs', { org: 'Школа №1', name: 'Иванова М. П.' })).toBe('Готово: вы в организации «Школа №1» как Иванова М. П..');
    expect(tf('reach', { n: 3 })).toBe('Подключено 3 из {total}');
    setLang('en');
    expect(tf('reach', { n: 1, total: 25 })).toBe('1 of 25 joined');
  });
});

describe('moments in sentences', () => {
  // Local times, so the test holds in any time zone. 2026-03-09 is a Monday.
  const now = new Date(2026, 2, 9, 21, 30).getTime();
  const local = (day: number, hour: number, minute = 0) => new Date(2026, 2, day, hour, minute).getTime();

  it('says when a held message goes out, in Russian', () => {
    setLang('ru');
    expect(at(local(9, 23, 5), now)).toBe('в 23:05');
    expect(at(local(10, 8), now)).toBe('завтра в 08:00');
    expect(at(local(8, 12, 5), now)).toBe('вчера в 12:05');
    expect(at(local(11, 8), now)).toBe('в среду в 08:00');
    expect(at(local(10 + 7, 8), now)).toBe('17 марта в 08:00');
    expect(tf('heldUntil', { when: at(local(10, 8), now), reason: tf('heldQuiet', {}) })).toBe('Будет доставлено завтра в 08:00 (тихие часы)');
  });

  it('and in English', () => {
    setLang('en');
    expect(at(local(12, 8), now)).toMatch(/^on Thursday at 08:00/);
    expect(at(local(10, 8), now)).toMatch(/^tomorrow at 08:00/);
  });

  it('says until when do-not-disturb lasts', () => {
    setLang('ru');
    expect(until(local(9, 22, 30), now)).toBe('22:30');
    expect(until(local(10, 8), now)).toBe('08:00 завтра');
    expect(until(local(20, 14, 30), now)).toBe('14:30, 20 марта');
  });
});

describe('numbers', () => {
  it('writes numbers as each language does, in the language shown unless told', () => {
    setLang('ru');
    expect(formatNumber(1.5, 1)).toBe('1,5');
    expect(formatNumber(1.25, 1)).toBe('1,3');
    expect(formatNumber(12345, 0)).toBe('12\u00a0345');
    expect(formatNumber(12345, 0, { grouping: false })).toBe('12345');
    expect(formatNumber(1.5, 1, { lang: 'en' })).toBe('1.5');
    setLang('en');
    expect(formatNumber(1.5, 1)).toBe('1.5');
    expect(formatNumber(12345.678, 2)).toBe('12,345.68');
    expect(formatNumber(1.5, 0)).toBe('2'); // the cached formats do not mix up their decimals
  });
});

describe('limits after «не больше» and «длиннее»', () => {
  it('take the genitive in Russian', () => {
    expect(plural('ru', 'rowsAtMost', 1)).toBe('1 строки');
    expect(plural('ru', 'rowsAtMost', 3)).toBe('3 строк');
    expect(plural('ru', 'rowsAtMost', 5000)).toBe('5000 строк');
    expect(plural('ru', 'rowsAtMost', 21)).toBe('21 строки');
    expect(plural('ru', 'charactersLonger', 1)).toBe('1 символа');
    expect(plural('ru', 'charactersLonger', 64)).toBe('64 символов');
    expect(plural('ru', 'charactersLonger', 101)).toBe('101 символа');
    expect(plural('en', 'rowsAtMost', 1)).toBe('1 row');
    expect(plural('en', 'charactersLonger', 100)).toBe('100 characters');
  });
});
