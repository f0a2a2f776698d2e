//! The node as an app: one online [`Network`] with the operations the UI calls, each taking
//! and returning the plain types of [`crate::api`]. The desktop shell's commands and the HTTP
//! server's routes are one-line adapters over these methods, so both transports behave alike.
//!
//! Reads go through [`Network::read`], so a screen that meets data not fetched yet fetches it
//! from the sessions instead of failing. Arguments arrive as text from an untrusted UI and are
//! parsed here, with a readable error for anything malformed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rookery_feed::{MessageId, PublicKey, parse_key};
use rookery_prolly::Hash;
use tokio::sync::broadcast;

use crate::api::{
    Event, KeyBackup, Me, MessageView, Notifications, Page, Person, Profile, Settings, Status,
    Thread,
};
use crate::demo::Demo;
use crate::{NetConfig, NetOptions, Network, Node, NodeError, Ticket};

/// The setting that turns relays and discovery off (`off`) or on.
pub const RELAYS_SETTING: &str = "relays";
/// The setting that turns desktop notifications off (`off`) or on.
pub const NOTIFY_SETTING: &str = "notifications";
/// The UDP port used last time, so a ticket stays valid across restarts.
const PORT_SETTING: &str = "net.port";
/// The page size when the UI names none, and the largest it may ask for.
const DEFAULT_LIMIT: usize = 30;
const MAX_LIMIT: usize = 200;
/// The longest post, in characters.
pub const MAX_POST_CHARS: usize = 4000;
/// The longest name and bio, in characters.
const MAX_NAME_CHARS: usize = 64;
const MAX_BIO_CHARS: usize = 500;

/// How the app goes online, on top of the settings stored in the node.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Direct addresses only, whatever the relays setting says.
    pub offline: bool,
    /// The UDP address to bind (default: all interfaces, the port used last time).
    pub bind: Option<SocketAddr>,
    /// Peers to keep a session with ("pubs").
    pub pubs: Vec<Ticket>,
    /// Online: wait (up to 5 s) for a home relay before returning, so the first ticket carries
    /// it. A command that prints the ticket wants this; the desktop app shows its window at once
    /// and its UI reads the ticket again when it shows it (by then with the relay).
    pub wait_for_relay: bool,
}

/// The node online, with the operations of the UI.
#[derive(Debug)]
pub struct App {
    node: Arc<Node>,
    net: Network,
    /// Relays on for this run (the setting, unless `--offline`).
    relays: bool,
    /// The relays setting as it was at start: a change from it needs a restart.
    relays_setting: bool,
    demo: tokio::sync::Mutex<Option<Demo>>,
    /// Set when a setting changed that needs a restart.
    restart_required: Mutex<bool>,
}

fn bad(what: &str) -> NodeError {
    NodeError::BadRequest(what.to_string())
}

fn key(text: &str) -> Result<PublicKey, NodeError> {
    parse_key(text.trim()).map_err(|_| bad("that is not a key (64 hex digits)"))
}

fn message_id(text: &str) -> Result<MessageId, NodeError> {
    text.trim()
        .parse()
        .map_err(|_| bad("that is not a message id (64 hex digits)"))
}

