//! The node's own state, typed: the user's settings, the address cache, blocks, and the
//! bookkeeping of background catch-up (the root each author's index is known complete at).
//! Read marks of notifications are in `read/notify.rs`, with the notifications.

use std::collections::HashSet;

use rookery_feed::{Index, PublicKey};
use rookery_prolly::{EMPTY_ROOT, Hash};
use rookery_store::LocalSettings;

use crate::{Node, NodeError, Ticket};

impl Node {
    /// The user's settings.
    pub fn settings(&self) -> Result<LocalSettings, NodeError> {
        Ok(self.store.settings()?)
    }

    /// Changes the user's settings in one transaction; returns them as changed.
    pub fn update_settings(
        &self,
        change: impl FnOnce(&mut LocalSettings),
    ) -> Result<LocalSettings, NodeError> {
        Ok(self.store.update_settings(change)?)
    }

    /// Records how to reach a peer (its ticket) in the address cache.
    pub fn remember_peer(&self, ticket: &Ticket) -> Result<(), NodeError> {
        Ok(self
            .store
            .set_peer(&ticket.0.id, ticket.to_string().as_bytes())?)
    }

    /// Every peer whose address is cached, with its ticket.
    pub fn known_peers(&self) -> Result<Vec<(PublicKey, Ticket)>, NodeError> {
        Ok(self
            .store
            .peers()?
            .into_iter()
            .filter_map(|(k, v)| {
                let t: Ticket = std::str::from_utf8(&v).ok()?.parse().ok()?;
                Some((k, t))
            })
            .collect())
    }

    /// The authors the local identity blocked.
    pub fn blocked(&self) -> Result<HashSet<PublicKey>, NodeError> {
        Ok(self.store.blocked()?.into_iter().collect())
    }

    /// The last root of `author`'s `index` known to be held in full (the empty tree at first).
    pub fn backfilled(&self, author: &PublicKey, index: Index) -> Result<Hash, NodeError> {
        Ok(self.store.backfilled(author, index)?.unwrap_or(EMPTY_ROOT))
    }

    /// Records that `author`'s `index` is held in full at `root`.
    pub(crate) fn set_backfilled(
        &self,
        author: &PublicKey,
        index: Index,
        root: &Hash,
    ) -> Result<(), NodeError> {
        Ok(self.store.set_backfilled(author, index, root)?)
    }

    /// Whether every index of `author`'s current head is held in full, bodies included.
    pub fn is_complete(&self, author: &PublicKey) -> Result<bool, NodeError> {
        let Some(head) = self.store.head(author)? else {
            return Ok(false);
        };
        for index in Index::ALL {
            if self.backfilled(author, index)? != head.head().roots.get(index) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
