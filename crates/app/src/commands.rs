//! The UI's operations, each defined once: its entry in the table ([`with_commands!`]) — name,
//! arguments, what it returns — and, below, its method on [`App`]. Everything else is generated
//! from the table (`table.rs`): the argument structs, the HTTP dispatcher, the Tauri commands,
//! the UI's TypeScript types and the command table of `docs/api.md`.
//!
//! An entry is `name(ArgsStruct { field: Type, ... }) -> Return;`, with doc comments. Two
//! markers change how bytes travel: `@upload` (the request's body is the raw bytes, handed to
//! the method after the arguments) and `@download` (the method returns a [`crate::view::Blob`],
//! sent as raw bytes with its media type).

use std::sync::atomic::Ordering;
use std::time::Duration;

use rookery_feed::{Content, PublicKey};
use rookery_node::identity::key_words;

use rookery_node::Network;

use crate::app::{App, peer_view};
use crate::args;
use crate::demo::Demo;
use crate::hex::{self, Address};
use crate::view::{
    Blob, KeyBackup, Me, MessageView, Muted, MutedThread, Notifications, Page, PeerView, Person,
    Profile, Settings, Status, Thread, Unread,
};
use crate::{AppError, ErrorCode};

/// The table of commands. `with_commands!(m)` expands to `m! { entries }`, so any adapter can
/// generate its entry points from the one list.
#[macro_export]
macro_rules! with_commands {
    ($m:ident) => {
        $m! {
            /// Who I am: my key, my ticket and my profile.
            me(MeArgs {}) -> $crate::view::Me;
            /// The home timeline, newest first, a page at a time.
            timeline(TimelineArgs {
                /// Where the page starts (the `next_cursor` of the page before).
                cursor: Option<String>,
                /// Posts per page (30 if absent, at most 200).
                limit: Option<u32>,
            }) -> $crate::view::Page;
            /// One author's posts, newest first.
            author_feed(AuthorFeedArgs {
                /// The author's key.
                key: String,
                /// Where the page starts.
                cursor: Option<String>,
                /// Posts per page.
                limit: Option<u32>,
            }) -> $crate::view::Page;
            /// The thread a message is in: its first post and every reply held.
            thread(ThreadArgs {
                /// Any message of the thread.
                id: String,
            }) -> $crate::view::Thread;
            /// An author's profile.
            profile(ProfileArgs {
                /// The key whose profile to show.
                key: String,
            }) -> $crate::view::Profile;
            /// Everyone known here, followed first: for autocomplete and the people list.
            people(PeopleArgs {}) -> Vec<$crate::view::Person>;
            /// Who follows someone, among the feeds held: me first, then the people I follow,
            /// then by name.
            followers(FollowersArgs {
                /// The key whose followers to list.
                key: String,
            }) -> Vec<$crate::view::Person>;
            /// The people I blocked: where a block is undone.
            blocked(BlockedArgs {}) -> Vec<$crate::view::Person>;
            /// Per followed author, the posts new since they were last marked seen.
            unread_counts(UnreadCountsArgs {}) -> Vec<$crate::view::Unread>;
            /// The latest notifications, read or not, and how many are unread.
            notifications(NotificationsArgs {
                /// How many (30 if absent, at most 200).
                limit: Option<u32>,
            }) -> $crate::view::Notifications;
            /// Marks one notification read; returns the latest `limit`.
            mark_notification_read(MarkNotificationReadArgs {
                /// The notification's message id.
                id: String,
                /// How many to return.
                limit: Option<u32>,
            }) -> $crate::view::Notifications;
            /// Marks every notification read; returns the latest `limit`.
            mark_all_read(MarkAllReadArgs {
                /// How many to return.
                limit: Option<u32>,
            }) -> $crate::view::Notifications;
            /// Marks one author (or everyone) seen: their unread count and notifications
            /// start again from now.
            mark_seen(MarkSeenArgs {
                /// Whose; everyone's if absent.
                key: Option<String>,
            }) -> ();
            /// Publishes a post; `@name` and `@key` in it mention someone.
            post(PostArgs {
                /// The post's text, in markdown.
                text: String,
            }) -> $crate::view::MessageView;
            /// Replies to a message, in its thread.
            reply(ReplyArgs {
                /// The message replied to.
                parent: String,
                /// The reply's text, in markdown.
                text: String,
            }) -> $crate::view::MessageView;
            /// Follows someone by key or ticket (and dials them); returns their profile.
            follow(FollowArgs {
                /// A key (64 hex digits) or a ticket.
                address: String,
            }) -> $crate::view::Profile;
            /// Stops following someone.
            unfollow(UnfollowArgs {
                /// The key to stop following.
                key: String,
            }) -> $crate::view::Profile;
            /// Blocks someone: their messages leave every view.
            block(BlockArgs {
                /// The key to block.
                key: String,
            }) -> $crate::view::Profile;
            /// Unblocks someone: my block in force against them is deleted.
            unblock(UnblockArgs {
                /// The key to unblock.
                key: String,
            }) -> $crate::view::Profile;
            /// Mutes someone, here only (nothing is published): their posts leave Home and
            /// their mentions the notifications.
            mute(MuteArgs {
                /// The key to mute.
                key: String,
            }) -> $crate::view::Profile;
            /// Unmutes someone.
            unmute(UnmuteArgs {
                /// The key to unmute.
                key: String,
            }) -> $crate::view::Profile;
            /// Mutes the thread a message is in, here only: its mentions and replies are not
            /// notified. Returns the thread.
            mute_thread(MuteThreadArgs {
                /// Any message of the thread (its root, or a reply in it).
                id: String,
            }) -> $crate::view::Thread;
            /// Unmutes the thread a message is in; returns the thread.
            unmute_thread(UnmuteThreadArgs {
                /// Any message of the thread.
                id: String,
            }) -> $crate::view::Thread;
            /// Bookmarks a message, here only (nothing is published).
            bookmark(BookmarkArgs {
                /// The message's id.
                id: String,
            }) -> ();
            /// Removes a bookmark.
            unbookmark(UnbookmarkArgs {
                /// The message's id.
                id: String,
            }) -> ();
            /// The messages I bookmarked, the latest bookmarked first.
            bookmarks(BookmarksArgs {
                /// How many (50 if absent, at most 200).
                limit: Option<u32>,
            }) -> Vec<$crate::view::MessageView>;
            /// What I muted: people, and threads by their root.
            muted(MutedArgs {}) -> $crate::view::Muted;
            /// Deletes one of my messages.
            delete_message(DeleteMessageArgs {
                /// The id of the message to delete (one of mine).
                id: String,
            }) -> ();
            /// Sets my name and bio, keeping my avatar.
            set_profile(SetProfileArgs {
                /// Display name.
                name: String,
                /// A few lines about me.
                bio: Option<String>,
            }) -> $crate::view::Profile;
            /// Sets my avatar (the request's body is the image), keeping name and bio.
            @upload set_avatar(SetAvatarArgs {}) -> $crate::view::Profile;
            /// An image by its hash, fetched from the sessions if it is not here yet.
            @download blob(BlobArgs {
                /// The image's BLAKE3 hash.
                hash: String,
            }) -> $crate::view::Blob;
            /// Sessions and what is being fetched.
            status(StatusArgs {}) -> $crate::view::Status;
            /// The settings.
            settings(SettingsArgs {}) -> $crate::view::Settings;
            /// Changes settings; relays take effect at the next start.
            set_settings(SetSettingsArgs {
                /// Relays and discovery on or off.
                relays: Option<bool>,
                /// Desktop notifications on or off.
                notifications: Option<bool>,
                /// Desktop notifications of mentions on or off.
                notify_mentions: Option<bool>,
                /// Desktop notifications of replies on or off.
                notify_replies: Option<bool>,
                /// Desktop notifications of follows on or off.
                notify_follows: Option<bool>,
            }) -> $crate::view::Settings;
            /// A backup of my secret key, as hex and as 24 words.
            export_key(ExportKeyArgs {}) -> $crate::view::KeyBackup;
            /// Starts the demo network (once): five local peers with history, followed by me.
            start_demo(StartDemoArgs {}) -> ();
        }
    };
}

