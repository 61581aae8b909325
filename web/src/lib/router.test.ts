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

  it('sends anything else home', () => {
    for (const path of ['/chat/x', '/join/', '/join/<script>', '/orgs/x', '/orgs/7/', '/orgs/7/Audit', '/claim/x', '/elsewhere']) expect(parse(path)).toEqual({ name: 'home' });
  });
});
