//! Keys, tickets and what a pasted address is.

/** A key or message id: 64 lower-case hex digits. */
export const KEY_RE = /^[0-9a-f]{64}$/;

export function isKey(s: string): boolean {
  return KEY_RE.test(s);
}

/** `k3f9…a1`-style short form of a key (the first 4 and last 2 hex digits). */
export function shortKey(key: string): string {
  if (key.length <= 8) return key;
  return `${key.slice(0, 4)}…${key.slice(-2)}`;
}

/** A name to show for someone: their display name, else their short key. */
export function displayName(name: string | null | undefined, key: string): string {
  const n = name?.trim();
  return n ? n : `@${shortKey(key)}`;
}

export type AddressCheck =
  | { kind: 'empty' }
  | { kind: 'key'; value: string }
  | { kind: 'ticket'; value: string }
  | { kind: 'invalid'; message: string };

/**
 * What a pasted follow address looks like, checked as the user types: a key (64 hex digits,
 * upper case accepted and lowered) or a ticket candidate (40 or more of `[a-z0-9]`, as base32
 * tickets are; the node has the last word on whether it decodes).
 */
export function checkAddress(input: string): AddressCheck {
  const s = input.trim();
  if (s === '') return { kind: 'empty' };
  const lower = s.toLowerCase();
  if (/^[0-9a-f]+$/.test(lower) && lower.length <= 64) {
    if (lower.length === 64) return { kind: 'key', value: lower };
    // A short hex string could still be the start of a ticket being typed, but as a key it
    // is incomplete: say so in the terms the user most likely meant.
    if (lower.length < 40) {
      return { kind: 'invalid', message: `A key has 64 hex digits; this has ${lower.length}.` };
    }
  }
  if (/\s/.test(s)) return { kind: 'invalid', message: 'A ticket or key has no spaces inside it.' };
  if (!/^[a-z0-9]+$/.test(lower)) {
    return { kind: 'invalid', message: 'Tickets and keys use only letters and digits.' };
  }
  if (lower.length < 40) {
    return { kind: 'invalid', message: 'That is too short for a ticket. Paste the whole ticket.' };
  }
  return { kind: 'ticket', value: s };
}
