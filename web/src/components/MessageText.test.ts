import { flushSync, mount, unmount } from 'svelte';
import { describe, expect, it } from 'vitest';
import type { Markup } from '../lib/api';
import { app } from '../lib/app.svelte';
import MessageText from './MessageText.svelte';

function render(text: string, markup?: Markup[]): HTMLElement {
  const target = document.createElement('div');
  const component = mount(MessageText, { target, props: { text, markup } });
  flushSync();
  const html = target.cloneNode(true) as HTMLElement;
  unmount(component);
  return html;
}

describe('MessageText', () => {
  it('renders markup as elements and text as text', () => {
    const text = 'Собрание в 18:00 — программа <script>alert(1)</script>';
    const root = render(text, [
      { type: 'strong', from: 0, length: 8 },
      { type: 'monospaced', from: 11, length: 5 },
      { type: 'link', from: 19, length: 9, url: 'https://example.org/plan' },
    ]);
    expect(root.textContent).toBe(text);
    expect(root.querySelector('strong')?.textContent).toBe('Собрание');
    expect(root.querySelector('code')?.textContent).toBe('18:00');
    const link = root.querySelector('a')!;
    expect([link.textContent, link.getAttribute('href'), link.getAttribute('rel'), link.getAttribute('target')])
      .toEqual(['программа', 'https://example.org/plan', 'noopener noreferrer', '_blank']);
    expect(root.querySelector('script')).toBeNull();
  });

  it('shows a heading as bold text, a refused link as text, and a mention with the name as its title', () => {
    app.users[7] = { id: 7, username: 'anna', display_name: 'Анна Петрова', about: '' };
    const root = render('Заголовок\nплохая ссылка, @Анна', [
      { type: 'heading', from: 0, length: 9 },
      { type: 'link', from: 10, length: 13, url: 'javascript:alert(1)' },
      { type: 'user_mention', from: 25, length: 5, user_id: 7 },
    ]);
    expect(root.querySelector('strong.heading')?.textContent).toBe('Заголовок');
    expect(root.querySelector('a')).toBeNull();
    expect(root.querySelector('h1, h2, h3, [role=heading]')).toBeNull();
    const mention = root.querySelector('.mention')!;
    expect([mention.textContent, mention.getAttribute('title')]).toEqual(['@Анна', 'Анна Петрова']);
  });
});
