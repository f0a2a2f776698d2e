// Generated from rookery-app's view types and command table by
// `UPDATE=1 cargo test -p rookery-app --test generated`. Do not edit.

/**
 * A message as shown.
 */
export type MessageView = { 
/**
 * Message id.
 */
id: string, 
/**
 * Author key.
 */
author: string, 
/**
 * The author's name, if their profile is held.
 */
author_name: string | null, 
/**
 * The author's seq.
 */
seq: number, 
/**
 * When the author says they wrote it.
 */
timestamp_ms: number, 
/**
 * What it says.
 */
content: ContentView, 
/**
 * For a thread's first post in a page or a thread: the replies in its thread held here.
 * `null` elsewhere.
 */
reply_count: number | null, };
/**
 * A message's content, as shown.
 */
export type ContentView = { "type": "post", 
/**
 * Markdown text (untrusted: render it through a sanitizer).
 */
text: string, 
/**
 * The keys it mentions.
 */
mentions: Array<string>, 
/**
 * The thread's first post, for a reply.
 */
root: string | null, 
/**
 * The post replied to, for a reply.
 */
parent: string | null, } | { "type": "about", 
/**
 * Display name.
 */
name: string, 
/**
 * A few lines about the author.
 */
bio: string, 
/**
 * The avatar's blob hash.
 */
avatar: string | null, } | { "type": "follow", 
/**
 * The key followed.
 */
target: string, } | { "type": "unfollow", 
/**
 * The key no longer followed.
 */
target: string, } | { "type": "like", 
/**
 * The message liked.
 */
target: string, } | { "type": "block", 
/**
 * The key blocked.
 */
target: string, } | { "type": "delete", 
/**
 * The message withdrawn.
 */
target: string, };
/**
 * One page of a feed, newest first.
 */
export type Page = { 
/**
 * The posts.
 */
items: Array<MessageView>, 
/**
 * Pass this to get the next page; `null` at the end.
 */
next_cursor: string | null, };
/**
 * A thread: its first post and the replies held, oldest first.
 */
export type Thread = { 
/**
 * The root post, if held.
 */
root: MessageView | null, 
/**
 * Replies, oldest first.
 */
replies: Array<MessageView>, 
/**
 * Whether I muted this thread (its mentions and replies are not notified).
 */
muted: boolean, };
/**
 * A profile.
 */
export type Profile = { 
/**
 * Their key.
 */
key: string, 
/**
 * Name from the latest About, if any.
 */
name: string | null, 
/**
 * Bio from the latest About.
 */
bio: string | null, 
/**
 * Avatar blob hash.
 */
avatar: string | null, 
/**
 * Keys they follow.
 */
follows: Array<string>, 
/**
 * Authors held here who follow them.
 */
followers: number, 
/**
 * Whether I follow them.
 */
followed_by_me: boolean, 
/**
 * Whether I blocked them.
 */
blocked_by_me: boolean, 
/**
 * Whether I muted them (local and private).
 */
muted_by_me: boolean, 
/**
 * Messages they published (their head's seq), if their head is held.
 */
seq: number | null, };
/**
 * Someone known here: a feed held or an author followed.
 */
export type Person = { 
/**
 * Their key.
 */
key: string, 
/**
 * Their name, if their profile is held.
 */
name: string | null, 
/**
 * Avatar blob hash.
 */
avatar: string | null, 
/**
 * Whether I follow them.
 */
followed: boolean, 
/**
 * Their latest seq held.
 */
seq: number | null, 
/**
 * The time of their latest message held.
 */
updated_ms: number | null, };
/**
 * What I muted (here only; nothing is published).
 */
export type Muted = { 
/**
 * The people muted, by name.
 */
people: Array<Person>, 
/**
 * The threads muted.
 */
threads: Array<MutedThread>, };
/**
 * A thread muted.
 */
export type MutedThread = { 
/**
 * The thread's root message id.
 */
root: string, 
/**
 * Its root post, where it is held.
 */
post: MessageView | null, };
/**
 * Unread posts of one followed author.
 */
export type Unread = { 
/**
 * The author's key.
 */
author: string, 
/**
 * Their name, if known.
 */
name: string | null, 
/**
 * Entries added to their feed since last marked seen.
 */
count: number, };
/**
 * Why a notification is there.
 */
