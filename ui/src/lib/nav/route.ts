//! Hash routes: `#/`, `#/thread/<id>[/<reply id>]`, `#/profile/<key>`, `#/notifications`,
//! `#/bookmarks`, `#/follow`, `#/settings`. The `#token=` fragment is taken off by the backend before any
//! route is read, so it never becomes one.

export type Route =
  | { name: 'home' }
  | { name: 'thread'; id: string; focus: string | null }
  | { name: 'profile'; key: string; tab: ProfileTab }
  | { name: 'notifications' }
  | { name: 'bookmarks' }
  | { name: 'follow' }
  | { name: 'settings' }
  | { name: 'not_found'; path: string };

export type ProfileTab = 'posts' | 'replies' | 'follows' | 'followers';

const HEX64 = /^[0-9a-f]{64}$/;

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/?/, '/');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'home')) return { name: 'home' };
  const [head, a, b] = parts;
  if (head === 'thread' && a && HEX64.test(a) && parts.length <= 3) {
    return { name: 'thread', id: a, focus: b && HEX64.test(b) ? b : null };
  }
  if (head === 'profile' && a && HEX64.test(a) && parts.length <= 3) {
    const tab: ProfileTab = b === 'replies' || b === 'follows' || b === 'followers' ? b : 'posts';
    return { name: 'profile', key: a, tab };
  }
  if (parts.length === 1 && (head === 'notifications' || head === 'bookmarks' || head === 'follow' || head === 'settings')) {
    return { name: head };
  }
  return { name: 'not_found', path };
}

/** The hash for a route. */
export function hrefFor(r: Route): string {
  switch (r.name) {
    case 'home':
      return '#/';
    case 'thread':
      return r.focus ? `#/thread/${r.id}/${r.focus}` : `#/thread/${r.id}`;
    case 'profile':
      return r.tab === 'posts' ? `#/profile/${r.key}` : `#/profile/${r.key}/${r.tab}`;
    case 'not_found':
      return `#${r.path}`;
    default:
      return `#/${r.name}`;
  }
}

export const threadHref = (root: string, focus?: string | null) =>
  hrefFor({ name: 'thread', id: root, focus: focus && focus !== root ? focus : null });
export const profileHref = (key: string) => hrefFor({ name: 'profile', key, tab: 'posts' });
