//! Cursor paging and live arrivals.
import { describe, expect, it, vi } from 'vitest';
import type { MessageView, Page } from '../backend/types';
import { FeedPager } from './paging';

function post(n: number, ts = n * 1000): MessageView {
  return {
    id: n.toString(16).padStart(64, '0'),
    author: 'a'.repeat(64),
    author_name: 'Ada',
    seq: n,
    timestamp_ms: ts,
    content: { type: 'post', text: `post ${n}`, mentions: [], root: null, parent: null },
    reply_count: null,
  };
}

/** A fetcher over pages keyed by cursor (null = first page). */
function pages(map: Record<string, Page>) {
  return vi.fn(async (cursor: string | null) => {
    const p = map[cursor ?? 'first'];
    if (!p) throw new Error(`no page for ${cursor}`);
    return p;
  });
}

const ids = (ms: MessageView[]) => ms.map((m) => m.seq);

describe('FeedPager', () => {
  it('appends pages by cursor and stops at next_cursor null', async () => {
    const f = pages({
      first: { items: [post(9), post(8), post(7)], next_cursor: 'c1' },
      c1: { items: [post(6), post(5)], next_cursor: 'c2' },
      c2: { items: [post(4)], next_cursor: null },
    });
    const p = new FeedPager(f);
    await p.loadMore();
    expect(ids(p.items)).toEqual([9, 8, 7]);
    expect(p.done).toBe(false);
    await p.loadMore();
    await p.loadMore();
    expect(ids(p.items)).toEqual([9, 8, 7, 6, 5, 4]);
    expect(p.done).toBe(true);
    await p.loadMore();
    expect(f).toHaveBeenCalledTimes(3);
    expect(f.mock.calls.map((c) => c[0])).toEqual([null, 'c1', 'c2']);
  });

  it('does not load twice at once', async () => {
    let resolve!: (p: Page) => void;
    const f = vi.fn(() => new Promise<Page>((r) => (resolve = r)));
    const p = new FeedPager(f);
    const a = p.loadMore();
    const b = p.loadMore();
    resolve({ items: [post(1)], next_cursor: null });
    await Promise.all([a, b]);
    expect(f).toHaveBeenCalledTimes(1);
  });

  it('de-duplicates by id across pages', async () => {
    const f = pages({
      first: { items: [post(5), post(4)], next_cursor: 'c1' },
      c1: { items: [post(4), post(3)], next_cursor: null },
    });
    const p = new FeedPager(f);
    await p.loadMore();
    await p.loadMore();
    expect(ids(p.items)).toEqual([5, 4, 3]);
  });

  it('keeps only posts', async () => {
    const about: MessageView = { ...post(7), content: { type: 'about', name: 'A', bio: '', avatar: null } };
    const p = new FeedPager(pages({ first: { items: [about, post(6)], next_cursor: null } }));
    await p.loadMore();
    expect(ids(p.items)).toEqual([6]);
  });

  it('holds live arrivals in pending until shown, without duplicates', async () => {
    const p = new FeedPager(pages({ first: { items: [post(5), post(4)], next_cursor: null } }));
    await p.loadMore();
    expect(p.addNew([post(7), post(6), post(5)])).toBe(2);
    expect(ids(p.items)).toEqual([5, 4]);
    expect(ids(p.pending)).toEqual([7, 6]);
    expect(p.addNew([post(7), post(8)])).toBe(1);
    expect(ids(p.pending)).toEqual([8, 7, 6]);
    p.showNew();
    expect(ids(p.items)).toEqual([8, 7, 6, 5, 4]);
    expect(p.pending).toEqual([]);
  });

  it('puts arrivals straight into an empty list', async () => {
    const p = new FeedPager(pages({ first: { items: [], next_cursor: null } }));
    await p.loadMore();
    p.addNew([post(2), post(3)]);
    expect(ids(p.items)).toEqual([3, 2]);
    expect(p.pending).toEqual([]);
  });

  it('checkNew refetches the first page and queues only the unseen', async () => {
    const map: Record<string, Page> = { first: { items: [post(5), post(4)], next_cursor: 'c1' } };
    const p = new FeedPager(pages(map));
    await p.loadMore();
    map.first = { items: [post(6), post(5), post(4)], next_cursor: 'c1' };
    expect(await p.checkNew()).toBe(1);
    expect(ids(p.pending)).toEqual([6]);
    expect(ids(p.items)).toEqual([5, 4]);
  });

  it('skips a later page item that is already waiting in pending', async () => {
    const map: Record<string, Page> = {
      first: { items: [post(9)], next_cursor: 'c1' },
      c1: { items: [post(8), post(7)], next_cursor: null },
    };
    const p = new FeedPager(pages(map));
    await p.loadMore();
    p.addNew([post(8)]);
    await p.loadMore();
    expect(ids(p.items)).toEqual([9, 7]);
    expect(ids(p.pending)).toEqual([8]);
  });

  it('prepends my own post at once and removes by predicate', async () => {
    const p = new FeedPager(pages({ first: { items: [post(2)], next_cursor: null } }));
    await p.loadMore();
    p.prepend(post(3));
    p.prepend(post(3));
    expect(ids(p.items)).toEqual([3, 2]);
    p.remove((m) => m.seq === 2);
    expect(ids(p.items)).toEqual([3]);
  });

  it('keeps the error and lets a retry go on from the same cursor', async () => {
    let fail = true;
    const f = vi.fn(async (c: string | null) => {
      if (fail) throw { code: 'network', message: 'down' };
      return { items: [post(1)], next_cursor: null, c } as unknown as Page;
    });
    const p = new FeedPager(f);
    await expect(p.loadMore()).rejects.toMatchObject({ code: 'network' });
    expect(p.error?.code).toBe('network');
    expect(p.loading).toBe(false);
    fail = false;
    await p.loadMore();
    expect(ids(p.items)).toEqual([1]);
    expect(p.error).toBeNull();
  });

  it('drops answers to requests made before a reset', async () => {
    let resolve!: (p: Page) => void;
    const p = new FeedPager(() => new Promise<Page>((r) => (resolve = r)));
    const done = p.loadMore();
    p.reset();
    resolve({ items: [post(1)], next_cursor: null });
    await done;
    expect(p.items).toEqual([]);
  });

  it('notifies listeners on change', async () => {
    const p = new FeedPager(pages({ first: { items: [post(1)], next_cursor: null } }));
    const fn = vi.fn();
    const off = p.onChange(fn);
    await p.loadMore();
    expect(fn).toHaveBeenCalled();
    off();
    fn.mockClear();
    p.addNew([post(2)]);
    expect(fn).not.toHaveBeenCalled();
  });
});
