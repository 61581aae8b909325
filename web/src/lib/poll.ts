// Pure helpers for polls: the shares shown next to each option and the checks a new poll
// passes before it is sent (the server checks the same and answers `invalid_poll`).

import type { Key } from './i18n.svelte';

export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 10;
export const MAX_OPTION_LENGTH = 100;

/** Whole percentages of the voters who chose each option. When every voter chose exactly one
 * option (a single-choice poll) they add up to exactly 100, by giving the rounding leftovers to
 * the largest remainders; with several answers each is its own share and the sum may pass 100. */
export function percentages(counts: readonly number[], voters: number): number[] {
  if (voters <= 0) return counts.map(() => 0);
  const exact = counts.map((count) => (count * 100) / voters);
  const rounded = exact.map((value) => Math.round(value));
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total !== voters) return rounded.map((value) => Math.min(100, value));
  const floors = exact.map(Math.floor);
  let left = 100 - floors.reduce((sum, value) => sum + value, 0);
  const order = exact.map((value, index) => ({ index, rest: value - Math.floor(value) }))
    .sort((a, b) => b.rest - a.rest || a.index - b.index);
  for (const { index, rest } of order) {
    if (left <= 0 || rest === 0) break;
    floors[index] += 1;
    left -= 1;
  }
  return floors;
}

/** Unicode characters, as the server counts them (scalar values). */
function length(text: string): number {
  return [...text].length;
}

/** What is wrong with a poll about to be sent, as an i18n key, or null when it can go. */
export function pollProblem(question: string, options: readonly string[], closesAt: number | null, now: number): Key | null {
  if (!question.trim()) return 'pollNeedQuestion';
  const trimmed = options.map((option) => option.trim());
  if (trimmed.some((option) => !option)) return 'pollEmptyOption';
  if (trimmed.length < MIN_OPTIONS || trimmed.length > MAX_OPTIONS) return 'pollNeedOptions';
  if (trimmed.some((option) => length(option) > MAX_OPTION_LENGTH)) return 'pollLongOption';
  if (new Set(trimmed.map((option) => option.toLocaleLowerCase())).size !== trimmed.length) return 'pollSameOptions';
  if (closesAt !== null && !(closesAt > now)) return 'pollPastDeadline';
  return null;
}

/** A `datetime-local` input's value (local time) as milliseconds; null when empty or invalid. */
export function localDateTime(value: string): number | null {
  if (!value) return null;
  const millis = new Date(value).getTime();
  return Number.isNaN(millis) ? null : millis;
}
