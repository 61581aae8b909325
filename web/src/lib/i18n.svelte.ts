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
  notJoined: 'не подключён(а)',
  askAck: 'Попросить подтверждение', acknowledge: 'Ознакомлен(а)', acknowledged: 'Вы подтвердили',
  ackCount: 'Подтвердили {n} из {total}', familiesAcked: 'семьи: {n} из {total}',
  safeguarding: 'Правила защиты детей не позволяют этого: с учеником могут связаться только сотрудники школы и его родители (другие ученики — если школа это разрешила).',
  atToday: 'в {time}', atTomorrow: 'завтра в {time}', atYesterday: 'вчера в {time}', atWeekday: '{day} в {time}', atDate: '{date} в {time}',
  untilToday: '{time}', untilTomorrow: '{time} завтра', untilDate: '{time}, {date}',
  heldUntil: 'Будет доставлено {when} ({reason})', heldQuiet: 'тихие часы', heldDnd: 'у получателя «Не беспокоить»',
  cancelHeld: 'Отменить', cancelHeldLabel: 'Отменить отправку', urgent: 'Срочно (в тихие часы тоже)',
  dnd: 'Не беспокоить',
  dndHelp: 'Пока режим включён, личные сообщения вам ждут и приходят, когда он закончится. Отправитель видит, когда его сообщение будет доставлено.',
  dndOn: 'Не беспокоить до {when}', dndIsOff: 'Режим «Не беспокоить» выключен', dndTurnOff: 'Выключить',
  dndOff: 'Выключено', dndHour: 'На 1 час', dndMorning: 'До {when}', dndCustom: 'До выбранного времени', dndWhen: 'Дата и время окончания',
  dndBadTime: 'Выберите время в будущем, не дальше чем через 31 день.',
  quietHours: 'Тихие часы',
  quietHelp: 'В тихие часы сообщения сотрудников семьям (в чатах класса, родителей, в канале объявлений и в личных) и личные сообщения семей сотрудникам не приходят сразу: они будут доставлены, когда тихие часы закончатся. Срочные сообщения администраторов уходят сразу.',
  quietEnable: 'Включить тихие часы', quietStart: 'Начало', quietEnd: 'Конец', quietWeekends: 'и выходные (суббота и воскресенье целиком)',
  timeZone: 'Часовой пояс: {zone} (там сейчас {time})', quietSaved: 'Сохранено', quietNow: 'Сейчас: с {start} до {end}', quietNowWeekends: 'Сейчас: с {start} до {end} и выходные', quietNone: 'Сейчас тихих часов нет',
  quietInvalid: 'Укажите начало и конец (ЧЧ:ММ); они не должны совпадать.',
  remind: 'Напомнить непрочитавшим', remindSent: 'Напоминание отправлено: {n}', remindedAt: 'Напоминали {when}',
  remindLimit: 'Напоминать можно раз в час', reminderBadge: 'Напоминание', reminderHere: 'Вас просят прочитать это сообщение',
  poll: 'Опрос', pollNew: 'Новый опрос', pollOptions: 'варианты ответа', pollQuestion: 'Вопрос', pollOption: 'Вариант {n}', pollAddOption: 'Добавить вариант',
  pollRemoveOption: 'Убрать вариант {n}', pollMultiple: 'Несколько ответов', pollAnonymous: 'Анонимный',
  pollDeadline: 'Закрыть голосование (необязательно)', pollSend: 'Отправить опрос', pollCancel: 'Без опроса',
  pollNeedQuestion: 'Напишите вопрос в поле сообщения.', pollNeedOptions: 'Нужно от 2 до 10 вариантов ответа.',
  pollEmptyOption: 'Заполните или уберите пустой вариант.', pollLongOption: 'Вариант длиннее 100 символов.',
  pollSameOptions: 'Варианты не должны повторяться.', pollPastDeadline: 'Срок должен быть в будущем.',
  pollAnonymousLabel: 'Анонимный опрос', pollPublicLabel: 'Открытый опрос', pollMultipleLabel: 'можно выбрать несколько',
  pollClosed: 'Опрос закрыт', pollClosesAt: 'Голосование до {when}', pollVote: 'Голосовать', pollChange: 'Изменить голос',
  pollRetract: 'Отозвать голос', pollVoteNow: 'Проголосовать', pollNoVotes: 'Пока никто не проголосовал',
  pollWhoVoted: 'Кто голосовал', pollHideVoters: 'Скрыть', pollYourChoice: 'ваш выбор', pollOptionVotes: '{option}: {votes}, {percent}%',
  pollVoteFailed: 'Голос не принят', pollClosedError: 'Опрос уже закрыт',
  thread: 'Тред', threadReply: 'Ответить в треде', threadOpen: 'Открыть тред', threadClose: 'Закрыть тред',
  threadTitle: 'Тред: {text}', threadEmpty: 'Ответов пока нет. Напишите первым.', threadReplyPlaceholder: 'Ответ в треде',
  threadLoading: 'Загрузка…',
  pin: 'Закрепить', unpin: 'Открепить', pinned: 'Закреплённое сообщение', pinnedShow: 'Показать закреплённое сообщение: {text}',
  staffClassTeacher: 'Классный руководитель {units}', staffTeacher: 'Учитель · {org}',
  staffPlaceClassTeacher: 'классный руководитель {unit}', staffPlaceTeacher: 'учитель {unit}', staffPlaceDetail: '{place} ({detail})',
  staffWhy: 'Подтверждено школой «{org}»: человек есть в её списке сотрудников. Имя может указать любой, а эту отметку ставит только школа.',
  staffExplain: 'Что значит эта отметка',
  close: 'Закрыть',
  // --- chat moderation and privacy (web-chatmod) ---
  report: 'Пожаловаться', reportTitle: 'Жалоба на сообщение', reportReason: 'Что не так с этим сообщением?',
  reportHelp: 'Жалобу увидят только модераторы школы или организации: это сообщение и вашу причину.',
  reportSend: 'Отправить жалобу', reportSent: 'Жалоба отправлена модераторам',
  reportNoModerators: 'В этом чате нет модераторов: жалобы принимают в чатах школы или организации.',
  reportGone: 'Это сообщение уже удалено.', reportNeedReason: 'Напишите причину — от 1 до 500 символов.',
  chatRules: 'Правила чата', postingLegend: 'Кто пишет', postingEveryone: 'Пишут все', postingAdmins: 'Только администраторы',
  postingNobody: 'Никто — архив только для чтения', postingChannel: 'Администраторы (как в любом канале)',
  slowMode: 'Медленный режим', slowModeHelp: 'Участники (не администраторы) пишут не чаще одного сообщения за это время.',
  slowOff: 'Выключен', slowEvery: 'Одно сообщение в {period}', chatRulesSaved: 'Сохранено',
  archiveNotice: 'Это архив: писать сюда нельзя', adminsOnlyNotice: 'Пишут только администраторы',
  slowNotice: 'Медленный режим: одно сообщение в {period}',
  mutedUntil: 'Вы не можете писать в этот чат до {when}', mutedGeneric: 'Администратор чата на время запретил вам писать сюда.',
  slowRefused: 'Медленный режим: отправьте сообщение чуть позже.', postForbidden: 'Писать в этот чат вам сейчас нельзя.',
  notMemberAnymore: 'Вы больше не участник этого чата.',
  memberActions: 'Действия с участником: {name}', mute: 'Запретить писать', muteHour: 'на 1 час', muteDay: 'на 1 день',
  muteWeek: 'на неделю', unmute: 'Разрешить писать', mutedMember: 'не может писать до {when}',
  mutedDone: '{name} не может писать до {when}', unmutedDone: '{name} снова может писать',
  removeMember: 'Удалить из чата', removeConfirm: 'Удалить {name} из чата?', removedDone: '{name}: удалён(а) из чата',
  safeguardingNotice: 'Переписку учителя и ученика может прочитать ответственный за безопасность детей в школе «{org}».',
  privacy: 'Приватность', showUsername: 'Показывать моё имя пользователя (@{username}) другим участникам',
  showUsernameHelp: 'Когда выключено, другие видят только ваше имя — и по-прежнему могут писать вам в общих чатах.',
  // web-orgadmin: the organisation's sections and the safeguarding lead's page.
  orgSections: 'Разделы', orgTabLists: 'Списки', orgTabRules: 'Правила', orgTabRoles: 'Роли', orgTabReports: 'Жалобы',
  orgTabAudit: 'Журнал', orgTabYear: 'Новый учебный год',
  orgForbidden: 'Эта страница доступна только администраторам школы.', adminOnly: 'Управлять школой могут только её администраторы.',
  orgSignedOut: 'Вы вышли из аккаунта. Войдите снова.', orgRateLimited: 'Слишком часто. Попробуйте немного позже.',
  userNumber: 'пользователь №{id}', chatNumber: 'чат №{id}', you: 'вы',
  contactsTitle: 'Кому могут писать ученики',
  contactsHelp: 'Своим родителям ученики могут писать всегда, а никто вне школы не может написать ученику — при любом выборе. «Учителя» — это учителя класса ученика.',
  contactsNow: 'Сейчас действует: «{rule}»', contactsClass: 'Ученики пишут только одноклассникам и учителям',
  contactsStaff: 'Ученики пишут только учителям', contactsSchool: 'Ученики пишут любому ученику школы (и любому сотруднику)',
  filesTitle: 'Файлы',
  filesHelp: 'Фото, видео, голосовые сообщения и документы из чатов школы занимают общее место школы, а не место того, кто их отправил. Когда место заполнено, новые файлы отправить нельзя.',
  filesNow: 'Сейчас: {quota}; {kept}', filesQuotaDefault: 'место для файлов — как задано на сервере (обычно 100 ГБ)',
  filesQuotaSet: 'место для файлов — {size}', filesKeptAlways: 'файлы хранятся, пока есть их сообщения',
  filesKeptDays: 'файлы удаляются через {days} после отправки',
  filesQuota: 'Место для файлов, ГБ', filesQuotaHelp: 'Можно дробное число, например 0,5. Пустое поле — как задано на сервере: обычно это 100 ГБ.',
  filesKeep: 'Сколько хранить файлы', filesKeepAlways: 'Пока есть сообщения, к которым они приложены',
  filesKeepDays: 'Удалять через заданное число дней после отправки', filesDays: 'Через сколько дней удалять (от 1 до 3650)',
  filesKeepHelp: 'Сообщения остаются в чатах — удаляются только файлы, а на их месте появляется надпись «Файл больше недоступен».',
  filesKeepWarn: 'Уже отправленные файлы старше этого срока удалятся в ближайшие минуты.',
  filesQuotaInvalid: 'Укажите размер в гигабайтах — например, 5 или 0,5 (не меньше 1 МБ) — или оставьте поле пустым.',
  filesDaysInvalid: 'Укажите целое число дней от 1 до 3650.',
  filesRefused: 'Сервер не принял эти значения: места должно быть не меньше 1 МБ, а срок хранения — от 1 до 3650 дней.',
  orgRoleAdmin: 'Администратор', orgRoleLead: 'Ответственный за защиту детей',
  orgRoleAdminHelp: 'Управляет школой: списки, правила, роли, жалобы, журнал, переход в новый учебный год.',
  orgRoleLeadHelp: 'Может читать личные переписки сотрудников с учениками. Каждое прочтение записывается в журнал. Администратору это недоступно, пока его не назначат ответственным.',
  roleGrant: 'Назначить роль', roleWhich: 'Роль', roleGrantButton: 'Назначить', roleGranted: '{name}: назначена роль «{role}»',
  roleRevoke: 'Снять роль', roleRevokeLabel: 'Снять роль «{role}» у {name}', roleRevoked: '{name}: роль «{role}» снята',
  roleNoUser: 'Нет пользователя с таким именем. Проверьте имя пользователя (не ФИО).',
  roleLastAdmin: 'В школе должен остаться хотя бы один администратор. Сначала назначьте администратором другого человека.',
  reportsHelp: 'Жалобы участников на сообщения в чатах школы. Вы видите только то сообщение, на которое пожаловались.',
  reportsShowAll: 'Показать и рассмотренные', reportsNoneOpen: 'Новых жалоб нет.', reportsNone: 'Жалоб нет.',
  reportLabel: 'Жалоба №{id}', reportFrom: 'Пожаловался(ась):', queueReason: 'Причина', reportAuthor: 'Автор сообщения:',
  reportDismiss: 'Оставить', reportDelete: 'Удалить сообщение', reportDismissed: 'Оставлено', reportDeleted: 'Сообщение удалено',
  queueReportGone: 'Этой жалобы больше нет. Обновите список.',
  auditHelp: 'Все действия администраторов и модераторов школы: кто, что и когда. Сообщения названы номерами, без текста.',
  auditRefresh: 'Обновить', auditOlder: 'Показать раньше', auditEmpty: 'Записей пока нет.',
  auditRosterImported: 'загрузил(а) список', auditClaimCodesIssued: 'выдал(а) коды доступа', auditPolicySet: 'изменил(а) правила школы',
  auditReportResolved: 'рассмотрел(а) жалобу', auditRosterRollover: 'перевёл(а) классы в новый учебный год',
  auditRoleGranted: 'назначил(а) роль', auditRoleRevoked: 'снял(а) роль', auditSafeguardingViewed: 'прочитал(а) переписку сотрудника с учеником',
  auditMessageDeleted: 'удалил(а) чужое сообщение', auditMemberRemoved: 'удалил(а) участника из чата', auditMemberMuted: 'ограничил(а) участника чата',
  auditChatSettings: 'изменил(а) настройки чата', auditMessagePinned: 'закрепил(а) сообщение', auditMessageUnpinned: 'открепил(а) сообщение',
  rolloverHelp: 'В конце учебного года каждый класс переходит в следующий вместе с людьми и чатами: «5Б» становится «6Б». Выпускной класс уходит в архив, его чаты остаются только для чтения. Классы без номера не меняются. Сначала проверьте, что изменится.',
  rolloverFinal: 'Выпускной класс', rolloverCheck: 'Проверить', rolloverPlan: 'Вот что изменится',
  rolloverMoves: 'Переходят', rolloverLeavers: 'Выпускаются (в архив)', rolloverUntouched: 'Не меняются', rolloverNothing: 'Переводить нечего.',
  rolloverWarning: 'Перевод делается раз в учебный год и не отменяется. Выпускные ({grade}-е) классы уйдут в архив.',
  rolloverRun: 'Перевести классы', rolloverDone: 'Классы переведены',
  rolloverRefused: 'Перевод не выполнен. Его можно делать только раз в учебный год; кроме того, класс не может получить название, которое уже занято (в том числе классом в архиве).',
  leadLink: 'Защита детей', leadTitle: 'Защита детей: переписки сотрудников с учениками',
  leadAudited: 'Каждое прочтение записывается в журнал школы: администраторы видят, кто и когда читал переписку.',
  leadHelp: 'Личные чаты сотрудников школы с учениками. Откройте чат, чтобы прочитать его.',
  leadStaff: 'Сотрудник:', leadStudent: 'Ученик:', leadNoChats: 'Таких переписок пока нет.', leadBack: 'К списку',
  leadReadOnly: 'Только чтение: участники не видят, что вы здесь.', leadOlder: 'Раньше', leadNoMessages: 'Сообщений нет.',
  leadChatLabel: 'Переписка: {staff} и {student}',
  leadOnly: 'Эту страницу видит только ответственный за защиту детей. Быть администратором школы для этого недостаточно: ответственного назначают в разделе «Роли».',
  leadChatGone: 'Этого чата больше нет среди переписок сотрудников с учениками.',
  serverSaid: 'Ответ сервера: {message}',
  // web-bots: the bot badge, a bot's deep link, "My bots" and commands after "/".
  botBadge: 'бот',
  botCard: 'Бот @{username}', botStart: 'Начать', botSignInFirst: 'Войдите или зарегистрируйтесь, чтобы начать разговор с ботом.',
  botNotFound: 'Такого бота нет', botStartHelp: 'Бот — это программа. Она увидит ваше имя и то, что вы ей напишете.',
  myBots: 'Мои боты', myBotsHelp: 'Бот — программа, которая пишет в чаты и отвечает на сообщения. Боты, написанные для Max, работают здесь, если поменять им адрес API и токен.',
  myBotsOpen: 'Открыть «Мои боты»', botsNone: 'У вас пока нет ботов.',
  botCreate: 'Новый бот', botUsername: 'Имя пользователя бота', botUsernameHelp: 'От 3 до 32 символов: латинские буквы a–z, цифры, _ и точка. Принято заканчивать на _bot.',
  botName: 'Название', botCreateButton: 'Создать бота',
  botUsernameTaken: 'Это имя пользователя уже занято. Выберите другое.',
  botUsernameInvalid: 'Имя пользователя бота: от 3 до 32 символов — латинские буквы a–z, цифры, _ и точка.',
  botNameInvalid: 'Название: от 1 до 64 символов.', botTooMany: 'Больше 20 ботов сделать нельзя.',
  botToken: 'Токен бота @{username}', botTokenField: 'Токен', botTokenOnce: 'Токен показан только сейчас — сохраните его в надёжном месте.',
  botTokenPower: 'Кто знает токен, полностью управляет ботом: пишет от его имени и читает его чаты. Никому его не пересылайте.',
  botTokenHide: 'Я сохранил(а) токен', copy: 'Скопировать', copied: 'Скопировано', copyByHand: 'Текст выделен — скопируйте его (Ctrl+C).',
  botNewToken: 'Новый токен', botNewTokenConfirm: 'Выпустить новый токен для @{username}? Старый перестанет работать сразу, и бот отключится, пока вы не вставите новый.',
  botNewTokenButton: 'Выпустить',
  botCommands: 'Команды', botNoCommands: 'Команд пока нет: бот задаёт их сам (PATCH /me/commands).',
  botLink: 'Ссылка на бота', botLinkHelp: 'После start= можно дописать данные для бота, например номер класса.',
  botConnect: 'Как подключить программу', botApiUrl: 'Адрес API для ботов (с косой чертой в конце)',
  botClientTs: 'npm @maxhub/max-bot-api:', botClientPy: 'PyPI maxapi:', botClientHttp: 'Любой HTTP-клиент: заголовок',
  botTokenPlaceholder: '<токен>',
  commandsLabel: 'Команды ботов',
  // web-orgbots: the org's approved bots, their audit entries, and adding a member to a chat.
  orgTabBots: 'Боты',
  orgBotsChats: 'В чаты школы можно добавить только ботов из этого списка.',
  orgBotsStudents: 'Ученики школы могут открыть только этих ботов.',
  orgBotsReads: 'Бот — это программа. Одобренный бот читает то, что ему пишут: в личном чате — всё, а в группах и каналах школы — все сообщения, если его сделают там администратором.',
  orgBotsNone: 'Одобренных ботов пока нет.', orgBotNoCommands: 'Команд у бота нет.',
  orgBotAllow: 'Одобрить бота', orgBotAllowButton: 'Одобрить', orgBotAllowed: '@{username} одобрен',
  orgBotWithdraw: 'Отозвать', orgBotWithdrawLabel: 'Отозвать одобрение бота {name} (@{username})',
  orgBotWithdrawConfirm: 'Отозвать одобрение бота {name} (@{username})? Его больше нельзя будет добавить в чаты школы, а ученики не смогут его открыть. Из чатов, куда его уже добавили, он не удаляется — уберите его там сами.',
  orgBotWithdrawn: '@{username}: одобрение отозвано',
  botNumber: 'бот №{id}', botNamed: 'бот «{name}» (@{username})',
  auditBotAllowed: 'одобрил(а) бота', auditBotDisallowed: 'отозвал(а) одобрение бота',
  addMember: 'Добавить участника', addMemberButton: 'Добавить', addMemberDone: '{name}: добавлен(а) в чат',
  addMemberForbidden: 'Добавлять участников в этот чат могут только его владелец и администраторы.',
  addBotNotApproved: 'Этого бота нельзя добавить: в чаты школы можно добавлять только ботов, которых одобрили её администраторы. Попросите администратора школы одобрить @{username} в разделе «Боты».',
  // web-keyboard: a bot's buttons under its message.
  kbLabel: 'Кнопки бота', kbNewTab: 'откроется в новой вкладке',
  kbNoContact: 'Колокол не передаёт ботам номер телефона', kbNoLocation: 'Колокол не передаёт ботам местоположение',
  kbUnsupported: 'Такие кнопки Колокол пока не поддерживает',
  kbWaiting: 'Ждём ответа бота…', kbNoAnswer: 'Бот не ответил',
  kbGone: 'Эта кнопка больше не работает', kbMessageGone: 'Это сообщение удалено', kbTooFast: 'Слишком часто — подождите немного и нажмите снова',
  kbCopyFailed: 'Не получилось скопировать: браузер не дал доступа к буферу обмена',
  kbChatTo: 'Чат: {title}', kbChatOpening: 'Открываем чат…', kbChatRefused: 'Вы не можете присоединиться к этому чату',
  // web-miniapp: opening a bot's mini-app, and setting its address in «Мои боты».
  appTitle: 'Открыть приложение бота «{name}»?', appOpen: 'Открыть',
  appWhere: 'Откроется в новой вкладке. Это сайт автора бота, а не Колокола:', appChecking: 'Узнаём адрес…',
  appShares: 'Бот узнает ваше имя и номер в Колоколе.', appSharesUsername: 'Бот узнает ваше имя, имя пользователя и номер в Колоколе.',
  appNone: 'У этого бота нет мини-приложения.', appNoChat: 'Открыть приложение можно только у бота, с которым у вас есть общий чат.',
  appBadAddress: 'У приложения этого бота неправильный адрес — его не открыть.',
  botWebApp: 'Адрес мини-приложения',
  botWebAppHelp: 'Сайт, который открывают кнопки бота open_app. Адрес начинается с https://. Сайт получит имя и номер человека с подписью, которую бот проверяет своим токеном.',
  botWebAppRemove: 'Убрать', botWebAppSaved: 'Адрес сохранён', botWebAppRemoved: 'Мини-приложение убрано',
  botWebAppInvalid: 'Нужен адрес сайта в интернете, начинающийся с https://, например https://example.org/app',
  // web-delete-chat: the owner deletes a group or channel for everyone.
  chatDelete: 'Удалить чат', chatDeleteConfirm: 'Удалить «{title}» для всех?',
  chatDeleteWarning: 'Все сообщения и участники будут удалены безвозвратно.',
  chatDeleteForbidden: 'Удалить этот чат для всех может только его владелец.',
  // web-media: files on messages.
  photo: 'Фото', video: 'Видео', audio: 'Аудио', voiceMessage: 'Голосовое сообщение', file: 'Файл',
  sizeBytes: '{n}\u00a0Б', sizeKB: '{n}\u00a0КБ', sizeMB: '{n}\u00a0МБ', sizeGB: '{n}\u00a0ГБ',
  photoOpen: 'Открыть фото: {name}', fileDownload: 'Скачать', fileDownloadLabel: 'Скачать «{name}», {details}',
  mediaLoading: 'Загрузка…', mediaFailed: 'Не удалось загрузить', mediaRetry: 'Повторить', mediaGone: 'Файл больше недоступен',
  mediaUnplayable: 'Этот браузер не может воспроизвести файл',
  // web-upload: sending files, voice and video messages.
  attachFile: 'Прикрепить файл', attachedFiles: 'Прикреплённые файлы',
  dropFiles: 'Отпустите файлы, чтобы прикрепить их к сообщению',
  uploadOf: '{sent} из {size}', uploadOffline: 'Нет соединения — продолжим, когда оно появится', uploadDone: 'Загружено',
  uploadProgressLabel: 'Загрузка «{name}»', uploadRemove: 'Убрать «{name}»', uploadCancel: 'Отменить загрузку «{name}»',
  uploadRetry: 'Загрузить снова', uploadRetryLabel: 'Загрузить «{name}» снова', uploadAsFile: 'Отправить как файл',
  uploadNotImage: 'Эту картинку не получится показать в чате. Её можно отправить как файл.',
  uploadNotVideo: 'Это видео не получится показать в чате. Его можно отправить как файл.',
  uploadNotAudio: 'Эту запись не получится проиграть в чате. Её можно отправить как файл.',
  uploadUnreadable: 'Файл не читается — возможно, он повреждён.',
  uploadTooLarge: 'Файл слишком большой для отправки.', uploadEmpty: 'Файл пустой — отправлять нечего.',
  uploadNotAllowed: 'В этот чат сейчас нельзя отправлять файлы.',
  uploadFailed: 'Не удалось загрузить файл.',
  tooManyFiles: 'В одном сообщении — не больше {max} файлов.',
  fixFilesFirst: 'Сначала уберите файлы, которые не загрузились, или загрузите их снова.',
  filesWait: 'Отправится, когда загрузятся файлы', filesReady: 'Файлы загружены — можно отправлять', notSentBecause: 'Сообщение не отправлено. {problem}',
  voiceButton: 'Голосовое', recordVoice: 'Записать голосовое сообщение',
  videoButton: 'Видео', recordVideo: 'Записать видеосообщение',
  recordingVoice: 'Идёт запись голосового сообщения', recordingVideo: 'Идёт запись видеосообщения',
  recordSend: 'Отправить', recordSendVoice: 'Отправить голосовое сообщение', recordSendVideo: 'Отправить видеосообщение',
  recordCancel: 'Отменить запись', recordStarting: 'Включаем микрофон…',
  recordLimitVoice: 'Голосовое сообщение — не длиннее 5 минут, поэтому оно отправлено.',
  recordLimitVideo: 'Видеосообщение — не длиннее минуты, поэтому оно отправлено.',
  micDenied: 'Нет доступа к микрофону. Разрешите его этому сайту в настройках браузера.',
  camDenied: 'Нет доступа к камере или микрофону. Разрешите их этому сайту в настройках браузера.',
  micMissing: 'Микрофон не найден.', camMissing: 'Камера не найдена.',
  recordUnsupported: 'Этот браузер не умеет записывать. Попробуйте другой браузер.',
  recordFailed: 'Запись не получилась. Попробуйте ещё раз.',
  voicePlay: 'Слушать', voicePause: 'Пауза', voicePosition: 'Перемотка', voiceSpeed: 'Скорость: {rate}', timeOf: '{at} из {total}',
  videoNote: 'Видеосообщение', videoNotePlay: 'Смотреть видеосообщение', cameraPreview: 'Камера',
  // issue 6: creating an org, roster errors by problem, read and acknowledgement lists, one person's new code.
  orgCreate: 'Создать организацию',
  orgCreateHelp: 'Школа, колледж, управляющая компания, ведомство. Вы станете её администратором, а затем загрузите список людей (CSV).',
  orgName: 'Название организации', orgNamePlaceholder: 'Школа №57', orgTimeZone: 'Часовой пояс (по нему считаются тихие часы)',
  orgZoneYours: '{zone} — ваш часовой пояс', orgZoneOption: '{city} (UTC+{offset})',
  orgCreated: 'Организация «{name}» создана. Следующий шаг — загрузите список классов (CSV): из него появятся классы, чаты и коды доступа.',
  orgInvalid: 'Проверьте название (от 1 до 100 символов) и часовой пояс.',
  orgCreateForbidden: 'Создавать организации могут только администраторы сервера.',
  zoneKaliningrad: 'Калининград', zoneMoscow: 'Москва', zoneSamara: 'Самара', zoneYekaterinburg: 'Екатеринбург', zoneOmsk: 'Омск',
  zoneNovosibirsk: 'Новосибирск', zoneKrasnoyarsk: 'Красноярск', zoneIrkutsk: 'Иркутск', zoneYakutsk: 'Якутск',
  zoneVladivostok: 'Владивосток', zoneMagadan: 'Магадан', zoneKamchatka: 'Петропавловск-Камчатский',
  rosterLine: 'строка {line}: {text}',
  rosterHeader: 'в первой строке должны быть названия столбцов: role,class,name,child,subjects (и, если нужно, id)',
  rosterNotUtf8: 'файл не в кодировке UTF-8: сохраните его в формате «CSV UTF-8»',
  rosterUnreadable: 'файл не удалось прочитать',
  rosterBadCsv: 'строку не удалось разобрать как CSV: проверьте кавычки и запятые',
  rosterTooManyRows: 'в списке может быть не больше {limit}',
  rosterUnknownRole: 'неизвестная роль «{role}»: используйте student, guardian, class_teacher или teacher',
  rosterClassEmpty: 'не указан класс (столбец class)',
  rosterClassTooLong: 'название класса длиннее {limit}',
  rosterNameEmpty: 'не указано имя (столбец name)',
  rosterNameTooLong: 'имя длиннее {limit}',
  rosterGuardianWithoutChild: 'у родителя (guardian) должно быть указано имя ребёнка в столбце child',
  rosterOnlyGuardiansHaveChild: 'столбец child заполняют только у родителей (guardian)',
  rosterOnlyTeachersHaveSubjects: 'столбец subjects заполняют только у учителей (teacher, class_teacher)',
  rosterStudentInTwoClasses: '{name} уже есть в списке как ученик(ца) класса {class} (строка {other_line}); если это два разных ребёнка, укажите каждому свой id',
  rosterStudentAndAdult: '{name} — здесь ученик(ца), а в строке {other_line} — взрослый; если это разные люди, укажите каждому свой id',
  rosterAmbiguousChild: 'в классе {class} два ученика с именем {child}: непонятно, кто из них ребёнок',
  rosterChildNotFound: 'в классе {class} нет ученика с именем {child}',
  reachReadList: 'Прочитали: {n}', reachUnreadList: 'Не прочитали: {n}',
  reachAckedList: 'Ознакомились: {n}', reachNotAckedList: 'Ещё не ознакомились: {n}',
  // A family received a message when one of its parents is in the chat; {of} is «из 30 семей».
  reachUnreachedList: 'Не получили: {n}', familiesReceived: 'получили {n} {of}', reachByClass: 'По классам',
  reachClass: '{unit}: получили {received} из {total} · прочитали {read}',
  reachClassAck: '{unit}: получили {received} из {total} · прочитали {read} · ознакомились {acked}',
  newCode: 'Новый код', newCodeLabel: 'Новый код: {name}',
  newCodeConfirm: 'Выдать новый код для «{name}»? Прежний код этого человека сразу перестанет работать.',
  newCodeButton: 'Выдать код', newCodeFor: 'Новый код · {name}',
  auditOrgCreated: 'создал(а) организацию', auditMemberAdded: 'добавил(а) участников в чат', auditChatRenamed: 'переименовал(а) чат',
  auditInviteCreated: 'создал(а) пригласительную ссылку', auditInviteRevoked: 'отозвал(а) пригласительную ссылку',
  auditMessageUrgent: 'отправил(а) срочное сообщение', auditMemberRole: 'изменил(а) роль участника чата',
  auditChatTransferred: 'передал(а) чат новому владельцу',
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
  notJoined: 'not joined',
  askAck: 'Ask to acknowledge', acknowledge: 'Acknowledge', acknowledged: 'You acknowledged',
  ackCount: '{n} of {total} acknowledged', familiesAcked: 'families: {n} of {total}',
  safeguarding: "Child safeguarding rules do not allow this: a student can be reached only by the school's staff and their own parents (other students only where the school allows it).",
  atToday: 'at {time}', atTomorrow: 'tomorrow at {time}', atYesterday: 'yesterday at {time}', atWeekday: '{day} at {time}', atDate: 'on {date} at {time}',
  untilToday: '{time}', untilTomorrow: '{time} tomorrow', untilDate: '{time}, {date}',
  heldUntil: 'Will be delivered {when} ({reason})', heldQuiet: 'quiet hours', heldDnd: 'the recipient is on “Do not disturb”',
  cancelHeld: 'Cancel', cancelHeldLabel: 'Cancel sending', urgent: 'Urgent (even in quiet hours)',
  dnd: 'Do not disturb',
  dndHelp: 'While it is on, direct messages to you wait and arrive when it ends. Senders see when their message will be delivered.',
  dndOn: 'Do not disturb until {when}', dndIsOff: '“Do not disturb” is off', dndTurnOff: 'Turn off',
  dndOff: 'Off', dndHour: 'For 1 hour', dndMorning: 'Until {when}', dndCustom: 'Until a chosen time', dndWhen: 'End date and time',
  dndBadTime: 'Choose a time in the future, at most 31 days ahead.',
  quietHours: 'Quiet hours',
  quietHelp: "In quiet hours, messages from staff to families (in class, parents' and announcement chats, and direct ones) and families' direct messages to staff do not arrive at once: they are delivered when quiet hours end. Admins' urgent messages go at once.",
  quietEnable: 'Turn quiet hours on', quietStart: 'Start', quietEnd: 'End', quietWeekends: 'and weekends (all of Saturday and Sunday)',
  timeZone: 'Time zone: {zone} (now {time} there)', quietSaved: 'Saved', quietNow: 'Now: from {start} to {end}', quietNowWeekends: 'Now: from {start} to {end} and weekends', quietNone: 'No quiet hours now',
  quietInvalid: 'Give a start and an end (HH:MM); they must differ.',
  remind: 'Remind those who have not read', remindSent: 'Reminder sent: {n}', remindedAt: 'Reminded {when}',
  remindLimit: 'You can remind once an hour', reminderBadge: 'Reminder', reminderHere: 'You are asked to read this message',
  poll: 'Poll', pollNew: 'New poll', pollOptions: 'options', pollQuestion: 'Question', pollOption: 'Option {n}', pollAddOption: 'Add an option',
  pollRemoveOption: 'Remove option {n}', pollMultiple: 'Several answers', pollAnonymous: 'Anonymous',
  pollDeadline: 'Close voting at (optional)', pollSend: 'Send poll', pollCancel: 'No poll',
  pollNeedQuestion: 'Write the question in the message box.', pollNeedOptions: 'A poll needs 2 to 10 options.',
  pollEmptyOption: 'Fill in or remove the empty option.', pollLongOption: 'An option is longer than 100 characters.',
  pollSameOptions: 'Options must differ.', pollPastDeadline: 'The deadline must be in the future.',
  pollAnonymousLabel: 'Anonymous poll', pollPublicLabel: 'Public poll', pollMultipleLabel: 'several answers allowed',
  pollClosed: 'Poll closed', pollClosesAt: 'Voting until {when}', pollVote: 'Vote', pollChange: 'Change vote',
  pollRetract: 'Retract vote', pollVoteNow: 'Vote', pollNoVotes: 'No votes yet',
  pollWhoVoted: 'Who voted', pollHideVoters: 'Hide', pollYourChoice: 'your choice', pollOptionVotes: '{option}: {votes}, {percent}%',
  pollVoteFailed: 'The vote was not taken', pollClosedError: 'The poll is closed',
  thread: 'Thread', threadReply: 'Reply in thread', threadOpen: 'Open the thread', threadClose: 'Close the thread',
  threadTitle: 'Thread: {text}', threadEmpty: 'No replies yet. Be the first.', threadReplyPlaceholder: 'Reply in the thread',
  threadLoading: 'Loading…',
  pin: 'Pin', unpin: 'Unpin', pinned: 'Pinned message', pinnedShow: 'Show the pinned message: {text}',
  staffClassTeacher: 'Class teacher {units}', staffTeacher: 'Teacher · {org}',
  staffPlaceClassTeacher: 'class teacher {unit}', staffPlaceTeacher: 'teacher {unit}', staffPlaceDetail: '{place} ({detail})',
  staffWhy: 'Verified by “{org}”: this person is on the school’s staff list. Anyone can type a name; only the school can give this mark.',
  staffExplain: 'What this mark means',
  close: 'Close',
  // --- chat moderation and privacy (web-chatmod) ---
  report: 'Report', reportTitle: 'Report a message', reportReason: 'What is wrong with this message?',
  reportHelp: 'Only the moderators of the school or organisation see the report: this message and your reason.',
  reportSend: 'Send the report', reportSent: 'The report went to the moderators',
  reportNoModerators: 'This chat has no moderators: reports are taken in the chats of a school or organisation.',
  reportGone: 'This message has been deleted.', reportNeedReason: 'Give a reason of 1 to 500 characters.',
  chatRules: 'Chat rules', postingLegend: 'Who posts', postingEveryone: 'Everyone posts', postingAdmins: 'Admins only',
  postingNobody: 'Nobody — a read-only archive', postingChannel: 'Admins (as in any channel)',
  slowMode: 'Slow mode', slowModeHelp: 'Members (not admins) post at most one message in this time.',
  slowOff: 'Off', slowEvery: 'One message every {period}', chatRulesSaved: 'Saved',
  archiveNotice: 'This is an archive: nobody can post here', adminsOnlyNotice: 'Only admins post here',
  slowNotice: 'Slow mode: one message every {period}',
  mutedUntil: 'You cannot post in this chat until {when}', mutedGeneric: 'A chat admin has stopped you posting here for a while.',
  slowRefused: 'Slow mode: send your message a little later.', postForbidden: 'You cannot post in this chat now.',
  notMemberAnymore: 'You are no longer a member of this chat.',
  memberActions: 'Actions for member: {name}', mute: 'Stop posting', muteHour: 'for 1 hour', muteDay: 'for 1 day',
  muteWeek: 'for a week', unmute: 'Allow posting', mutedMember: 'cannot post until {when}',
  mutedDone: '{name} cannot post until {when}', unmutedDone: '{name} can post again',
  removeMember: 'Remove from the chat', removeConfirm: 'Remove {name} from the chat?', removedDone: '{name} was removed from the chat',
  safeguardingNotice: 'Conversations between teachers and students can be read by the safeguarding lead of “{org}”.',
  privacy: 'Privacy', showUsername: 'Show my username (@{username}) to other members',
  showUsernameHelp: 'When off, others see only your name — and can still write to you in chats you share.',
  // web-orgadmin: the organisation's sections and the safeguarding lead's page.
  orgSections: 'Sections', orgTabLists: 'Rosters', orgTabRules: 'Rules', orgTabRoles: 'Roles', orgTabReports: 'Reports',
  orgTabAudit: 'Log', orgTabYear: 'New school year',
  orgForbidden: 'Only the school’s admins can open this page.', adminOnly: 'Only the school’s admins manage it.',
  orgSignedOut: 'You are signed out. Please sign in again.', orgRateLimited: 'Too often. Please try again a little later.',
  userNumber: 'user #{id}', chatNumber: 'chat #{id}', you: 'you',
  contactsTitle: 'Whom students may write to',
  contactsHelp: 'Students can always write to their own parents, and nobody outside the school can write to a student, whatever you choose. “Teachers” means the teachers of the student’s class.',
  contactsNow: 'In force now: “{rule}”', contactsClass: 'Students write only to classmates and teachers',
  contactsStaff: 'Students write only to teachers', contactsSchool: 'Students write to any student of the school (and any staff)',
  filesTitle: 'Files',
  filesHelp: 'Photos, videos, voice messages and documents sent in the school’s chats take up the school’s shared room, not the sender’s. When the room is full, no new files can be sent.',
  filesNow: 'Now: {quota}; {kept}', filesQuotaDefault: 'the server’s default room for files (usually 100 GB)',
  filesQuotaSet: '{size} of room for files', filesKeptAlways: 'files are kept as long as their messages',
  filesKeptDays: 'files are deleted {days} after they are sent',
  filesQuota: 'Room for files, GB', filesQuotaHelp: 'Fractions are fine, e.g. 0.5. Leave it empty for the server’s default, usually 100 GB.',
  filesKeep: 'How long to keep files', filesKeepAlways: 'As long as the messages they are attached to',
  filesKeepDays: 'Delete them a number of days after they are sent', filesDays: 'After how many days (1 to 3650)',
  filesKeepHelp: 'Messages stay in the chats — only the files go, and “The file is no longer available” shows in their place.',
  filesKeepWarn: 'Files already older than that will be deleted within minutes.',
  filesQuotaInvalid: 'Give the size in GB, e.g. 5 or 0.5 (at least 1 MB), or leave it empty.',
  filesDaysInvalid: 'Give a whole number of days from 1 to 3650.',
  filesRefused: 'The server did not accept these values: the room must be at least 1 MB, and files kept for 1 to 3650 days.',
  orgRoleAdmin: 'Admin', orgRoleLead: 'Safeguarding lead',
  orgRoleAdminHelp: 'Runs the school here: rosters, rules, roles, reports, the log, the new school year.',
  orgRoleLeadHelp: 'May read the direct chats between staff and students. Every reading goes into the log. Admins cannot, unless named lead.',
  roleGrant: 'Grant a role', roleWhich: 'Role', roleGrantButton: 'Grant', roleGranted: '{name} is now “{role}”',
  roleRevoke: 'Revoke', roleRevokeLabel: 'Revoke “{role}” from {name}', roleRevoked: '{name} is no longer “{role}”',
  roleNoUser: 'No user with that username. Check the username (not the full name).',
  roleLastAdmin: 'The school keeps at least one admin. Make someone else admin first.',
  reportsHelp: 'Members’ reports about messages in the school’s chats. You see only the message that was reported.',
  reportsShowAll: 'Show resolved ones too', reportsNoneOpen: 'No new reports.', reportsNone: 'No reports.',
  reportLabel: 'Report #{id}', reportFrom: 'Reported by', queueReason: 'Reason', reportAuthor: 'Written by',
  reportDismiss: 'Keep', reportDelete: 'Delete the message', reportDismissed: 'Kept', reportDeleted: 'Message deleted',
  queueReportGone: 'This report is gone. Reload the list.',
  auditHelp: 'Every admin and moderation action in the school: who did what, and when. Messages are named by number, never by text.',
  auditRefresh: 'Refresh', auditOlder: 'Show earlier', auditEmpty: 'Nothing here yet.',
  auditRosterImported: 'imported the roster', auditClaimCodesIssued: 'issued claim codes', auditPolicySet: 'changed the school’s rules',
  auditReportResolved: 'resolved a report', auditRosterRollover: 'moved the classes up to the new school year',
  auditRoleGranted: 'granted a role', auditRoleRevoked: 'revoked a role', auditSafeguardingViewed: 'read a staff–student chat',
  auditMessageDeleted: 'deleted someone else’s message', auditMemberRemoved: 'removed a member from a chat', auditMemberMuted: 'muted a chat member',
  auditChatSettings: 'changed a chat’s settings', auditMessagePinned: 'pinned a message', auditMessageUnpinned: 'unpinned a message',
  rolloverHelp: 'At the end of the school year every class moves up a grade with its people and chats: “5Б” becomes “6Б”. The final grade is archived and its chats become read-only. Classes without a grade stay as they are. Check what will change first.',
  rolloverFinal: 'Final grade', rolloverCheck: 'Check', rolloverPlan: 'This is what will change',
  rolloverMoves: 'Moving up', rolloverLeavers: 'Leaving (archived)', rolloverUntouched: 'Unchanged', rolloverNothing: 'Nothing to move.',
  rolloverWarning: 'This runs once a school year and cannot be undone. Grade {grade} classes will be archived.',
  rolloverRun: 'Move the classes up', rolloverDone: 'The classes have moved up',
  rolloverRefused: 'The rollover did not run. It runs once a school year, and no class may take a name already in use (archived classes included).',
  leadLink: 'Safeguarding', leadTitle: 'Safeguarding: chats between staff and students',
  leadAudited: 'Every reading goes into the school’s log: the admins see who read which chat, and when.',
  leadHelp: 'Direct chats between the school’s staff and its students. Open one to read it.',
  leadStaff: 'Staff:', leadStudent: 'Student:', leadNoChats: 'No such chats yet.', leadBack: 'Back to the list',
  leadReadOnly: 'Read-only: the members do not see you here.', leadOlder: 'Earlier', leadNoMessages: 'No messages.',
  leadChatLabel: 'Chat: {staff} and {student}',
  leadOnly: 'Only the safeguarding lead sees this page. Being the school’s admin is not enough: the lead is named under “Roles”.',
  leadChatGone: 'This chat is no longer one between staff and a student.',
  serverSaid: 'The server said: {message}',
  // web-bots: the bot badge, a bot's deep link, "My bots" and commands after "/".
  botBadge: 'bot',
  botCard: 'Bot @{username}', botStart: 'Start', botSignInFirst: 'Sign in or sign up to start talking to the bot.',
  botNotFound: 'There is no such bot', botStartHelp: 'A bot is a program. It will see your name and what you write to it.',
  myBots: 'My bots', myBotsHelp: 'A bot is a program that posts in chats and answers messages. Bots written for Max work here once you change their API address and token.',
  myBotsOpen: 'Open “My bots”', botsNone: 'You have no bots yet.',
  botCreate: 'New bot', botUsername: 'Bot username', botUsernameHelp: '3 to 32 characters: Latin letters a–z, digits, _ and dot. It usually ends in _bot.',
  botName: 'Name', botCreateButton: 'Create the bot',
  botUsernameTaken: 'This username is taken. Choose another.',
  botUsernameInvalid: 'A bot username has 3 to 32 characters: Latin letters a–z, digits, _ and dot.',
  botNameInvalid: 'The name has 1 to 64 characters.', botTooMany: 'You cannot have more than 20 bots.',
  botToken: 'Token of @{username}', botTokenField: 'Token', botTokenOnce: 'The token is shown only now — keep it somewhere safe.',
  botTokenPower: 'Whoever has it controls the bot fully: posts as the bot and reads its chats. Do not send it to anyone.',
  botTokenHide: 'I have saved the token', copy: 'Copy', copied: 'Copied', copyByHand: 'The text is selected — copy it (Ctrl+C).',
  botNewToken: 'New token', botNewTokenConfirm: 'Issue a new token for @{username}? The old one stops working at once, and the bot is cut off until you give it the new one.',
  botNewTokenButton: 'Issue',
  botCommands: 'Commands', botNoCommands: 'No commands yet: the bot sets them itself (PATCH /me/commands).',
  botLink: 'Link to the bot', botLinkHelp: 'After start= you may add data for the bot, such as a class.',
  botConnect: 'How to connect a program', botApiUrl: 'Bot API address (with the slash at the end)',
  botClientTs: 'npm @maxhub/max-bot-api:', botClientPy: 'PyPI maxapi:', botClientHttp: 'Any HTTP client: the header',
  botTokenPlaceholder: '<token>',
  commandsLabel: 'Bot commands',
  // web-orgbots: the org's approved bots, their audit entries, and adding a member to a chat.
  orgTabBots: 'Bots',
  orgBotsChats: "Only the bots on this list can be added to the school's chats.",
  orgBotsStudents: "The school's students can open only these bots.",
  orgBotsReads: "A bot is a program. An approved bot reads what is written to it: everything in a direct chat with it, and in the school's groups and channels all messages once it is made an admin there.",
  orgBotsNone: 'No bots are approved yet.', orgBotNoCommands: 'The bot has no commands.',
  orgBotAllow: 'Approve a bot', orgBotAllowButton: 'Approve', orgBotAllowed: '@{username} is approved',
  orgBotWithdraw: 'Withdraw', orgBotWithdrawLabel: 'Withdraw the approval of the bot {name} (@{username})',
  orgBotWithdrawConfirm: "Withdraw the approval of the bot {name} (@{username})? It can no longer be added to the school's chats, and students cannot open it. It is not removed from the chats it is already in — remove it there yourself.",
  orgBotWithdrawn: '@{username}: approval withdrawn',
  botNumber: 'bot #{id}', botNamed: 'bot “{name}” (@{username})',
  auditBotAllowed: 'approved a bot', auditBotDisallowed: 'withdrew a bot’s approval',
  addMember: 'Add a member', addMemberButton: 'Add', addMemberDone: '{name} was added to the chat',
  addMemberForbidden: 'Only the owner and admins of this chat can add members.',
  addBotNotApproved: "This bot cannot be added: the school's chats take only the bots its admins approved. Ask a school admin to approve @{username} in the “Bots” section.",
  // web-keyboard: a bot's buttons under its message.
  kbLabel: "The bot's buttons", kbNewTab: 'opens in a new tab',
  kbNoContact: 'Kolokol does not give bots your phone number', kbNoLocation: 'Kolokol does not give bots your location',
  kbUnsupported: 'Kolokol does not support this kind of button yet',
  kbWaiting: 'Waiting for the bot…', kbNoAnswer: 'The bot did not answer',
  kbGone: 'This button no longer works', kbMessageGone: 'This message was deleted', kbTooFast: 'Too many presses — wait a little and press again',
  kbCopyFailed: 'Could not copy: the browser did not allow the clipboard',
  kbChatTo: 'Chat: {title}', kbChatOpening: 'Opening the chat…', kbChatRefused: 'You cannot join this chat',
  // web-miniapp: opening a bot's mini-app, and setting its address in «Мои боты».
  appTitle: 'Open the app of the bot “{name}”?', appOpen: 'Open',
  appWhere: "It opens in a new tab. It is the bot author's website, not Kolokol's:", appChecking: 'Finding the address…',
  appShares: 'The bot will learn your name and your Kolokol number.', appSharesUsername: 'The bot will learn your name, your username and your Kolokol number.',
  appNone: 'This bot has no mini-app.', appNoChat: 'You can open the app only of a bot you share a chat with.',
  appBadAddress: "The address of this bot's app is wrong: it cannot be opened.",
  botWebApp: 'Mini-app address',
  botWebAppHelp: "The website the bot's open_app buttons open. Its address starts with https://. The site gets the person's name and number, signed so that the bot can check them with its token.",
  botWebAppRemove: 'Remove', botWebAppSaved: 'Address saved', botWebAppRemoved: 'Mini-app removed',
  botWebAppInvalid: 'Give the address of a website on the internet, starting with https://, such as https://example.org/app',
  // web-delete-chat: the owner deletes a group or channel for everyone.
  chatDelete: 'Delete the chat', chatDeleteConfirm: 'Delete “{title}” for everyone?',
  chatDeleteWarning: 'All its messages and members will be removed for good.',
  chatDeleteForbidden: 'Only the owner of this chat can delete it for everyone.',
  // web-media: files on messages.
  photo: 'Photo', video: 'Video', audio: 'Audio', voiceMessage: 'Voice message', file: 'File',
  sizeBytes: '{n}\u00a0B', sizeKB: '{n}\u00a0KB', sizeMB: '{n}\u00a0MB', sizeGB: '{n}\u00a0GB',
  photoOpen: 'Open the photo: {name}', fileDownload: 'Download', fileDownloadLabel: 'Download “{name}”, {details}',
  mediaLoading: 'Loading…', mediaFailed: 'Could not load', mediaRetry: 'Try again', mediaGone: 'The file is no longer available',
  mediaUnplayable: 'This browser cannot play the file',
  // web-upload: sending files, voice and video messages.
  attachFile: 'Attach a file', attachedFiles: 'Attached files',
  dropFiles: 'Drop the files to attach them to the message',
  uploadOf: '{sent} of {size}', uploadOffline: 'No connection — it will go on when there is one', uploadDone: 'Uploaded',
  uploadProgressLabel: 'Uploading “{name}”', uploadRemove: 'Remove “{name}”', uploadCancel: 'Cancel uploading “{name}”',
  uploadRetry: 'Upload again', uploadRetryLabel: 'Upload “{name}” again', uploadAsFile: 'Send as a file',
  uploadNotImage: 'This picture cannot be shown in the chat. You can send it as a file.',
  uploadNotVideo: 'This video cannot be shown in the chat. You can send it as a file.',
  uploadNotAudio: 'This recording cannot be played in the chat. You can send it as a file.',
  uploadUnreadable: 'The file cannot be read — it may be damaged.',
  uploadTooLarge: 'The file is too large to send.', uploadEmpty: 'The file is empty — there is nothing to send.',
  uploadNotAllowed: 'Files cannot be sent to this chat now.',
  uploadFailed: 'The file could not be uploaded.',
  tooManyFiles: 'A message takes at most {max} files.',
  fixFilesFirst: 'First remove the files that did not upload, or upload them again.',
  filesWait: 'Will be sent once the files are uploaded', filesReady: 'The files are uploaded — ready to send', notSentBecause: 'The message was not sent. {problem}',
  voiceButton: 'Voice', recordVoice: 'Record a voice message',
  videoButton: 'Video', recordVideo: 'Record a video message',
  recordingVoice: 'Recording a voice message', recordingVideo: 'Recording a video message',
  recordSend: 'Send', recordSendVoice: 'Send the voice message', recordSendVideo: 'Send the video message',
  recordCancel: 'Cancel the recording', recordStarting: 'Turning the microphone on…',
  recordLimitVoice: 'Voice messages are up to 5 minutes long, so it was sent.',
  recordLimitVideo: 'Video messages are up to a minute long, so it was sent.',
  micDenied: 'No access to the microphone. Allow it for this site in the browser’s settings.',
  camDenied: 'No access to the camera or microphone. Allow them for this site in the browser’s settings.',
  micMissing: 'No microphone found.', camMissing: 'No camera found.',
  recordUnsupported: 'This browser cannot record. Try another browser.',
  recordFailed: 'The recording did not work. Please try again.',
  voicePlay: 'Play', voicePause: 'Pause', voicePosition: 'Position', voiceSpeed: 'Speed: {rate}', timeOf: '{at} of {total}',
  videoNote: 'Video message', videoNotePlay: 'Play the video message', cameraPreview: 'Camera',
  // issue 6: creating an org, roster errors by problem, read and acknowledgement lists, one person's new code.
  orgCreate: 'Create an organisation',
  orgCreateHelp: 'A school, a college, a property manager, an agency. You become its admin, then upload its roster (CSV).',
  orgName: 'Name of the organisation', orgNamePlaceholder: 'School No. 57', orgTimeZone: 'Time zone (quiet hours follow it)',
  orgZoneYours: '{zone} — your time zone', orgZoneOption: '{city} (UTC+{offset})',
  orgCreated: '“{name}” is created. Next, upload its roster (CSV): the classes, chats and access codes come from it.',
  orgInvalid: 'Check the name (1 to 100 characters) and the time zone.',
  orgCreateForbidden: 'Only the server’s admins can create organisations.',
  zoneKaliningrad: 'Kaliningrad', zoneMoscow: 'Moscow', zoneSamara: 'Samara', zoneYekaterinburg: 'Yekaterinburg', zoneOmsk: 'Omsk',
  zoneNovosibirsk: 'Novosibirsk', zoneKrasnoyarsk: 'Krasnoyarsk', zoneIrkutsk: 'Irkutsk', zoneYakutsk: 'Yakutsk',
  zoneVladivostok: 'Vladivostok', zoneMagadan: 'Magadan', zoneKamchatka: 'Petropavlovsk-Kamchatsky',
  rosterLine: 'line {line}: {text}',
  rosterHeader: 'the first line must name the columns: role,class,name,child,subjects (and optionally id)',
  rosterNotUtf8: 'the file is not UTF-8 text: save it as “CSV UTF-8”',
  rosterUnreadable: 'the file could not be read',
  rosterBadCsv: 'this line is not valid CSV: check its quotes and commas',
  rosterTooManyRows: 'a roster may have at most {limit}',
  rosterUnknownRole: 'unknown role "{role}": use student, guardian, class_teacher or teacher',
  rosterClassEmpty: 'the class is empty (the class column)',
  rosterClassTooLong: 'the class name is longer than {limit}',
  rosterNameEmpty: 'the name is empty (the name column)',
  rosterNameTooLong: 'the name is longer than {limit}',
  rosterGuardianWithoutChild: "a guardian needs the child's name in the child column",
  rosterOnlyGuardiansHaveChild: 'only guardians have a child (the child column)',
  rosterOnlyTeachersHaveSubjects: 'only teachers (teacher, class_teacher) have subjects',
  rosterStudentInTwoClasses: '{name} is already a student in {class} (line {other_line}); if these are two children, give each an id',
  rosterStudentAndAdult: '{name} is a student here and an adult on line {other_line}; if they are two people, give each an id',
  rosterAmbiguousChild: 'two students in {class} are called {child}: this line cannot tell which is the child',
  rosterChildNotFound: '{child} is not a student in {class}',
  reachReadList: 'Read: {n}', reachUnreadList: 'Not read: {n}',
  reachAckedList: 'Acknowledged: {n}', reachNotAckedList: 'Not acknowledged yet: {n}',
  reachUnreachedList: 'Not received: {n}', familiesReceived: '{n} {of} received it', reachByClass: 'By class',
  reachClass: '{unit}: {received} of {total} received · {read} read',
  reachClassAck: '{unit}: {received} of {total} received · {read} read · {acked} acknowledged',
  newCode: 'New code', newCodeLabel: 'New code: {name}',
  newCodeConfirm: 'Issue a new code for {name}? Their old code stops working at once.',
  newCodeButton: 'Issue the code', newCodeFor: 'New code · {name}',
  auditOrgCreated: 'created the organisation', auditMemberAdded: 'added members to a chat', auditChatRenamed: 'renamed a chat',
  auditInviteCreated: 'created an invite link', auditInviteRevoked: 'revoked an invite link',
  auditMessageUrgent: 'sent an urgent message', auditMemberRole: "changed a chat member's role",
  auditChatTransferred: 'handed a chat to a new owner',
};

