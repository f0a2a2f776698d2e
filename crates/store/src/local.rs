//! The local node's own state, one typed table per kind (schema 3): notifications marked read
//! one by one, the roots each author's indexes are known complete at (background catch-up),
//! the user's settings, and the demo network's state. Migration 2 → 3 moves each of them out
//! of the untyped `settings` table of schema 2, which it then deletes.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use rookery_feed::{Index, MessageId, PublicKey};
use rookery_prolly::Hash;
use serde::{Deserialize, Serialize};

use crate::feeds::author_index_key;
use crate::{Error, Store};

/// Notifications marked read one by one: `message id → ()`.
pub(crate) const READ_MARKS: TableDefinition<'_, &[u8; 32], ()> =
    TableDefinition::new("read_marks");
/// Background catch-up: `author ‖ index byte → the root held in full`.
pub(crate) const BACKFILL: TableDefinition<'_, &[u8; 33], &[u8; 32]> =
    TableDefinition::new("backfill");
/// The user's settings: one row, [`SETTINGS_ROW`] → `postcard(LocalSettings)`.
pub(crate) const LOCAL_SETTINGS: TableDefinition<'_, &str, &[u8]> =
    TableDefinition::new("local_settings");
/// The demo network's state (in the first persona's store): one row → `postcard(DemoState)`.
pub(crate) const DEMO: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("demo");
/// Mutes, local and private (schema 5): `kind byte ‖ key or thread root id → ()` (see
/// [`Muted`]).
pub(crate) const MUTED: TableDefinition<'_, &[u8; 33], ()> = TableDefinition::new("muted");
/// Bookmarks, local and private (schema 5): `message id → when it was bookmarked (ms)`.
pub(crate) const BOOKMARKS: TableDefinition<'_, &[u8; 32], u64> = TableDefinition::new("bookmarks");
/// The untyped settings of schema 2 (`name → bytes`), read only by the migration.
const OLD_SETTINGS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("settings");

const SETTINGS_ROW: &str = "settings";
const DEMO_ROW: &str = "state";

/// The user's settings, and what the node keeps between runs. Field order is the stored order;
/// a new field is a new schema version with a migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalSettings {
    /// Relays and iroh's address lookup on (off: direct addresses and the LAN only).
    pub relays: bool,
    /// Desktop notifications of new mentions and replies.
    pub notifications: bool,
    /// The UDP port bound last time, so a ticket stays valid across restarts.
    pub udp_port: Option<u16>,
    /// Which kinds of desktop notification to show, while `notifications` is on (schema 5).
    pub notify: NotifyKinds,
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings {
            relays: true,
            notifications: true,
            udp_port: None,
            notify: NotifyKinds::default(),
        }
    }
}

/// The kinds of desktop notification, each on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyKinds {
    /// A post that mentions me.
    pub mentions: bool,
    /// A reply to one of my posts.
    pub replies: bool,
    /// Someone followed me.
    pub follows: bool,
}

impl Default for NotifyKinds {
    fn default() -> Self {
        NotifyKinds {
            mentions: true,
            replies: true,
            follows: true,
        }
    }
}

/// [`LocalSettings`] as schemas 3 and 4 stored them, read only by migration 4 → 5.
#[derive(Deserialize)]
struct LocalSettingsV4 {
    relays: bool,
    notifications: bool,
    udp_port: Option<u16>,
}

/// What the local identity muted: hidden here, nothing published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Muted {
    /// A person: their posts leave Home and their mentions leave the notifications.
    Person(PublicKey),
    /// A thread, by its root: its replies and mentions leave the notifications.
    Thread(MessageId),
}

impl Muted {
    fn key(&self) -> [u8; 33] {
        let (kind, id) = match self {
            Muted::Person(k) => (0u8, *k.as_bytes()),
            Muted::Thread(m) => (1u8, *m.as_bytes()),
        };
        let mut key = [0u8; 33];
        key[0] = kind;
        key[1..].copy_from_slice(&id);
        key
    }

    fn from_key(key: &[u8; 33]) -> Option<Self> {
        let id: [u8; 32] = key[1..].try_into().ok()?;
        match key[0] {
            0 => rookery_feed::public_key(id).ok().map(Muted::Person),
            1 => Some(Muted::Thread(MessageId(id))),
            _ => None,
        }
    }
}

/// The demo network's progress, so a run cut short finishes the job next time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoState {
    /// Every persona has its history, profile and follows.
    pub ready: bool,
}

/// Creates the tables of schema 3 (part of a new database and of the migration).
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(READ_MARKS)?;
    txn.open_table(BACKFILL)?;
    txn.open_table(LOCAL_SETTINGS)?;
    txn.open_table(DEMO)?;
    txn.open_table(MUTED)?;
    txn.open_table(BOOKMARKS)?;
    Ok(())
}

