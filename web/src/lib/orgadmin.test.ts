import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { setLang } from './i18n.svelte';
import {
  auditAction, auditActions, detailParts, explain, filesSummary, noteCreated, parseQuota, parseRetention, quotaText, rosterLine, rosterProblem,
  rosterProblems, russianZones, takeCreated, zoneChoices,
} from './orgadmin';

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
      'message.unpinned', 'bot.allowed', 'bot.disallowed', 'org.created', 'member.added', 'chat.renamed', 'invite.created',
      'invite.revoked', 'message.urgent', 'member.role', 'chat.transferred'];
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

  it('describes the org, member, chat, invite and urgent actions, and picks out the ids in their details', () => {
    setLang('ru');
    expect(auditAction('org.created')).toBe('создал(а) организацию');
    expect(auditAction('member.added')).toBe('добавил(а) участников в чат');
    expect(auditAction('chat.renamed')).toBe('переименовал(а) чат');
    expect(auditAction('invite.created')).toBe('создал(а) пригласительную ссылку');
    expect(auditAction('invite.revoked')).toBe('отозвал(а) пригласительную ссылку');
    expect(auditAction('message.urgent')).toBe('отправил(а) срочное сообщение');
    setLang('en');
    expect(auditAction('org.created')).toBe('created the organisation');
    expect(auditAction('member.added')).toBe('added members to a chat');
    expect(auditAction('chat.renamed')).toBe('renamed a chat');
    expect(auditAction('invite.created')).toBe('created an invite link');
    expect(auditAction('invite.revoked')).toBe('revoked an invite link');
    expect(auditAction('message.urgent')).toBe('sent an urgent message');
    setLang('ru');
    expect(detailParts('chat 12: user 5, user 9')).toEqual([
      { kind: 'chat', id: 12 }, { kind: 'text', text: ': ' }, { kind: 'user', id: 5 }, { kind: 'text', text: ', ' }, { kind: 'user', id: 9 },
    ]);
    expect(detailParts('chat 12')).toEqual([{ kind: 'chat', id: 12 }]);
    expect(detailParts('chat 12: message 40')).toEqual([{ kind: 'chat', id: 12 }, { kind: 'text', text: ': message 40' }]);
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

describe('roster errors', () => {
  const line = (line: number, problem: string, args: Record<string, string | number> = {}, message = 'the server says so') =>
    ({ line, problem, message, ...args });

  it('says each problem in Russian, with its args, keeping the words the file must contain in English', () => {
    setLang('ru');
    const cases: [ReturnType<typeof line>, string][] = [
      [line(1, 'header'), 'в первой строке должны быть названия столбцов: role,class,name,child,subjects (и, если нужно, id)'],
      [line(1, 'not_utf8'), 'файл не в кодировке UTF-8: сохраните его в формате «CSV UTF-8»'],
      [line(1, 'unreadable'), 'файл не удалось прочитать'],
      [line(3, 'bad_csv'), 'строку не удалось разобрать как CSV: проверьте кавычки и запятые'],
      [line(5002, 'too_many_rows', { limit: 5000 }), 'в списке может быть не больше 5000 строк'],
      [line(23, 'too_many_rows', { limit: 21 }), 'в списке может быть не больше 21 строки'],
      [line(4, 'unknown_role', { role: 'pupil' }), 'неизвестная роль «pupil»: используйте student, guardian, class_teacher или teacher'],
      [line(4, 'class_empty'), 'не указан класс (столбец class)'],
      [line(4, 'class_too_long', { limit: 32 }), 'название класса длиннее 32 символов'],
      [line(4, 'class_too_long', { limit: 1 }), 'название класса длиннее 1 символа'],
      [line(4, 'name_empty'), 'не указано имя (столбец name)'],
      [line(4, 'name_too_long', { limit: 200 }), 'имя длиннее 200 символов'],
      [line(4, 'guardian_without_child'), 'у родителя (guardian) должно быть указано имя ребёнка в столбце child'],
      [line(4, 'only_guardians_have_child'), 'столбец child заполняют только у родителей (guardian)'],
      [line(4, 'only_teachers_have_subjects'), 'столбец subjects заполняют только у учителей (teacher, class_teacher)'],
      [line(9, 'student_in_two_classes', { name: 'Иванов Артём', class: '5Б', other_line: 4 }),
        'Иванов Артём уже есть в списке как ученик(ца) класса 5Б (строка 4); если это два разных ребёнка, укажите каждому свой id'],
      [line(9, 'student_and_adult', { name: 'Смирнова Ольга', other_line: 2 }),
        'Смирнова Ольга — здесь ученик(ца), а в строке 2 — взрослый; если это разные люди, укажите каждому свой id'],
      [line(9, 'ambiguous_child', { child: 'Ким Виктория', class: '7А' }), 'в классе 7А два ученика с именем Ким Виктория: непонятно, кто из них ребёнок'],
      [line(9, 'child_not_found', { child: 'Петров Максим', class: '5Б' }), 'в классе 5Б нет ученика с именем Петров Максим'],
    ];
    expect(new Set(cases.map(([error]) => error.problem))).toEqual(new Set(Object.keys(rosterProblems)));
    for (const [error, text] of cases) expect(rosterProblem(error)).toBe(text);
    expect(rosterLine(line(4, 'unknown_role', { role: 'pupil' })))
      .toBe('строка 4: неизвестная роль «pupil»: используйте student, guardian, class_teacher или teacher');
  });

  it('and in English', () => {
    setLang('en');
    expect(rosterLine(line(2, 'unknown_role', { role: 'pupil' }))).toBe('line 2: unknown role "pupil": use student, guardian, class_teacher or teacher');
    expect(rosterProblem(line(5002, 'too_many_rows', { limit: 5000 }))).toBe('a roster may have at most 5000 rows');
    expect(rosterProblem(line(4, 'name_too_long', { limit: 1 }))).toBe('the name is longer than 1 character');
    expect(rosterProblem(line(9, 'student_in_two_classes', { name: 'Anna Kim', class: '7A', other_line: 4 })))
      .toBe('Anna Kim is already a student in 7A (line 4); if these are two children, give each an id');
    expect(rosterProblem(line(9, 'child_not_found', { child: 'Max', class: '5B' }))).toBe('Max is not a student in 5B');
    for (const problem of Object.keys(rosterProblems)) {
      const args = { limit: 10, role: 'x', name: 'N', class: 'C', other_line: 3, child: 'K' };
      setLang('en');
      const english = rosterProblem(line(1, problem, args));
      setLang('ru');
      const russian = rosterProblem(line(1, problem, args));
      expect(english).not.toBe('the server says so');
      expect(russian).not.toBe(english);
      expect(`${english} ${russian}`).not.toMatch(/[{}]/);
    }
    setLang('ru');
  });

  it('falls back to the server’s message for a problem it does not know, or without the args its text needs', () => {
    setLang('ru');
    expect(rosterProblem(line(3, 'too_cold', {}, 'it is too cold'))).toBe('it is too cold');
    expect(rosterProblem({ line: 3, message: 'no problem named' })).toBe('no problem named');
    expect(rosterProblem(line(3, 'unknown_role', {}, 'unknown role "x"'))).toBe('unknown role "x"');
    expect(rosterProblem(line(3, 'child_not_found', { child: 'Петров' }, 'Петров is not a student in 5Б'))).toBe('Петров is not a student in 5Б');
    expect(rosterProblem(line(3, 'toString', {}, 'inherited names are not problems'))).toBe('inherited names are not problems');
    expect(rosterLine(line(7, 'too_cold', {}, 'it is too cold'))).toBe('строка 7: it is too cold');
  });

  it('shows names as they are, markup and braces included', () => {
    setLang('ru');
    expect(rosterProblem(line(2, 'unknown_role', { role: '<b>{name}</b>', name: 'X' }))).toBe(
      'неизвестная роль «<b>{name}</b>»: используйте student, guardian, class_teacher или teacher');
  });
});

describe('creating an org', () => {
  it('offers Russia’s zones west to east, Moscow among them, each named in the reader’s language', () => {
    setLang('ru');
    const choices = zoneChoices('Europe/Moscow');
    expect(choices.map((c) => c.zone)).toEqual(russianZones.map((z) => z.zone));
    expect(choices[0].zone).toBe('Europe/Kaliningrad');
    expect(choices.at(-1)!.zone).toBe('Asia/Kamchatka');
    expect(choices.find((c) => c.zone === 'Europe/Moscow')!.label).toBe('Москва (UTC+3)');
    setLang('en');
    expect(zoneChoices(undefined).find((c) => c.zone === 'Asia/Vladivostok')!.label).toBe('Vladivostok (UTC+10)');
    setLang('ru');
  });

  it('puts the browser’s own zone first when it is not Russian, and ignores odd ones', () => {
    setLang('ru');
    expect(zoneChoices('Europe/Berlin')[0]).toEqual({ zone: 'Europe/Berlin', label: 'Europe/Berlin — ваш часовой пояс' });
    expect(zoneChoices('America/Argentina/Buenos_Aires')[0].zone).toBe('America/Argentina/Buenos_Aires');
    expect(zoneChoices('Asia/Omsk').length).toBe(russianZones.length);
    expect(zoneChoices('UTC').length).toBe(russianZones.length);
    expect(zoneChoices('<script>').length).toBe(russianZones.length);
  });

  it('tells the new org’s page once that it was just created', () => {
    expect(takeCreated(5)).toBe(false);
    noteCreated(5);
    expect(takeCreated(6)).toBe(false);
    expect(takeCreated(5)).toBe(true);
    expect(takeCreated(5)).toBe(false);
  });
});
