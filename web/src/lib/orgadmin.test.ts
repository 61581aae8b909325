import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { setLang } from './i18n.svelte';
import { auditAction, auditActions, detailParts, explain } from './orgadmin';

describe('audit details', () => {
  it('picks out the users and chats an entry names, and keeps the rest as text', () => {
    expect(detailParts('chat 12: message 3 of user 5')).toEqual([
      { kind: 'chat', id: 12 }, { kind: 'text', text: ': message 3 of ' }, { kind: 'user', id: 5 },
    ]);
    expect(detailParts('user 7 safeguarding_lead')).toEqual([{ kind: 'user', id: 7 }, { kind: 'text', text: ' ' }, { kind: 'role', role: 'safeguarding_lead' }]);
    expect(detailParts('chat 3: posting admins, slow mode 0 s')).toEqual([{ kind: 'chat', id: 3 }, { kind: 'text', text: ': posting admins, slow mode 0 s' }]);
    expect(detailParts('bot 8')).toEqual([{ kind: 'bot', id: 8 }]);
    expect(detailParts('robot 8')).toEqual([{ kind: 'text', text: 'robot 8' }]);
    expect(detailParts('report 4: dismissed (chat 9 message 2)')).toEqual([
      { kind: 'text', text: 'report 4: dismissed (' }, { kind: 'chat', id: 9 }, { kind: 'text', text: ' message 2)' },
    ]);
  });

  it('leaves text without ids alone, markup included (it is shown as text)', () => {
    expect(detailParts('quiet hours 19:00–08:00; students reach class')).toEqual([{ kind: 'text', text: 'quiet hours 19:00–08:00; students reach class' }]);
    expect(detailParts('<b>superuser 5</b>')).toEqual([{ kind: 'text', text: '<b>superuser 5</b>' }]);
    expect(detailParts('')).toEqual([]);
  });
});

describe('audit actions', () => {
  it('describes every action docs/API.md lists, in both languages', () => {
    const documented = ['roster.imported', 'claim_codes.issued', 'policy.set', 'report.resolved', 'roster.rollover', 'role.granted',
      'role.revoked', 'safeguarding.viewed', 'message.deleted', 'member.removed', 'member.muted', 'chat.settings', 'message.pinned',
      'message.unpinned', 'bot.allowed', 'bot.disallowed'];
    expect(Object.keys(auditActions).sort()).toEqual([...documented].sort());
    for (const lang of ['ru', 'en'] as const) {
      setLang(lang);
      for (const action of documented) expect(auditAction(action)).not.toBe(action);
    }
    setLang('ru');
    expect(auditAction('safeguarding.viewed')).toBe('прочитал(а) переписку сотрудника с учеником');
    expect(auditAction('bot.allowed')).toBe('одобрил(а) бота');
    expect(auditAction('bot.disallowed')).toBe('отозвал(а) одобрение бота');
  });

  it('shows an action it does not know as the server names it', () => {
    expect(auditAction('chat.archived')).toBe('chat.archived');
  });
});

describe('explaining failures', () => {
  it('prefers what the call expects, then the common codes, then the server', () => {
    setLang('ru');
    const lastAdmin = new ApiError(409, 'owner_must_transfer', 'the org keeps at least one admin');
    expect(explain(lastAdmin, { owner_must_transfer: 'roleLastAdmin' })).toMatch(/^В школе должен остаться хотя бы один администратор/);
    expect(explain(new ApiError(403, 'forbidden', 'no'))).toBe('Эта страница доступна только администраторам школы.');
    expect(explain(new ApiError(400, 'invalid_role', 'an org role is admin or safeguarding_lead'))).toBe('an org role is admin or safeguarding_lead');
    expect(explain(new TypeError('Failed to fetch'))).toBe('Что-то пошло не так');
  });
});
