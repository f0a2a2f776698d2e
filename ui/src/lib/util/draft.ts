//! Drafts kept in localStorage, so a closed window or a reload loses nothing.

const PREFIX = 'rookery.draft.';

export function draftKey(replyTo: string | null): string {
  return replyTo ? `${PREFIX}reply.${replyTo}` : `${PREFIX}post`;
}

export function loadDraft(key: string): string {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

export function saveDraft(key: string, text: string) {
  try {
    if (text.trim()) localStorage.setItem(key, text);
    else localStorage.removeItem(key);
  } catch {
    // Storage full or disabled: the draft lives only in the page.
  }
}
