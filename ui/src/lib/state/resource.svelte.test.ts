// @vitest-environment jsdom
//! The resource helper: loads, the latest answer winning, and invalidation by app events (at
//! once, or debounced), quiet reloads that keep what is shown, and stopping; and `resource()` in
//! a component's life (runes compiled for the browser, effects run by `$effect.root`).
import { flushSync } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BackendError } from '../backend/errors';
import { EventBus } from './events';
import { Resource, resource } from './resource.svelte';
import { toasts } from './toasts.svelte';

/** A loader whose calls are answered by hand, in any order. */
function manual<T>() {
  const calls: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  const load = vi.fn(() => new Promise<T>((resolve, reject) => calls.push({ resolve, reject })));
  return { load, calls };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('Resource', () => {
  beforeEach(() => {
    for (const t of toasts.list) toasts.dismiss(t.id);
  });

  it('loads, with loading while it does', async () => {
    const { load, calls } = manual<number>();
    const r = new Resource(load);
    expect(r.data).toBeUndefined();
    const done = r.refresh();
    expect(r.loading).toBe(true);
    calls[0].resolve(7);
    await done;
    expect(r).toMatchObject({ data: 7, error: null, loading: false });
  });

  it('keeps the latest answer when an older one arrives after it', async () => {
    const { load, calls } = manual<string>();
    const r = new Resource(load);
    const first = r.refresh();
    const second = r.refresh();
    calls[1].resolve('new');
    await second;
    calls[0].resolve('old');
    await first;
    expect(r.data).toBe('new');
    expect(r.loading).toBe(false);
  });

  it('shows a failure toast for a load the reader waits for, and keeps the data', async () => {
    let fail = false;
    const r = new Resource(async () => {
      if (fail) throw new BackendError('network', 'Cannot reach the node.');
      return 'there';
    }, { failure: 'Could not load it' });
    await r.refresh();
    fail = true;
    await r.refresh();
    expect(r.data).toBe('there');
    expect(r.error).toMatchObject({ code: 'network' });
    expect(toasts.list.map((t) => t.message)).toEqual(['Could not load it: Cannot reach the node.']);
  });

  describe('invalidation', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('reloads quietly at once on the events it names, and not on others', async () => {
      const bus = new EventBus();
      let n = 0;
      const r = new Resource(async () => ++n, { bus, invalidate: (e) => e.type === 'follows_changed' });
      await r.refresh();
      const stop = r.listen();
      bus.emit({ type: 'resynced' });
      await settle();
      expect(r.data).toBe(1);
      bus.emit({ type: 'follows_changed' });
      await settle();
      expect(r.data).toBe(2);
      stop();
      bus.emit({ type: 'follows_changed' });
      await settle();
      expect(r.data).toBe(2);
    });

    it('turns a burst into one reload after the delay, per delay', async () => {
      vi.useFakeTimers();
      const bus = new EventBus();
      const load = vi.fn(async () => 'x');
      const r = new Resource(load, {
        bus,
        invalidate: (e) => (e.type === 'head_imported' ? 1000 : e.type === 'follows_changed' ? 100 : false),
      });
      r.listen();
      for (let i = 0; i < 5; i++) bus.emit({ type: 'head_imported', author: 'a', seq: i });
      bus.emit({ type: 'follows_changed' });
      await vi.advanceTimersByTimeAsync(100);
      expect(load).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(899);
      expect(load).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('cancels a pending reload when stopped', async () => {
      vi.useFakeTimers();
      const bus = new EventBus();
      const load = vi.fn(async () => 'x');
      const r = new Resource(load, { bus, invalidate: () => 500 });
      const stop = r.listen();
      bus.emit({ type: 'resynced' });
      stop();
      await vi.advanceTimersByTimeAsync(1000);
      expect(load).not.toHaveBeenCalled();
    });

    it('keeps what is shown, without a toast, when a reload by event fails', async () => {
      const bus = new EventBus();
      let fail = false;
      const r = new Resource(
        async () => {
          if (fail) throw new BackendError('not_synced', 'Not here yet.');
          return 'shown';
        },
        { bus, invalidate: () => true, failure: 'Could not load it' },
      );
      await r.refresh();
      r.listen();
      fail = true;
      bus.emit({ type: 'resynced' });
      await settle();
      expect(r.data).toBe('shown');
      expect(r.error).toMatchObject({ code: 'not_synced' });
      expect(toasts.list).toEqual([]);
    });
  });
});

describe('resource() in a component', () => {
  it('loads on mount, again when what the loader reads changes, and on its events until destroyed', async () => {
    const bus = new EventBus();
    let key = $state('a');
    const loads: string[] = [];
    let r: Resource<string> | undefined;
    const destroy = $effect.root(() => {
      r = resource(
        async () => {
          const k = key;
          loads.push(k);
          return `profile ${k}`;
        },
        { bus, invalidate: (e) => e.type === 'head_imported' && e.author === key },
      );
    });
    flushSync();
    await settle();
    expect(loads).toEqual(['a']);
    expect(r?.data).toBe('profile a');

    key = 'b';
    flushSync();
    await settle();
    expect(loads).toEqual(['a', 'b']);
    expect(r?.data).toBe('profile b');

    bus.emit({ type: 'head_imported', author: 'a', seq: 1 });
    bus.emit({ type: 'head_imported', author: 'b', seq: 1 });
    await settle();
    expect(loads).toEqual(['a', 'b', 'b']);

    destroy();
    bus.emit({ type: 'head_imported', author: 'b', seq: 2 });
    await settle();
    expect(loads).toEqual(['a', 'b', 'b']);
  });
});