/// The page size when the UI names none, and the largest it may ask for.
const DEFAULT_LIMIT: u32 = 30;
const MAX_LIMIT: u32 = 200;

fn limit(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
}

fn cursor(text: Option<&str>) -> Result<Option<rookery_node::Cursor>, AppError> {
    text.filter(|t| !t.is_empty()).map(hex::cursor).transpose()
}

impl App {
    /// Who I am: my key, my ticket and my profile.
    pub async fn me(&self, _: args::MeArgs) -> Result<Me, AppError> {
        let me = self.node.id();
        Ok(Me {
            key: hex::format_key(&me),
            ticket: self
                .net
                .as_ref()
                .map(|n| n.ticket().to_string())
                .unwrap_or_default(),
            profile: self.profile_of(&me).await?,
        })
    }

    /// The home timeline, a page at a time.
    pub async fn timeline(&self, a: args::TimelineArgs) -> Result<Page, AppError> {
        let (c, n) = (cursor(a.cursor.as_deref())?, limit(a.limit));
        let page = self.read(|node| node.timeline(c.as_ref(), n)).await?;
        Ok(Page::from(&page))
    }

    /// One author's posts, a page at a time.
    pub async fn author_feed(&self, a: args::AuthorFeedArgs) -> Result<Page, AppError> {
        let (author, n) = (hex::key(&a.key)?, limit(a.limit));
        let c = cursor(a.cursor.as_deref())?;
        let page = self
            .read(|node| node.author_feed(&author, c.as_ref(), n))
            .await?;
        Ok(Page::from(&page))
    }

