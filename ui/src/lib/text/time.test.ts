//! Relative and full times. Dates are built in local time so the tests hold in any time zone.
import { describe, expect, it } from 'vitest';
import { dayKey, dayLabel, fullDate, isoDate, lastSeen, relativeTime } from './time';

const now = new Date(2024, 2, 15, 14, 30, 0).getTime(); // 15 March 2024, 14:30 local
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('relativeTime', () => {
  it('says just now for the last seconds and for clocks ahead', () => {
    expect(relativeTime(now, now)).toBe('just now');
    expect(relativeTime(now - 30_000, now)).toBe('just now');
    expect(relativeTime(now + 5 * MIN, now)).toBe('just now');
  });
  it('counts minutes and hours', () => {
    expect(relativeTime(now - 50_000, now)).toBe('1 min ago');
    expect(relativeTime(now - 3 * MIN, now)).toBe('3 min ago');
    expect(relativeTime(now - 59 * MIN, now)).toBe('59 min ago');
    expect(relativeTime(now - 2 * HOUR, now)).toBe('2 h ago');
    expect(relativeTime(now - 23 * HOUR, now)).toBe('23 h ago');
  });
  it('says yesterday for the day before, then dates', () => {
    expect(relativeTime(new Date(2024, 2, 14, 9, 0).getTime(), now)).toBe('yesterday');
    expect(relativeTime(new Date(2024, 2, 10, 9, 0).getTime(), now, 'en-US')).toBe('Mar 10');
    expect(relativeTime(new Date(2023, 11, 24, 9, 0).getTime(), now, 'en-US')).toBe('Dec 24, 2023');
  });
});

describe('full dates', () => {
  it('gives the weekday, date and time', () => {
    const s = fullDate(new Date(2024, 2, 5, 14, 3).getTime(), 'en-US');
    expect(s).toContain('Tuesday');
    expect(s).toContain('March 5, 2024');
    expect(s).toMatch(/2:03\s?PM/);
  });
  it('gives ISO for datetime attributes', () => {
    expect(isoDate(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('days', () => {
  it('labels today, yesterday and older days', () => {
    expect(dayLabel(now - HOUR, now)).toBe('Today');
    expect(dayLabel(new Date(2024, 2, 14, 23, 59).getTime(), now)).toBe('Yesterday');
    expect(dayLabel(new Date(2024, 2, 11, 8, 0).getTime(), now, 'en-US')).toBe('Monday, March 11');
    expect(dayLabel(new Date(2022, 0, 2).getTime(), now, 'en-US')).toBe('January 2, 2022');
  });
  it('keys calendar days', () => {
    expect(dayKey(new Date(2024, 2, 14, 0, 1).getTime())).toBe(dayKey(new Date(2024, 2, 14, 23, 59).getTime()));
    expect(dayKey(new Date(2024, 2, 14).getTime())).not.toBe(dayKey(new Date(2024, 2, 15).getTime()));
  });
  it('says when someone was last seen', () => {
    expect(lastSeen(null, now)).toBe('not seen yet');
    expect(lastSeen(now - 5 * MIN, now)).toBe('active 5 min ago');
    expect(lastSeen(now, now)).toBe('active just now');
  });
});
