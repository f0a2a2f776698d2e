//! The app's shared state: who I am, the people known, unread notifications, peers, settings,
//! and the node's event stream fanned out to whichever views listen. Views read it; only this
//! module and the views' actions call the backend.

import { SvelteMap } from 'svelte/reactivity';
import type { Backend } from '../backend';
import { BackendError, toBackendError } from '../backend/errors';
import type {
  ConnectionState,
  Me,
  MessageView,
  NodeEvent,
  PeerView,
  Person,
  Profile,
  Settings,
  Thread,
} from '../backend/types';
import { isPost } from '../backend/types';
import { displayName } from '../text/keys';
import { excerpt } from '../text/markdown';
import { debounce } from '../util/debounce';
import { toasts } from './toasts.svelte';

/** Node events plus the app's own, so lists can drop what was deleted or blocked here. */
export type AppEvent =
  | NodeEvent
  | { type: 'deleted'; id: string }
  | { type: 'blocked'; key: string }
  | { type: 'follows_changed' }
  /** The event stream came back after a gap: anything may have been missed. */
  | { type: 'resynced' };

export type Theme = 'system' | 'light' | 'dark';
const THEME_KEY = 'rookery.theme';
const WELCOME_KEY = 'rookery.welcome_done';

class AppState {
  backend!: Backend;
  me = $state<Me | null>(null);
  people = $state.raw<Person[]>([]);
  unread = $state(0);
  peers = $state<Record<string, PeerView>>({});
  busy = $state(false);
  connection = $state<ConnectionState>('connecting');
  settings = $state<Settings | null>(null);
  /** Set when the first load failed: the shell shows it with a retry, never a blank page. */
  bootError = $state<BackendError | null>(null);
  ready = $state(false);
  theme = $state<Theme>('system');
  welcomeDone = $state(false);

  /** The compose modal: open or not, and the post being replied to. */
  compose = $state<{ open: boolean; replyTo: MessageView | null }>({ open: false, replyTo: null });
  shortcutsOpen = $state(false);

  /** Reply counts per parent id, from every message the app has seen. */
  replyCounts = new SvelteMap<string, number>();
  private replySeen = new Set<string>();
  /** Messages seen, for "replying to @name" without asking the node again. */
  private messages = new Map<string, MessageView>();
  private threads = new Map<string, Promise<Thread | null>>();
  private listeners = new Set<(e: AppEvent) => void>();
  private unsubscribe: (() => void) | null = null;

  peopleByKey = $derived(new Map(this.people.map((p) => [p.key, p])));

  peerList = $derived(Object.values(this.peers));
  connectedPeers = $derived(this.peerList.filter((p) => p.connected).length);
  syncing = $derived(this.busy || this.peerList.some((p) => p.connected && p.fetching !== null));

  needsWelcome = $derived(this.me !== null && !this.me.profile.name?.trim() && !this.welcomeDone);

  async start(backend: Backend) {
    this.backend = backend;
    try {
      this.theme = (localStorage.getItem(THEME_KEY) as Theme | null) ?? 'system';
      this.welcomeDone = sessionStorage.getItem(WELCOME_KEY) === '1';
    } catch {
      // Storage disabled: defaults.
    }
    this.applyTheme();
    this.unsubscribe?.();
    this.unsubscribe = backend.subscribe({
      onEvent: (e) => this.onEvent(e),
      onConnection: (s) => {
        const wasDown = this.connection === 'down';
        this.connection = s;
        if (s === 'open' && wasDown) {
          void this.refreshAll();
          this.emit({ type: 'resynced' });
        }
      },
    });
    await this.boot();
  }

  /** The first load; on failure the shell shows `bootError` with a retry button. */
  async boot() {
    this.bootError = null;
    try {
      this.me = await this.backend.me();
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
    await Promise.all([this.refreshPeople(), this.refreshUnread(), this.refreshStatus(), this.refreshSettings()]);
  }

  async refreshMe() {
    try {
      this.me = await this.backend.me();
    } catch (e) {
      toasts.error(e, 'Could not load your profile');
    }
  }

  async refreshPeople() {
    try {
      this.people = await this.backend.people();
    } catch {
      // Names fall back to short keys; not worth a toast.
    }
  }

  async refreshUnread() {
    try {
      const n = await this.backend.notifications(1);
      this.unread = n.unread;
    } catch {
      // The badge keeps its last value.
    }
  }

  async refreshStatus() {
    try {
      const s = await this.backend.status();
      const peers: Record<string, PeerView> = {};
      for (const p of s.peers) peers[p.key] = p;
      this.peers = peers;
      this.busy = s.busy;
    } catch {
      // The pill keeps its last value.
    }
  }

  async refreshSettings() {
    try {
      this.settings = await this.backend.settings();
    } catch {
      // Settings view retries when opened.
    }
  }

  private refreshPeopleSoon = debounce(() => void this.refreshPeople(), 1500);
  private refreshUnreadSoon = debounce(() => void this.refreshUnread(), 800);

  private onEvent(e: NodeEvent) {
    switch (e.type) {
      case 'published':
        this.remember([e.message]);
        if (e.message.content.type === 'about') void this.refreshMe();
        if (['follow', 'unfollow', 'block'].includes(e.message.content.type)) {
          this.refreshPeopleSoon();
          this.emit({ type: 'follows_changed' });
        }
        break;
      case 'head_imported':
        this.refreshPeopleSoon();
        break;
      case 'notification':
        this.remember([e.notification.message]);
        this.unread += 1;
        this.refreshUnreadSoon();
        this.desktopNotify(e.notification.kind, e.notification.message);
        break;
      case 'peer':
        this.peers[e.peer.key] = e.peer;
        if (!this.peerList.some((p) => p.fetching)) this.busy = false;
        break;
    }
    this.emit(e);
  }

  /** Subscribes to node and app events; returns the unsubscribe function. */
  on(fn: (e: AppEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: AppEvent) {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        console.error('event listener failed', err);
      }
    }
  }