    /// A thread: the root of the thread `id` is in, and its replies.
    pub async fn thread(&self, a: args::ThreadArgs) -> Result<Thread, AppError> {
        let id = hex::message_id(&a.id)?;
        let root = match self.read(|node| node.message(&id)).await? {
            Some(item) => match &item.message.message().content {
                Content::Post(rookery_feed::Post { reply: Some(r), .. }) => r.root,
                _ => id,
            },
            None => id,
        };
        let t = self.read(|node| node.thread(&root)).await?;
        Ok(Thread::from(&t))
    }

    /// An author's profile.
    pub async fn profile(&self, a: args::ProfileArgs) -> Result<Profile, AppError> {
        self.profile_of(&hex::key(&a.key)?).await
    }

    /// A profile, read through the sessions: its follower count reads every author's
    /// `follows` tree, and one of them may still be arriving.
    async fn profile_of(&self, author: &PublicKey) -> Result<Profile, AppError> {
        let p = self.read(|node| node.profile(author)).await?;
        Ok(Profile::from(&p))
    }

    /// Everyone known here.
    pub async fn people(&self, _: args::PeopleArgs) -> Result<Vec<Person>, AppError> {
        let people = self.read(|node| node.people()).await?;
        Ok(people.iter().map(Person::from).collect())
    }

    /// Who follows someone, among the feeds held.
    pub async fn followers(&self, a: args::FollowersArgs) -> Result<Vec<Person>, AppError> {
        let author = hex::key(&a.key)?;
        let people = self.read(|node| node.followers(&author)).await?;
        Ok(people.iter().map(Person::from).collect())
    }

    /// The people I blocked.
    pub async fn blocked(&self, _: args::BlockedArgs) -> Result<Vec<Person>, AppError> {
        let people = self.read(|node| node.blocked_people()).await?;
        Ok(people.iter().map(Person::from).collect())
    }

    /// Unread posts per followed author.
    pub async fn unread_counts(&self, _: args::UnreadCountsArgs) -> Result<Vec<Unread>, AppError> {
        let u = self.read(|node| node.unread_counts()).await?;
        Ok(u.iter().map(Unread::from).collect())
    }

