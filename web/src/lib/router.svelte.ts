// A tiny path router: /, /chat/<id>, /join/<code>, /settings, /claim, /orgs, /orgs/<id>. Paths are real URLs so that an
// invite link opens directly (the server answers every such path with the app).

export type Route =
  | { name: 'home' }
  | { name: 'chat'; id: number }
  | { name: 'join'; code: string }
  | { name: 'settings' }
  | { name: 'claim' }
  | { name: 'orgs' }
  | { name: 'org'; id: number; section?: string };

export function parse(path: string): Route {
  const chat = /^\/chat\/(\d+)$/.exec(path);
  if (chat) return { name: 'chat', id: Number(chat[1]) };
  const join = /^\/join\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (join) return { name: 'join', code: join[1] };
  if (path === '/settings') return { name: 'settings' };
  if (path === '/claim') return { name: 'claim' };
  if (path === '/orgs') return { name: 'orgs' };
  const org = /^\/orgs\/(\d+)(?:\/([a-z]{1,32}))?$/.exec(path);
  if (org) return org[2] ? { name: 'org', id: Number(org[1]), section: org[2] } : { name: 'org', id: Number(org[1]) };
  return { name: 'home' };
}

export const router = $state({ route: parse(location.pathname) });

export function go(path: string): void {
  if (location.pathname !== path) history.pushState(null, '', path);
  router.route = parse(path);
}

addEventListener('popstate', () => {
  router.route = parse(location.pathname);
});
