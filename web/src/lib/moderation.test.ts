import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError, type Chat, type User } from './api';
import { setLang } from './i18n.svelte';
import { addRefusal, deleteRefusal, outranks, period, postingBlock, refusalText, slowNotice } from './moderation';

function chat(fields: Partial<Chat> = {}): Chat {
  return {
    id: 1, kind: 'group', title: '5Б', peer: null, role: 'member', member_count: 3, last_seq: 0, read_seq: 0, unread_count: 0,
    last_message: null, created_at: 0, last_activity_at: 0, posting: 'everyone', slow_mode_secs: 0, ...fields,
  };
}

// Local times, so the test holds in any time zone.
const now = new Date(2026, 2, 9, 12, 0).getTime();
const later = new Date(2026, 2, 9, 13, 30).getTime();

beforeEach(() => setLang('ru'));

describe('slow mode periods', () => {
  it('take the largest whole unit, in the accusative after «в»', () => {
    expect(period(10)).toBe('10 секунд');
    expect(period(21)).toBe('21 секунду');
    expect(period(30)).toBe('30 секунд');
    expect(period(60)).toBe('1 минуту');
    expect(period(90)).toBe('90 секунд');
    expect(period(120)).toBe('2 минуты');
    expect(period(300)).toBe('5 минут');
    expect(period(3600)).toBe('1 час');
    setLang('en');
    expect(period(60)).toBe('1 minute');
    expect(period(900)).toBe('15 minutes');
  });

  it('show to members only', () => {
    expect(slowNotice(chat({ slow_mode_secs: 30 }))).toBe('Медленный режим: одно сообщение в 30 секунд');
    expect(slowNotice(chat({ slow_mode_secs: 30, role: 'admin' }))).toBeNull();
    expect(slowNotice(chat())).toBeNull();
  });
});

describe('who may post', () => {
  it('nobody in an archive, admins included', () => {
    expect(postingBlock(chat({ posting: 'nobody', role: 'owner' }), undefined, now)).toBe('Это архив: писать сюда нельзя');
  });

  it('admins only, and channels, keep members out', () => {
    expect(postingBlock(chat({ posting: 'admins' }), undefined, now)).toBe('Пишут только администраторы');
    expect(postingBlock(chat({ posting: 'admins', role: 'admin' }), undefined, now)).toBeNull();
    expect(postingBlock(chat({ kind: 'channel' }), undefined, now)).toBe('Писать в канал могут только администраторы');
  });

  it('a known mute holds until it ends', () => {
    expect(postingBlock(chat(), later, now)).toBe('Вы не можете писать в этот чат до 13:30');
    expect(postingBlock(chat(), now - 1, now)).toBeNull();
    expect(postingBlock(chat(), undefined, now)).toBeNull();
  });
});

describe('refused sends', () => {
  it('are explained by their code', () => {
    expect(refusalText('muted', chat(), later, now)).toBe('Вы не можете писать в этот чат до 13:30');
    expect(refusalText('muted', chat(), undefined, now)).toBe('Администратор чата на время запретил вам писать сюда.');
    expect(refusalText('rate_limited', chat({ slow_mode_secs: 30 }), undefined, now)).toBe('Медленный режим: отправьте сообщение чуть позже.');
    expect(refusalText('forbidden', chat({ posting: 'nobody' }), undefined, now)).toBe('Это архив: писать сюда нельзя');
    expect(refusalText('forbidden', chat(), undefined, now)).toBe('Писать в этот чат вам сейчас нельзя.');
    expect(refusalText('text_too_long', chat(), undefined, now)).toBe('Что-то пошло не так');
  });
});

describe('who may mute or remove whom', () => {
  it('goes by rank', () => {
    expect(outranks('admin', 'member')).toBe(true);
    expect(outranks('owner', 'admin')).toBe(true);
    expect(outranks('admin', 'admin')).toBe(false);
    expect(outranks('admin', 'owner')).toBe(false);
    expect(outranks('member', 'member')).toBe(false);
  });
});

describe('adding a member', () => {
  const person: User = { id: 5, username: 'maria', display_name: 'Мария', about: '' };
  const bot: User = { id: 8, username: 'diary_bot', display_name: 'Дневник', about: '', is_bot: true };
  const unapproved = new ApiError(403, 'forbidden', "this organisation's chats take only the bots its admins approved");

  it('says a bot needs the school’s approval, and whose', () => {
    expect(addRefusal(unapproved, bot)).toBe(
      'Этого бота нельзя добавить: в чаты школы можно добавлять только ботов, которых одобрили её администраторы. Попросите администратора школы одобрить @diary_bot в разделе «Боты».');
    setLang('en');
    expect(addRefusal(unapproved, bot)).toMatch(/^This bot cannot be added: the school's chats take only the bots its admins approved\. Ask a school admin to approve @diary_bot/);
  });

  it('explains the other refusals', () => {
    expect(addRefusal(new ApiError(403, 'forbidden', 'admins only'), person)).toBe('Добавлять участников в этот чат могут только его владелец и администраторы.');
    expect(addRefusal(new ApiError(403, 'safeguarding', 'no'), person)).toMatch(/^Правила защиты детей не позволяют этого/);
    expect(addRefusal(new ApiError(400, 'invalid_members', 'at most 1000 per call'), person)).toBe('at most 1000 per call');
    expect(addRefusal(new TypeError('Failed to fetch'), person)).toBe('Что-то пошло не так');
  });
});

describe('deleting a chat for everyone', () => {
  it('explains a refusal in plain words', () => {
    expect(deleteRefusal(new ApiError(403, 'forbidden', 'only the owner deletes a chat'))).toBe('Удалить этот чат для всех может только его владелец.');
    expect(deleteRefusal(new ApiError(403, 'not_member', 'not a member'))).toBe('Вы больше не участник этого чата.');
    expect(deleteRefusal(new TypeError('Failed to fetch'))).toBe('Что-то пошло не так');
    setLang('en');
    expect(deleteRefusal(new ApiError(403, 'forbidden', 'only the owner deletes a chat'))).toBe('Only the owner of this chat can delete it for everyone.');
  });
});
