//! The Tauri backend, inside the desktop app: `invoke` for commands, the `node-event` window
//! event for node events, the opener plugin for links. This folder is the only place in the UI
//! that imports `@tauri-apps/*`.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { openUrl } from '@tauri-apps/plugin-opener';
import { toBackendError } from './errors';
import type { Backend, EventHandlers } from './index';
import { sniffImageType } from './mime';
import type {
  Me,
  MessageView,
  NodeEvent,
  Notifications,
  Page,
  Person,
  Profile,
  Settings,
  Status,
  Thread,
} from './types';

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toBackendError(e);
  }
}

/** Drops undefined/null optional arguments, so the command sees them as absent. */
function opt(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined && v !== null));
}

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;
  /** Object URLs made for blobs, kept for the app's life (avatars are few and small). */
  private readonly blobs = new Map<string, Promise<string>>();

  me() {
    return call<Me>('me');
  }
  timeline(cursor?: string | null, limit?: number) {
    return call<Page>('timeline', opt({ cursor, limit }));
  }
  authorFeed(key: string, cursor?: string | null, limit?: number) {
    return call<Page>('author_feed', opt({ key, cursor, limit }));
  }
  thread(id: string) {
    return call<Thread>('thread', { id });
  }
  profile(key: string) {
    return call<Profile>('profile', { key });
  }
  people() {
    return call<Person[]>('people');
  }
  notifications(limit?: number) {
    return call<Notifications>('notifications', opt({ limit }));
  }
  markRead(id?: string, limit?: number) {
    return call<Notifications>('mark_read', opt({ id, limit }));
  }
  post(text: string) {
    return call<MessageView>('post', { text });
  }
  reply(parent: string, text: string) {
    return call<MessageView>('reply', { parent, text });
  }
  follow(address: string) {
    return call<Profile>('follow', { address });
  }
  unfollow(key: string) {
    return call<Profile>('unfollow', { key });
  }
  block(key: string) {
    return call<Profile>('block', { key });
  }
  deleteMessage(id: string) {
    return call<null>('delete_message', { id });
  }
  setProfile(name: string, bio: string) {
    return call<Profile>('set_profile', { name, bio });
  }
  setAvatar(bytes: Uint8Array) {
    return call<Profile>('set_avatar', { bytes: Array.from(bytes) });
  }
  blobUrl(hash: string): Promise<string> {
    let url = this.blobs.get(hash);
    if (!url) {
      url = call<number[]>('blob', { hash }).then((bytes) => {
        const b = Uint8Array.from(bytes);
        return URL.createObjectURL(new Blob([b], { type: sniffImageType(b) }));
      });
      // A failed fetch is not cached: the blob may arrive with a later sync.
      url.catch(() => this.blobs.delete(hash));
      this.blobs.set(hash, url);
    }
    return url;
  }
  status() {
    return call<Status>('status');
  }
  settings() {
    return call<Settings>('settings');
  }
  setSettings(s: { relays?: boolean; notifications?: boolean }) {
    return call<Settings>('set_settings', opt(s));
  }
  exportKey() {
    return call<{ secret: string; words: string }>('export_key');
  }
  startDemo() {
    return call<null>('start_demo');
  }

  subscribe(h: EventHandlers): () => void {
    let stopped = false;
    let unlisten: (() => void) | null = null;
    h.onConnection?.('connecting');
    listen<NodeEvent>('node-event', (e) => h.onEvent(e.payload))
      .then((u) => {
        if (stopped) u();
        else {
          unlisten = u;
          h.onConnection?.('open');
        }
      })
      .catch(() => h.onConnection?.('down'));
    return () => {
      stopped = true;
      unlisten?.();
    };
  }

  async openExternal(url: string) {
    try {
      await openUrl(url);
    } catch (e) {
      throw toBackendError(e);
    }
  }

  permalink(id: string) {
    return `rookery:thread/${id}`;
  }
}