    /// The latest notifications and the unread count.
    pub async fn notifications(
        &self,
        a: args::NotificationsArgs,
    ) -> Result<Notifications, AppError> {
        let n = limit(a.limit);
        let list = self.read(|node| node.notifications(n)).await?;
        Ok(Notifications::from(&list))
    }

    /// Marks one notification read; returns the latest `limit` after.
    pub async fn mark_notification_read(
        &self,
        a: args::MarkNotificationReadArgs,
    ) -> Result<Notifications, AppError> {
        self.node.mark_notification_read(&hex::message_id(&a.id)?)?;
        self.notifications(args::NotificationsArgs { limit: a.limit })
            .await
    }

    /// Marks every notification read; returns the latest `limit` after.
    pub async fn mark_all_read(&self, a: args::MarkAllReadArgs) -> Result<Notifications, AppError> {
        self.node.mark_all_notifications_read()?;
        self.notifications(args::NotificationsArgs { limit: a.limit })
            .await
    }

    /// Marks one author (or everyone) seen.
    pub async fn mark_seen(&self, a: args::MarkSeenArgs) -> Result<(), AppError> {
        let key = a.key.as_deref().map(hex::key).transpose()?;
        Ok(self.node.mark_seen(key.as_ref())?)
    }

    /// Posts `text`.
    pub async fn post(&self, a: args::PostArgs) -> Result<MessageView, AppError> {
        let m = self.node.post(&a.text)?;
        self.message(&m)
    }

    /// Replies to `parent`.
    pub async fn reply(&self, a: args::ReplyArgs) -> Result<MessageView, AppError> {
        let parent = hex::message_id(&a.parent)?;
        let m = self.node.reply(&parent, &a.text)?;
        self.message(&m)
    }

    /// Follows by key or ticket and dials them; returns their profile.
    pub async fn follow(&self, a: args::FollowArgs) -> Result<Profile, AppError> {
        let address = hex::address(&a.address)?;
        let key = address.key();
        let ticket = match &address {
            Address::Ticket(t) => Some(t),
            Address::Key(_) => None,
        };
        match &self.net {
            Some(net) => {
                net.follow(key, ticket)?;
                if let Some(t) = ticket {
                    // Best effort: the follow stands even if they are offline now.
                    let _ = tokio::time::timeout(Duration::from_secs(5), net.connect(t)).await;
                }
            }
            None => {
                if let Some(t) = ticket {
                    self.node.remember_peer(t)?;
                }
                self.node.follow(key)?;
            }
        }
        match self.profile_of(&key).await {
            // Their feed is still on its way: the follow stands, the profile fills in later.
            Err(e) if e.code == ErrorCode::NotSynced => Ok(Profile {
                key: hex::format_key(&key),
                name: None,
                bio: None,
                avatar: None,
                follows: vec![],
                followers: 0,
                followed_by_me: true,
                blocked_by_me: false,
                muted_by_me: false,
                seq: None,
            }),
            r => r,
        }
    }

    /// Stops following someone; returns their profile.
    pub async fn unfollow(&self, a: args::UnfollowArgs) -> Result<Profile, AppError> {
        let k = hex::key(&a.key)?;
        self.node.unfollow(k)?;
        self.profile_of(&k).await
    }

    /// Blocks someone; returns their profile.
    pub async fn block(&self, a: args::BlockArgs) -> Result<Profile, AppError> {
        let k = hex::key(&a.key)?;
        self.node.block(k)?;
        self.profile_of(&k).await
    }

    /// Unblocks someone (nothing is published if they are not blocked); returns their
    /// profile.
    pub async fn unblock(&self, a: args::UnblockArgs) -> Result<Profile, AppError> {
        let k = hex::key(&a.key)?;
        self.node.unblock(k)?;
        self.profile_of(&k).await
    }

