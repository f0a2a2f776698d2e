//! Rookery's local node, in domain types: one [`Node`] is the local identity, its redb store
//! and every author's feed held there. It takes and gives feed types (`SignedMessage`,
//! `MessageId`, `PublicKey`, `Head`) and typed reads ([`read`]); formatting for people (hex,
//! JSON, names in sentences) is `rookery-app`'s job, above it.
//!
//! One file per job: [`identity`] (the key file and backup words), [`publish`] (the one feed
//! writer), [`read`] (timeline, thread, people, notifications, over one read context per
//! call), [`exchange`] (bundles, and the one door through which other authors' data enters),
//! `local.rs` (the node's own state), and [`net`] (replication, one engine driven by a closed
//! set of inputs).
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod error;
pub mod exchange;
pub mod identity;
pub mod images;
mod local;
mod mentions;
pub mod net;
pub mod publish;
pub mod read;

pub use error::NodeError;
pub use exchange::{Bundle, MAX_BUNDLE_BYTES};
pub use local::Repaired;
pub use net::{FIRST_SCREEN, MAX_AVATAR_BYTES, NetConfig, NetError, Network, PeerState};
pub use read::{
    Cursor, Item, Mutes, Notification, NotificationKind, Notifications, Page, Person, Profile,
    Thread, Unread,
};
pub use rookery_store::{DemoState, Imported, LocalSettings, RepairReport};
pub use rookery_sync::{Limits, NetOptions, Ticket};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rookery_feed::{PublicKey, SecretKey, SignedMessage};
use rookery_prolly::Prolly;
use rookery_store::Store;
use tokio::sync::broadcast;

/// The database file in the data directory.
pub const DB_FILE: &str = "rookery.redb";

/// The time now, in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the node reports as it happens.
#[derive(Clone, Debug)]
pub enum NodeEvent {
    /// The local identity published a message.
    Published(SignedMessage),
    /// Another author's newer head was taken in.
    HeadImported {
        /// The author whose head it is.
        author: PublicKey,
        /// Their new seq.
        seq: u64,
    },
    /// A new mention of, or reply to, the local identity arrived.
    Notification(Notification),
    /// A sync session changed: opened, closed, or fetching something else.
    Peer(PeerState),
}

/// The local node.
pub struct Node {
    dir: PathBuf,
    key: SecretKey,
    me: PublicKey,
    store: Arc<Store>,
    trees: Prolly<Arc<Store>>,
    events: broadcast::Sender<NodeEvent>,
    /// The author of every head that changes (published or imported): what sync subscribers
    /// are told.
    changes: broadcast::Sender<PublicKey>,
    /// Publishing reads the head and writes the next one: one at a time.
    publishing: Mutex<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("dir", &self.dir)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Opens the node whose data lives in `dir`, creating the directory, the identity and the
    /// database on first start.
    pub fn open(dir: impl AsRef<Path>) -> Result<Node, NodeError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(error::io("creating the data directory", &dir))?;
        let key = identity::load_or_create(&dir)?;
        let store = Arc::new(Store::open(dir.join(DB_FILE))?);
        let (events, _) = broadcast::channel(1024);
        let (changes, _) = broadcast::channel(1024);
        Ok(Node {
            changes,
            me: key.public(),
            key,
            trees: Prolly::new(store.clone()),
            store,
            dir,
            events,
            publishing: Mutex::new(()),
        })
    }

    /// The local identity's public key (also its feed id and iroh endpoint id).
    pub fn id(&self) -> PublicKey {
        self.me
    }

    /// The local identity's secret key, for backups.
    pub fn secret_key(&self) -> &SecretKey {
        &self.key
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// The store underneath (for sync and diagnostics).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The trees over the store.
    pub fn trees(&self) -> &Prolly<Arc<Store>> {
        &self.trees
    }

    /// Events from now on: messages published, heads imported, notifications, sync progress.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, e: NodeEvent) {
        let _ = self.events.send(e);
    }

    pub(crate) fn store_arc(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub(crate) fn head_changes(&self) -> broadcast::Sender<PublicKey> {
        self.changes.clone()
    }
}
