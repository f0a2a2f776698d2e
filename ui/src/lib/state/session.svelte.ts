//! The session with the node: the API, who I am, the people known, the unread count, peers and
//! settings, and the event stream's state. It boots the app (on failure the shell shows
//! `bootError` with a retry, never a blank page) and keeps its own state current from the
//! node's events; names and avatars of keys are read from here.

import type { Api } from '../backend/api';
import { BackendError, toBackendError } from '../backend/errors';
import type { ConnectionState, Me, MessageView, NodeEvent, NotificationKind, PeerView } from '../backend/types';
import { isPost } from '../backend/types';
import { displayName } from '../text/keys';
import { excerpt } from '../text/markdown';
import { debounce } from '../util/debounce';
import { events } from './events';
import { Resource } from './resource.svelte';
import { toasts } from './toasts.svelte';

class Session {
  /** The node's API; set by `start` before anything else runs. */
  api!: Api;
  me = $state<Me | null>(null);
  unread = $state(0);
  peers = $state<Record<string, PeerView>>({});
  busy = $state(false);
  connection = $state<ConnectionState>('connecting');
  /** Set when the first load failed. */
  bootError = $state<BackendError | null>(null);
  ready = $state(false);

  /** Everyone known, for names, avatars and autocomplete; stale when follows change (a follow
   *  of mine published elsewhere comes as `follows_changed` too) or heads arrive. */
  readonly people = new Resource(() => this.api.call('people'), {
    invalidate: (e) => {
      if (e.type === 'follows_changed' || e.type === 'blocked' || e.type === 'unblocked') return true;
      return e.type === 'head_imported' ? 1500 : false;
    },
  });
  readonly settings = new Resource(() => this.api.call('settings'));
  /** The messages bookmarked here (the newest 200 bookmarks), for the Bookmarks view and the
   *  posts' menus; stale when one is added or removed, or a message deleted or blocked. */
  readonly bookmarks = new Resource(() => this.api.call('bookmarks', { limit: 200 }), {
    invalidate: (e) => e.type === 'bookmarks_changed' || e.type === 'deleted' || e.type === 'blocked' || e.type === 'unblocked',
  });
  bookmarked = $derived(new Set((this.bookmarks.data ?? []).map((m) => m.id)));

  peopleByKey = $derived(new Map((this.people.data ?? []).map((p) => [p.key, p])));
  peerList = $derived(Object.values(this.peers));
  connectedPeers = $derived(this.peerList.filter((p) => p.connected).length);
  syncing = $derived(this.busy || this.peerList.some((p) => p.connected && p.fetching !== null));

  private stopPeople: (() => void) | null = null;
  private stopBookmarks: (() => void) | null = null;

  /** Takes the API; `boot` then loads the first state. */
  start(api: Api) {
    this.api = api;
    this.stopPeople?.();
    this.stopPeople = this.people.listen();
    this.stopBookmarks?.();
    this.stopBookmarks = this.bookmarks.listen();
  }

  /** The first load; on failure the shell shows `bootError` with a retry button. */
  async boot() {
    this.bootError = null;
    try {
      this.me = await this.api.call('me');
      this.ready = true;
    } catch (e) {
      this.bootError = toBackendError(e);
      return;
    }
    await this.refreshAll();
    // The desktop app starts before its home relay is known: read the ticket again once it
    // likely is, so the one shown and copied carries the relay.
    setTimeout(() => void this.refreshMe(), 8000);
  }

  async refreshAll() {
    // Names fall back to short keys and settings are read again when their view opens, so
    // neither failure is worth a toast.
    await Promise.all([
      this.people.refresh(true),
      this.refreshUnread(),
      this.refreshStatus(),
      this.settings.refresh(true),
      this.bookmarks.refresh(true),
    ]);
  }

  async refreshMe() {
    try {
      this.me = await this.api.call('me');
    } catch (e) {
      toasts.error(e, 'Could not load your profile');
    }
  }

  async refreshUnread() {
    try {
      this.unread = (await this.api.call('notifications', { limit: 1 })).unread;
    } catch {
      // The badge keeps its last value.
    }
  }

  async refreshStatus() {
    try {
      const s = await this.api.call('status');
      this.peers = Object.fromEntries(s.peers.map((p) => [p.key, p]));
      this.busy = s.busy;
    } catch {
      // The pill keeps its last value.
    }
  }

  private refreshUnreadSoon = debounce(() => void this.refreshUnread(), 800);

  /** The event stream's state; back after a gap, everything is read again. */
  onConnection(s: ConnectionState) {
    const wasDown = this.connection === 'down';
    this.connection = s;
    if (s === 'open' && wasDown) {
      void this.refreshAll();
      events.emit({ type: 'resynced' });
    }
  }

  /** Keeps the session's own state current; the app then passes the event on to the bus. */
  onEvent(e: NodeEvent) {
    switch (e.type) {
      case 'published':
        if (e.message.content.type === 'about') void this.refreshMe();
        break;
      case 'notification':
        this.unread += 1;
        this.refreshUnreadSoon();
        this.desktopNotify(e.notification.kind, e.notification.message);
        break;
      case 'peer':
        this.peers[e.peer.key] = e.peer;
        if (!this.peerList.some((p) => p.fetching)) this.busy = false;
        break;
    }
  }

  // ----- names and avatars -----

  nameOf = (key: string): string | null => {
    if (this.me && key === this.me.key) return this.me.profile.name;
    return this.peopleByKey.get(key)?.name ?? null;
  };

  displayNameOf(key: string, fallback: string | null = null): string {
    return displayName(this.nameOf(key) ?? fallback, key);
  }

  avatarOf(key: string): string | null {
    if (this.me && key === this.me.key) return this.me.profile.avatar;
    return this.peopleByKey.get(key)?.avatar ?? null;
  }

  isMe(key: string): boolean {
    return this.me?.key === key;
  }

  private desktopNotify(kind: NotificationKind, m: MessageView) {
    const s = this.settings.data;
    if (!s?.notifications) return;
    if (!{ mention: s.notify_mentions, reply: s.notify_replies, follow: s.notify_follows }[kind]) return;
    // Inside the desktop app the shell shows native notifications itself.
    if (this.api.kind === 'tauri') return;
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (document.visibilityState === 'visible' && document.hasFocus()) return;
    const who = this.displayNameOf(m.author, m.author_name);
    const title = kind === 'reply' ? `${who} replied to your post` : kind === 'follow' ? `${who} followed you` : `${who} mentioned you`;
    const body = isPost(m) ? excerpt(m.content.text, 160, this.nameOf) : '';
    try {
      const n = new Notification(title, { body, tag: m.id });
      n.onclick = () => {
        window.focus();
        location.hash = '#/notifications';
      };
    } catch {
      // Some webviews have the API but refuse to show.
    }
  }
}

export const session = new Session();
