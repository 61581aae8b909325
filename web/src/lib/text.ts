// Message text is shown through Svelte's text interpolation, which escapes everything; this
// module only finds the parts that become links or mentions. Nothing here builds HTML.

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
