//! A resource: something loaded through the API, as Svelte state (`data`, `error`, `loading`)
//! with `refresh()`, that goes stale when an app event it names arrives and then loads again by
//! itself (invalidation). Views make theirs with `resource(...)`, which loads when the view
//! mounts (and again when what the loader reads changes) and stops listening when it goes;
//! state that lives as long as the app makes a `Resource` and calls `listen()` once.
//!
//! Invariants: the answer to the latest load wins (an older one that arrives later is dropped);
//! a reload caused by an event is quiet (a failure keeps what is shown and shows no toast); only
//! a load the reader waits for (the first, or `refresh()`) shows the `failure` toast.

import { BackendError, toBackendError } from '../backend/errors';
import { events, type AppEvent, type EventBus } from './events';
import { toasts } from './toasts.svelte';

export type ResourceOptions = {
  /**
   * Which app events make it stale: `true` reloads at once, a number of ms reloads once that
   * long has passed without another such event (a burst becomes one reload), anything else
   * not at all.
   */
  invalidate?: (e: AppEvent) => boolean | number | null | undefined;
  /** What a failed load the reader waits for says, in a toast ("Could not load the thread"). */
  failure?: string;
  /** Where the events come from (the app's bus unless a test passes its own). */
  bus?: EventBus;
};

export class Resource<T> {
  /** The latest answer; `undefined` until one arrives. Views may replace it (optimistic edits). */
  data = $state.raw<T | undefined>(undefined);
  /** The latest load's failure, cleared by the next answer. */
  error = $state.raw<BackendError | null>(null);
  loading = $state(false);

  private generation = 0;
  /** Pending debounced reloads, by delay. */
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly load: () => Promise<T>,
    private readonly options: ResourceOptions = {},
  ) {}

  /** Loads again. `quiet`: a failure keeps `data` as it is and shows no toast. */
  async refresh(quiet = false): Promise<void> {
    const gen = ++this.generation;
    // Called first, so that an effect running `refresh` tracks what the loader reads.
    let answer: Promise<T>;
    try {
      answer = this.load();
    } catch (e) {
      answer = Promise.reject(e);
    }
    this.loading = true;
    if (!quiet) this.error = null;
    try {
      const data = await answer;
      if (gen !== this.generation) return;
      this.data = data;
      this.error = null;
    } catch (e) {
      if (gen !== this.generation) return;
      this.error = toBackendError(e);
      if (!quiet && this.options.failure) toasts.error(this.error, this.options.failure);
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }

  /** Reloads on the events `invalidate` names; returns the function that stops it. */
  listen(): () => void {
    const off = (this.options.bus ?? events).on((e) => {
      const when = this.options.invalidate?.(e);
      if (when === true || when === 0) void this.refresh(true);
      else if (typeof when === 'number' && when > 0) this.later(when);
    });
    return () => {
      off();
      for (const t of this.timers.values()) clearTimeout(t);
      this.timers.clear();
    };
  }

  private later(ms: number) {
    const pending = this.timers.get(ms);
    if (pending) clearTimeout(pending);
    this.timers.set(
      ms,
      setTimeout(() => {
        this.timers.delete(ms);
        void this.refresh(true);
      }, ms),
    );
  }
}

/**
 * A resource for a component: loads when the component mounts and again whenever state that
 * `load` reads before its first `await` changes; listens for its events until the component
 * is destroyed. Call it during component initialisation.
 */
export function resource<T>(load: () => Promise<T>, options: ResourceOptions = {}): Resource<T> {
  const r = new Resource(load, options);
  $effect(() => {
    void r.refresh();
    return r.listen();
  });
  return r;
}
