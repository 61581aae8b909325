// Helpers of the organisation pages (admin sections and the safeguarding lead's page).

import { ApiError, type LineError, type OrgPolicy, type OrgRole, type RosterProblem } from './api';
import { count, day, formatNumber, locale, t, tf, time, type Counted, type Key, type Lang } from './i18n.svelte';
import { humanSize } from './media';

/** A moment in a list: «Сегодня, 12:05», «3 марта 2027 г., 08:00». */
export function stamp(millis: number): string {
  return `${day(millis)}, ${time(millis)}`;
}

/** Codes any org call may meet, explained. */
const common: Partial<Record<string, Key>> = {
  forbidden: 'orgForbidden', unauthorized: 'orgSignedOut', rate_limited: 'orgRateLimited',
};

/** A failed call as a sentence for people: the codes this call expects (`known`), then the common ones,
 * then the server's own message (English, but better than nothing). */
export function explain(error: unknown, known: Partial<Record<string, Key>> = {}): string {
  if (!(error instanceof ApiError)) return t('errorGeneric');
  const key = known[error.code] ?? common[error.code];
  return key ? t(key) : error.message || t('errorGeneric');
}

/** Every action the audit log records (docs/API.md), with its description. */
export const auditActions: Record<string, Key> = {
  'roster.imported': 'auditRosterImported',
  'claim_codes.issued': 'auditClaimCodesIssued',
  'policy.set': 'auditPolicySet',
  'report.resolved': 'auditReportResolved',
  'roster.rollover': 'auditRosterRollover',
  'role.granted': 'auditRoleGranted',
  'role.revoked': 'auditRoleRevoked',
  'safeguarding.viewed': 'auditSafeguardingViewed',
  'message.deleted': 'auditMessageDeleted',
  'member.removed': 'auditMemberRemoved',
  'member.muted': 'auditMemberMuted',
  'chat.settings': 'auditChatSettings',
  'message.pinned': 'auditMessagePinned',
  'message.unpinned': 'auditMessageUnpinned',
  'bot.allowed': 'auditBotAllowed',
  'bot.disallowed': 'auditBotDisallowed',
  'org.created': 'auditOrgCreated',
  'member.added': 'auditMemberAdded',
  'chat.renamed': 'auditChatRenamed',
  'invite.created': 'auditInviteCreated',
  'invite.revoked': 'auditInviteRevoked',
  'message.urgent': 'auditMessageUrgent',
  'member.role': 'auditMemberRole',
  'chat.transferred': 'auditChatTransferred',
};

/** The action in words; an action this client does not know yet shows as the server names it. */
export function auditAction(action: string): string {
  const key = auditActions[action];
  return key ? t(key) : action;
}

export type DetailPart = { kind: 'text'; text: string } | { kind: 'user' | 'chat' | 'bot'; id: number } | { kind: 'role'; role: OrgRole };

/** An audit entry's detail (the server's note, e.g. "chat 12: message 3 of user 5", "bot 8") cut into text and
 * the users, chats, bots and org roles it names, so those can be shown as names, links and words. Text stays text. */
export function detailParts(detail: string): DetailPart[] {
  const parts: DetailPart[] = [];
  let last = 0;
  for (const match of detail.matchAll(/\b(?:(user|chat|bot) (\d{1,16})|(admin|safeguarding_lead))\b/g)) {
    if (match.index > last) parts.push({ kind: 'text', text: detail.slice(last, match.index) });
    parts.push(match[3] ? { kind: 'role', role: match[3] as OrgRole } : { kind: match[1] as 'user' | 'chat' | 'bot', id: Number(match[2]) });
    last = match.index + match[0].length;
  }
  if (last < detail.length) parts.push({ kind: 'text', text: detail.slice(last) });
  return parts;
}

/** The org roles in words. */
export const orgRoleKey: Record<OrgRole, Key> = { admin: 'orgRoleAdmin', safeguarding_lead: 'orgRoleLead' };

// --- files: the org's room for them and how long they are kept (policy.media_quota_mb, media_retention_days) ---

