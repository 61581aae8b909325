// Russian and English. Russian is the default when the browser prefers it; the choice is kept.
// Plurals use Intl.PluralRules (1 сообщение, 2 сообщения, 5 сообщений); dates the user's locale.

export type Lang = 'ru' | 'en';

const ru = {
  app: 'Колокол',
  signIn: 'Войти', signUp: 'Зарегистрироваться', signOut: 'Выйти',
  username: 'Имя пользователя', password: 'Пароль', displayName: 'Ваше имя',
  noPhone: 'Номер телефона не нужен.',
  haveAccount: 'Уже есть аккаунт?', noAccount: 'Нет аккаунта?',
  chats: 'Чаты', search: 'Поиск', newChat: 'Новый чат', direct: 'Личный чат', group: 'Группа', channel: 'Канал',
  title: 'Название', create: 'Создать', cancel: 'Отмена', findUser: 'Имя пользователя собеседника',
  noChats: 'Пока нет чатов', pickChat: 'Выберите чат',
  message: 'Сообщение', send: 'Отправить', edit: 'Изменить', delete: 'Удалить', reply: 'Ответить', react: 'Реакция',
  edited: 'изменено', deleted: 'Сообщение удалено', save: 'Сохранить',
  sending: 'Отправляется', sent: 'Отправлено', read: 'Прочитано', readBy: 'Прочитали',
  typing: 'печатает…', offline: 'Нет соединения — сообщения отправятся позже', connecting: 'Подключение…',
  today: 'Сегодня', yesterday: 'Вчера', loadOlder: 'Загрузить раньше',
  members: 'Участники', invite: 'Пригласительная ссылка', createInvite: 'Создать ссылку', join: 'Вступить',
  joinChat: 'Приглашение в чат', devices: 'Устройства', thisDevice: 'Это устройство', revoke: 'Завершить',
  profile: 'Профиль', about: 'О себе', settings: 'Настройки', language: 'Язык', largeText: 'Крупный текст',
  back: 'Назад', channelReadOnly: 'Писать в канал могут только администраторы',
  created: 'Создано', lastSeen: 'Последний вход', owner: 'владелец', admin: 'администратор', member: 'участник',
  errorGeneric: 'Что-то пошло не так', unread: 'Новые сообщения', actions: 'Действия',
  schools: 'Школы и организации', schoolsShort: 'Школы', enterCode: 'Ввести код школы', claimTitle: 'Код доступа от школы',
  claimHelp: 'Школа выдаёт каждой семье и каждому сотруднику личный код. Введите его, чтобы попасть в чаты своего класса.',
  claimCode: 'Код', confirm: 'Подтвердить', claimedAs: 'Готово: вы в организации «{org}» как {name}.',
  claimNotFound: 'Такого кода нет. Проверьте буквы и цифры или попросите у школы новый.',
  claimExpired: 'Срок действия кода истёк. Попросите у школы новый.',
  tooManyTries: 'Слишком много попыток. Попробуйте через час.', openChats: 'Перейти к чатам',
  noOrgs: 'Вы пока не состоите ни в одной организации.', manage: 'Управлять',
  roster: 'Список классов', importRoster: 'Загрузить список (CSV)', rosterFile: 'Файл списка',
  rosterHelp: 'Столбцы: role, class, name, child, subjects. Сначала файл проверяется — ничего не меняется, пока вы не подтвердите.',
  applyImport: 'Загрузить', rosterErrors: 'В файле есть ошибки, ничего не загружено:', line: 'строка',
  checkResult: 'Проверка файла: вот что изменится', importDone: 'Список загружен',
  unitsAdded: 'Новые классы', unitsArchived: 'Классы в архив', peopleAdded: 'Добавлены',
  peopleArchived: 'Выбыли', peopleChanged: 'Перешли или изменились', noChanges: 'Изменений нет',
  chatsCreated: 'Создано чатов', membersAdded: 'Добавлено в чаты', membersRemoved: 'Удалено из чатов',
  archived: 'архив', claimed: 'подключён(а)', notClaimed: 'не подключён(а)',
  issueCodes: 'Выдать коды неподключённым', printCodes: 'Печать', codesFor: 'Коды доступа',
  validUntil: 'Действует до', codeHowTo: 'Откройте {site}/claim, войдите или зарегистрируйтесь (телефон не нужен) и введите код.',
  roleStudent: 'ученик(ца)', roleGuardian: 'родитель', roleClassTeacher: 'классный руководитель', roleTeacher: 'учитель',
  reach: 'Подключено {n} из {total}',
  familyReach: 'Семьи: подключено {n} из {total}', notReached: 'Не подключены — позвоните им:',
  noGuardian: 'нет родителя в списке',
  whoRead: 'Кто прочитал', readCount: 'Прочитали {n} из {total}', familiesRead: 'Семьи: прочитали {n} из {total}',
  notReadYet: 'Ещё не прочитали:', notJoined: 'не подключён(а)',
  askAck: 'Попросить подтверждение', acknowledge: 'Ознакомлен(а)', acknowledged: 'Вы подтвердили',
  ackCount: 'Подтвердили {n} из {total}', familiesAcked: 'семьи: {n} из {total}',
  safeguarding: 'Правила защиты детей не позволяют этого: с учеником могут связаться только сотрудники школы, одноклассники и его родители.',
};

