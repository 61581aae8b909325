// Helpers of the organisation pages (admin sections and the safeguarding lead's page).

import { ApiError, type OrgRole } from './api';
import { day, t, time, type Key } from './i18n.svelte';

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
