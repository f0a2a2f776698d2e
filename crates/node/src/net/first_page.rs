//! Home's first page for people never held: when a subscription first shows the heads of many
//! newly followed people, the peer merges their `messages` trees and answers the newest
//! [`FIRST_SCREEN`] posts across them in one `Page` request — proofs of exactly the entries on
//! the page and their bodies, verified against the heads (rookery-sync's `verify::page`) — and
//! they are imported with the new heads in one transaction, so Home reads complete the moment
//! the heads appear. A head carries the key of its author's newest message (its timestamp and
//! seq), so only the [`FIRST_SCREEN`] heads with the newest keys can be on the page. Each
//! person's own first screen follows, the newest first.

use rookery_feed::{Head, SignedHead, keys};
use rookery_sync::{Batch, Client, ClientError};

use super::FIRST_SCREEN;

/// The newest key a head's messages index holds.
fn newest_key(h: &Head) -> Vec<u8> {
    keys::message(h.timestamp_ms, h.seq)
}

/// The entries of `new` heads on Home's first page among them: the proof nodes and bodies,
/// verified. A peer that cannot answer leaves it to the first screens; a peer that lies (an
/// answer that does not verify) is an error, and nothing it sent, its heads included, is kept.
pub(crate) async fn fetch(client: &Client, new: &[SignedHead]) -> Result<Batch, ClientError> {
    let mut heads: Vec<Head> = new
        .iter()
        .map(|h| h.head().clone())
        .filter(|h| h.seq > 0)
        .collect();
    heads.sort_unstable_by_key(|h| std::cmp::Reverse(newest_key(h)));
    heads.truncate(FIRST_SCREEN);
    if heads.is_empty() {
        return Ok(Batch::default());
    }
    match client.page(&heads, FIRST_SCREEN as u32).await {
        Ok(page) => Ok(page.batch),
        Err(e) if e.is_misbehaviour() => Err(e),
        Err(e) => {
            tracing::debug!("Home's first page not answered: {e}");
            Ok(Batch::default())
        }
    }
}
