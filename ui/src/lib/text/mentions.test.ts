//! Mention autocomplete: the token at the caret, matching and what gets inserted.
import { describe, expect, it } from 'vitest';
import type { Person } from '../backend/types';
import { activeMention, applyMention, mentionText, suggest } from './mentions';

const person = (key: string, name: string | null, followed = true): Person => ({
  key: key.repeat(64 / key.length),
  name,
  avatar: null,
  followed,
  seq: 1,
  updated_ms: null,
});

const ada = person('a', 'Ada');
const ada2 = person('c', 'ada', false);
const bob = person('b', 'Bob Smith');
const eve = person('e', 'eve_99', false);
const nameless = person('d', null);
const people = [ada, bob, eve, nameless];

describe('activeMention', () => {
  it('finds the mention being typed at the caret', () => {
    expect(activeMention('hi @Ad', 6)).toEqual({ start: 3, end: 6, query: 'Ad' });
    expect(activeMention('@', 1)).toEqual({ start: 0, end: 1, query: '' });
    expect(activeMention('(@bo', 4)).toEqual({ start: 1, end: 4, query: 'bo' });
    expect(activeMention('x\n@e', 4)).toEqual({ start: 2, end: 4, query: 'e' });
  });

  it('uses only the text up to the caret', () => {
    expect(activeMention('hi @Ada there', 6)).toBeNull(); // caret inside a word
    expect(activeMention('hi @Ada there', 7)).toEqual({ start: 3, end: 7, query: 'Ada' });
  });

  it('ignores what is no mention', () => {
    expect(activeMention('mail@host', 9)).toBeNull();
    expect(activeMention('hi Ada', 6)).toBeNull();
    expect(activeMention('@Ada ', 5)).toBeNull();
    expect(activeMention('', 0)).toBeNull();
    expect(activeMention('@@x', 3)).toBeNull();
  });
});

describe('suggest', () => {
  it('ranks name prefixes, then name contains, then key prefixes', () => {
    const diana = person('f', 'Nadia');
    const zed = { ...person('0', 'Zed'), key: 'ad' + '0'.repeat(62) };
    expect(suggest([zed, diana, ada], 'ad').map((p) => p.name)).toEqual(['Ada', 'Nadia', 'Zed']);
    expect(suggest(people, 'e').map((p) => p.name)).toEqual(['eve_99']);
    expect(suggest(people, 'bo').map((p) => p.name)).toEqual(['Bob Smith']);
    expect(suggest(people, 'smi').map((p) => p.name)).toEqual(['Bob Smith']);
    expect(suggest(people, 'ddd').map((p) => p.key)).toEqual([nameless.key]);
  });

  it('is case-insensitive and leaves me out', () => {
    expect(suggest(people, 'ADA').map((p) => p.key)).toEqual([ada.key]);
    expect(suggest(people, 'ada', ada.key)).toEqual([]);
  });

  it('lists followed people first for an empty query, and respects the limit', () => {
    const s = suggest(people, '', undefined, 2);
    expect(s.length).toBe(2);
    expect(s.every((p) => p.followed)).toBe(true);
  });
});

describe('mentionText', () => {
  it('uses @name for a unique one-word name', () => {
    expect(mentionText(ada, people)).toBe('@Ada');
    expect(mentionText(eve, people)).toBe('@eve_99');
  });
  it('uses the key for names with spaces, shared names and no name', () => {
    expect(mentionText(bob, people)).toBe(`@${bob.key}`);
    expect(mentionText(ada, [...people, ada2])).toBe(`@${ada.key}`);
    expect(mentionText(nameless, people)).toBe(`@${nameless.key}`);
  });
});

describe('applyMention', () => {
  it('replaces the typed part and puts the caret after a space', () => {
    const text = 'hi @Ad';
    const r = applyMention(text, activeMention(text, 6)!, '@Ada');
    expect(r).toEqual({ text: 'hi @Ada ', caret: 8 });
  });
  it('keeps the text after the caret and does not double a space', () => {
    const text = 'hi @b and more';
    const r = applyMention(text, activeMention(text, 5)!, '@Bob');
    expect(r.text).toBe('hi @Bob and more');
    expect(r.caret).toBe(8);
  });
});
