// Message text is shown through Svelte's text interpolation, which escapes everything; this
// module only finds the parts that become links, mentions or formatting. Nothing here builds HTML.

import type { Markup } from './api';

export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'link'; text: string; href: string }
  | { kind: 'mention'; text: string; username: string };

const PATTERN = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}])|(^|[^\w.])@([a-z0-9_.]{3,32})/giu;

/** Splits text into plain runs, http(s) links and @mentions. Only http and https become links. */
export function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(PATTERN)) {
    const [whole, url, before, username] = match;
    let start = match.index ?? 0;
    if (url) {
      push(out, text.slice(last, start));
      out.push({ kind: 'link', text: url, href: safeHref(url) });
    } else {
      start += before.length;
      push(out, text.slice(last, start));
      const name = username.replace(/\.+$/, '');
      out.push({ kind: 'mention', text: `@${name}`, username: name.toLowerCase() });
      last = start + 1 + name.length;
      continue;
    }
    last = start + whole.length;
  }
  push(out, text.slice(last));
  return out;
}

function push(out: Segment[], text: string) {
  if (text) out.push({ kind: 'text', text });
}

/** The URL as an href, or '#' if it does not parse as http(s). */
export function safeHref(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : '#';
  } catch {
    return '#';
  }
}

/** The formatting a bot's markup can ask for, besides links and mentions. */
export type Style = 'heading' | 'strong' | 'emphasized' | 'underline' | 'strikethrough' | 'highlighted' | 'monospaced';

/** Where spans over the same text nest: the first goes outermost. */
const STYLES: readonly Style[] = ['heading', 'strong', 'emphasized', 'underline', 'strikethrough', 'highlighted', 'monospaced'];

type Wrap =
  | { kind: 'style'; style: Style }
  | { kind: 'link'; href: string }
  | { kind: 'mention'; userId?: number; username?: string };

/** Formatted text as a tree. Leaves are text for Svelte to interpolate; the other nodes stand
 * for elements from a fixed set, and a link's href is always http(s). */
export type Formatted = { kind: 'text'; text: string } | (Wrap & { children: Formatted[] });

interface Span { start: number; end: number; wrap: Wrap }

/**
 * The text split at every span's edges and nested back into a tree: spans that nest come out as
 * nested elements, spans that overlap are cut where they cross. Markup that makes no sense
 * (unknown types, outside the text, empty, links other than http(s)) is left out. Bare links and
 * @mentions are found as in `segments`, except inside a link, a mention or code.
 */
export function formatted(text: string, markup: readonly Markup[] = []): Formatted[] {
  const given = Array.isArray(markup) ? markup.flatMap((mark) => spanOf(text, mark) ?? []) : [];
  const spans = [...given, ...foundSpans(text, given)]
    .sort((a, b) => a.start - b.start || b.end - a.end || rank(a.wrap) - rank(b.wrap));
  const cuts = [...new Set([0, text.length, ...spans.flatMap((span) => [span.start, span.end])])].sort((a, b) => a - b);
  const runs: Run[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [start, end] = [cuts[i], cuts[i + 1]];
    // Each kind once, the outermost: a link inside a link would be two targets for one press.
    const covering: Span[] = [];
    const kinds = new Set<string>();
    for (const span of spans) {
      if (span.start > start || span.end < end || kinds.has(key(span.wrap))) continue;
      kinds.add(key(span.wrap));
      covering.push(span);
    }
    runs.push({ text: text.slice(start, end), spans: covering });
  }
  return nest(runs, 0);
}

/** A piece of text between two cuts, with the spans over it, outermost first. */
interface Run { text: string; spans: Span[] }

/** Consecutive runs under the same span at `depth` become one node. */
function nest(runs: Run[], depth: number): Formatted[] {
  const out: Formatted[] = [];
  for (let i = 0; i < runs.length;) {
    const span = runs[i].spans[depth];
    let next = i + 1;
    while (next < runs.length && runs[next].spans[depth] === span) next++;
    if (span) {
      out.push({ ...span.wrap, children: nest(runs.slice(i, next), depth + 1) });
    } else {
      out.push({ kind: 'text', text: runs.slice(i, next).map((run) => run.text).join('') });
    }
    i = next;
  }
  return out;
}