const en: typeof ru = {
  app: 'Kolokol',
  signIn: 'Sign in', signUp: 'Sign up', signOut: 'Sign out',
  username: 'Username', password: 'Password', displayName: 'Your name',
  noPhone: 'No phone number needed.',
  haveAccount: 'Have an account?', noAccount: 'No account yet?',
  chats: 'Chats', search: 'Search', newChat: 'New chat', direct: 'Direct chat', group: 'Group', channel: 'Channel',
  title: 'Title', create: 'Create', cancel: 'Cancel', findUser: "The other person's username",
  noChats: 'No chats yet', pickChat: 'Pick a chat',
  message: 'Message', send: 'Send', edit: 'Edit', delete: 'Delete', reply: 'Reply', react: 'React',
  edited: 'edited', deleted: 'Message deleted', save: 'Save',
  sending: 'Sending', sent: 'Sent', read: 'Read', readBy: 'Read by',
  typing: 'is typing…', offline: 'Offline — messages will be sent later', connecting: 'Connecting…',
  today: 'Today', yesterday: 'Yesterday', loadOlder: 'Load older',
  members: 'Members', invite: 'Invite link', createInvite: 'Create link', join: 'Join',
  joinChat: 'Invitation to a chat', devices: 'Devices', thisDevice: 'This device', revoke: 'Sign out',
  profile: 'Profile', about: 'About', settings: 'Settings', language: 'Language', largeText: 'Large text',
  back: 'Back', channelReadOnly: 'Only admins post in this channel',
  created: 'Created', lastSeen: 'Last seen', owner: 'owner', admin: 'admin', member: 'member',
  errorGeneric: 'Something went wrong', unread: 'New messages', actions: 'Actions',
  schools: 'Schools and organisations', schoolsShort: 'Schools', enterCode: 'Enter a school code', claimTitle: 'Access code from your school',
  claimHelp: 'The school gives each family and each member of staff a personal code. Enter it to join your class chats.',
  claimCode: 'Code', confirm: 'Confirm', claimedAs: 'Done: you are in “{org}” as {name}.',
  claimNotFound: 'There is no such code. Check the letters and digits, or ask the school for a new one.',
  claimExpired: 'This code has expired. Ask the school for a new one.',
  tooManyTries: 'Too many attempts. Try again in an hour.', openChats: 'Go to chats',
  noOrgs: 'You are not in any organisation yet.', manage: 'Manage',
  roster: 'Classes', importRoster: 'Upload the roster (CSV)', rosterFile: 'Roster file',
  rosterHelp: 'Columns: role, class, name, child, subjects. The file is checked first — nothing changes until you confirm.',
  applyImport: 'Import', rosterErrors: 'The file has errors; nothing was imported:', line: 'line',
  checkResult: 'File checked: this is what will change', importDone: 'Roster imported',
  unitsAdded: 'New classes', unitsArchived: 'Classes archived', peopleAdded: 'Added',
  peopleArchived: 'Left', peopleChanged: 'Moved or changed', noChanges: 'No changes',
  chatsCreated: 'Chats created', membersAdded: 'Added to chats', membersRemoved: 'Removed from chats',
  archived: 'archived', claimed: 'joined', notClaimed: 'not joined',
  issueCodes: 'Issue codes to those not joined', printCodes: 'Print', codesFor: 'Access codes',
  validUntil: 'Valid until', codeHowTo: 'Open {site}/claim, sign in or sign up (no phone number needed) and enter the code.',
  roleStudent: 'student', roleGuardian: 'parent', roleClassTeacher: 'class teacher', roleTeacher: 'teacher',
  reach: '{n} of {total} joined',
  familyReach: 'Families: {n} of {total} joined', notReached: 'Not joined yet — give them a call:',
  noGuardian: 'no parent on the roster',
  whoRead: 'Who has read', readCount: '{n} of {total} have read', familiesRead: 'Families: {n} of {total} have read',
  notReadYet: 'Not read yet:', notJoined: 'not joined',
  askAck: 'Ask to acknowledge', acknowledge: 'Acknowledge', acknowledged: 'You acknowledged',
  ackCount: '{n} of {total} acknowledged', familiesAcked: 'families: {n} of {total}',
  safeguarding: "Child safeguarding rules do not allow this: a student can be reached only by the school's staff, classmates and their own parents.",
};

