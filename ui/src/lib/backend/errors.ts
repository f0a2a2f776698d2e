//! The one error type the UI sees from the node, whatever the transport.

/**
 * An error from the node: `code` is stable and meant for branching (`bad_address`, `not_found`,
 * `too_large`, `not_synced`, `network`, `unauthorized`, ...); `message` is readable as is.
 */
export class BackendError extends Error {
  readonly code: string;
  /** HTTP status, when the error came over HTTP. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
    this.status = status;
  }
}

/** Turns anything thrown into a `BackendError` (Tauri rejects with `{code, message}` or a string). */
export function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const inner = (o.error && typeof o.error === 'object' ? o.error : o) as Record<string, unknown>;
    if (typeof inner.code === 'string' && typeof inner.message === 'string') {
      return new BackendError(inner.code, inner.message);
    }
    if (e instanceof Error) return new BackendError('internal', e.message);
  }
  if (typeof e === 'string' && e.length > 0) return new BackendError('internal', e);
  return new BackendError('internal', 'Something went wrong in the node.');
}