export type NotificationKind = "reply" | "mention" | "follow";
/**
 * A mention of, reply to, or follow of me.
 */
export type Notification = { 
/**
 * Reply, mention or follow.
 */
kind: NotificationKind, 
/**
 * The post that mentions or replies to me, or the Follow message.
 */
message: MessageView, 
/**
 * Whether it was read.
 */
read: boolean, };
/**
 * The latest notifications and how many are unread.
 */
export type Notifications = { 
/**
 * Newest first.
 */
items: Array<Notification>, 
/**
 * Unread, in all (not only among `items`).
 */
unread: number, 
/**
 * People whose mentions of me are still arriving (a first screen in flight): their new
 * ones are not counted yet.
 */
pending: number, };
/**
 * A sync session with a peer, as shown.
 */
export type PeerView = { 
/**
 * The peer's key.
 */
key: string, 
/**
 * Their name, if their profile is held.
 */
name: string | null, 
/**
 * Whether a session is open now.
 */
connected: boolean, 
/**
 * Bytes received from them in this session.
 */
bytes_in: number, 
/**
 * Bytes sent to them as requests in this session.
 */
bytes_out: number, 
/**
 * Requests made to them in this session.
 */
requests: number, 
/**
 * What is being fetched from them now, in words.
 */
fetching: string | null, };
/**
 * Who I am.
 */
export type Me = { 
/**
 * My key.
 */
key: string, 
/**
 * The ticket others follow me by.
 */
ticket: string, 
/**
 * My profile.
 */
profile: Profile, };
/**
 * Sync status, for the status pill.
 */
export type Status = { 
/**
 * The open sessions, by key.
 */
peers: Array<PeerView>, 
/**
 * Sessions open now.
 */
connected: number, 
/**
 * Whether anything is being fetched.
 */
busy: boolean, 
/**
 * Whether relays and discovery are on for this run.
 */
relays: boolean, };
/**
 * The settings the UI can change.
 */
export type Settings = { 
/**
 * Relays and discovery (off: direct addresses only).
 */
relays: boolean, 
/**
 * Desktop notifications (of the kinds below that are on).
 */
notifications: boolean, 
/**
 * Desktop notifications of mentions.
 */
notify_mentions: boolean, 
/**
 * Desktop notifications of replies.
 */
notify_replies: boolean, 
/**
 * Desktop notifications of follows.
 */
notify_follows: boolean, 
/**
 * A changed setting takes effect after a restart.
 */
restart_required: boolean, };
/**
 * A backup of the secret key.
 */
export type KeyBackup = { 
/**
 * 64 hex digits.
 */
secret: string, 
/**
 * The same 32 bytes as 24 BIP-39 words.
 */
words: string, };
/**
 * What the node reports as it happens.
 */
export type Event = { "type": "published", 
/**
 * The message I published.
 */
message: MessageView, } | { "type": "head_imported", 
/**
 * The author's key.
 */
author: string, 
/**
 * Their new seq.
 */
seq: number, } | { "type": "notification", 
/**
 * The notification (unread).
 */
notification: Notification, } | { "type": "peer", 
/**
 * The peer's state now.
 */
peer: PeerView, };
/**
 * What went wrong, as a stable code for the UI and scripts (never parse the message).
 */
export type ErrorCode = "bad_request" | "bad_address" | "bad_cursor" | "too_large" | "not_found" | "unknown_message" | "not_synced" | "network" | "invalid" | "store" | "io" | "bad_key_file" | "bad_bundle" | "bad_data" | "own_feed_lost" | "unauthorized" | "internal";
/**
 * The error as it travels to the UI: `{code, message}`.
 */
export type ErrorView = { 
/**
 * What to branch on.
 */
code: ErrorCode, 
/**
 * Readable as is.
 */
message: string, };
/**
 * Who I am: my key, my ticket and my profile.
 */
export type MeArgs = Record<symbol, never>;
/**
 * The home timeline, newest first, a page at a time.
 */
export type TimelineArgs = { 
/**
 * Where the page starts (the `next_cursor` of the page before).
 */
cursor?: string | null, 
/**
 * Posts per page (30 if absent, at most 200).
 */
limit?: number | null, };
/**
 * One author's posts, newest first.
 */
