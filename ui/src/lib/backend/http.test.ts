//! The HTTP backend against a stub `fetch` and a stub `EventSource`.
import { describe, expect, it, vi } from 'vitest';
import { BackendError } from './errors';
import { HttpBackend, takeToken, type EventSourceLike } from './http';

type Call = { url: string; init: RequestInit };

function stubFetch(status = 200, body: unknown = {}) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { 'content-type': 'application/json' } });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const header = (c: Call, name: string) => (c.init.headers as Record<string, string>)[name];

describe('HttpBackend requests', () => {
  it('sends the bearer token with every request', async () => {
    const { fetch, calls } = stubFetch(200, { key: 'k', ticket: 't', profile: {} });
    const b = new HttpBackend({ token: 'tok-123', fetch });
    await b.me();
    await b.post('hi');
    expect(calls.map((c) => header(c, 'authorization'))).toEqual(['Bearer tok-123', 'Bearer tok-123']);
    expect(calls[0].url).toBe('/api/me');
    expect(calls[0].init.method).toBe('GET');
  });

  it('posts JSON bodies to the documented routes', async () => {
    const { fetch, calls } = stubFetch(200, {});
    const b = new HttpBackend({ token: 't', fetch });
    await b.reply('p'.repeat(64), 'yes');
    await b.follow('endpointabc');
    await b.markRead();
    await b.markRead('i'.repeat(64));
    await b.setSettings({ relays: false });
    await b.deleteMessage('d'.repeat(64));
    expect(calls.map((c) => [c.url, c.init.method, c.init.body])).toEqual([
      ['/api/reply', 'POST', JSON.stringify({ parent: 'p'.repeat(64), text: 'yes' })],
      ['/api/follow', 'POST', JSON.stringify({ address: 'endpointabc' })],
      ['/api/notifications/read', 'POST', '{}'],
      ['/api/notifications/read', 'POST', JSON.stringify({ id: 'i'.repeat(64) })],
      ['/api/settings', 'POST', JSON.stringify({ relays: false })],
      ['/api/delete', 'POST', JSON.stringify({ id: 'd'.repeat(64) })],
    ]);
    expect(header(calls[0], 'content-type')).toBe('application/json');
  });

  it('sends the avatar as raw bytes', async () => {
    const { fetch, calls } = stubFetch(200, {});
    const b = new HttpBackend({ token: 't', fetch });
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await b.setAvatar(bytes);
    expect(calls[0].url).toBe('/api/avatar');
    expect(calls[0].init.body).toBe(bytes);
    expect(header(calls[0], 'content-type')).toBe('application/octet-stream');
  });

  it('builds the timeline and feed queries with cursor and limit', async () => {
    const { fetch, calls } = stubFetch(200, { items: [], next_cursor: null });
    const b = new HttpBackend({ token: 't', fetch });
    await b.timeline();
    await b.timeline('abc/+=', 50);
    await b.timeline(null, 10);
    await b.authorFeed('k'.repeat(64), 'c2');
    await b.notifications(20);
    expect(calls.map((c) => c.url)).toEqual([
      '/api/timeline',
      '/api/timeline?cursor=abc%2F%2B%3D&limit=50',
      '/api/timeline?limit=10',
      `/api/feed/${'k'.repeat(64)}?cursor=c2`,
      '/api/notifications?limit=20',
    ]);
  });

  it('maps JSON errors to BackendError with code and message', async () => {
    const { fetch } = stubFetch(400, { error: { code: 'bad_address', message: 'That ticket does not decode.' } });
    const b = new HttpBackend({ token: 't', fetch });
    const e = await b.follow('nope').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendError);
    expect(e).toMatchObject({ code: 'bad_address', message: 'That ticket does not decode.', status: 400 });
  });

  it('maps a bare 401 and other non-JSON errors to readable ones', async () => {
    const b401 = new HttpBackend({ token: null, fetch: stubFetch(401, 'unauthorized').fetch });
    await expect(b401.me()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    const b500 = new HttpBackend({ token: 't', fetch: stubFetch(502, '<html>bad gateway</html>').fetch });
    await expect(b500.me()).rejects.toMatchObject({ code: 'http_502' });
  });

  it('maps a failed fetch to a network error', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof globalThis.fetch;
    const b = new HttpBackend({ token: 't', fetch });
    await expect(b.status()).rejects.toMatchObject({ code: 'network' });
  });

  it('reads an empty or null body as null', async () => {
    const b = new HttpBackend({ token: 't', fetch: stubFetch(200, 'null').fetch });
    expect(await b.startDemo()).toBeNull();
    const b2 = new HttpBackend({ token: 't', fetch: stubFetch(200, '').fetch });
    expect(await b2.deleteMessage('x')).toBeNull();
  });

  it('puts the token in the event stream URL only; images go with the header', async () => {
    const made: string[] = [];
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const calls: { url: string; init?: RequestInit }[] = [];
    const fetch = (async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return new Response(png, { status: 200, headers: { 'content-type': 'image/png' } });
    }) as unknown as typeof globalThis.fetch;
    const created: Blob[] = [];
    const orig = URL.createObjectURL;
    URL.createObjectURL = (b: Blob) => {
      created.push(b);
      return 'blob:x';
    };
    try {
      const b = new HttpBackend({
        token: 'a-b_c',
        fetch,
        eventSource: (url) => {
          made.push(url);
          return { readyState: 0, onopen: null, onmessage: null, onerror: null, close() {} };
        },
      });
      expect(await b.blobUrl('h'.repeat(64))).toBe('blob:x');
      expect(await b.blobUrl('h'.repeat(64))).toBe('blob:x');
      expect(calls).toHaveLength(1);
      expect(calls[0].url).toBe(`/api/blob/${'h'.repeat(64)}`);
      expect((calls[0].init?.headers as Record<string, string>).authorization).toBe('Bearer a-b_c');
      expect(created[0].type).toBe('image/png');
      b.subscribe({ onEvent() {} })();
      expect(made).toEqual(['/api/events?token=a-b_c']);
    } finally {
      URL.createObjectURL = orig;
    }
  });
});

