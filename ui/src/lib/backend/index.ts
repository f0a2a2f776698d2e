//! The UI's only door to the node: the typed `Api` (`api.ts`) over one `Transport`
//! (`transport.ts`), Tauri IPC (`tauri.ts`) inside the desktop app or HTTP (`http.ts`) in a
//! browser. Nothing outside this folder imports `@tauri-apps/*` or names an `/api/` path.

import { Api } from './api';
import { HttpTransport, takeToken } from './http';
import { TauriTransport } from './tauri';

export * from './types';
export { Api, type Command, type JsonCommand } from './api';
export { BackendError, toBackendError } from './errors';
export type { EventHandlers, Transport } from './transport';

/**
 * The API over Tauri inside the desktop app, over HTTP in a browser. In a browser this takes
 * the `#token=` fragment off the address first, so call it before anything reads the route.
 */
export function createApi(): Api {
  if (typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window) {
    return new Api(new TauriTransport());
  }
  return new Api(new HttpTransport({ token: takeToken() }));
}