export type AuthorFeedArgs = { 
/**
 * The author's key.
 */
key: string, 
/**
 * Where the page starts.
 */
cursor?: string | null, 
/**
 * Posts per page.
 */
limit?: number | null, };
/**
 * The thread a message is in: its first post and every reply held.
 */
export type ThreadArgs = { 
/**
 * Any message of the thread.
 */
id: string, };
/**
 * An author's profile.
 */
export type ProfileArgs = { 
/**
 * The key whose profile to show.
 */
key: string, };
/**
 * Everyone known here, followed first: for autocomplete and the people list.
 */
export type PeopleArgs = Record<symbol, never>;
/**
 * Who follows someone, among the feeds held: me first, then the people I follow,
 * then by name.
 */
export type FollowersArgs = { 
/**
 * The key whose followers to list.
 */
key: string, };
/**
 * The people I blocked: where a block is undone.
 */
export type BlockedArgs = Record<symbol, never>;
/**
 * Per followed author, the posts new since they were last marked seen.
 */
export type UnreadCountsArgs = Record<symbol, never>;
/**
 * The latest notifications, read or not, and how many are unread.
 */
export type NotificationsArgs = { 
/**
 * How many (30 if absent, at most 200).
 */
limit?: number | null, };
/**
 * Marks one notification read; returns the latest `limit`.
 */
export type MarkNotificationReadArgs = { 
/**
 * The notification's message id.
 */
id: string, 
/**
 * How many to return.
 */
limit?: number | null, };
/**
 * Marks every notification read; returns the latest `limit`.
 */
export type MarkAllReadArgs = { 
/**
 * How many to return.
 */
limit?: number | null, };
/**
 * Marks one author (or everyone) seen: their unread count and notifications
 * start again from now.
 */
export type MarkSeenArgs = { 
/**
 * Whose; everyone's if absent.
 */
key?: string | null, };
/**
 * Publishes a post; `@name` and `@key` in it mention someone.
 */
export type PostArgs = { 
/**
 * The post's text, in markdown.
 */
text: string, };
/**
 * Replies to a message, in its thread.
 */
export type ReplyArgs = { 
/**
 * The message replied to.
 */
parent: string, 
/**
 * The reply's text, in markdown.
 */
text: string, };
/**
 * Follows someone by key or ticket (and dials them); returns their profile.
 */
export type FollowArgs = { 
/**
 * A key (64 hex digits) or a ticket.
 */
address: string, };
/**
 * Stops following someone.
 */
export type UnfollowArgs = { 
/**
 * The key to stop following.
 */
key: string, };
/**
 * Blocks someone: their messages leave every view.
 */
export type BlockArgs = { 
/**
 * The key to block.
 */
key: string, };
/**
 * Unblocks someone: my block in force against them is deleted.
 */
export type UnblockArgs = { 
/**
 * The key to unblock.
 */
key: string, };
/**
 * Mutes someone, here only (nothing is published): their posts leave Home and
 * their mentions the notifications.
 */
export type MuteArgs = { 
/**
 * The key to mute.
 */
key: string, };
/**
 * Unmutes someone.
 */
export type UnmuteArgs = { 
/**
 * The key to unmute.
 */
key: string, };
/**
 * Mutes the thread a message is in, here only: its mentions and replies are not
 * notified. Returns the thread.
 */
export type MuteThreadArgs = { 
/**
 * Any message of the thread (its root, or a reply in it).
 */
id: string, };
/**
 * Unmutes the thread a message is in; returns the thread.
 */
export type UnmuteThreadArgs = { 
/**
 * Any message of the thread.
 */
id: string, };
/**
 * Bookmarks a message, here only (nothing is published).
 */
export type BookmarkArgs = { 
/**
 * The message's id.
 */
id: string, };
/**
 * Removes a bookmark.
 */
export type UnbookmarkArgs = { 
/**
 * The message's id.
 */
id: string, };
/**
 * The messages I bookmarked, the latest bookmarked first.
 */
export type BookmarksArgs = { 
/**
 * How many (50 if absent, at most 200).
 */
limit?: number | null, };
/**
 * What I muted: people, and threads by their root.
 */
