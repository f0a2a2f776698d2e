//! The current route, from the location hash.

import { parseRoute, type Route } from '../nav/route';

class Router {
  route = $state<Route>({ name: 'home' });
  private started = false;

  /** Starts following the hash; call after the backend has taken any `#token=` off it. */
  start() {
    if (this.started) return;
    this.started = true;
    this.route = parseRoute(location.hash);
    window.addEventListener('hashchange', () => {
      this.route = parseRoute(location.hash);
    });
  }

  go(hash: string) {
    if (location.hash === hash) this.route = parseRoute(hash);
    else location.hash = hash;
  }
}

export const router = new Router();
