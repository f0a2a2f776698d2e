//! The actions several views share (follow, unfollow, block, unblock, mute, bookmark, delete, the demo network): each
//! calls the node, says in a toast what happened, and tells the app what changed so that lists
//! and the people known catch up. They never throw; a failure is a toast and a `null`/`false`.

import type { MessageView, Profile, Thread } from '../backend/types';
import { displayName } from '../text/keys';
import { events } from './events';
import { messages } from './messages.svelte';
import { session } from './session.svelte';
import { toasts } from './toasts.svelte';
import { ui } from './ui.svelte';

export async function deletePost(m: MessageView): Promise<boolean> {
  try {
    await session.api.call('delete_message', { id: m.id });
    messages.forget(m.id);
    events.emit({ type: 'deleted', id: m.id });
    toasts.success('Post deleted');
    return true;
  } catch (e) {
    toasts.error(e, 'Could not delete the post');
    return false;
  }
}

export async function block(key: string): Promise<Profile | null> {
  try {
    const p = await session.api.call('block', { key });
    events.emit({ type: 'blocked', key });
    toasts.success(`Blocked ${displayName(p.name, key)}`);
    return p;
  } catch (e) {
    toasts.error(e, 'Could not block');
    return null;
  }
}

export async function unblock(key: string): Promise<Profile | null> {
  try {
    const p = await session.api.call('unblock', { key });
    events.emit({ type: 'unblocked', key });
    toasts.info(`Unblocked ${displayName(p.name, key)}`);
    return p;
  } catch (e) {
    toasts.error(e, 'Could not unblock');
    return null;
  }
}

/** Mutes (or unmutes) someone, here only: their posts leave Home, their mentions the
 *  notifications. */
export async function mute(key: string, on: boolean): Promise<Profile | null> {
  try {
    const p = on ? await session.api.call('mute', { key }) : await session.api.call('unmute', { key });
    mutesChanged();
    toasts.info(`${on ? 'Muted' : 'Unmuted'} ${displayName(p.name, key)}`);
    return p;
  } catch (e) {
    toasts.error(e, on ? 'Could not mute' : 'Could not unmute');
    return null;
  }
}

/** Mutes (or unmutes) the thread `id` is in: its mentions and replies are not notified. */
export async function muteThread(id: string, on: boolean): Promise<Thread | null> {
  try {
    const t = on ? await session.api.call('mute_thread', { id }) : await session.api.call('unmute_thread', { id });
    mutesChanged();
    toasts.info(on ? 'Conversation muted' : 'Conversation unmuted');
    return t;
  } catch (e) {
    toasts.error(e, on ? 'Could not mute the conversation' : 'Could not unmute the conversation');
    return null;
  }
}

/** Bookmarks (or un-bookmarks) a message, here only. */
export async function bookmark(m: MessageView, on: boolean): Promise<boolean> {
  try {
    if (on) await session.api.call('bookmark', { id: m.id });
    else await session.api.call('unbookmark', { id: m.id });
    events.emit({ type: 'bookmarks_changed' });
    toasts.info(on ? 'Bookmarked' : 'Bookmark removed');
    return true;
  } catch (e) {
    toasts.error(e, on ? 'Could not bookmark' : 'Could not remove the bookmark');
    return false;
  }
}

function mutesChanged() {
  events.emit({ type: 'mutes_changed' });
  void session.refreshUnread();
}

export async function follow(address: string): Promise<Profile | null> {
  try {
    const p = await session.api.call('follow', { address });
    toasts.success(`Following ${displayName(p.name, p.key)}`);
    events.emit({ type: 'follows_changed' });
    return p;
  } catch (e) {
    toasts.error(e, 'Could not follow');
    return null;
  }
}

export async function unfollow(key: string): Promise<Profile | null> {
  try {
    const p = await session.api.call('unfollow', { key });
    toasts.info(`Unfollowed ${displayName(p.name, key)}`);
    events.emit({ type: 'follows_changed' });
    return p;
  } catch (e) {
    toasts.error(e, 'Could not unfollow');
    return null;
  }
}

export async function startDemo() {
  try {
    await session.api.call('start_demo');
    toasts.success('Demo network started. Its posts appear as they sync.');
    ui.finishWelcome();
    void session.refreshAll();
    events.emit({ type: 'follows_changed' });
  } catch (e) {
    toasts.error(e, 'Could not start the demo network');
  }
}