function spanOf(text: string, mark: Markup): Span | null {
  if (!Number.isSafeInteger(mark?.from) || !Number.isSafeInteger(mark?.length)) return null;
  const wrap = wrapOf(mark);
  if (!wrap) return null;
  const start = offPair(text, Math.max(0, mark.from), -1);
  const end = offPair(text, Math.min(text.length, mark.from + mark.length), 1);
  return start < end ? { start, end, wrap } : null;
}

function wrapOf(mark: Markup): Wrap | null {
  if (mark.type === 'link') {
    const href = typeof mark.url === 'string' ? safeHref(mark.url) : '#';
    return href === '#' ? null : { kind: 'link', href };
  }
  if (mark.type === 'user_mention') {
    return Number.isSafeInteger(mark.user_id) && mark.user_id! > 0 ? { kind: 'mention', userId: mark.user_id } : null;
  }
  return STYLES.includes(mark.type as Style) ? { kind: 'style', style: mark.type as Style } : null;
}

/** The index moved outwards if it falls between the halves of a surrogate pair (an emoji). */
function offPair(text: string, index: number, outwards: -1 | 1): number {
  const low = text.charCodeAt(index);
  const high = text.charCodeAt(index - 1);
  const splits = low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff;
  return splits ? index + outwards : index;
}

/** Bare links and @mentions, where the markup has no link, mention or code. */
function foundSpans(text: string, given: Span[]): Span[] {
  const spans: Span[] = [];
  let end = 0;
  for (const segment of segments(text)) {
    const start = end;
    end += segment.text.length;
    if (segment.kind === 'text' || (segment.kind === 'link' && segment.href === '#')) continue;
    const taken = given.some((span) => span.start < end && start < span.end && (span.wrap.kind !== 'style' || span.wrap.style === 'monospaced'));
    if (taken) continue;
    spans.push({ start, end, wrap: segment.kind === 'link' ? { kind: 'link', href: segment.href } : { kind: 'mention', username: segment.username } });
  }
  return spans;
}

function key(wrap: Wrap): string {
  return wrap.kind === 'style' ? wrap.style : wrap.kind;
}

function rank(wrap: Wrap): number {
  return wrap.kind === 'link' ? 0 : wrap.kind === 'mention' ? 1 : 2 + STYLES.indexOf(wrap.style);
}

/** The words of a formatted tree, as read. */
export function wordsOf(nodes: readonly Formatted[]): string {
  return nodes.map((node) => (node.kind === 'text' ? node.text : wordsOf(node.children))).join('');
}

/** A host without a leading "www.", lower-case. */
function bareHost(host: string): string {
  return host.toLowerCase().replace(/^www\./, '');
}

/**
 * When a link's words look like an address other than where it goes ("https://gosuslugi.ru"
 * leading to another site), the host it really goes to, to show beside them; otherwise null.
 */
export function misleadingHost(words: string, href: string): string | null {
  const trimmed = words.trim();
  if (!/^(https?:\/\/)?[^\s/]+\.[^\s/]+(\/\S*)?$/iu.test(trimmed)) return null;
  try {
    const shown = new URL(/^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
    const real = new URL(href);
    return bareHost(shown.host) === bareHost(real.host) ? null : real.host;
  } catch {
    return null;
  }
}

/** Up to two initials for an avatar: "Анна Петрова" → "АП". */
export function initials(name: string): string {
  // Only words that start with a letter or digit: "5Б · родители" is "5Р", not "5·".
  const words = name.trim().split(/\s+/).filter((word) => /^[\p{L}\p{N}]/u.test(word));
  const letters = words.slice(0, 2).map((w) => [...w][0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** A stable hue for a user's avatar, from their id. */
export function hue(id: number): number {
  return (id * 137) % 360;
}
