//! Errors from either transport become one `BackendError`.
import { describe, expect, it } from 'vitest';
import { BackendError, toBackendError } from './errors';

describe('toBackendError', () => {
  it('keeps the code and message of a Tauri rejection', () => {
    const e = toBackendError({ code: 'not_synced', message: 'Not synced yet.' });
    expect(e).toBeInstanceOf(BackendError);
    expect(e).toMatchObject({ code: 'not_synced', message: 'Not synced yet.' });
  });
  it('reads the HTTP error envelope too', () => {
    expect(toBackendError({ error: { code: 'too_large', message: 'Too big.' } })).toMatchObject({ code: 'too_large' });
  });
  it('turns strings and stray errors into readable internal errors', () => {
    expect(toBackendError('boom')).toMatchObject({ code: 'internal', message: 'boom' });
    expect(toBackendError(new TypeError('x is undefined'))).toMatchObject({ code: 'internal', message: 'x is undefined' });
    expect(toBackendError(undefined).message).toMatch(/went wrong/);
  });
  it('passes a BackendError through', () => {
    const e = new BackendError('network', 'down');
    expect(toBackendError(e)).toBe(e);
  });
});
