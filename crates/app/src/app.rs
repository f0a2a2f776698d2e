//! [`App`]: the node with the operations of the UI, one method per command of the table
//! (`commands.rs`), each taking its generated arguments and returning a view. The desktop
//! shell, the HTTP server, the CLI and the tests all call these; below them the node speaks
//! domain types.
//!
//! Online, reads go through [`Network::read`], so a screen that meets data not fetched yet
//! fetches it from the sessions instead of failing. Offline (the CLI's commands that do not go
//! online), the same methods run against the store alone, with the same rules. Arguments arrive
//! as text from an untrusted UI and are parsed here, with a readable error for anything
//! malformed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rookery_feed::{Content, PublicKey};
use rookery_node::identity::key_words;
use rookery_node::{Bundle, NetConfig, NetOptions, Network, Node, NodeError, NodeEvent, Ticket};
use tokio::sync::broadcast;

use crate::args;
use crate::demo::Demo;
use crate::hex::{self, Address};
use crate::view::{
    Blob, Event, KeyBackup, Me, MessageView, Notification, Notifications, Page, PeerView, Person,
    Profile, Settings, Status, Thread, Unread,
};
use crate::{AppError, ErrorCode};

/// The page size when the UI names none, and the largest it may ask for.
const DEFAULT_LIMIT: u32 = 30;
const MAX_LIMIT: u32 = 200;

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

/// The node, online or not, with the operations of the UI.
#[derive(Debug)]
pub struct App {
    node: Arc<Node>,
    net: Option<Network>,
    /// Relays on for this run (the setting, unless `--offline`).
    relays: bool,
    /// The relays setting as it was at start: a change from it needs a restart.
    relays_setting: bool,
    demo: tokio::sync::Mutex<Option<Demo>>,
    restart_required: AtomicBool,
}

fn limit(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
}

fn cursor(text: Option<&str>) -> Result<Option<rookery_node::Cursor>, AppError> {
    text.filter(|t| !t.is_empty()).map(hex::cursor).transpose()
}

impl App {
    /// The node offline: the same operations over the store alone (the CLI's commands that
    /// do not go online).
    pub fn offline(node: Node) -> App {
        App {
            node: Arc::new(node),
            net: None,
            relays: false,
            relays_setting: false,
            demo: tokio::sync::Mutex::new(None),
            restart_required: AtomicBool::new(false),
        }
    }