    /// Bookmarks a message.
    pub async fn bookmark(&self, a: args::BookmarkArgs) -> Result<(), AppError> {
        self.node.bookmark(&hex::message_id(&a.id)?)?;
        Ok(())
    }

    /// Removes a bookmark.
    pub async fn unbookmark(&self, a: args::UnbookmarkArgs) -> Result<(), AppError> {
        self.node.unbookmark(&hex::message_id(&a.id)?)?;
        Ok(())
    }

    /// The messages I bookmarked.
    pub async fn bookmarks(&self, a: args::BookmarksArgs) -> Result<Vec<MessageView>, AppError> {
        let limit = a.limit.unwrap_or(50).min(200) as usize;
        let items = self.read(|node| node.bookmarks(limit)).await?;
        Ok(items.iter().map(MessageView::from).collect())
    }

    /// Mutes someone; returns their profile.
    pub async fn mute(&self, a: args::MuteArgs) -> Result<Profile, AppError> {
        let k = hex::key(&a.key)?;
        self.node.mute(k)?;
        self.profile_of(&k).await
    }

    /// Unmutes someone; returns their profile.
    pub async fn unmute(&self, a: args::UnmuteArgs) -> Result<Profile, AppError> {
        let k = hex::key(&a.key)?;
        self.node.unmute(k)?;
        self.profile_of(&k).await
    }

    /// Mutes the thread a message is in; returns the thread.
    pub async fn mute_thread(&self, a: args::MuteThreadArgs) -> Result<Thread, AppError> {
        let root = self.node.mute_thread(&hex::message_id(&a.id)?)?;
        let id = hex::format_id(&root);
        self.thread(args::ThreadArgs { id }).await
    }

    /// Unmutes the thread a message is in; returns the thread.
    pub async fn unmute_thread(&self, a: args::UnmuteThreadArgs) -> Result<Thread, AppError> {
        let root = self.node.unmute_thread(&hex::message_id(&a.id)?)?;
        let id = hex::format_id(&root);
        self.thread(args::ThreadArgs { id }).await
    }

    /// What I muted: the people (as the people list shows them) and the threads, each with
    /// its root post where it is held.
    pub async fn muted(&self, _: args::MutedArgs) -> Result<Muted, AppError> {
        let m = self.read(|node| node.mutes()).await?;
        Ok(Muted {
            people: m.people.iter().map(Person::from).collect(),
            threads: m
                .threads
                .iter()
                .map(|(root, post)| MutedThread {
                    root: hex::format_id(root),
                    post: post.as_ref().map(MessageView::from),
                })
                .collect(),
        })
    }

    /// Deletes one of my messages.
    pub async fn delete_message(&self, a: args::DeleteMessageArgs) -> Result<(), AppError> {
        self.node.delete(hex::message_id(&a.id)?)?;
        Ok(())
    }

    /// Sets my name and bio, keeping my avatar.
    pub async fn set_profile(&self, a: args::SetProfileArgs) -> Result<Profile, AppError> {
        let me = self.node.id();
        let avatar = self.node.profile(&me)?.about.and_then(|a| a.avatar);
        let bio = a.bio.unwrap_or_default();
        self.node.set_profile(&a.name, &bio, avatar)?;
        self.profile_of(&me).await
    }

    /// Sets my avatar, keeping name and bio: a PNG, JPEG, GIF or WebP image, made safe by the
    /// node (decoded and encoded again, at most [`rookery_node::AVATAR_SIDE`] pixels a side).
    pub async fn set_avatar(
        &self,
        _: args::SetAvatarArgs,
        image: Vec<u8>,
    ) -> Result<Profile, AppError> {
        let net = self.online()?;
        let me = self.node.id();
        let about = self.node.profile(&me)?.about;
        let (name, bio) = about.map_or_else(Default::default, |a| (a.name, a.bio));
        net.set_profile(&name, &bio, Some(&image)).await?;
        self.profile_of(&me).await
    }