export type Key = keyof typeof ru;
const dictionaries: Record<Lang, typeof ru> = { ru, en };

/** Plural forms per language, keyed by Intl.PluralRules categories. */
export type Counted = 'messages' | 'members' | 'unread' | 'replies' | 'voters' | 'votes' | 'seconds' | 'minutes' | 'hours' | 'photos' | 'videos' | 'files' | 'days'
  | 'rowsAtMost' | 'charactersLonger' | 'ofFamilies';
const plurals: Record<Lang, Record<Counted, Partial<Record<Intl.LDMLPluralRule, string>>>> = {
  ru: {
    messages: { one: '{n} сообщение', few: '{n} сообщения', many: '{n} сообщений', other: '{n} сообщения' },
    members: { one: '{n} участник', few: '{n} участника', many: '{n} участников', other: '{n} участника' },
    unread: { one: '{n} непрочитанное', few: '{n} непрочитанных', many: '{n} непрочитанных', other: '{n} непрочитанного' },
    replies: { one: '{n} ответ', few: '{n} ответа', many: '{n} ответов', other: '{n} ответа' },
    voters: { one: '{n} человек проголосовал', few: '{n} человека проголосовали', many: '{n} человек проголосовали', other: '{n} человека проголосовали' },
    votes: { one: '{n} голос', few: '{n} голоса', many: '{n} голосов', other: '{n} голоса' },
    // Periods after «в» (slow mode): accusative.
    seconds: { one: '{n} секунду', few: '{n} секунды', many: '{n} секунд', other: '{n} секунды' },
    minutes: { one: '{n} минуту', few: '{n} минуты', many: '{n} минут', other: '{n} минуты' },
    hours: { one: '{n} час', few: '{n} часа', many: '{n} часов', other: '{n} часа' },
    photos: { other: '{n} фото' },
    videos: { other: '{n} видео' },
    files: { one: '{n} файл', few: '{n} файла', many: '{n} файлов', other: '{n} файла' },
    days: { one: '{n} день', few: '{n} дня', many: '{n} дней', other: '{n} дня' },
    // After «не больше» and «длиннее»: genitive (не больше 21 строки, 500 строк; длиннее 1 символа, 100 символов).
    rowsAtMost: { one: '{n} строки', few: '{n} строк', many: '{n} строк', other: '{n} строки' },
    charactersLonger: { one: '{n} символа', few: '{n} символов', many: '{n} символов', other: '{n} символа' },
    // After «получили 28»: genitive (из 1 семьи, 21 семьи; из 2 семей, 30 семей).
    ofFamilies: { one: 'из {n} семьи', few: 'из {n} семей', many: 'из {n} семей', other: 'из {n} семьи' },
  },
  en: {
    messages: { one: '{n} message', other: '{n} messages' },
    members: { one: '{n} member', other: '{n} members' },
    unread: { one: '{n} unread', other: '{n} unread' },
    replies: { one: '{n} reply', other: '{n} replies' },
    voters: { one: '{n} person voted', other: '{n} people voted' },
    votes: { one: '{n} vote', other: '{n} votes' },
    seconds: { one: '{n} second', other: '{n} seconds' },
    minutes: { one: '{n} minute', other: '{n} minutes' },
    hours: { one: '{n} hour', other: '{n} hours' },
    photos: { one: '{n} photo', other: '{n} photos' },
    videos: { one: '{n} video', other: '{n} videos' },
    files: { one: '{n} file', other: '{n} files' },
    days: { one: '{n} day', other: '{n} days' },
    rowsAtMost: { one: '{n} row', other: '{n} rows' },
    charactersLonger: { one: '{n} character', other: '{n} characters' },
    ofFamilies: { one: 'of {n} family', other: 'of {n} families' },
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
const cache = new Map<string, Intl.PluralRules | Intl.DateTimeFormat | Intl.NumberFormat>();

function cached<T extends Intl.PluralRules | Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let found = cache.get(key) as T | undefined;
  if (!found) {
    found = make();
    cache.set(key, found);
  }
  return found;
}

export function plural(lang: Lang, kind: Counted, n: number): string {
  const forms = plurals[lang][kind];
  const category = cached(`plural:${lang}`, () => new Intl.PluralRules(lang)).select(n);
  return (forms[category] ?? forms.other ?? '{n}').replace('{n}', String(n));
}

export function count(kind: Counted, n: number): string {
  return plural(locale.lang, kind, n);
}

/**
 * A number as people write it in `lang` (the language shown by default), with at most `digits`
 * decimals: «1,5» in Russian, «1.5» in English; `grouping: false` for a form's field («1024», not «1 024»).
 */
export function formatNumber(value: number, digits: number, options: { grouping?: boolean; lang?: Lang } = {}): string {
  const lang = options.lang ?? locale.lang;
  const grouping = options.grouping ?? true;
  return cached(`number:${lang}:${digits}:${grouping}`,
    () => new Intl.NumberFormat(lang, { maximumFractionDigits: digits, useGrouping: grouping })).format(value);
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

/** Weekdays (Sunday first) as they follow "on" / «в». */
const weekdays: Record<Lang, string[]> = {
  ru: ['в воскресенье', 'в понедельник', 'во вторник', 'в среду', 'в четверг', 'в пятницу', 'в субботу'],
  en: ['on Sunday', 'on Monday', 'on Tuesday', 'on Wednesday', 'on Thursday', 'on Friday', 'on Saturday'],
};

/** Calendar days from the local day of `now` to that of `millis` (negative in the past). */
function daysAhead(millis: number, now: number): number {
  const start = (ms: number) => new Date(ms).setHours(0, 0, 0, 0);
  return Math.round((start(millis) - start(now)) / 86_400_000);
}

function shortDate(millis: number): string {
  const lang = locale.lang;
  return cached(`date:${lang}`, () => new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'long' })).format(millis);
}

/** When something happens, to follow a verb: «в 08:00», «завтра в 08:00», «вчера в 12:05»,
 * «в понедельник в 08:00» (within a week), «12 марта в 08:00». */
export function at(millis: number, now = Date.now()): string {
  const days = daysAhead(millis, now);
  const values = { time: time(millis), day: weekdays[locale.lang][new Date(millis).getDay()], date: shortDate(millis) };
  if (days === 0) return tf('atToday', values);
  if (days === 1) return tf('atTomorrow', values);
  if (days === -1) return tf('atYesterday', values);
  if (days > 1 && days < 7) return tf('atWeekday', values);
  return tf('atDate', values);
}

/** An end, after «до» / "until": «08:00», «08:00 завтра», «14:30, 12 марта». */
export function until(millis: number, now = Date.now()): string {
  const days = daysAhead(millis, now);
  const values = { time: time(millis), date: shortDate(millis) };
  if (days === 0) return tf('untilToday', values);
  if (days === 1) return tf('untilTomorrow', values);
  return tf('untilDate', values);
}
