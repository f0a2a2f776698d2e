//! Home's first page for people never held: when a subscription first shows the heads of many
//! newly followed people, only those who can appear on the first page of the merged timeline
//! need descending. A head carries the key of its author's newest message (its timestamp and
//! seq), so the page's lowest key is at least the [`FIRST_SCREEN`]-th highest of those keys:
//! only authors whose newest is that new can be on it, and only their entries from that key
//! up — and the author whose newest is the `j`-th newest (from 0) can have at most
//! `FIRST_SCREEN - j` of them on it, as each of the `j` before has one newer. One `Range` each,
//! from that key and with that limit, asked together — one round trip — and imported with the
//! new heads in one transaction, so Home reads complete the moment the heads appear. Each
//! person's own first screen follows, the newest first.

use std::ops::Bound;

use rookery_feed::{Head, Index, SignedHead, keys};
use rookery_prolly::{KeyRange, Query};
use rookery_sync::{Batch, Client, ClientError};
use tokio::task::JoinSet;

use super::FIRST_SCREEN;

/// The most `Range` requests asked at once for a first page (the server takes 48 in flight).
const AT_ONCE: usize = FIRST_SCREEN;

/// The newest key a head's messages index holds.
fn newest_key(h: &Head) -> Vec<u8> {
    keys::message(h.timestamp_ms, h.seq)
}

/// The entries of `new` heads that can be on Home's first page, next to what `held` heads
/// (other followed people, already here) hold: the proof nodes and bodies, verified. What a
/// peer fails to give is left to the first screens; a peer that lies (a proof that does not
/// verify) is an error, and nothing it sent, its heads included, is kept.
pub(crate) async fn fetch(
    client: &Client,
    new: &[SignedHead],
    held: &[Head],
) -> Result<Batch, ClientError> {
    let mut tops: Vec<Vec<u8>> = held
        .iter()
        .chain(new.iter().map(|h| h.head()))
        .filter(|h| h.seq > 0)
        .map(newest_key)
        .collect();
    tops.sort_unstable_by(|a, b| b.cmp(a));
    // Fewer authors than a page: no bound from the heads.
    let lowest = tops.get(FIRST_SCREEN - 1).cloned();
    // The rank of each new head among all the newest keys, held heads included.
    let mut candidates: Vec<(usize, &SignedHead)> = new
        .iter()
        .filter(|h| h.head().seq > 0)
        .filter(|h| lowest.as_ref().is_none_or(|l| newest_key(h.head()) >= *l))
        .map(|h| {
            let key = newest_key(h.head());
            (tops.iter().take_while(|t| **t > key).count(), h)
        })
        .filter(|(rank, _)| *rank < FIRST_SCREEN)
        .collect();
    candidates.sort_by_key(|(rank, _)| *rank);
    candidates.truncate(AT_ONCE);
    let mut asks = JoinSet::new();
    for (rank, h) in candidates {
        let (client, h) = (client.clone(), h.head().clone());
        let range = KeyRange {
            start: lowest.clone().map_or(Bound::Unbounded, Bound::Included),
            end: Bound::Unbounded,
        };
        let q = Query::new(range).reverse().limit(FIRST_SCREEN - rank);
        asks.spawn(async move {
            client
                .range(&h.author, Index::Messages, &h.roots.messages, &q)
                .await
        });
    }
    let mut all = Batch::default();
    while let Some(r) = asks.join_next().await {
        match r {
            Ok(Ok(a)) => {
                all.nodes.extend(a.batch.nodes);
                all.bodies.extend(a.batch.bodies);
            }
            Ok(Err(e)) if e.is_misbehaviour() => return Err(e),
            Ok(Err(e)) => tracing::debug!("a first-page range failed: {e}"),
            Err(_) => {}
        }
    }
    Ok(all)
}