export type Key = keyof typeof ru;
const dictionaries: Record<Lang, typeof ru> = { ru, en };

/** Plural forms per language, keyed by Intl.PluralRules categories. */
const plurals: Record<Lang, Record<string, Partial<Record<Intl.LDMLPluralRule, string>>>> = {
  ru: {
    messages: { one: '{n} сообщение', few: '{n} сообщения', many: '{n} сообщений', other: '{n} сообщения' },
    members: { one: '{n} участник', few: '{n} участника', many: '{n} участников', other: '{n} участника' },
    unread: { one: '{n} непрочитанное', few: '{n} непрочитанных', many: '{n} непрочитанных', other: '{n} непрочитанного' },
  },
  en: {
    messages: { one: '{n} message', other: '{n} messages' },
    members: { one: '{n} member', other: '{n} members' },
    unread: { one: '{n} unread', other: '{n} unread' },
  },
};

export function detectLang(languages: readonly string[]): Lang {
  for (const language of languages) {
    const base = language.toLowerCase().split('-')[0];
    if (base === 'ru' || base === 'en') return base;
  }
  return 'ru';
}

function initialLang(): Lang {
  const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem('kolokol.lang');
  if (saved === 'ru' || saved === 'en') return saved;
  return detectLang(typeof navigator === 'undefined' ? [] : navigator.languages ?? [navigator.language]);
}

export const locale = $state({ lang: initialLang() });

export function setLang(lang: Lang): void {
  locale.lang = lang;
  localStorage.setItem('kolokol.lang', lang);
  document.documentElement.lang = lang;
}

export function t(key: Key): string {
  return dictionaries[locale.lang][key];
}

/** A text with `{name}` placeholders filled in (the values are text, never markup). */
export function tf(key: Key, values: Record<string, string | number>): string {
  return t(key).replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

// Intl objects are slow to build and a chat formats hundreds of times per render: keep one each.
const cache = new Map<string, Intl.PluralRules | Intl.DateTimeFormat>();

function cached<T extends Intl.PluralRules | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let found = cache.get(key) as T | undefined;
  if (!found) {
    found = make();
    cache.set(key, found);
  }
  return found;
}

export function plural(lang: Lang, kind: 'messages' | 'members' | 'unread', n: number): string {
  const forms = plurals[lang][kind];
  const category = cached(`plural:${lang}`, () => new Intl.PluralRules(lang)).select(n);
  return (forms[category] ?? forms.other ?? '{n}').replace('{n}', String(n));
}

export function count(kind: 'messages' | 'members' | 'unread', n: number): string {
  return plural(locale.lang, kind, n);
}

export function time(millis: number): string {
  const lang = locale.lang;
  return cached(`time:${lang}`, () => new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' })).format(millis);
}

/** "Today", "Yesterday" or a date in the user's locale. */
export function day(millis: number, now = Date.now()): string {
  const start = (ms: number) => new Date(ms).setHours(0, 0, 0, 0);
  const days = Math.round((start(now) - start(millis)) / 86_400_000);
  if (days === 0) return t('today');
  if (days === 1) return t('yesterday');
  const lang = locale.lang;
  return cached(`day:${lang}`, () => new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'long', year: 'numeric' })).format(millis);
}
