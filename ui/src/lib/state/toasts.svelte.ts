//! Toasts: short messages in a corner, errors included. Every backend error the user should
//! know about ends here, with what happened and what to do.

import { toBackendError } from '../backend/errors';

export type ToastKind = 'error' | 'info' | 'success';
export type Toast = { id: number; kind: ToastKind; message: string; hint: string | null };

/** What to do about an error, by its stable code. */
const HINTS: Record<string, string> = {
  network: 'Check your connection to the node, then try again.',
  unauthorized: 'Open the link that `rookery serve` printed, with its #token=.',
  not_synced: 'It will show up once a peer who has it is reachable.',
  too_large: 'Try a smaller one.',
  bad_address: 'Check that you pasted the whole ticket or key.',
};

let next = 1;

class Toasts {
  list = $state<Toast[]>([]);
  private timers = new Map<number, ReturnType<typeof setTimeout>>();

  push(kind: ToastKind, message: string, hint: string | null = null, ms = kind === 'error' ? 8000 : 3500) {
    // The same message twice in a row (a retry loop, say) shows once.
    const same = this.list.find((t) => t.message === message && t.kind === kind);
    if (same) this.dismiss(same.id);
    const id = next++;
    this.list = [...this.list.slice(-3), { id, kind, message, hint }];
    this.timers.set(id, setTimeout(() => this.dismiss(id), ms));
    return id;
  }

  info(message: string) {
    return this.push('info', message);
  }

  success(message: string) {
    return this.push('success', message);
  }

  /** Shows an error; `doing` says what failed ("Could not post"). */
  error(e: unknown, doing?: string) {
    const err = toBackendError(e);
    const message = doing ? `${doing}: ${err.message}` : err.message;
    return this.push('error', message, HINTS[err.code] ?? null);
  }

  dismiss(id: number) {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    this.list = this.list.filter((x) => x.id !== id);
  }
}

export const toasts = new Toasts();
