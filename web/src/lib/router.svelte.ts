// A tiny path router: /, /chat/<id>, /join/<code>, /settings, /claim, /orgs, /orgs/<id>, /bot/<username>?start=<payload>,
// /bots. Paths are real URLs so that an invite link opens directly (the server answers every such path with the app).

export type Route =
  | { name: 'home' }
  | { name: 'chat'; id: number }
  | { name: 'join'; code: string }
  | { name: 'settings' }
  | { name: 'claim' }
  | { name: 'orgs' }
  | { name: 'org'; id: number; section?: string }
  // web-bots: a bot's deep link (the payload is handed to the bot when the person starts it) and "My bots".
  | { name: 'bot'; username: string; payload: string | null }
  | { name: 'bots' };

/** `search` is the query (`?start=…`), which only a bot's link reads. */
export function parse(path: string, search = ''): Route {
  const chat = /^\/chat\/(\d+)$/.exec(path);
  if (chat) return { name: 'chat', id: Number(chat[1]) };
  const join = /^\/join\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (join) return { name: 'join', code: join[1] };
  if (path === '/settings') return { name: 'settings' };
  if (path === '/claim') return { name: 'claim' };
  if (path === '/orgs') return { name: 'orgs' };
  const org = /^\/orgs\/(\d+)(?:\/([a-z]{1,32}))?$/.exec(path);
  if (org) return org[2] ? { name: 'org', id: Number(org[1]), section: org[2] } : { name: 'org', id: Number(org[1]) };
  // web-bots: usernames are lowercase; a link typed with capitals still finds the bot.
  const bot = /^\/bot\/([A-Za-z0-9_.]{3,32})$/.exec(path);
  if (bot) return { name: 'bot', username: bot[1].toLowerCase(), payload: new URLSearchParams(search).get('start') };
  if (path === '/bots') return { name: 'bots' };
  return { name: 'home' };
}

export const router = $state({ route: parse(location.pathname, location.search) });

/** Goes to `path`; with `replace`, in place of the current entry, so Back does not return to
 * a page that is gone (a deleted chat). */
export function go(path: string, { replace = false } = {}): void {
  if (location.pathname !== path) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  router.route = parse(path);
}

addEventListener('popstate', () => {
  router.route = parse(location.pathname, location.search);
});
