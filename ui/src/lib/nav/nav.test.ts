//! Routes and keyboard shortcuts.
import { describe, expect, it } from 'vitest';
import { Keymap } from './keymap';
import { hrefFor, parseRoute, threadHref } from './route';

const ID = 'ab'.repeat(32);
const ID2 = 'cd'.repeat(32);

describe('routes', () => {
  it('parses every view', () => {
    expect(parseRoute('')).toEqual({ name: 'home' });
    expect(parseRoute('#/')).toEqual({ name: 'home' });
    expect(parseRoute(`#/thread/${ID}`)).toEqual({ name: 'thread', id: ID, focus: null });
    expect(parseRoute(`#/thread/${ID}/${ID2}`)).toEqual({ name: 'thread', id: ID, focus: ID2 });
    expect(parseRoute(`#/profile/${ID}`)).toEqual({ name: 'profile', key: ID, tab: 'posts' });
    expect(parseRoute(`#/profile/${ID}/follows`)).toEqual({ name: 'profile', key: ID, tab: 'follows' });
    expect(parseRoute(`#/profile/${ID}/followers`)).toEqual({ name: 'profile', key: ID, tab: 'followers' });
    expect(parseRoute('#/notifications')).toEqual({ name: 'notifications' });
    expect(parseRoute('#/bookmarks')).toEqual({ name: 'bookmarks' });
    expect(parseRoute('#/follow')).toEqual({ name: 'follow' });
    expect(parseRoute('#/settings')).toEqual({ name: 'settings' });
  });
  it('does not take bad ids or a token as a route', () => {
    expect(parseRoute('#/thread/xyz').name).toBe('not_found');
    expect(parseRoute('#token=abc').name).toBe('not_found');
  });
  it('round-trips', () => {
    for (const h of ['#/', `#/thread/${ID}`, `#/thread/${ID}/${ID2}`, `#/profile/${ID}/replies`, '#/settings']) {
      expect(hrefFor(parseRoute(h))).toBe(h);
    }
    expect(threadHref(ID, ID)).toBe(`#/thread/${ID}`);
  });
});

describe('Keymap', () => {
  it('maps single keys', () => {
    const k = new Keymap();
    expect(['j', 'k', 'r', 'n', '?', 'x'].map((key) => k.handle({ key, time: 0 }))).toEqual([
      'next', 'prev', 'reply', 'compose', 'help', null,
    ]);
  });
  it('maps g sequences within the time limit only', () => {
    const k = new Keymap();
    expect(k.handle({ key: 'g', time: 0 })).toBeNull();
    expect(k.handle({ key: 'h', time: 500 })).toBe('go_home');
    k.handle({ key: 'g', time: 1000 });
    expect(k.handle({ key: 'n', time: 1200 })).toBe('go_notifications');
    k.handle({ key: 'g', time: 5000 });
    expect(k.handle({ key: 'n', time: 9000 })).toBe('compose');
  });
  it('ignores keys with modifiers', () => {
    const k = new Keymap();
    expect(k.handle({ key: 'n', ctrl: true, time: 0 })).toBeNull();
    expect(k.handle({ key: 'j', meta: true, time: 0 })).toBeNull();
  });
});
