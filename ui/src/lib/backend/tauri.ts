//! The Tauri transport, inside the desktop app: one IPC command per entry of the command table
//! (`invoke(name, { args })`; the avatar upload sends its bytes as the raw IPC body, and `blob`
//! answers with raw bytes), the `node-event` window event for node events, and the opener
//! plugin for links. This is the only file in the UI that imports `@tauri-apps/*`.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { openUrl } from '@tauri-apps/plugin-opener';
import { toBackendError } from './errors';
import type { EventHandlers, Transport } from './transport';
import type { NodeEvent } from './types';

export class TauriTransport implements Transport {
  readonly kind = 'tauri' as const;

  /** Rejections are `ErrorView`s (`{code, message}`); a raw answer arrives as an ArrayBuffer. */
  async invoke(command: string, args: object, body?: Uint8Array): Promise<unknown> {
    let answer: unknown;
    try {
      answer = await invoke(command, body ?? { args });
    } catch (e) {
      throw toBackendError(e);
    }
    return answer instanceof ArrayBuffer ? new Uint8Array(answer) : answer;
  }

  subscribe(h: EventHandlers): () => void {
    let stopped = false;
    let unlisten: (() => void) | null = null;
    h.onConnection?.('connecting');
    listen<NodeEvent>('node-event', (e) => h.onEvent(e.payload))
      .then((u) => {
        if (stopped) u();
        else {
          unlisten = u;
          h.onConnection?.('open');
        }
      })
      .catch(() => h.onConnection?.('down'));
    return () => {
      stopped = true;
      unlisten?.();
    };
  }

  async openExternal(url: string) {
    try {
      await openUrl(url);
    } catch (e) {
      throw toBackendError(e);
    }
  }

  permalink(id: string) {
    return `rookery:thread/${id}`;
  }
}
