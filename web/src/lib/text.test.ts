import { describe, expect, it } from 'vitest';
import { initials, safeHref, segments } from './text';

describe('segments', () => {
  it('finds http(s) links and mentions, leaves the rest as text', () => {
    expect(segments('see https://school.ru/plan, @Anna.')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://school.ru/plan', href: 'https://school.ru/plan' },
      { kind: 'text', text: ', ' },
      { kind: 'mention', text: '@Anna', username: 'anna' },
      { kind: 'text', text: '.' },
    ]);
  });

  it('never turns other schemes into links', () => {
    for (const text of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', '<a href="javascript:x">y</a>']) {
      expect(segments(text).every((s) => s.kind !== 'link')).toBe(true);
    }
  });

  it('does not treat e-mail addresses as mentions', () => {
    expect(segments('mail anna@school.ru')).toEqual([{ kind: 'text', text: 'mail anna@school.ru' }]);
  });

  it('keeps every character of the input', () => {
    const corpus = ['<img src=x onerror=alert(1)>', 'a https://x.org/"><script> b', '@@@', '', 'emoji 😀 @bob https://ok.ru'];
    for (const text of corpus) {
      expect(segments(text).map((s) => s.text).join('')).toBe(text);
    }
  });
});

describe('safeHref', () => {
  it('accepts http and https only', () => {
    expect(safeHref('https://a.ru/x')).toBe('https://a.ru/x');
    expect(safeHref('javascript:alert(1)')).toBe('#');
    expect(safeHref('not a url')).toBe('#');
  });
});

describe('initials', () => {
  it('takes the first letters of two words', () => {
    expect(initials('Анна Петрова')).toBe('АП');
    expect(initials('vera')).toBe('V');
    expect(initials('  ')).toBe('?');
    expect(initials('5Б · родители')).toBe('5Р');
    expect(initials('Школа №1234 · объявления')).toBe('ШО');
  });
});