export type MutedArgs = Record<symbol, never>;
/**
 * Deletes one of my messages.
 */
export type DeleteMessageArgs = { 
/**
 * The id of the message to delete (one of mine).
 */
id: string, };
/**
 * Sets my name and bio, keeping my avatar.
 */
export type SetProfileArgs = { 
/**
 * Display name.
 */
name: string, 
/**
 * A few lines about me.
 */
bio?: string | null, };
/**
 * Sets my avatar (the request's body is the image), keeping name and bio.
 */
export type SetAvatarArgs = Record<symbol, never>;
/**
 * An image by its hash, fetched from the sessions if it is not here yet.
 */
export type BlobArgs = { 
/**
 * The image's BLAKE3 hash.
 */
hash: string, };
/**
 * Sessions and what is being fetched.
 */
export type StatusArgs = Record<symbol, never>;
/**
 * The settings.
 */
export type SettingsArgs = Record<symbol, never>;
/**
 * Changes settings; relays take effect at the next start.
 */
export type SetSettingsArgs = { 
/**
 * Relays and discovery on or off.
 */
relays?: boolean | null, 
/**
 * Desktop notifications on or off.
 */
notifications?: boolean | null, 
/**
 * Desktop notifications of mentions on or off.
 */
notify_mentions?: boolean | null, 
/**
 * Desktop notifications of replies on or off.
 */
notify_replies?: boolean | null, 
/**
 * Desktop notifications of follows on or off.
 */
notify_follows?: boolean | null, };
/**
 * A backup of my secret key, as hex and as 24 words.
 */
export type ExportKeyArgs = Record<symbol, never>;
/**
 * Starts the demo network (once): five local peers with history, followed by me.
 */
export type StartDemoArgs = Record<symbol, never>;
/** Every command: its arguments, its raw body if it takes one, and its answer. */
export type Commands = {
  me: { args: MeArgs; ret: Me };
  timeline: { args: TimelineArgs; ret: Page };
  author_feed: { args: AuthorFeedArgs; ret: Page };
  thread: { args: ThreadArgs; ret: Thread };
  profile: { args: ProfileArgs; ret: Profile };
  people: { args: PeopleArgs; ret: Array<Person> };
  followers: { args: FollowersArgs; ret: Array<Person> };
  blocked: { args: BlockedArgs; ret: Array<Person> };
  unread_counts: { args: UnreadCountsArgs; ret: Array<Unread> };
  notifications: { args: NotificationsArgs; ret: Notifications };
  mark_notification_read: { args: MarkNotificationReadArgs; ret: Notifications };
  mark_all_read: { args: MarkAllReadArgs; ret: Notifications };
  mark_seen: { args: MarkSeenArgs; ret: null };
  post: { args: PostArgs; ret: MessageView };
  reply: { args: ReplyArgs; ret: MessageView };
  follow: { args: FollowArgs; ret: Profile };
  unfollow: { args: UnfollowArgs; ret: Profile };
  block: { args: BlockArgs; ret: Profile };
  unblock: { args: UnblockArgs; ret: Profile };
  mute: { args: MuteArgs; ret: Profile };
  unmute: { args: UnmuteArgs; ret: Profile };
  mute_thread: { args: MuteThreadArgs; ret: Thread };
  unmute_thread: { args: UnmuteThreadArgs; ret: Thread };
  bookmark: { args: BookmarkArgs; ret: null };
  unbookmark: { args: UnbookmarkArgs; ret: null };
  bookmarks: { args: BookmarksArgs; ret: Array<MessageView> };
  muted: { args: MutedArgs; ret: Muted };
  delete_message: { args: DeleteMessageArgs; ret: null };
  set_profile: { args: SetProfileArgs; ret: Profile };
  set_avatar: { args: SetAvatarArgs; body: Uint8Array; ret: Profile };
  blob: { args: BlobArgs; ret: Uint8Array };
  status: { args: StatusArgs; ret: Status };
  settings: { args: SettingsArgs; ret: Settings };
  set_settings: { args: SetSettingsArgs; ret: Settings };
  export_key: { args: ExportKeyArgs; ret: KeyBackup };
  start_demo: { args: StartDemoArgs; ret: null };
};
