//! The HTTP transport, for the UI served by `rookery serve --http`: every command is
//! `POST /api/{command}` with a bearer token, node events come as server-sent events, and error
//! answers become `BackendError`s.
//!
//! The token arrives in the address fragment (`#token=...`) so that it never reaches a server log
//! or a referrer; `takeToken` moves it to `sessionStorage` and clears the fragment before the
//! router ever sees it. It travels in the `Authorization` header, and in a URL only for the event
//! stream (`EventSource` cannot send headers).

import { BackendError } from './errors';
import type { EventHandlers, Transport } from './transport';
import type { NodeEvent } from './types';

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

export class HttpTransport implements Transport {
  readonly kind = 'http' as const;
  private readonly o: Required<Omit<HttpOptions, 'token'>> & { token: string | null };

  constructor(o: HttpOptions) {
    this.o = {
      token: o.token,
      base: o.base ?? '',
      // `fetch` must be called unbound from `window`, not as a method of this object.
      fetch: o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      eventSource: o.eventSource ?? ((url) => new EventSource(url)),
      openWindow: o.openWindow ?? ((url) => void window.open(url, '_blank', 'noopener,noreferrer')),
      pageUrl: o.pageUrl ?? (() => `${location.origin}${location.pathname}`),
      backoff: o.backoff ?? [1000, 2000, 5000, 10000, 30000],
    };
  }

  /** JSON arguments in, JSON out; an upload's body goes raw, and a non-JSON answer is bytes. */
  async invoke(command: string, args: object, body?: Uint8Array, timeoutMs?: number): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': body ? 'application/octet-stream' : 'application/json' };
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    let res: Response;
    try {
      const payload = (body ?? JSON.stringify(args)) as BodyInit;
      const signal = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
      res = await this.o.fetch(`${this.o.base}/api/${command}`, { method: 'POST', headers, body: payload, signal });
    } catch {
      throw new BackendError('network', 'Cannot reach the Rookery node. Check that `rookery serve` is still running, then retry.');
    }
    if (!res.ok) throw errorFromResponse(res.status, await res.text().catch(() => ''));
    if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) return new Uint8Array(await res.arrayBuffer());
    const text = await res.text();
    try {
      return text.trim() === '' ? null : JSON.parse(text);
    } catch {
      throw new BackendError('bad_response', 'The node sent an answer the app could not read.', res.status);
    }
  }

  /**
   * Server-sent events, reconnecting with backoff. `EventSource` retries by itself after a
   * dropped connection, but gives up for good on an HTTP error (a restarted server, a 401);
   * then a new one is made after a delay.
   */
  subscribe(h: EventHandlers): () => void {
    const { token, backoff } = this.o;
    const url = `${this.o.base}/api/events${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    let es: EventSourceLike | null = null;
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let wasOpen = false;
    const connect = () => {
      if (stopped) return;
      h.onConnection?.(wasOpen ? 'down' : 'connecting');
      const source = (es = this.o.eventSource(url));
      source.onopen = () => {
        attempt = 0;
        wasOpen = true;
        h.onConnection?.('open');
      };
      source.onmessage = (m: MessageEvent) => {
        let ev: NodeEvent;
        try {
          ev = JSON.parse(String(m.data)) as NodeEvent;
        } catch {
          return; // A keep-alive or a line that is no event.
        }
        if (ev && typeof ev === 'object' && typeof ev.type === 'string') h.onEvent(ev);
      };
      source.onerror = () => {
        if (stopped || es !== source) return;
        h.onConnection?.('down');
        if (source.readyState !== CLOSED) return;
        source.close();
        es = null;
        timer = setTimeout(connect, backoff[Math.min(attempt++, backoff.length - 1)]);
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
    this.o.openWindow(url);
  }

  permalink(id: string) {
    return `${this.o.pageUrl()}#/thread/${id}`;
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
