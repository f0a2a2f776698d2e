//! The HTTP transport against a stub `fetch` and a stub `EventSource`.
import { describe, expect, it, vi } from 'vitest';
import { BackendError } from './errors';
import { HttpTransport, takeToken, type EventSourceLike } from './http';

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

describe('HttpTransport commands', () => {
  it('posts every command to /api/{command} with the bearer token and its JSON arguments', async () => {
    const { fetch, calls } = stubFetch(200, {});
    const t = new HttpTransport({ token: 'tok-123', fetch });
    await t.invoke('me', {});
    await t.invoke('reply', { parent: 'p'.repeat(64), text: 'yes' });
    await t.invoke('timeline', { cursor: 'abc/+=', limit: 50 });
    await t.invoke('mark_all_read', { limit: undefined });
    expect(calls.map((c) => [c.url, c.init.method, c.init.body])).toEqual([
      ['/api/me', 'POST', '{}'],
      ['/api/reply', 'POST', JSON.stringify({ parent: 'p'.repeat(64), text: 'yes' })],
      ['/api/timeline', 'POST', JSON.stringify({ cursor: 'abc/+=', limit: 50 })],
      ['/api/mark_all_read', 'POST', '{}'],
    ]);
    expect(calls.map((c) => header(c, 'authorization'))).toEqual(Array(4).fill('Bearer tok-123'));
    expect(header(calls[0], 'content-type')).toBe('application/json');
  });

  it('sends no authorization header without a token', async () => {
    const { fetch, calls } = stubFetch(200, {});
    await new HttpTransport({ token: null, fetch }).invoke('status', {});
    expect(header(calls[0], 'authorization')).toBeUndefined();
  });

  it('sends an upload as the raw body', async () => {
    const { fetch, calls } = stubFetch(200, { key: 'k' });
    const t = new HttpTransport({ token: 't', fetch });
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    expect(await t.invoke('set_avatar', {}, bytes)).toEqual({ key: 'k' });
    expect(calls[0].url).toBe('/api/set_avatar');
    expect(calls[0].init.body).toBe(bytes);
    expect(header(calls[0], 'content-type')).toBe('application/octet-stream');
  });

  it('answers raw bytes for a non-JSON answer, with the token in the header only', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const calls: Call[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(png, { status: 200, headers: { 'content-type': 'image/png' } });
    }) as unknown as typeof globalThis.fetch;
    const t = new HttpTransport({ token: 'a-b_c', fetch });
    const got = await t.invoke('blob', { hash: 'h'.repeat(64) });
    expect(got).toBeInstanceOf(Uint8Array);
    expect([...(got as Uint8Array)]).toEqual([...png]);
    expect(calls[0].url).toBe('/api/blob');
    expect(calls[0].init.body).toBe(JSON.stringify({ hash: 'h'.repeat(64) }));
    expect(header(calls[0], 'authorization')).toBe('Bearer a-b_c');
  });

  it('maps JSON errors to BackendError with code and message', async () => {
    const { fetch } = stubFetch(400, { error: { code: 'bad_address', message: 'That ticket does not decode.' } });
    const t = new HttpTransport({ token: 't', fetch });
    const e = await t.invoke('follow', { address: 'nope' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BackendError);
    expect(e).toMatchObject({ code: 'bad_address', message: 'That ticket does not decode.', status: 400 });
  });

  it('maps a bare 401 and other non-JSON errors to readable ones', async () => {
    const t401 = new HttpTransport({ token: null, fetch: stubFetch(401, 'unauthorized').fetch });
    await expect(t401.invoke('me', {})).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    const t502 = new HttpTransport({ token: 't', fetch: stubFetch(502, '<html>bad gateway</html>').fetch });
    await expect(t502.invoke('me', {})).rejects.toMatchObject({ code: 'http_502' });
  });

  it('maps a failed fetch to a network error', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof globalThis.fetch;
    await expect(new HttpTransport({ token: 't', fetch }).invoke('status', {})).rejects.toMatchObject({ code: 'network' });
  });

  it('reads a JSON null or an empty JSON body as null, and junk as bad_response', async () => {
    expect(await new HttpTransport({ token: 't', fetch: stubFetch(200, 'null').fetch }).invoke('start_demo', {})).toBeNull();
    expect(await new HttpTransport({ token: 't', fetch: stubFetch(200, '').fetch }).invoke('delete_message', { id: 'x' })).toBeNull();
    await expect(new HttpTransport({ token: 't', fetch: stubFetch(200, '{nope').fetch }).invoke('me', {})).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('puts the token in the event stream URL, and permalinks on the page address', () => {
    const made: string[] = [];
    const t = new HttpTransport({
      token: 'a-b_c',
      pageUrl: () => 'http://127.0.0.1:1/',
      eventSource: (url: string) => {
        made.push(url);
        return { readyState: 0, onopen: null, onmessage: null, onerror: null, close() {} };
      },
    });
    t.subscribe({ onEvent() {} })();
    expect(made).toEqual(['/api/events?token=a-b_c']);
    expect(t.permalink('i'.repeat(64))).toBe(`http://127.0.0.1:1/#/thread/${'i'.repeat(64)}`);
  });
});

describe('HttpTransport events', () => {
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
    const b = new HttpTransport({ token: 't', eventSource: factory });
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
      const b = new HttpTransport({ token: 't', eventSource: factory, backoff: [100, 200] });
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
