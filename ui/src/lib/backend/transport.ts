//! The one way to the node: a `Transport` moves a command of the table (by name, with its JSON
//! arguments and, for the one upload, raw bytes) and brings back its answer, streams the node's
//! events, and opens links outside the app. Two implementations: `tauri.ts` (IPC inside the
//! desktop app) and `http.ts` (`rookery serve --http`). What the commands are and what they
//! answer is typed once, in `api.ts`, from the generated `Commands` map; a transport knows no
//! command by name.

import type { ConnectionState, NodeEvent } from './types';

/** Callbacks of an event subscription. */
export type EventHandlers = {
  onEvent: (e: NodeEvent) => void;
  /** The stream's state; `open` after `down` means events may have been missed. */
  onConnection?: (s: ConnectionState) => void;
};

/** Every promise rejects with a `BackendError`. */
export interface Transport {
  readonly kind: 'tauri' | 'http';
  /**
   * Runs `command` with its arguments, or for an upload with `body` as the raw input. Resolves
   * to the JSON answer, or to a `Uint8Array` for a command that answers raw bytes (`blob`).
   * `timeoutMs`, when given, is how long the caller will wait: a transport that can abort its
   * request then (HTTP) does.
   */
  invoke(command: string, args: object, body?: Uint8Array, timeoutMs?: number): Promise<unknown>;
  /** Subscribes to node events; returns the unsubscribe function. */
  subscribe(h: EventHandlers): () => void;
  /** Opens an http(s)/mailto URL outside the app (the system browser, or a new tab). */
  openExternal(url: string): Promise<void>;
  /** A link to a post that can be pasted elsewhere. */
  permalink(id: string): string;
}
