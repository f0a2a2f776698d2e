//! The app's event bus: the node's events, fanned out to whichever views and state listen, plus
//! the app's own (a post deleted or an author blocked or unblocked here, follows changed, the stream back
//! after a gap), so that lists can drop or re-read what changed.

import type { NodeEvent } from '../backend/types';

/** Node events plus the app's own. */
export type AppEvent =
  | NodeEvent
  | { type: 'deleted'; id: string }
  | { type: 'blocked'; key: string }
  | { type: 'unblocked'; key: string }
  /** A person or a thread muted or unmuted here. */
  | { type: 'mutes_changed' }
  /** A message bookmarked or its bookmark removed here. */
  | { type: 'bookmarks_changed' }
  | { type: 'follows_changed' }
  /** The event stream came back after a gap: anything may have been missed. */
  | { type: 'resynced' };

/** Listeners of app events; one failing listener does not stop the others. */
export class EventBus {
  private readonly listeners = new Set<(e: AppEvent) => void>();

  /** Subscribes; returns the unsubscribe function. */
  on(fn: (e: AppEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: AppEvent) {
    for (const fn of [...this.listeners]) {
      try {
        fn(e);
      } catch (err) {
        console.error('event listener failed', err);
      }
    }
  }
}

export const events = new EventBus();
