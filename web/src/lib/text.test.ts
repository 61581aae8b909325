import { describe, expect, it } from 'vitest';
import type { Markup } from './api';
import { formatted, initials, misleadingHost, safeHref, segments, type Formatted } from './text';

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

/** The text a tree shows, in order. */
function textOf(tree: Formatted[]): string {
  return tree.map((node) => (node.kind === 'text' ? node.text : textOf(node.children))).join('');
}

const strong = (...children: Formatted[]): Formatted => ({ kind: 'style', style: 'strong', children });
const em = (...children: Formatted[]): Formatted => ({ kind: 'style', style: 'emphasized', children });
const plain = (text: string): Formatted => ({ kind: 'text', text });

describe('formatted', () => {
  it('without markup, finds links and mentions as segments does', () => {
    expect(formatted('see https://school.ru/plan, @Anna.')).toEqual([
      plain('see '),
      { kind: 'link', href: 'https://school.ru/plan', children: [plain('https://school.ru/plan')] },
      plain(', '),
      { kind: 'mention', username: 'anna', children: [plain('@Anna')] },
      plain('.'),
    ]);
    expect(formatted('')).toEqual([]);
  });

  it('nests spans that nest', () => {
    // "Очень важно: приходите" with "важно" emphasized inside a strong "Очень важно".
    const markup: Markup[] = [{ type: 'strong', from: 0, length: 11 }, { type: 'emphasized', from: 6, length: 5 }];
    expect(formatted('Очень важно: приходите', markup)).toEqual([strong(plain('Очень '), em(plain('важно'))), plain(': приходите')]);
  });

  it('puts a link around formatting over the same text, and keeps one link for a link with formatting inside', () => {
    const markup: Markup[] = [
      { type: 'strong', from: 0, length: 9 },
      { type: 'link', from: 0, length: 18, url: 'https://example.org/plan' },
      { type: 'link', from: 0, length: 18, url: 'https://example.org/other' },
    ];
    expect(formatted('программа занятий', markup)).toEqual([
      { kind: 'link', href: 'https://example.org/plan', children: [strong(plain('программа')), plain(' занятий')] },
    ]);
  });

  it('cuts spans that overlap where they cross', () => {
    // strong over "abcd", emphasized over "cdef".
    const markup: Markup[] = [{ type: 'strong', from: 0, length: 4 }, { type: 'emphasized', from: 2, length: 4 }];
    expect(formatted('abcdefgh', markup)).toEqual([strong(plain('ab'), em(plain('cd'))), em(plain('ef')), plain('gh')]);
  });

  it('clamps spans to the text and drops empty, negative and broken ones', () => {
    const markup = [
      { type: 'strong', from: -5, length: 7 },
      { type: 'emphasized', from: 3, length: 100 },
      { type: 'underline', from: 10, length: 5 },
      { type: 'strikethrough', from: 1, length: 0 },
      { type: 'strikethrough', from: 2, length: -1 },
      { type: 'highlighted', from: 1.5, length: 2 },
      { type: 'highlighted', from: '1', length: 2 },
      null,
    ] as unknown as Markup[];
    expect(formatted('abcde', markup)).toEqual([strong(plain('ab')), plain('c'), em(plain('de'))]);
    expect(formatted('abc', { type: 'strong', from: 0, length: 3 } as unknown as Markup[])).toEqual([plain('abc')]);
  });

  it('counts UTF-16 code units, so an emoji takes two, and never cuts one in half', () => {
    const text = '😀 Ура 🎉!';
    expect(formatted(text, [{ type: 'strong', from: 3, length: 3 }, { type: 'emphasized', from: 7, length: 2 }])).toEqual([
      plain('😀 '), strong(plain('Ура')), plain(' '), em(plain('🎉')), plain('!'),
    ]);
    // From the middle of 😀 to the middle of 🎉: widened to both whole.
    expect(formatted(text, [{ type: 'monospaced', from: 1, length: 7 }])).toEqual([
      { kind: 'style', style: 'monospaced', children: [plain('😀 Ура 🎉')] }, plain('!'),
    ]);
  });

  it('refuses links other than http(s), leaving their text plain', () => {
    for (const url of ['javascript:alert(1)', 'JavaScript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', '//evil.org', undefined, 42]) {
      const markup = [{ type: 'link', from: 0, length: 6, url }] as Markup[];
      expect(formatted('ссылка', markup)).toEqual([plain('ссылка')]);
    }
  });

  it('ignores unknown types', () => {
    const markup = [{ type: 'blink', from: 0, length: 3 }, { type: 'script', from: 0, length: 3 }, { type: '__proto__', from: 0, length: 3 }] as unknown as Markup[];
    expect(formatted('abc', markup)).toEqual([plain('abc')]);
  });

  it('shows a user mention by id, and does not link or mention twice', () => {
    const text = 'Анна @anna https://a.ru/x ещё';
    const markup: Markup[] = [
      { type: 'user_mention', from: 0, length: 10, user_id: 7 },
      { type: 'link', from: 11, length: 14, url: 'https://b.ru/' },
      { type: 'user_mention', from: 26, length: 3, user_id: -1 },
    ];
    expect(formatted(text, markup)).toEqual([
      { kind: 'mention', userId: 7, children: [plain('Анна @anna')] },
      plain(' '),
      { kind: 'link', href: 'https://b.ru/', children: [plain('https://a.ru/x')] },
      plain(' ещё'),
    ]);
  });

  it('finds bare links inside formatting but not inside code', () => {
    const text = 'См. https://a.ru/x и `https://b.ru/y`';
    const markup: Markup[] = [{ type: 'strong', from: 0, length: 18 }, { type: 'monospaced', from: 21, length: 16 }];
    expect(formatted(text, markup)).toEqual([
      strong(plain('См. '), { kind: 'link', href: 'https://a.ru/x', children: [plain('https://a.ru/x')] }),
      plain(' и '),
      { kind: 'style', style: 'monospaced', children: [plain('`https://b.ru/y`')] },
    ]);
  });

  it('produces no HTML: every character of the text comes back as text, in order, and nothing else does', () => {
    const corpus = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)> 😀 @bob https://ok.ru', '&lt;b&gt;', ''];
    for (const text of corpus) {
      for (let from = -1; from <= text.length; from += 3) {
        const markup = [
          { type: 'strong', from, length: 5 }, { type: 'emphasized', from: from + 2, length: 9 },
          { type: 'link', from: from + 1, length: 4, url: 'https://example.org/"><script>' },
          { type: 'heading', from: 0, length: text.length }, { type: 'unknown', from: 0, length: 3 },
        ] as Markup[];
        const tree = formatted(text, markup);
        expect(textOf(tree)).toBe(text);
        const walk = (nodes: Formatted[]): void => nodes.forEach((node) => {
          if (node.kind === 'text') return;
          expect(Object.keys(node).sort()).toEqual(node.kind === 'style' ? ['children', 'kind', 'style'] : node.kind === 'link' ? ['children', 'href', 'kind'] : expect.any(Array));
          if (node.kind === 'link') expect(node.href).toMatch(/^https:\/\/(example\.org\/%22%3E%3Cscript%3E|ok\.ru\/)$/);
          walk(node.children);
        });
        walk(tree);
      }
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

describe('misleadingHost', () => {
  it('names the real host when the words read like another address', () => {
    expect(misleadingHost('https://gosuslugi.ru', 'https://evil.example/login')).toBe('evil.example');
    expect(misleadingHost('gosuslugi.ru', 'https://evil.example/')).toBe('evil.example');
    expect(misleadingHost(' school.example/diary ', 'http://other.example:8080/')).toBe('other.example:8080');
  });

  it('stays quiet for words that are not an address, or the same one', () => {
    expect(misleadingHost('программа', 'https://evil.example/')).toBeNull();
    expect(misleadingHost('Дневник 5Б', 'https://evil.example/')).toBeNull();
    expect(misleadingHost('https://school.example', 'https://school.example/plan')).toBeNull();
    expect(misleadingHost('www.school.example', 'https://school.example/')).toBeNull();
    expect(misleadingHost('SCHOOL.example', 'https://school.example/')).toBeNull();
  });
});
