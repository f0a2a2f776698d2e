//! The HTTP backend, for the UI served by `rookery serve --http`: `fetch` with a bearer token,
//! server-sent events for node events, errors mapped to `BackendError`.
//!
//! The token arrives in the address fragment (`#token=...`) so that it never reaches a server log
//! or a referrer; `takeToken` moves it to `sessionStorage` and clears the fragment before the
//! router ever sees it.

import { BackendError } from './errors';
import { sniffImageType } from './mime';
import type { Backend, EventHandlers } from './index';
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

const TOKEN_KEY = 'rookery.token';

/** The parts of `window` that `takeToken` uses, so tests can pass their own. */
export type TokenEnv = {
  location: { hash: string; pathname: string; search: string };
  history: { replaceState(data: unknown, unused: string, url?: string): void };
  sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };
};

/**
 * Takes the API token from `#token=...` (storing it in `sessionStorage` and clearing the
 * fragment with `history.replaceState`), or else from `sessionStorage`. Null when neither has one.
 */
export function takeToken(env: TokenEnv | undefined = typeof window === 'undefined' ? undefined : window): string | null {
  if (!env) return null;
  const m = /^#token=([A-Za-z0-9_\-.~%]+)/.exec(env.location.hash);
  if (m) {
    const token = decodeURIComponent(m[1]);
    try {
      env.sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // Storage may be disabled; the token still works for this page's life.
    }
    env.history.replaceState(null, '', `${env.location.pathname}${env.location.search}#/`);
    return token;
  }
  try {
    return env.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** The subset of `EventSource` used here. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  close(): void;
}

export type HttpOptions = {
  token: string | null;
  /** Prefix of every API path; '' means the page's own origin. */
  base?: string;
  fetch?: typeof fetch;
  eventSource?: (url: string) => EventSourceLike;
  openWindow?: (url: string) => void;
  /** Where permalinks point; defaults to the page's own address. */
  pageUrl?: () => string;
  /** Reconnect delays for the event stream, in ms (the last one repeats). */
  backoff?: number[];
};

const CLOSED = 2;

export class HttpBackend implements Backend {
  readonly kind = 'http' as const;
  private readonly token: string | null;
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly makeEventSource: (url: string) => EventSourceLike;
  private readonly openWindow: (url: string) => void;
  private readonly pageUrl: () => string;
  private readonly backoff: number[];
  /** Object URLs made for images, kept for the page's life (avatars are few and small). */
  private readonly blobs = new Map<string, Promise<string>>();

  constructor(o: HttpOptions) {
    this.token = o.token;
    this.base = o.base ?? '';
    // `fetch` must be called unbound from `window`, not as a method of this object.
    this.fetchImpl = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.makeEventSource = o.eventSource ?? ((url) => new EventSource(url));
    this.openWindow = o.openWindow ?? ((url) => void window.open(url, '_blank', 'noopener,noreferrer'));
    this.pageUrl = o.pageUrl ?? (() => `${location.origin}${location.pathname}`);
    this.backoff = o.backoff ?? [1000, 2000, 5000, 10000, 30000];
  }

  /** Query string of the present values only, e.g. `?cursor=abc&limit=30`. */
  static query(params: Record<string, string | number | null | undefined>): string {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(params)) {
      if (v === null || v === undefined || v === '') continue;
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, raw?: Uint8Array): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (raw) {
      headers['content-type'] = 'application/octet-stream';
      payload = raw as unknown as BodyInit;
    } else if (method === 'POST') {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body ?? {});
    }
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, { method, headers, body: payload });
    } catch {
      throw new BackendError(
        'network',
        'Cannot reach the Rookery node. Check that `rookery serve` is still running, then retry.',
      );
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw errorFromResponse(res.status, text);
    if (text.trim() === '') return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BackendError('bad_response', 'The node sent an answer the app could not read.', res.status);
    }
  }

  private get<T>(path: string) {
    return this.request<T>('GET', path);
  }
  private post_<T>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }

  me() {
    return this.get<Me>('/api/me');
  }
  timeline(cursor?: string | null, limit?: number) {
    return this.get<Page>(`/api/timeline${HttpBackend.query({ cursor, limit })}`);
  }
  authorFeed(key: string, cursor?: string | null, limit?: number) {
    return this.get<Page>(`/api/feed/${encodeURIComponent(key)}${HttpBackend.query({ cursor, limit })}`);
  }
  thread(id: string) {
    return this.get<Thread>(`/api/thread/${encodeURIComponent(id)}`);
  }
  profile(key: string) {
    return this.get<Profile>(`/api/profile/${encodeURIComponent(key)}`);
  }
  people() {
    return this.get<Person[]>('/api/people');
  }
  notifications(limit?: number) {
    return this.get<Notifications>(`/api/notifications${HttpBackend.query({ limit })}`);
  }
  markRead(id?: string, limit?: number) {
    return this.post_<Notifications>('/api/notifications/read', { ...(id ? { id } : {}), ...(limit ? { limit } : {}) });
  }
  post(text: string) {
    return this.post_<MessageView>('/api/post', { text });
  }
  reply(parent: string, text: string) {
    return this.post_<MessageView>('/api/reply', { parent, text });
  }
  follow(address: string) {
    return this.post_<Profile>('/api/follow', { address });
  }
  unfollow(key: string) {
    return this.post_<Profile>('/api/unfollow', { key });
  }
  block(key: string) {
    return this.post_<Profile>('/api/block', { key });
  }
  deleteMessage(id: string) {
    return this.post_<null>('/api/delete', { id });
  }
  setProfile(name: string, bio: string) {
    return this.post_<Profile>('/api/profile', { name, bio });
  }
  setAvatar(bytes: Uint8Array) {
    return this.request<Profile>('POST', '/api/avatar', undefined, bytes);
  }
  /** Images are fetched with the bearer header and shown from object URLs, so the token
   *  never appears in an image address (which people copy). Failures are not cached: the image
   *  may arrive with a later sync. */
  blobUrl(hash: string): Promise<string> {
    let url = this.blobs.get(hash);
    if (!url) {
      url = this.blobBytes(hash).then((b) => URL.createObjectURL(new Blob([b as BlobPart], { type: sniffImageType(b) })));
      url.catch(() => this.blobs.delete(hash));
      this.blobs.set(hash, url);
    }
    return url;
  }
  private async blobBytes(hash: string): Promise<Uint8Array> {
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}/api/blob/${encodeURIComponent(hash)}`, { headers });
    } catch {
      throw new BackendError('network', 'Cannot reach the Rookery node.');
    }
    if (!res.ok) throw errorFromResponse(res.status, await res.text().catch(() => ''));
    return new Uint8Array(await res.arrayBuffer());
  }
  status() {
    return this.get<Status>('/api/status');
  }
  settings() {
    return this.get<Settings>('/api/settings');
  }
  setSettings(s: { relays?: boolean; notifications?: boolean }) {
    return this.post_<Settings>('/api/settings', s);
  }
  exportKey() {
    return this.post_<{ secret: string; words: string }>('/api/export-key');
  }
  startDemo() {
    return this.post_<null>('/api/demo');
  }

  /**
   * Server-sent events, reconnecting with backoff. `EventSource` retries by itself after a
   * dropped connection, but gives up for good on an HTTP error (a restarted server, a 401);
   * then a new one is made after a delay.
   */
  subscribe(h: EventHandlers): () => void {
    const url = `${this.base}/api/events${HttpBackend.query({ token: this.token })}`;
    let es: EventSourceLike | null = null;
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let wasOpen = false;
    const connect = () => {
      if (stopped) return;
      h.onConnection?.(wasOpen ? 'down' : 'connecting');
      es = this.makeEventSource(url);
      es.onopen = () => {
        attempt = 0;
        wasOpen = true;
        h.onConnection?.('open');
      };
      es.onmessage = (m: MessageEvent) => {
        let ev: NodeEvent;
        try {
          ev = JSON.parse(String(m.data)) as NodeEvent;
        } catch {
          return; // A keep-alive or a line that is no event.
        }
        if (ev && typeof ev === 'object' && typeof ev.type === 'string') h.onEvent(ev);
      };
      es.onerror = () => {
        if (stopped || !es) return;
        h.onConnection?.('down');
        if (es.readyState === CLOSED) {
          es.close();
          es = null;
          const delay = this.backoff[Math.min(attempt, this.backoff.length - 1)];
          attempt += 1;
          timer = setTimeout(connect, delay);
        }
      };
    };
    connect();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      es?.close();
    };
  }

  async openExternal(url: string) {
    this.openWindow(url);
  }

  permalink(id: string) {
    return `${this.pageUrl()}#/thread/${id}`;
  }
}

/** A readable `BackendError` from an HTTP error answer. */
export function errorFromResponse(status: number, body: string): BackendError {
  try {
    const j = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (j?.error && typeof j.error.code === 'string' && typeof j.error.message === 'string') {
      return new BackendError(j.error.code, j.error.message, status);
    }
  } catch {
    // Not JSON: fall through to a message by status.
  }
  if (status === 401) {
    return new BackendError(
      'unauthorized',
      'This page has no valid access token. Open the address that `rookery serve` printed (it ends in #token=…).',
      status,
    );
  }
  if (status === 404) return new BackendError('not_found', 'Not found.', status);
  if (status === 413) return new BackendError('too_large', 'That is too large for the node to take.', status);
  return new BackendError(`http_${status}`, `The node answered with an error (HTTP ${status}).`, status);
}