/// Migration 4 → 5 creates the `muted` and `bookmarks` tables, and gives the settings row the
/// kinds of desktop notification (all on). A row that does not decode as schema 4's is left
/// as it is: it is either already the new one (written by migration 2 → 3 in the same run) or
/// damaged, which a repair drops (the defaults come back).
pub(crate) fn migrate_4_to_5(txn: &WriteTransaction) -> Result<(), Error> {
    txn.open_table(MUTED)?;
    txn.open_table(BOOKMARKS)?;
    let mut table = txn.open_table(LOCAL_SETTINGS)?;
    let old = table.get(SETTINGS_ROW)?.map(|v| v.value().to_vec());
    if let Some(Ok((v4, []))) = old
        .as_deref()
        .map(postcard::take_from_bytes::<LocalSettingsV4>)
    {
        let new = LocalSettings {
            relays: v4.relays,
            notifications: v4.notifications,
            udp_port: v4.udp_port,
            notify: NotifyKinds::default(),
        };
        table.insert(SETTINGS_ROW, encode(&new).as_slice())?;
    }
    Ok(())
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of booleans and integers always encode.
    postcard::to_allocvec(value).unwrap_or_default()
}

impl Store {
    pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
        &self,
        bytes: &[u8],
        what: &str,
    ) -> Result<T, Error> {
        match postcard::take_from_bytes::<T>(bytes) {
            Ok((v, [])) => Ok(v),
            _ => Err(self.damaged(format!("the stored {what} do not decode"))),
        }
    }
}

/// Migration 1 → 2 created the feed tables and the untyped `settings` table.
pub(crate) fn migrate_1_to_2(txn: &WriteTransaction) -> Result<(), Error> {
    crate::feeds::create_tables(txn)?;
    txn.open_table(OLD_SETTINGS)?;
    Ok(())
}

/// Migration 2 → 3: the untyped settings rows become typed rows of their own tables; rows no
/// build ever wrote are dropped with the old table.
pub(crate) fn migrate_2_to_3(txn: &WriteTransaction) -> Result<(), Error> {
    create_tables(txn)?;
    let mut rows: Vec<(String, Vec<u8>)> = Vec::new();
    {
        let old = txn.open_table(OLD_SETTINGS)?;
        for row in old.iter()? {
            let (k, v) = row?;
            rows.push((k.value().to_string(), v.value().to_vec()));
        }
    }
    let mut settings = LocalSettings::default();
    {
        let mut marks = txn.open_table(READ_MARKS)?;
        let mut backfill = txn.open_table(BACKFILL)?;
        for (name, value) in &rows {
            let text = || std::str::from_utf8(value).ok();
            match name.split('/').collect::<Vec<_>>().as_slice() {
                ["relays"] => settings.relays = text() != Some("off"),
                ["notifications"] => settings.notifications = text() != Some("off"),
                ["net.port"] => settings.udp_port = text().and_then(|t| t.parse().ok()),
                ["demo.ready"] => {
                    let row = encode(&DemoState { ready: true });
                    txn.open_table(DEMO)?.insert(DEMO_ROW, row.as_slice())?;
                }
                ["read", id] => {
                    if let Ok(id) = <[u8; 32]>::try_from(hex::decode(id).unwrap_or_default()) {
                        marks.insert(&id, ())?;
                    }
                }
                ["complete", author, index] => {
                    let author = <[u8; 32]>::try_from(hex::decode(author).unwrap_or_default());
                    let index = Index::ALL.into_iter().find(|i| i.name() == *index);
                    let root = <[u8; 32]>::try_from(value.as_slice());
                    if let (Ok(a), Some(i), Ok(r), true) = (author, index, root, value.len() == 32)
                        && let Ok(a) = PublicKey::from_bytes(&a)
                    {
                        backfill.insert(&author_index_key(&a, i), &r)?;
                    }
                }
                _ => {}
            }
        }
    }
    let row = encode(&settings);
    txn.open_table(LOCAL_SETTINGS)?
        .insert(SETTINGS_ROW, row.as_slice())?;
    txn.delete_table(OLD_SETTINGS)?;
    Ok(())
}

