import { describe, expect, it } from 'vitest';
import { parse } from './router.svelte';

describe('routes', () => {
  it('parses the app paths', () => {
    expect(parse('/')).toEqual({ name: 'home' });
    expect(parse('/chat/42')).toEqual({ name: 'chat', id: 42 });
    expect(parse('/join/Abc_12-x')).toEqual({ name: 'join', code: 'Abc_12-x' });
    expect(parse('/settings')).toEqual({ name: 'settings' });
    expect(parse('/claim')).toEqual({ name: 'claim' });
    expect(parse('/orgs')).toEqual({ name: 'orgs' });
    expect(parse('/orgs/7')).toEqual({ name: 'org', id: 7 });
    expect(parse('/orgs/7/safeguarding')).toEqual({ name: 'org', id: 7, section: 'safeguarding' });
  });

  it('parses a bot link with its start payload, and My bots', () => {
    expect(parse('/bot/diary_bot', '?start=deep')).toEqual({ name: 'bot', username: 'diary_bot', payload: 'deep' });
    expect(parse('/bot/Diary.Bot', '')).toEqual({ name: 'bot', username: 'diary.bot', payload: null });
    expect(parse('/bot/diary_bot', '?start=')).toEqual({ name: 'bot', username: 'diary_bot', payload: '' });
    expect(parse('/bot/diary_bot', '?start=%D0%B4%D0%B7%205%D0%91')).toEqual({ name: 'bot', username: 'diary_bot', payload: 'дз 5Б' });
    expect(parse('/bots')).toEqual({ name: 'bots' });
  });

  it('sends anything else home', () => {
    for (const path of ['/chat/x', '/join/', '/join/<script>', '/orgs/x', '/orgs/7/', '/orgs/7/Audit', '/claim/x', '/elsewhere', '/bot/', '/bot/ab', '/bot/a-b-c', '/bot/x/y', '/bots/1']) expect(parse(path)).toEqual({ name: 'home' });
  });
});
