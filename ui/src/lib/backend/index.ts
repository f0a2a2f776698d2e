//! The UI's only door to the node: one `Backend` interface with a Tauri (IPC) and an HTTP
//! implementation. Nothing outside this folder imports `@tauri-apps/*` or calls `/api/` itself.

import type {
  ConnectionState,
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

import { HttpBackend, takeToken } from './http';
import { TauriBackend } from './tauri';

export * from './types';
export { BackendError, toBackendError } from './errors';

/** Callbacks of an event subscription. */
export type EventHandlers = {
  onEvent: (e: NodeEvent) => void;
  /** The stream's state; `open` after `down` means events may have been missed. */
  onConnection?: (s: ConnectionState) => void;
};

/** Every call rejects with a `BackendError`. */
export interface Backend {
  readonly kind: 'tauri' | 'http';
  me(): Promise<Me>;
  timeline(cursor?: string | null, limit?: number): Promise<Page>;
  authorFeed(key: string, cursor?: string | null, limit?: number): Promise<Page>;
  thread(id: string): Promise<Thread>;
  profile(key: string): Promise<Profile>;
  people(): Promise<Person[]>;
  notifications(limit?: number): Promise<Notifications>;
  /** Marks one notification (by message id) read, or all of them without an id. */
  markRead(id?: string, limit?: number): Promise<Notifications>;
  post(text: string): Promise<MessageView>;
  reply(parent: string, text: string): Promise<MessageView>;
  /** `address` is a ticket or a 64-hex key. */
  follow(address: string): Promise<Profile>;
  unfollow(key: string): Promise<Profile>;
  block(key: string): Promise<Profile>;
  deleteMessage(id: string): Promise<null>;
  setProfile(name: string, bio: string): Promise<Profile>;
  setAvatar(bytes: Uint8Array): Promise<Profile>;
  /** A URL an `<img>` can show for a blob hash (an API URL over HTTP, a `blob:` URL in the app). */
  blobUrl(hash: string): Promise<string>;
  status(): Promise<Status>;
  settings(): Promise<Settings>;
  setSettings(s: { relays?: boolean; notifications?: boolean }): Promise<Settings>;
  exportKey(): Promise<{ secret: string; words: string }>;
  startDemo(): Promise<null>;
  /** Subscribes to node events; returns the unsubscribe function. */
  subscribe(h: EventHandlers): () => void;
  /** Opens an http(s)/mailto URL outside the app (the system browser, or a new tab). */
  openExternal(url: string): Promise<void>;
  /** A link to a post that can be pasted elsewhere. */
  permalink(id: string): string;
}

/**
 * The Tauri backend inside the desktop app, the HTTP one in a browser. In a browser this takes
 * the `#token=` fragment off the address first, so call it before anything reads the route.
 */
export function createBackend(): Backend {
  if (typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window) {
    return new TauriBackend();
  }
  return new HttpBackend({ token: takeToken() });
}
