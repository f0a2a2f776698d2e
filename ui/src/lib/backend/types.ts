//! The API's types, for the rest of the UI: all of them generated from the Rust view types
//! (`generated.ts`, never edited by hand), plus the few helpers the UI adds on top.

import type { ContentView, Event, MessageView } from './generated';

export type * from './generated';

/** A node event (named `NodeEvent` here so it does not shadow the DOM's `Event`). */
export type NodeEvent = Event;

/** A post's content. */
export type PostContent = Extract<ContentView, { type: 'post' }>;

/** The event stream's own state, so the UI can say "reconnecting" and refresh after a gap. */
export type ConnectionState = 'connecting' | 'open' | 'down';

/** True for a post message, narrowing its content. */
export function isPost(m: MessageView): m is MessageView & { content: PostContent } {
  return m.content.type === 'post';
}