impl Store {
    /// The user's settings (the defaults until something is set).
    pub fn settings(&self) -> Result<LocalSettings, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(LOCAL_SETTINGS)?;
            match table.get(SETTINGS_ROW)? {
                Some(v) => self.decode(v.value(), "settings"),
                None => Ok(LocalSettings::default()),
            }
        })
    }

    /// Changes the user's settings in one transaction (read, change, write), and returns them.
    pub fn update_settings(
        &self,
        change: impl FnOnce(&mut LocalSettings),
    ) -> Result<LocalSettings, Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            let settings = {
                let mut table = txn.open_table(LOCAL_SETTINGS)?;
                let mut s = match table.get(SETTINGS_ROW)? {
                    Some(v) => self.decode(v.value(), "settings")?,
                    None => LocalSettings::default(),
                };
                change(&mut s);
                table.insert(SETTINGS_ROW, encode(&s).as_slice())?;
                s
            };
            txn.commit()?;
            Ok(settings)
        })
    }

    /// Marks one notification read.
    pub fn mark_read(&self, id: &MessageId) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            txn.open_table(READ_MARKS)?.insert(id.as_bytes(), ())?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Which of `ids` were marked read one by one, in the order asked.
    pub fn are_read(&self, ids: &[MessageId]) -> Result<Vec<bool>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(READ_MARKS)?;
            ids.iter()
                .map(|id| Ok(table.get(id.as_bytes())?.is_some()))
                .collect()
        })
    }

    /// The root of `author`'s `index` last known to be held in full, if any.
    pub fn backfilled(&self, author: &PublicKey, index: Index) -> Result<Option<Hash>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(BACKFILL)?;
            Ok(table
                .get(&author_index_key(author, index))?
                .map(|v| Hash(*v.value())))
        })
    }

    /// Records that `author`'s `index` is held in full at `root`.
    pub fn set_backfilled(
        &self,
        author: &PublicKey,
        index: Index,
        root: &Hash,
    ) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            txn.open_table(BACKFILL)?
                .insert(&author_index_key(author, index), root.as_bytes())?;
            txn.commit()?;
            Ok(())
        })
    }

    /// The demo network's state.
    pub fn demo_state(&self) -> Result<DemoState, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(DEMO)?;
            match table.get(DEMO_ROW)? {
                Some(v) => self.decode(v.value(), "demo state"),
                None => Ok(DemoState::default()),
            }
        })
    }

    /// Records the demo network's state.
    pub fn set_demo_state(&self, state: &DemoState) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            txn.open_table(DEMO)?
                .insert(DEMO_ROW, encode(state).as_slice())?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Every row of the local tables, for [`Store::digest`].
    pub(crate) fn digest_local(
        txn: &redb::ReadTransaction,
        feed: &mut impl FnMut(&str, &[u8], &[u8]),
    ) -> Result<(), Error> {
        for row in txn.open_table(READ_MARKS)?.iter()? {
            let (k, _) = row?;
            feed("read_marks", k.value(), &[]);
        }
        for row in txn.open_table(BACKFILL)?.iter()? {
            let (k, v) = row?;
            feed("backfill", k.value(), v.value());
        }
        for (name, t) in [("local_settings", LOCAL_SETTINGS), ("demo", DEMO)] {
            for row in txn.open_table(t)?.iter()? {
                let (k, v) = row?;
                feed(name, k.value().as_bytes(), v.value());
            }
        }
        Ok(())
    }
}

/// In [`crate::META`]: 1 while the local identity's own feed is known not to be whole here
/// (after a repair dropped part of it), until it is restored from peers or started over.
const OWN_FEED_LOST_KEY: &str = "own_feed_lost";

impl Store {
    /// Whether the local identity's own feed is marked not whole here (see
    /// [`Store::set_own_feed_lost`]).
    pub fn own_feed_lost(&self) -> Result<bool, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let meta = txn.open_table(crate::META)?;
            Ok(meta.get(OWN_FEED_LOST_KEY)?.is_some_and(|v| v.value() != 0))
        })
    }

    /// Marks the own feed lost (publishing waits until it is restored) or whole again.
    pub fn set_own_feed_lost(&self, lost: bool) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            {
                let mut meta = txn.open_table(crate::META)?;
                if lost {
                    meta.insert(OWN_FEED_LOST_KEY, 1)?;
                } else {
                    meta.remove(OWN_FEED_LOST_KEY)?;
                }
            }
            txn.commit()?;
            Ok(())
        })
    }
}

impl Store {
    /// Mutes (`on`) or unmutes `what`; whether that changed anything.
    pub fn set_muted(&self, what: Muted, on: bool) -> Result<bool, Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            let changed = {
                let mut t = txn.open_table(MUTED)?;
                if on {
                    t.insert(&what.key(), ())?.is_none()
                } else {
                    t.remove(&what.key())?.is_some()
                }
            };
            txn.commit()?;
            Ok(changed)
        })
    }

    /// Everything muted, people first.
    pub fn muted(&self) -> Result<Vec<Muted>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(MUTED)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, _) = row?;
                out.push(
                    Muted::from_key(k.value())
                        .ok_or_else(|| self.damaged("a stored mute names nothing known"))?,
                );
            }
            Ok(out)
        })
    }
}

impl Store {
    /// Bookmarks `id` at `at_ms` (`Some`), or removes its bookmark (`None`); whether that
    /// changed anything (a bookmark already there keeps its time).
    pub fn set_bookmark(&self, id: &MessageId, at_ms: Option<u64>) -> Result<bool, Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            let changed = {
                let mut t = txn.open_table(BOOKMARKS)?;
                match at_ms {
                    Some(_) if t.get(id.as_bytes())?.is_some() => false,
                    Some(at) => t.insert(id.as_bytes(), at)?.is_none(),
                    None => t.remove(id.as_bytes())?.is_some(),
                }
            };
            txn.commit()?;
            Ok(changed)
        })
    }

    /// Every bookmark with the time it was made, the newest first.
    pub fn bookmarks(&self) -> Result<Vec<(MessageId, u64)>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(BOOKMARKS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, v) = row?;
                out.push((MessageId(*k.value()), v.value()));
            }
            out.sort_by(|a, b| (b.1, b.0.as_bytes()).cmp(&(a.1, a.0.as_bytes())));
            Ok(out)
        })
    }
}