    /// An image by its hash, fetched from the sessions if it is not here yet. Whatever a peer
    /// sent under that hash, what the UI gets is made safe here: decoded and encoded again as
    /// PNG or JPEG ([`rookery_node::images::normalize`]), so no SVG, script or metadata ever
    /// reaches a page; anything else is refused.
    pub async fn blob(&self, a: args::BlobArgs) -> Result<Blob, AppError> {
        let h = rookery_prolly::Hash(hex::blob_hash(&a.hash)?);
        let bytes = match &self.net {
            Some(net) => net.fetch_blob_any(&h, &[]).await?,
            None => None,
        };
        let bytes =
            bytes.ok_or_else(|| AppError::new(ErrorCode::NotFound, "that image is not here"))?;
        let image = tokio::task::spawn_blocking(move || {
            rookery_node::images::normalize(&bytes, rookery_node::images::SHOWN_SIDE)
        })
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| {
            AppError::new(
                ErrorCode::BadData,
                format!("that blob is not an image Rookery shows: {e}"),
            )
        })?;
        Ok(Blob {
            bytes: image.bytes,
            mime: image.mime,
        })
    }

    /// Sessions and what is being fetched.
    pub async fn status(&self, _: args::StatusArgs) -> Result<Status, AppError> {
        let Some(net) = &self.net else {
            return Ok(Status {
                peers: vec![],
                connected: 0,
                busy: false,
                relays: false,
            });
        };
        let peers: Vec<PeerView> = net.peers().iter().map(|p| self.peer_view(p)).collect();
        Ok(Status {
            connected: peers.iter().filter(|p| p.connected).count() as u64,
            busy: net.busy(),
            relays: self.relays,
            peers,
        })
    }

    fn peer_view(&self, p: &rookery_node::PeerState) -> PeerView {
        peer_view(&self.node, p)
    }

    /// The settings.
    pub async fn settings(&self, _: args::SettingsArgs) -> Result<Settings, AppError> {
        let s = self.node.settings()?;
        Ok(Settings {
            relays: s.relays,
            notifications: s.notifications,
            notify_mentions: s.notify.mentions,
            notify_replies: s.notify.replies,
            notify_follows: s.notify.follows,
            restart_required: self.restart_required.load(Ordering::Relaxed),
        })
    }

    /// Changes settings; relays take effect at the next start.
    pub async fn set_settings(&self, a: args::SetSettingsArgs) -> Result<Settings, AppError> {
        let s = self.node.update_settings(|s| {
            if let Some(on) = a.relays {
                s.relays = on;
            }
            if let Some(on) = a.notifications {
                s.notifications = on;
            }
            let kinds = [
                (a.notify_mentions, &mut s.notify.mentions),
                (a.notify_replies, &mut s.notify.replies),
                (a.notify_follows, &mut s.notify.follows),
            ];
            for (want, on) in kinds {
                if let Some(want) = want {
                    *on = want;
                }
            }
        })?;
        if a.relays.is_some() {
            let changed = s.relays != self.relays_setting;
            self.restart_required.store(changed, Ordering::Relaxed);
        }
        self.settings(args::SettingsArgs {}).await
    }

    /// A backup of my secret key.
    pub async fn export_key(&self, _: args::ExportKeyArgs) -> Result<KeyBackup, AppError> {
        let key = self.node.secret_key();
        Ok(KeyBackup {
            secret: hex::format_hash(&key.to_bytes()),
            words: key_words(key),
        })
    }

    /// Starts the demo network (once): a few local peers with history, followed by me.
    pub async fn start_demo(&self, _: args::StartDemoArgs) -> Result<(), AppError> {
        let net = self.online()?;
        let mut demo = self.demo.lock().await;
        if demo.is_none() {
            let dir = self.node.data_dir().join("demo");
            *demo = Some(Demo::start(net, &dir).await?);
        }
        Ok(())
    }

    fn online(&self) -> Result<&Network, AppError> {
        self.net
            .as_ref()
            .ok_or_else(|| AppError::new(ErrorCode::Network, "this needs the node online"))
    }
}