/** MiB in a GB as people see it (binary, as file managers and the rest of the app count). */
const MIB_PER_GB = 1024;
/** The longest retention the server takes (10 years). */
const MAX_RETENTION_DAYS = 3650;

/** What a form field holds: the value for the API (null: the server's default), or why it cannot be sent. */
type Checked<T> = { ok: true; value: T } | { ok: false; error: Key };

/** A decimal number as people type it: «5», «1,5», «0.25», «1 000»; in English «1,000» is a thousand.
 * Anything else is NaN. */
function decimal(text: string, lang: Lang): number {
  let plain = text.replace(/[\s\u00a0\u202f]/g, '');
  if (lang === 'en' && /^\d{1,3}(,\d{3})+(\.\d*)?$/.test(plain)) plain = plain.replaceAll(',', '');
  plain = plain.replace(',', '.');
  return /^(\d+(\.\d*)?|\.\d+)$/.test(plain) ? Number(plain) : NaN;
}

/** The saved room in the form's field, in GB: 5120 → «5», 1536 → «1,5» (up to 3 decimals); none → empty. */
export function quotaText(mib: number | null | undefined, lang: Lang = locale.lang): string {
  if (mib == null) return '';
  return formatNumber(mib / MIB_PER_GB, 3, { grouping: false, lang });
}

/** The room field as the API's MiB: empty is the server's default (null); at least 1 MiB, as the server
 * requires. A field still showing `saved` (rounded to 3 decimals) keeps `saved` exactly. */
export function parseQuota(text: string, saved?: number | null, lang = locale.lang): Checked<number | null> {
  if (!text.trim()) return { ok: true, value: null };
  const gb = decimal(text, lang);
  if (!Number.isFinite(gb)) return { ok: false, error: 'filesQuotaInvalid' };
  if (saved != null && Math.round(gb * 1000) === Math.round((saved / MIB_PER_GB) * 1000)) return { ok: true, value: saved };
  const mib = Math.round(gb * MIB_PER_GB);
  if (gb * MIB_PER_GB < 1 || !Number.isSafeInteger(mib)) return { ok: false, error: 'filesQuotaInvalid' };
  return { ok: true, value: mib };
}

/** How long files are kept: while their messages are (null), or a whole number of days, 1–3650. */
export function parseRetention(keep: 'always' | 'days', text: string): Checked<number | null> {
  if (keep === 'always') return { ok: true, value: null };
  const plain = text.trim();
  const days = /^\d{1,6}$/.test(plain) ? Number(plain) : NaN;
  if (!(days >= 1 && days <= MAX_RETENTION_DAYS)) return { ok: false, error: 'filesDaysInvalid' };
  return { ok: true, value: days };
}

/** The files rules in force, in a sentence: «Сейчас: место для файлов — 5 ГБ; файлы удаляются через 30 дней после отправки». */
export function filesSummary(policy: OrgPolicy | undefined): string {
  const quota = policy?.media_quota_mb;
  const days = policy?.media_retention_days;
  return tf('filesNow', {
    quota: quota == null ? t('filesQuotaDefault') : tf('filesQuotaSet', { size: humanSize(quota * 1024 * 1024) }),
    kept: days == null ? t('filesKeptAlways') : tf('filesKeptDays', { days: count('days', days) }),
  });
}

// --- a roster file's refused lines, in the reader's language ---

/** Each problem the server names (docs/API.md), with its text; its `{args}` come with the error. */
export const rosterProblems: Record<RosterProblem, Key> = {
  header: 'rosterHeader', not_utf8: 'rosterNotUtf8', unreadable: 'rosterUnreadable', bad_csv: 'rosterBadCsv',
  too_many_rows: 'rosterTooManyRows', unknown_role: 'rosterUnknownRole', class_empty: 'rosterClassEmpty',
  class_too_long: 'rosterClassTooLong', name_empty: 'rosterNameEmpty', name_too_long: 'rosterNameTooLong',
  guardian_without_child: 'rosterGuardianWithoutChild', only_guardians_have_child: 'rosterOnlyGuardiansHaveChild',
  only_teachers_have_subjects: 'rosterOnlyTeachersHaveSubjects', student_in_two_classes: 'rosterStudentInTwoClasses',
  student_and_adult: 'rosterStudentAndAdult', ambiguous_child: 'rosterAmbiguousChild', child_not_found: 'rosterChildNotFound',
};