fn limit(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

fn check_text(text: &str, what: &'static str, max: usize) -> Result<(), NodeError> {
    if text.chars().count() > max {
        return Err(NodeError::TooLarge { what, max });
    }
    Ok(())
}

impl App {
    /// Starts `node` online with its stored settings (relays, the last port) and `options`.
    pub async fn start(node: Node, options: AppOptions) -> Result<App, NodeError> {
        let store = node.store();
        let relays = store.setting(RELAYS_SETTING)?.as_deref() != Some(b"off");
        let port = store
            .setting(PORT_SETTING)?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        let bind = options
            .bind
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], port)));
        let online = relays && !options.offline;
        let config = NetConfig {
            net: NetOptions {
                online,
                mdns: !bind.ip().is_loopback(),
                bind: Some(bind),
            },
            pubs: options.pubs,
            ..NetConfig::default()
        };
        let node = Arc::new(node);
        let net = node.start(config).await?;
        if let Some(port) = net.endpoint().bound_sockets().first().map(|a| a.port()) {
            node.store()
                .set_setting(PORT_SETTING, port.to_string().as_bytes())?;
        }
        if online && options.wait_for_relay {
            // Wait a little for a relay, so the ticket carries one.
            let _ = tokio::time::timeout(Duration::from_secs(5), net.endpoint().online()).await;
        }
        Ok(App {
            node,
            net,
            relays: online,
            relays_setting: relays,
            demo: tokio::sync::Mutex::new(None),
            restart_required: Mutex::new(false),
        })
    }

    /// The node underneath.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The network underneath.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.node.subscribe()
    }

    /// Whether desktop notifications are on.
    pub fn notifications_on(&self) -> bool {
        self.node
            .store()
            .setting(NOTIFY_SETTING)
            .ok()
            .flatten()
            .as_deref()
            != Some(b"off")
    }

    /// Who I am, my ticket and my profile.
    pub async fn me(&self) -> Result<Me, NodeError> {
        Ok(Me {
            key: rookery_feed::format_key(&self.node.id()),
            ticket: self.net.ticket().to_string(),
            profile: self.profile_of(&self.node.id()).await?,
        })
    }

    /// The home timeline, a page at a time.
    pub async fn timeline(
        &self,
        cursor: Option<&str>,
        limit_: Option<usize>,
    ) -> Result<Page, NodeError> {
        let n = limit(limit_);
        self.net.read(|node| node.timeline(cursor, n)).await
    }

    /// One author's posts, a page at a time.
    pub async fn author_feed(
        &self,
        author: &str,
        cursor: Option<&str>,
        limit_: Option<usize>,
    ) -> Result<Page, NodeError> {
        let (author, n) = (key(author)?, limit(limit_));
        self.net
            .read(|node| node.author_feed(&author, cursor, n))
            .await
    }

    /// A thread: the root of the thread `id` is in, and its replies.
    pub async fn thread(&self, id: &str) -> Result<Thread, NodeError> {
        let id = message_id(id)?;
        let root = match self.net.read(|node| node.message(&id)).await? {
            Some(MessageView {
                content: crate::api::ContentView::Post { root: Some(r), .. },
                ..
            }) => message_id(&r)?,
            _ => id,
        };
        self.net.read(|node| node.thread(&root)).await
    }

    /// An author's profile.
    pub async fn profile(&self, author: &str) -> Result<Profile, NodeError> {
        let author = key(author)?;
        self.profile_of(&author).await
    }

    /// A profile, read through the sessions: its follower count reads every author's
    /// `follows` tree, and one of them may still be arriving.
    async fn profile_of(&self, author: &PublicKey) -> Result<Profile, NodeError> {
        self.net.read(|node| node.profile(author)).await
    }

    /// Everyone known here.
    pub async fn people(&self) -> Result<Vec<Person>, NodeError> {
        self.net.read(|node| node.people()).await
    }

    /// The latest notifications and the unread count.
    pub async fn notifications(&self, limit_: Option<usize>) -> Result<Notifications, NodeError> {
        let n = limit(limit_);
        self.net.read(|node| node.notification_list(n)).await
    }

    /// Marks one notification (or all) read; returns the latest `limit` after.
    pub async fn mark_read(
        &self,
        id: Option<&str>,
        limit_: Option<usize>,
    ) -> Result<Notifications, NodeError> {
        let id = id.map(message_id).transpose()?;
        self.node.mark_notification_read(id.as_ref())?;
        self.notifications(limit_).await
    }

    /// Posts `text`.
    pub async fn post(&self, text: &str) -> Result<MessageView, NodeError> {
        if text.trim().is_empty() {
            return Err(bad("a post needs some text"));
        }
        check_text(text, "post", MAX_POST_CHARS)?;
        self.node.post(text)
    }

    /// Replies to `parent`.
    pub async fn reply(&self, parent: &str, text: &str) -> Result<MessageView, NodeError> {
        let parent = message_id(parent)?;
        if text.trim().is_empty() {
            return Err(bad("a reply needs some text"));
        }
        check_text(text, "reply", MAX_POST_CHARS)?;
        self.node.reply(&parent, text)
    }

    /// Follows by key or ticket and dials them; returns their profile.
    pub async fn follow(&self, address: &str) -> Result<Profile, NodeError> {
        let m = self.net.follow(address)?;
        if let Ok(t) = address.trim().parse::<Ticket>() {
            // Best effort: the follow stands even if they are offline now.
            let _ = tokio::time::timeout(Duration::from_secs(5), self.net.connect(&t)).await;
        }
        let crate::api::ContentView::Follow { target } = m.content else {
            return Err(bad("follow did not publish a follow"));
        };
        match self.profile(&target).await {
            // Their feed is still on its way: the follow stands, the profile fills in later.
            Err(NodeError::MissingNodes(_) | NodeError::MissingBodies(_)) => Ok(Profile {
                key: target,
                name: None,
                bio: None,
                avatar: None,
                follows: vec![],
                followers: 0,
                followed_by_me: true,
                blocked_by_me: false,
                seq: None,
            }),
            r => r,
        }
    }

    /// Unfollows.
    pub async fn unfollow(&self, author: &str) -> Result<Profile, NodeError> {
        let k = key(author)?;
        self.node.unfollow(k)?;
        self.profile_of(&k).await
    }

    /// Blocks.
    pub async fn block(&self, author: &str) -> Result<Profile, NodeError> {
        let k = key(author)?;
        if k == self.node.id() {
            return Err(bad("you cannot block yourself"));
        }
        self.node.block(k)?;
        self.profile_of(&k).await
    }

    /// Deletes one of my messages.
    pub async fn delete(&self, id: &str) -> Result<(), NodeError> {
        let id = message_id(id)?;
        match self.node.message(&id)? {
            Some(m) if m.author == rookery_feed::format_key(&self.node.id()) => {
                self.node.delete(id)?;
                Ok(())
            }
            Some(_) => Err(bad("only your own posts can be deleted")),
            None => Err(NodeError::UnknownMessage(id)),
        }
    }

    /// Sets my name and bio, keeping my avatar.
    pub async fn set_profile(&self, name: &str, bio: &str) -> Result<Profile, NodeError> {
        let (name, bio) = (name.trim(), bio.trim());
        check_text(name, "name", MAX_NAME_CHARS)?;
        check_text(bio, "bio", MAX_BIO_CHARS)?;
        let me = self.node.id();
        let avatar = self.profile_of(&me).await?.avatar;
        let avatar = avatar.as_deref().and_then(Hash::from_hex).map(|h| h.0);
        self.node.set_profile(name, bio, avatar)?;
        self.profile_of(&me).await
    }

    /// Sets my avatar (an image of at most [`crate::MAX_AVATAR_BYTES`]), keeping name and bio.
    pub async fn set_avatar(&self, image: &[u8]) -> Result<Profile, NodeError> {
        if image_type(image).is_none() {
            return Err(bad("an avatar must be a PNG, JPEG, GIF, WebP or SVG image"));
        }
        let me = self.node.id();
        let p = self.profile_of(&me).await?;
        self.net
            .set_profile(
                p.name.as_deref().unwrap_or(""),
                p.bio.as_deref().unwrap_or(""),
                Some(image),
            )
            .await?;
        self.profile_of(&me).await
    }

    /// An image by its hash, fetched from the sessions if it is not here yet; with its
    /// media type (only images are served).
    pub async fn blob(&self, hash: &str) -> Result<(Vec<u8>, &'static str), NodeError> {
        let h = Hash::from_hex(hash.trim()).ok_or_else(|| bad("that is not a blob hash"))?;
        let bytes = self
            .net
            .fetch_blob_any(&h, &[])
            .await?
            .ok_or_else(|| NodeError::NotFound("that image is not here".into()))?;
        let kind = image_type(&bytes).ok_or_else(|| bad("that blob is not an image"))?;
        Ok((bytes, kind))
    }

    /// Sessions and what is being fetched.
    pub async fn status(&self) -> Result<Status, NodeError> {
        let peers = self.net.peers();
        Ok(Status {
            connected: peers.iter().filter(|p| p.connected).count() as u64,
            busy: self.net.busy(),
            relays: self.relays,
            peers,
        })
    }

    /// The settings.
    pub async fn settings(&self) -> Result<Settings, NodeError> {
        let store = self.node.store();
        Ok(Settings {
            relays: store.setting(RELAYS_SETTING)?.as_deref() != Some(b"off"),
            notifications: self.notifications_on(),
            restart_required: *self
                .restart_required
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        })
    }

    /// Changes settings; relays take effect at the next start.
    pub async fn set_settings(
        &self,
        relays: Option<bool>,
        notifications: Option<bool>,
    ) -> Result<Settings, NodeError> {
        let store = self.node.store();
        let word = |on: bool| {
            if on {
                b"on".as_slice()
            } else {
                b"off".as_slice()
            }
        };
        if let Some(on) = relays {
            store.set_setting(RELAYS_SETTING, word(on))?;
            *self
                .restart_required
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = on != self.relays_setting;
        }
        if let Some(on) = notifications {
            store.set_setting(NOTIFY_SETTING, word(on))?;
        }
        self.settings().await
    }

    /// A backup of my secret key.
    pub async fn export_key(&self) -> Result<KeyBackup, NodeError> {
        let secret = self.node.secret_key().to_bytes();
        Ok(KeyBackup {
            secret: Hash(secret).to_hex(),
            words: crate::key_words(&secret),
        })
    }

    /// Starts the demo network (once): a few local peers with history, followed by me.
    pub async fn start_demo(&self) -> Result<(), NodeError> {
        let mut demo = self.demo.lock().await;
        if demo.is_none() {
            let dir = self.node.data_dir().join("demo");
            *demo = Some(Demo::start(&self.net, &dir).await?);
        }
        Ok(())
    }

    /// Stops the demo peers and goes offline.
    pub async fn shutdown(&self) {
        if let Some(d) = self.demo.lock().await.take() {
            d.shutdown().await;
        }
        self.net.shutdown().await;
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.node.data_dir()
    }
}

/// The media type of an image, from its first bytes; `None` for anything else.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| bytes.starts_with(p);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"<svg") || starts(b"<?xml") {
        Some("image/svg+xml")
    } else {
        None
    }
}
