//! The JSON types of the node's API, exactly as `docs/api.md` states them.

/** What a message holds; only `post` is shown in feeds. */
export type Content =
  | { type: 'post'; text: string; mentions: string[]; root: string | null; parent: string | null }
  | { type: 'about'; name: string; bio: string; avatar: string | null }
  | { type: 'follow' | 'unfollow' | 'block'; target: string }
  | { type: 'like' | 'delete'; target: string };

export type PostContent = Extract<Content, { type: 'post' }>;

export type MessageView = {
  id: string;
  author: string;
  author_name: string | null;
  seq: number;
  timestamp_ms: number;
  content: Content;
  /** Replies in the thread, for a thread's first post in a page or thread; else absent/null. */
  reply_count?: number | null;
};

export type Page = { items: MessageView[]; next_cursor: string | null };
export type Thread = { root: MessageView | null; replies: MessageView[] };

export type Profile = {
  key: string;
  name: string | null;
  bio: string | null;
  avatar: string | null;
  follows: string[];
  followers: number;
  followed_by_me: boolean;
  blocked_by_me: boolean;
  seq: number | null;
};

export type Me = { key: string; ticket: string; profile: Profile };

export type Person = {
  key: string;
  name: string | null;
  avatar: string | null;
  followed: boolean;
  seq: number | null;
  updated_ms: number | null;
};

export type NotificationKind = 'reply' | 'mention';
export type Notification = { kind: NotificationKind; message: MessageView; read: boolean };
export type Notifications = { items: Notification[]; unread: number };

export type PeerView = {
  key: string;
  name: string | null;
  connected: boolean;
  bytes_in: number;
  bytes_out: number;
  requests: number;
  fetching: string | null;
};

export type Status = { peers: PeerView[]; connected: number; busy: boolean; relays: boolean };
export type Settings = { relays: boolean; notifications: boolean; restart_required: boolean };

/** A node event (named `NodeEvent` here so it does not shadow the DOM's `Event`). */
export type NodeEvent =
  | { type: 'published'; message: MessageView }
  | { type: 'head_imported'; author: string; seq: number }
  | { type: 'notification'; notification: { kind: NotificationKind; message: MessageView } }
  | { type: 'peer'; peer: PeerView };

/** The event stream's own state, so the UI can say "reconnecting" and refresh after a gap. */
export type ConnectionState = 'connecting' | 'open' | 'down';

/** True for a post message, narrowing its content. */
export function isPost(m: MessageView): m is MessageView & { content: PostContent } {
  return m.content.type === 'post';
}
