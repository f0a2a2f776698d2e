//! Starts the app and routes the node's events. The state is split by concern, each in its own
//! file: `session` (the API, me, people, unread count, peers, settings, connection), `messages`
//! (the message cache), `ui` (compose, shortcuts, theme, welcome), `actions` (what several views
//! do, with their toasts) and `events` (the bus views listen on). Here a node event reaches the
//! session and the cache first, so that views the bus then tells see them current.

import type { Api } from '../backend/api';
import type { NodeEvent } from '../backend/types';
import { events } from './events';
import { messages } from './messages.svelte';
import { session } from './session.svelte';
import { ui } from './ui.svelte';

/** Messages of mine that change whom I follow. */
const FOLLOW_KINDS = new Set(['follow', 'unfollow', 'block']);

let unsubscribe: (() => void) | null = null;

/** Takes the API, subscribes to the node's events, then loads the first state. */
export async function start(api: Api) {
  ui.start();
  session.start(api);
  unsubscribe?.();
  unsubscribe = api.subscribe({ onEvent: dispatch, onConnection: (s) => session.onConnection(s) });
  await session.boot();
}

function dispatch(e: NodeEvent) {
  session.onEvent(e);
  messages.onEvent(e);
  if (e.type === 'published' && FOLLOW_KINDS.has(e.message.content.type)) events.emit({ type: 'follows_changed' });
  events.emit(e);
}
