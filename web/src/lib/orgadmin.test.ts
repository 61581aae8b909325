import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { setLang } from './i18n.svelte';
import { auditAction, auditActions, detailParts, explain, filesSummary, parseQuota, parseRetention, quotaText } from './orgadmin';

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

describe('the files rules', () => {
  it('shows the saved room in GB, in the user’s language, and nothing for the server’s default', () => {
    expect(quotaText(5120, 'ru')).toBe('5');
    expect(quotaText(1536, 'ru')).toBe('1,5');
    expect(quotaText(1536, 'en')).toBe('1.5');
    expect(quotaText(102_400, 'en')).toBe('100');
    expect(quotaText(1_048_576, 'en')).toBe('1024');
    expect(quotaText(1500, 'en')).toBe('1.465');
    expect(quotaText(null, 'ru')).toBe('');
    expect(quotaText(undefined, 'ru')).toBe('');
  });

  it('turns GB as people type them into MiB for the server', () => {
    expect(parseQuota('5', null, 'ru')).toEqual({ ok: true, value: 5120 });
    expect(parseQuota(' 0,5 ', null, 'ru')).toEqual({ ok: true, value: 512 });
    expect(parseQuota('0.5', null, 'ru')).toEqual({ ok: true, value: 512 });
    expect(parseQuota('1 000', null, 'ru')).toEqual({ ok: true, value: 1_024_000 });
    expect(parseQuota('1,000', null, 'en')).toEqual({ ok: true, value: 1_024_000 });
    expect(parseQuota('1,5', null, 'en')).toEqual({ ok: true, value: 1536 });
    expect(parseQuota('.25', null, 'en')).toEqual({ ok: true, value: 256 });
    expect(parseQuota('0,001', null, 'ru')).toEqual({ ok: true, value: 1 });
  });

  it('empty is the server’s default', () => {
    expect(parseQuota('', 5120, 'ru')).toEqual({ ok: true, value: null });
    expect(parseQuota('   ', null, 'en')).toEqual({ ok: true, value: null });
  });

  it('refuses what the server would: less than 1 MiB, and what is not a number', () => {
    for (const text of ['0', '0,0', '0.0005', '-1', '5 ГБ', 'abc', '1e3', '1,2,3', '∞', '99999999999999999']) {
      expect(parseQuota(text, null, 'ru')).toEqual({ ok: false, error: 'filesQuotaInvalid' });
    }
  });

  it('keeps a room set in odd MiB exactly while its field is untouched', () => {
    expect(parseQuota(quotaText(1500, 'ru'), 1500, 'ru')).toEqual({ ok: true, value: 1500 });
    expect(parseQuota(quotaText(1, 'en'), 1, 'en')).toEqual({ ok: true, value: 1 });
    expect(parseQuota('2', 1500, 'ru')).toEqual({ ok: true, value: 2048 });
  });

  it('keeps files while their messages are, or 1 to 3650 whole days', () => {
    expect(parseRetention('always', '')).toEqual({ ok: true, value: null });
    expect(parseRetention('always', '0')).toEqual({ ok: true, value: null });
    expect(parseRetention('days', '30')).toEqual({ ok: true, value: 30 });
    expect(parseRetention('days', ' 1 ')).toEqual({ ok: true, value: 1 });
    expect(parseRetention('days', '3650')).toEqual({ ok: true, value: 3650 });
    for (const text of ['', '0', '3651', '-5', '1.5', '30 дней', 'abc', '1000000']) {
      expect(parseRetention('days', text)).toEqual({ ok: false, error: 'filesDaysInvalid' });
    }
  });

  it('says what is in force, in both languages', () => {
    setLang('ru');
    expect(filesSummary({ quiet_hours: null, student_contacts: 'class' }))
      .toBe('Сейчас: место для файлов — как задано на сервере (обычно 100 ГБ); файлы хранятся, пока есть их сообщения');
    expect(filesSummary({ quiet_hours: null, student_contacts: 'class', media_quota_mb: 5120, media_retention_days: 30 }))
      .toBe('Сейчас: место для файлов — 5\u00a0ГБ; файлы удаляются через 30 дней после отправки');
    expect(filesSummary({ quiet_hours: null, student_contacts: 'class', media_quota_mb: 512, media_retention_days: 21 }))
      .toBe('Сейчас: место для файлов — 512\u00a0МБ; файлы удаляются через 21 день после отправки');
    setLang('en');
    expect(filesSummary({ quiet_hours: null, student_contacts: 'class', media_quota_mb: 1536, media_retention_days: 1 }))
      .toBe('Now: 1.5\u00a0GB of room for files; files are deleted 1 day after they are sent');
    expect(filesSummary(undefined)).toBe('Now: the server’s default room for files (usually 100 GB); files are kept as long as their messages');
    setLang('ru');
  });

  it('explains the server’s refusal in words', () => {
    setLang('ru');
    expect(explain(new ApiError(400, 'invalid_policy', 'files are kept for 1 to 3650 days'), { invalid_policy: 'filesRefused' }))
      .toMatch(/^Сервер не принял эти значения/);
  });
});