  // ----- names, avatars, messages -----

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

  /** Notes messages seen (for parent lookups and reply counts). */
  remember(ms: MessageView[]) {
    for (const m of ms) {
      this.messages.set(m.id, m);
      if (isPost(m) && m.content.parent && !this.replySeen.has(m.id)) {
        this.replySeen.add(m.id);
        const p = m.content.parent;
        this.replyCounts.set(p, (this.replyCounts.get(p) ?? 0) + 1);
      }
    }
  }

  forget(id: string) {
    const m = this.messages.get(id);
    if (m && isPost(m) && m.content.parent && this.replySeen.delete(id)) {
      const p = m.content.parent;
      this.replyCounts.set(p, Math.max(0, (this.replyCounts.get(p) ?? 1) - 1));
    }
    this.messages.delete(id);
  }

  /** A thread, fetched once per root per session (for parent lookups; views fetch fresh). */
  private cachedThread(root: string): Promise<Thread | null> {
    let t = this.threads.get(root);
    if (!t) {
      t = this.backend.thread(root).then(
        (th) => {
          this.remember([...(th.root ? [th.root] : []), ...th.replies]);
          return th;
        },
        () => {
          this.threads.delete(root);
          return null;
        },
      );
      this.threads.set(root, t);
    }
    return t;
  }

  /** A message already seen, by id. */
  known(id: string): MessageView | null {
    return this.messages.get(id) ?? null;
  }

  /** A message by id, from what was seen or else from its thread. */
  async lookup(id: string, root: string | null): Promise<MessageView | null> {
    const known = this.messages.get(id);
    if (known) return known;
    await this.cachedThread(root ?? id);
    return this.messages.get(id) ?? null;
  }

  // ----- actions used from several views -----

  openCompose(replyTo: MessageView | null = null) {
    this.compose = { open: true, replyTo };
  }

  closeCompose() {
    this.compose = { open: false, replyTo: null };
  }

  async deletePost(m: MessageView): Promise<boolean> {
    try {
      await this.backend.deleteMessage(m.id);
      this.forget(m.id);
      this.emit({ type: 'deleted', id: m.id });
      toasts.success('Post deleted');
      return true;
    } catch (e) {
      toasts.error(e, 'Could not delete the post');
      return false;
    }
  }

  async block(key: string): Promise<Profile | null> {
    try {
      const p = await this.backend.block(key);
      this.emit({ type: 'blocked', key });
      toasts.success(`Blocked ${displayName(p.name, key)}`);
      void this.refreshPeople();
      return p;
    } catch (e) {
      toasts.error(e, 'Could not block');
      return null;
    }
  }

  async follow(address: string): Promise<Profile | null> {
    try {
      const p = await this.backend.follow(address);
      toasts.success(`Following ${displayName(p.name, p.key)}`);
      void this.refreshPeople();
      this.emit({ type: 'follows_changed' });
      return p;
    } catch (e) {
      toasts.error(e, 'Could not follow');
      return null;
    }
  }

  async unfollow(key: string): Promise<Profile | null> {
    try {
      const p = await this.backend.unfollow(key);
      toasts.info(`Unfollowed ${displayName(p.name, key)}`);
      void this.refreshPeople();
      this.emit({ type: 'follows_changed' });
      return p;
    } catch (e) {
      toasts.error(e, 'Could not unfollow');
      return null;
    }
  }

  async startDemo() {
    try {
      await this.backend.startDemo();
      toasts.success('Demo network started. Its posts appear as they sync.');
      this.finishWelcome();
      void this.refreshAll();
      this.emit({ type: 'follows_changed' });
    } catch (e) {
      toasts.error(e, 'Could not start the demo network');
    }
  }

  finishWelcome() {
    this.welcomeDone = true;
    try {
      sessionStorage.setItem(WELCOME_KEY, '1');
    } catch {
      // Not kept: the welcome shows again after a reload, which is harmless.
    }
  }

  setTheme(t: Theme) {
    this.theme = t;
    try {
      localStorage.setItem(THEME_KEY, t);
    } catch {
      // Not kept across reloads.
    }
    this.applyTheme();
  }

  private applyTheme() {
    const root = document.documentElement;
    if (this.theme === 'system') root.removeAttribute('data-theme');
    else root.setAttribute('data-theme', this.theme);
  }

  private desktopNotify(kind: 'reply' | 'mention', m: MessageView) {
    if (!this.settings?.notifications) return;
    // Inside the desktop app the shell shows native notifications itself.
    if (this.backend.kind === 'tauri') return;
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (document.visibilityState === 'visible' && document.hasFocus()) return;
    const who = this.displayNameOf(m.author, m.author_name);
    const title = kind === 'reply' ? `${who} replied to your post` : `${who} mentioned you`;
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

export const app = new AppState();
