//! @-mentions while composing: which mention is being typed at the caret, who matches it, and
//! what text to insert so that the node resolves it to the intended person.

import type { Person } from '../backend/types';

/** Characters a typed mention is made of (a name word, or a key's hex digits). */
const WORD = /[A-Za-z0-9_-]/;
/** A display name that can be mentioned as `@name`. */
const ONE_WORD = /^[A-Za-z0-9_-]+$/;

export type ActiveMention = {
  /** Index of the `@`. */
  start: number;
  /** Index just past the typed part (the caret). */
  end: number;
  /** What follows the `@` up to the caret. */
  query: string;
};

/**
 * The mention being typed at `caret`: an `@` at the start of the text or after a character
 * that is not part of a word (so `mail@host` is no mention), followed up to the caret by word
 * characters only.
 */
export function activeMention(text: string, caret: number): ActiveMention | null {
  if (caret < 1 || caret > text.length) return null;
  let i = caret;
  while (i > 0 && WORD.test(text[i - 1])) i -= 1;
  if (i === 0 || text[i - 1] !== '@') return null;
  const at = i - 1;
  if (at > 0) {
    const before = text[at - 1];
    if (WORD.test(before) || before === '@' || before === '.' || before === '/') return null;
  }
  // A mention is typed up to the caret; a word continuing past the caret means the caret sits
  // inside an existing word, where completing would split it.
  if (caret < text.length && WORD.test(text[caret])) return null;
  return { start: at, end: caret, query: text.slice(i, caret) };
}

/**
 * People matching `query`, best first: names starting with it, then names containing it, then
 * keys starting with it. `exclude` (my own key) is left out. An empty query lists the followed.
 */
export function suggest(people: Person[], query: string, exclude?: string, limit = 6): Person[] {
  const q = query.toLowerCase();
  const scored: { p: Person; score: number }[] = [];
  for (const p of people) {
    if (p.key === exclude) continue;
    const name = (p.name ?? '').toLowerCase();
    let score = -1;
    if (q === '') score = p.followed ? 0 : 3;
    else if (name && name.startsWith(q)) score = 0;
    else if (name && name.includes(q)) score = 1;
    else if (p.key.startsWith(q)) score = 2;
    if (score < 0) continue;
    // Followed people rank ahead within a score.
    scored.push({ p, score: score * 2 + (p.followed ? 0 : 1) });
  }
  scored.sort((a, b) => a.score - b.score || (a.p.name ?? '~').localeCompare(b.p.name ?? '~'));
  return scored.slice(0, limit).map((s) => s.p);
}

/**
 * The text that mentions `person`: `@name` when the name is one word and no one else among
 * `people` has it (names compare case-insensitively, as the node resolves them), else
 * `@<key>`, which always resolves to exactly them.
 */
export function mentionText(person: Person, people: Person[]): string {
  const name = person.name?.trim() ?? '';
  if (name && ONE_WORD.test(name)) {
    const lower = name.toLowerCase();
    const clash = people.some((p) => p.key !== person.key && (p.name ?? '').trim().toLowerCase() === lower);
    if (!clash) return `@${name}`;
  }
  return `@${person.key}`;
}

/**
 * Replaces the active mention with `insert` and a space, returning the new text and caret.
 * An existing space after the caret is reused rather than doubled.
 */
export function applyMention(text: string, m: ActiveMention, insert: string): { text: string; caret: number } {
  const after = text.slice(m.end);
  const sep = after.startsWith(' ') ? '' : ' ';
  const next = text.slice(0, m.start) + insert + sep + after;
  return { text: next, caret: m.start + insert.length + 1 };
}

/** A mention token at a position of rendered text: `@name` or `@<64 hex>`. */
export const MENTION_TOKEN = /^@([0-9a-f]{64}|[A-Za-z0-9_-]+)/;
