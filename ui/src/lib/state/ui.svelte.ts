//! The UI's own state, kept apart from the node's: the compose modal, the shortcuts dialog, the
//! theme (kept in localStorage) and whether the first-run welcome was done or skipped (kept for
//! the tab's life in sessionStorage).

import type { MessageView } from '../backend/types';
import { session } from './session.svelte';

export type Theme = 'system' | 'light' | 'dark';
const THEME_KEY = 'rookery.theme';
const WELCOME_KEY = 'rookery.welcome_done';

class Ui {
  /** The compose modal: open or not, and the post being replied to. */
  compose = $state<{ open: boolean; replyTo: MessageView | null }>({ open: false, replyTo: null });
  shortcutsOpen = $state(false);
  theme = $state<Theme>('system');
  welcomeDone = $state(false);

  /** The welcome shows while my profile has no name, until done or skipped. */
  needsWelcome = $derived(session.me !== null && !session.me.profile.name?.trim() && !this.welcomeDone);

  /** Reads what was kept and applies the theme. */
  start() {
    try {
      this.theme = (localStorage.getItem(THEME_KEY) as Theme | null) ?? 'system';
      this.welcomeDone = sessionStorage.getItem(WELCOME_KEY) === '1';
    } catch {
      // Storage disabled: defaults.
    }
    this.applyTheme();
  }

  openCompose(replyTo: MessageView | null = null) {
    this.compose = { open: true, replyTo };
  }

  closeCompose() {
    this.compose = { open: false, replyTo: null };
  }

  finishWelcome() {
    this.welcomeDone = true;
    try {
      sessionStorage.setItem(WELCOME_KEY, '1');
    } catch {
      // Not kept: the welcome shows again after a reload, which is harmless.
    }
  }

  setTheme(t: Theme) {
    this.theme = t;
    try {
      localStorage.setItem(THEME_KEY, t);
    } catch {
      // Not kept across reloads.
    }
    this.applyTheme();
  }

  private applyTheme() {
    const root = document.documentElement;
    if (this.theme === 'system') root.removeAttribute('data-theme');
    else root.setAttribute('data-theme', this.theme);
  }
}

export const ui = new Ui();