/** How a `limit` reads in each problem that has one: «не больше 5000 строк», «длиннее 100 символов». */
const limitKind: Partial<Record<RosterProblem, Counted>> = {
  too_many_rows: 'rowsAtMost', class_too_long: 'charactersLonger', name_too_long: 'charactersLonger',
};

/** What is wrong with a roster line, in words: by its `problem`, or the server's (English) message for a
 * problem this client does not know, or one whose text needs an arg that did not come. */
export function rosterProblem(error: LineError): string {
  if (!error.problem || !Object.hasOwn(rosterProblems, error.problem)) return error.message;
  const problem = error.problem as RosterProblem;
  const key = rosterProblems[problem];
  const values: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(error)) {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) values[name] = value;
  }
  const kind = limitKind[problem];
  if (kind && typeof error.limit === 'number') values.limit = count(kind, error.limit);
  const missing = [...t(key).matchAll(/\{(\w+)\}/g)].some(([, name]) => !(name in values));
  return missing ? error.message : tf(key, values);
}

/** A refused line as a sentence: «строка 4: неизвестная роль «pupil»: …». */
export function rosterLine(error: LineError): string {
  return tf('rosterLine', { line: error.line, text: rosterProblem(error) });
}

// --- creating an org (the server's instance admins) ---

/** Russia's time zones, west to east, with their offsets from UTC (Russia keeps no summer time). */
export const russianZones: { zone: string; city: Key; offset: number }[] = [
  { zone: 'Europe/Kaliningrad', city: 'zoneKaliningrad', offset: 2 },
  { zone: 'Europe/Moscow', city: 'zoneMoscow', offset: 3 },
  { zone: 'Europe/Samara', city: 'zoneSamara', offset: 4 },
  { zone: 'Asia/Yekaterinburg', city: 'zoneYekaterinburg', offset: 5 },
  { zone: 'Asia/Omsk', city: 'zoneOmsk', offset: 6 },
  { zone: 'Asia/Novosibirsk', city: 'zoneNovosibirsk', offset: 7 },
  { zone: 'Asia/Krasnoyarsk', city: 'zoneKrasnoyarsk', offset: 7 },
  { zone: 'Asia/Irkutsk', city: 'zoneIrkutsk', offset: 8 },
  { zone: 'Asia/Yakutsk', city: 'zoneYakutsk', offset: 9 },
  { zone: 'Asia/Vladivostok', city: 'zoneVladivostok', offset: 10 },
  { zone: 'Asia/Magadan', city: 'zoneMagadan', offset: 11 },
  { zone: 'Asia/Kamchatka', city: 'zoneKamchatka', offset: 12 },
];

export const DEFAULT_ZONE = 'Europe/Moscow';

/** The choices of the new org's time zone: the browser's own first when it is not one of Russia's. */
export function zoneChoices(browserZone: string | undefined): { zone: string; label: string }[] {
  const choices = russianZones.map(({ zone, city, offset }) => ({ zone, label: tf('orgZoneOption', { city: t(city), offset }) }));
  if (browserZone && browserZone !== 'UTC' && /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/.test(browserZone) && !russianZones.some((z) => z.zone === browserZone)) {
    choices.unshift({ zone: browserZone, label: tf('orgZoneYours', { zone: browserZone }) });
  }
  return choices;
}

/** The org just created here, so its page can say what comes next (once). */
let created: number | null = null;

export function noteCreated(orgId: number): void {
  created = orgId;
}

/** Whether `orgId` was just created here; asking again says no. */
export function takeCreated(orgId: number): boolean {
  const was = created === orgId;
  if (was) created = null;
  return was;
}
