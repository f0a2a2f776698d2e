//! Relative and full times for posts and notifications.

const MIN = 60_000;
const HOUR = 60 * MIN;

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Whole calendar days from `ts`'s day to `now`'s day, in local time. */
export function daysBetween(ts: number, now: number): number {
  return Math.round((startOfDay(new Date(now)) - startOfDay(new Date(ts))) / (24 * HOUR));
}

/**
 * "just now", "3 min ago", "2 h ago", "yesterday", then a date ("Mar 5", with the year when it
 * is not this year's). Times in the future (a peer's clock ahead) read "just now".
 */
export function relativeTime(ts: number, now: number = Date.now(), locale?: string): string {
  const diff = now - ts;
  if (diff < 45_000) return 'just now';
  if (diff < HOUR) return `${Math.max(1, Math.round(diff / MIN))} min ago`;
  if (diff < 24 * HOUR) return `${Math.floor(diff / HOUR)} h ago`;
  if (daysBetween(ts, now) <= 1) return 'yesterday';
  const d = new Date(ts);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString(locale, sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' });
}

/** The full date and time, for a hover title: "Tuesday, March 5, 2024 at 2:03 PM". */
export function fullDate(ts: number, locale?: string): string {
  return new Date(ts).toLocaleString(locale, { dateStyle: 'full', timeStyle: 'short' });
}

/** ISO form for `<time datetime>`. */
export function isoDate(ts: number): string {
  return new Date(ts).toISOString();
}

/** A heading for a day of notifications: "Today", "Yesterday", or the date. */
export function dayLabel(ts: number, now: number = Date.now(), locale?: string): string {
  const days = daysBetween(ts, now);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const d = new Date(ts);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString(locale, sameYear ? { weekday: 'long', month: 'long', day: 'numeric' } : { year: 'numeric', month: 'long', day: 'numeric' });
}

/** A key identifying `ts`'s local calendar day, for grouping. */
export function dayKey(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** "seen 5 min ago" style text for a last-update time, or "not seen yet". */
export function lastSeen(ts: number | null, now: number = Date.now()): string {
  if (ts === null) return 'not seen yet';
  const r = relativeTime(ts, now);
  return r === 'just now' ? 'active just now' : `active ${r}`;
}
