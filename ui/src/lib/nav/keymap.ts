//! Keyboard shortcuts as a small state machine (for the `g` prefix), separate from the DOM so
//! it can be tested: feed it keys, get actions.

export type Action =
  | 'next'
  | 'prev'
  | 'open'
  | 'reply'
  | 'compose'
  | 'help'
  | 'go_home'
  | 'go_notifications'
  | 'go_profile'
  | 'go_follow'
  | 'go_settings';

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: 'j / k', what: 'Next / previous post' },
  { keys: 'Enter', what: 'Open the thread of the selected post' },
  { keys: 'r', what: 'Reply to the selected post' },
  { keys: 'n', what: 'New post' },
  { keys: 'g h', what: 'Go to Home' },
  { keys: 'g n', what: 'Go to Notifications' },
  { keys: 'g p', what: 'Go to your profile' },
  { keys: 'g f', what: 'Go to Follow' },
  { keys: 'g s', what: 'Go to Settings' },
  { keys: '?', what: 'Show these shortcuts' },
  { keys: 'Ctrl/⌘ Enter', what: 'Post what you are writing' },
  { keys: 'Esc', what: 'Close a dialog or menu' },
];

const SINGLE: Record<string, Action> = { j: 'next', k: 'prev', r: 'reply', n: 'compose', '?': 'help' };
const AFTER_G: Record<string, Action> = {
  h: 'go_home',
  n: 'go_notifications',
  p: 'go_profile',
  f: 'go_follow',
  s: 'go_settings',
};

/** How long after `g` the second key still counts. */
export const PREFIX_MS = 1500;

export type KeyInput = { key: string; ctrl?: boolean; meta?: boolean; alt?: boolean; time: number };

export class Keymap {
  private gAt: number | null = null;

  /** The action for a key press, or null. Keys with Ctrl, ⌘ or Alt are never shortcuts. */
  handle(k: KeyInput): Action | null {
    if (k.ctrl || k.meta || k.alt) {
      this.gAt = null;
      return null;
    }
    if (this.gAt !== null && k.time - this.gAt <= PREFIX_MS) {
      this.gAt = null;
      return AFTER_G[k.key] ?? null;
    }
    this.gAt = null;
    if (k.key === 'g') {
      this.gAt = k.time;
      return null;
    }
    return SINGLE[k.key] ?? null;
  }
}

/** Whether key presses in `el` are typing (so no shortcut applies). */
export function isTyping(el: Element | null): boolean {
  if (!el) return false;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'file', 'range', 'color'].includes(type);
  }
  return (el as HTMLElement).isContentEditable === true;
}