    /// Starts `node` online with its stored settings (relays, the last port) and `options`.
    pub async fn start(node: Node, options: AppOptions) -> Result<App, AppError> {
        let settings = node.settings()?;
        let bind = options
            .bind
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], settings.udp_port.unwrap_or(0))));
        let online = settings.relays && !options.offline;
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
            node.update_settings(|s| s.udp_port = Some(port))?;
        }
        if online && options.wait_for_relay {
            // Wait a little for a relay, so the ticket carries one.
            let _ = tokio::time::timeout(Duration::from_secs(5), net.endpoint().online()).await;
        }
        Ok(App {
            node,
            net: Some(net),
            relays: online,
            relays_setting: settings.relays,
            demo: tokio::sync::Mutex::new(None),
            restart_required: AtomicBool::new(false),
        })
    }

    /// The node underneath.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The network underneath, when online.
    pub fn network(&self) -> Option<&Network> {
        self.net.as_ref()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.node.data_dir()
    }

    /// Runs a read: through the sessions when online, so what is missing is fetched.
    async fn read<T>(&self, f: impl Fn(&Node) -> Result<T, NodeError>) -> Result<T, AppError> {
        Ok(match &self.net {
            Some(net) => net.read(f).await?,
            None => f(&self.node)?,
        })
    }

    fn message(&self, m: &rookery_feed::SignedMessage) -> Result<MessageView, AppError> {
        let name = self.node.name_of(&m.message().author)?;
        Ok(MessageView::of(m, name))
    }

    /// Whether desktop notifications are on.
    pub fn notifications_on(&self) -> bool {
        self.node.settings().is_ok_and(|s| s.notifications)
    }

    /// Events from now on, as views.
    pub fn events(&self) -> Events {
        Events {
            rx: self.node.subscribe(),
            node: self.node.clone(),
        }
    }

    /// Stops the demo peers and goes offline.
    pub async fn shutdown(&self) {
        if let Some(d) = self.demo.lock().await.take() {
            d.shutdown().await;
        }
        if let Some(net) = &self.net {
            net.shutdown().await;
        }
    }

    // ----- the commands -----

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

    /// Sets my avatar (an image of at most [`rookery_node::MAX_AVATAR_BYTES`]), keeping name
    /// and bio.
    pub async fn set_avatar(
        &self,
        _: args::SetAvatarArgs,
        image: Vec<u8>,
    ) -> Result<Profile, AppError> {
        if image_type(&image).is_none() {
            return Err(AppError::bad_request(
                "an avatar must be a PNG, JPEG, GIF, WebP or SVG image",
            ));
        }
        let net = self.online()?;
        let me = self.node.id();
        let about = self.node.profile(&me)?.about;
        let (name, bio) = about.map_or_else(Default::default, |a| (a.name, a.bio));
        net.set_profile(&name, &bio, Some(&image)).await?;
        self.profile_of(&me).await
    }

    /// An image by its hash, fetched from the sessions if it is not here yet; with its media
    /// type (only images are served).
    pub async fn blob(&self, a: args::BlobArgs) -> Result<Blob, AppError> {
        let h = rookery_prolly::Hash(hex::blob_hash(&a.hash)?);
        let bytes = match &self.net {
            Some(net) => net.fetch_blob_any(&h, &[]).await?,
            None => None,
        };
        let bytes =
            bytes.ok_or_else(|| AppError::new(ErrorCode::NotFound, "that image is not here"))?;
        let mime =
            image_type(&bytes).ok_or_else(|| AppError::bad_request("that blob is not an image"))?;
        Ok(Blob { bytes, mime })
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

    // ----- what the command line does besides -----

    /// Everything held of `author`'s feed (mine if `None`), as a bundle file's bytes.
    pub fn export_bundle(&self, author: Option<&str>) -> Result<(Vec<u8>, usize, usize), AppError> {
        let author = author.map(hex::key).transpose()?.unwrap_or(self.node.id());
        let b = self.node.export(&author)?;
        Ok((b.to_bytes(), b.bodies.len(), b.nodes.len()))
    }

    /// Takes in a bundle file's bytes, verifying everything in it.
    pub fn import_bundle(&self, bytes: &[u8]) -> Result<rookery_node::Imported, AppError> {
        Ok(self.node.import(&Bundle::from_bytes(bytes)?)?)
    }
}

/// A peer's state as shown, with names from `node`.
pub(crate) fn peer_view(node: &Node, p: &rookery_node::PeerState) -> PeerView {
    PeerView::of(p, |k| node.name_of(k).ok().flatten())
}

/// The node's events as views.
#[derive(Debug)]
pub struct Events {
    rx: broadcast::Receiver<NodeEvent>,
    node: Arc<Node>,
}

/// What [`Events::next`] gives.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(Box<Event>),
    /// This many events were missed (the reader fell behind): reload what is shown.
    Missed(u64),
    /// The node stopped.
    Closed,
}

impl Events {
    /// The next event.
    pub async fn next(&mut self) -> Next {
        {
            let e = match self.rx.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => return Next::Missed(n),
                Err(broadcast::error::RecvError::Closed) => return Next::Closed,
            };
            let view = match &e {
                NodeEvent::Published(m) => {
                    let name = self.node.name_of(&m.message().author).ok().flatten();
                    Event::Published {
                        message: MessageView::of(m, name),
                    }
                }
                NodeEvent::HeadImported { author, seq } => Event::HeadImported {
                    author: hex::format_key(author),
                    seq: *seq,
                },
                NodeEvent::Notification(n) => Event::Notification {
                    notification: Notification::from(n),
                },
                NodeEvent::Peer(p) => Event::Peer {
                    peer: peer_view(&self.node, p),
                },
            };
            Next::Event(Box::new(view))
        }
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
