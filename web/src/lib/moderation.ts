// Who may post in a chat, and the words for it: the composer's notices, refused sends, the
// choices chat admins have (posting, slow mode, mutes). Pure, apart from the current language.

import { ApiError, type Chat, type Role, type User } from './api';
import { count, t, tf, until, type Counted } from './i18n.svelte';

/** Slow mode choices in seconds (0 is off); the server takes 0–3600. */
export const SLOW_MODES = [0, 10, 30, 60, 300, 900, 3600];

/** Mute lengths an admin picks from. */
export const MUTES = [
  { key: 'muteHour', ms: 3_600_000 },
  { key: 'muteDay', ms: 86_400_000 },
  { key: 'muteWeek', ms: 7 * 86_400_000 },
] as const;

/** A slow mode period in its largest whole unit, to follow «в» / "every": «30 секунд», «5 минут», «1 час». */
export function period(secs: number): string {
  const [kind, n]: [Counted, number] =
    secs >= 3600 && secs % 3600 === 0 ? ['hours', secs / 3600] : secs >= 60 && secs % 60 === 0 ? ['minutes', secs / 60] : ['seconds', secs];
  return count(kind, n);
}

/** Why the user cannot post in the chat now (shown instead of the composer), or null if they can.
 * `mutedUntil` is the user's own mute as far as this session knows. */
export function postingBlock(chat: Chat, mutedUntil: number | undefined, now: number): string | null {
  // A read-only archive holds for admins too.
  if (chat.posting === 'nobody') return t('archiveNotice');
  if (chat.role !== 'member') return null;
  if (chat.kind === 'channel') return t('channelReadOnly');
  if (chat.posting === 'admins') return t('adminsOnlyNotice');
  if (mutedUntil !== undefined && mutedUntil > now) return tf('mutedUntil', { when: until(mutedUntil, now) });
  return null;
}

/** The slow mode notice near the composer, for those it holds (members). */
export function slowNotice(chat: Chat): string | null {
  return chat.slow_mode_secs > 0 && chat.role === 'member' ? tf('slowNotice', { period: period(chat.slow_mode_secs) }) : null;
}

/** A send the server refused for good, explained by its error code. */
export function refusalText(code: string, chat: Chat | undefined, mutedUntil: number | undefined, now: number): string {
  switch (code) {
    case 'muted':
      return mutedUntil !== undefined && mutedUntil > now ? tf('mutedUntil', { when: until(mutedUntil, now) }) : t('mutedGeneric');
    case 'rate_limited':
      return t('slowRefused');
    case 'forbidden':
      return (chat && postingBlock(chat, undefined, now)) ?? t('postForbidden');
    case 'not_member':
      return t('notMemberAnymore');
    case 'safeguarding':
      return t('safeguarding');
    default:
      return t('errorGeneric');
  }
}

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** Whether someone with role `actor` may mute or remove one with role `target` in a group or
 * channel: admins act on members, the owner on anyone else. */
export function outranks(actor: Role, target: Role): boolean {
  return RANK[actor] >= RANK.admin && RANK[actor] > RANK[target];
}

// web-orgbots: adding someone to a chat.
/** Why adding `user` to a chat failed. A school's chats refuse a bot its admins did not approve with
 * `forbidden`, the code that also refuses an adder without the right; only admins see the form, so for
 * a bot it means the approval. */
export function addRefusal(error: unknown, user: User): string {
  if (!(error instanceof ApiError)) return t('errorGeneric');
  if (error.code === 'forbidden') return user.is_bot ? tf('addBotNotApproved', { username: user.username ?? '' }) : t('addMemberForbidden');
  if (error.code === 'safeguarding') return t('safeguarding');
  return error.message || t('errorGeneric');
}

// web-delete-chat: the owner deletes a group or channel.
/** Why deleting a chat failed. Only its owner is offered it, so `forbidden` means the ownership
 * moved meanwhile (a direct chat or an org's chat has no person as owner). */
export function deleteRefusal(error: unknown): string {
  if (!(error instanceof ApiError)) return t('errorGeneric');
  if (error.code === 'forbidden') return t('chatDeleteForbidden');
  if (error.code === 'not_member') return t('notMemberAnymore');
  return error.message || t('errorGeneric');
}