describe('HttpBackend events', () => {
  function fakeSources() {
    const made: (EventSourceLike & { readyState: number; closed: boolean })[] = [];
    const factory = () => {
      const es = {
        readyState: 0,
        closed: false,
        onopen: null as EventSourceLike['onopen'],
        onmessage: null as EventSourceLike['onmessage'],
        onerror: null as EventSourceLike['onerror'],
        close() {
          this.closed = true;
          this.readyState = 2;
        },
      };
      made.push(es);
      return es;
    };
    return { made, factory };
  }

  it('parses events and ignores junk', () => {
    const { made, factory } = fakeSources();
    const b = new HttpBackend({ token: 't', eventSource: factory });
    const got: unknown[] = [];
    const states: string[] = [];
    b.subscribe({ onEvent: (e) => got.push(e), onConnection: (s) => states.push(s) });
    made[0].onopen?.(new Event('open'));
    made[0].onmessage?.(new MessageEvent('message', { data: '{"type":"head_imported","author":"a","seq":3}' }));
    made[0].onmessage?.(new MessageEvent('message', { data: 'not json' }));
    expect(got).toEqual([{ type: 'head_imported', author: 'a', seq: 3 }]);
    expect(states).toEqual(['connecting', 'open']);
  });

  it('reconnects after the stream is closed for good, and stops when unsubscribed', () => {
    vi.useFakeTimers();
    try {
      const { made, factory } = fakeSources();
      const b = new HttpBackend({ token: 't', eventSource: factory, backoff: [100, 200] });
      const states: string[] = [];
      const off = b.subscribe({ onEvent() {}, onConnection: (s) => states.push(s) });
      made[0].onopen?.(new Event('open'));
      // A transient error: EventSource retries by itself (readyState CONNECTING).
      made[0].onerror?.(new Event('error'));
      vi.advanceTimersByTime(1000);
      expect(made.length).toBe(1);
      // A fatal one: the app makes a new source after the backoff.
      made[0].readyState = 2;
      made[0].onerror?.(new Event('error'));
      vi.advanceTimersByTime(99);
      expect(made.length).toBe(1);
      vi.advanceTimersByTime(1);
      expect(made.length).toBe(2);
      made[1].onopen?.(new Event('open'));
      expect(states).toEqual(['connecting', 'open', 'down', 'down', 'down', 'open']);
      off();
      expect(made[1].closed).toBe(true);
      made[1].readyState = 2;
      made[1].onerror?.(new Event('error'));
      vi.advanceTimersByTime(10_000);
      expect(made.length).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('takeToken', () => {
  function env(hash: string, stored: string | null = null) {
    const store = new Map<string, string>(stored ? [['rookery.token', stored]] : []);
    const replaced: (string | undefined)[] = [];
    return {
      replaced,
      store,
      env: {
        location: { hash, pathname: '/', search: '' },
        history: { replaceState: (_d: unknown, _u: string, url?: string) => void replaced.push(url) },
        sessionStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) },
      },
    };
  }

  it('takes the token from the fragment, stores it and clears the fragment', () => {
    const e = env('#token=AbC-_9');
    expect(takeToken(e.env)).toBe('AbC-_9');
    expect(e.store.get('rookery.token')).toBe('AbC-_9');
    expect(e.replaced).toEqual(['/#/']);
  });

  it('falls back to the stored token and leaves routes alone', () => {
    const e = env('#/thread/abc', 'saved');
    expect(takeToken(e.env)).toBe('saved');
    expect(e.replaced).toEqual([]);
  });

  it('is null with neither', () => {
    expect(takeToken(env('').env)).toBeNull();
  });
});
