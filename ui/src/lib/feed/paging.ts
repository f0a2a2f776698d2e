//! A feed loaded page by page by cursor, with live arrivals held behind a "N new posts" bar.
//!
//! Plain TypeScript (no Svelte) so it can be tested alone: views subscribe with `onChange` and
//! read `items`/`pending`, which are replaced (never mutated) on every change.
//!
//! Invariants: an id is in at most one of `items` and `pending`; `items` never shifts under
//! the reader except by `showNew` (the reader asked), `prepend` (their own post) and `remove`.

import { BackendError, toBackendError } from '../backend/errors';
import type { MessageView, Page } from '../backend/types';
import { isPost } from '../backend/types';

export type Fetcher = (cursor: string | null) => Promise<Page>;

/** Newest first; ties by id so the order is stable across reloads. */
export function byNewest(a: MessageView, b: MessageView): number {
  return b.timestamp_ms - a.timestamp_ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** What a view shows of a pager at one moment. */
export type PagerSnapshot = {
  items: MessageView[];
  pending: MessageView[];
  loading: boolean;
  done: boolean;
  started: boolean;
  error: BackendError | null;
};

export const EMPTY_SNAPSHOT: PagerSnapshot = {
  items: [],
  pending: [],
  loading: false,
  done: false,
  started: false,
  error: null,
};

export class FeedPager {
  items: MessageView[] = [];
  pending: MessageView[] = [];
  cursor: string | null = null;
  /** No more pages: the last one had `next_cursor: null`. */
  done = false;
  loading = false;
  /** The first page has arrived (or failed). */
  started = false;
  error: BackendError | null = null;

  private readonly ids = new Set<string>();
  private readonly listeners = new Set<() => void>();
  /** Bumped by `reset`, so answers to requests made before it are dropped. */
  private generation = 0;

  constructor(
    private readonly fetchPage: Fetcher,
    private readonly keep: (m: MessageView) => boolean = isPost,
  ) {}

  snapshot(): PagerSnapshot {
    const { items, pending, loading, done, started, error } = this;
    return { items, pending, loading, done, started, error };
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed() {
    for (const fn of this.listeners) fn();
  }

  /** Loads the next page unless one is loading or there is none. */
  async loadMore(): Promise<void> {
    if (this.loading || this.done) return;
    const gen = this.generation;
    this.loading = true;
    this.error = null;
    this.changed();
    try {
      const page = await this.fetchPage(this.cursor);
      if (gen !== this.generation) return;
      this.appendPage(page);
    } catch (e) {
      if (gen !== this.generation) return;
      this.error = toBackendError(e);
      throw this.error;
    } finally {
      if (gen === this.generation) {
        this.loading = false;
        this.started = true;
        this.changed();
      }
    }
  }

  /** Appends a page's new items (skipping ids already held) and moves the cursor on. */
  appendPage(page: Page) {
    const fresh: MessageView[] = [];
    for (const m of page.items) {
      if (!this.keep(m) || this.ids.has(m.id)) continue;
      this.ids.add(m.id);
      fresh.push(m);
    }
    if (fresh.length) this.items = [...this.items, ...fresh];
    this.cursor = page.next_cursor;
    this.done = page.next_cursor === null;
    this.started = true;
    this.changed();
  }

  /**
   * Takes in live arrivals: those not held yet wait in `pending` (the "N new" bar), or go
   * straight into an empty list, where nothing can jump. Returns how many were new.
   */
  addNew(messages: MessageView[]): number {
    const fresh: MessageView[] = [];
    for (const m of messages) {
      if (!this.keep(m) || this.ids.has(m.id)) continue;
      this.ids.add(m.id);
      fresh.push(m);
    }
    if (!fresh.length) return 0;
    if (this.items.length === 0 && this.pending.length === 0) {
      this.items = fresh.sort(byNewest);
    } else {
      this.pending = [...this.pending, ...fresh].sort(byNewest);
    }
    this.changed();
    return fresh.length;
  }

  /** Moves the waiting arrivals into the list, in time order. */
  showNew() {
    if (!this.pending.length) return;
    this.items = [...this.pending, ...this.items].sort(byNewest);
    this.pending = [];
    this.changed();
  }

  /** Puts a message (the reader's own new post) at the top at once. */
  prepend(m: MessageView) {
    if (!this.keep(m)) return;
    if (this.ids.has(m.id)) {
      this.pending = this.pending.filter((p) => p.id !== m.id);
      this.items = this.items.filter((p) => p.id !== m.id);
    }
    this.ids.add(m.id);
    this.items = [m, ...this.items];
    this.changed();
  }

  /** Drops a message (deleted, or its author blocked). */
  remove(pred: (m: MessageView) => boolean) {
    let dropped = 0;
    const stays = (m: MessageView) => {
      if (!pred(m)) return true;
      this.ids.delete(m.id);
      dropped += 1;
      return false;
    };
    this.items = this.items.filter(stays);
    this.pending = this.pending.filter(stays);
    if (dropped) this.changed();
  }

  /** Fetches the first page again and takes what is new in it as live arrivals. */
  async checkNew(): Promise<number> {
    if (!this.started) return 0;
    const gen = this.generation;
    const page = await this.fetchPage(null);
    if (gen !== this.generation) return 0;
    return this.addNew(page.items);
  }

  /** Forgets everything, for a reload from the top. */
  reset() {
    this.generation += 1;
    this.items = [];
    this.pending = [];
    this.ids.clear();
    this.cursor = null;
    this.done = false;
    this.loading = false;
    this.started = false;
    this.error = null;
    this.changed();
  }
}
