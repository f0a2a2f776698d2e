//! One session with a peer: the engine's state of it, and its subscription task, which names
//! every followed author with the seq held and forwards each head the peer shows to the engine.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use iroh::endpoint::Connection;
use rookery_feed::{PublicKey, SignedHead};
use rookery_sync::{Batch, CatchUpAsk, Client, ClientError};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::engine::Input;
use super::{FIRST_SCREEN, NetError, SessionView, Shared};

/// The engine's state of one open session.
#[derive(Debug)]
pub(crate) struct Session {
    /// What the rest of the node may see of it.
    pub(crate) view: SessionView,
    /// The connection's id: inputs about an older connection of the same peer are ignored.
    pub(crate) conn_id: usize,
    /// The highest seq this peer has shown per author: it may not go back.
    pub(crate) shown: HashMap<PublicKey, u64>,
    /// The subscription task.
    pub(crate) watch: Option<AbortHandle>,
    /// First screens running on this session.
    pub(crate) first_screens: usize,
    /// Heads waiting for a first-screen slot on this session.
    pub(crate) waiting: VecDeque<SignedHead>,
}

impl Session {
    pub(crate) fn new(conn: &Connection, timeout: Duration) -> Self {
        let st = conn.stats();
        Session {
            view: SessionView {
                client: Client::new(conn.clone(), timeout),
                fetching: None,
                setup_bytes: st.udp_tx.bytes + st.udp_rx.bytes,
            },
            conn_id: conn.stable_id(),
            shown: HashMap::new(),
            watch: None,
            first_screens: 0,
            waiting: VecDeque::new(),
        }
    }

    /// Stops the session's own task (its connection closes on its own, or was closed).
    pub(crate) fn stop(self) {
        if let Some(w) = self.watch {
            w.abort();
        }
    }
}

/// The largest catch-up (in messages) asked to come with its head: a few screens' worth of
/// bodies arrive unasked, more are asked for as a `Diff`.
const PUSHED_CATCH_UP: u32 = 32;

/// The subscription: one request naming `authors` with the seqs held, whose first frame has
/// the heads newer than them, then every change, each sent to the engine. Ends when the peer
/// ends it; a peer that misbehaves is reported.
pub(crate) async fn watch(
    shared: Arc<Shared>,
    client: Client,
    authors: Vec<PublicKey>,
    inputs: mpsc::Sender<Input>,
) {
    let peer = client.peer();
    let conn = client.connection().stable_id();
    let r = async {
        // A head taken alone (its first screen not fetched yet) counts as nothing held, so
        // the peer shows it again and the first screen is fetched.
        let seqs = shared
            .node
            .store()
            .held_seqs(&authors)
            .map_err(|e| ClientError::Local(Box::new(e)))?;
        let held: Vec<(PublicKey, u64)> = authors.iter().copied().zip(seqs).collect();
        // With Home's first page across the people held not at all, merged by the peer.
        // With each small catch-up pushed with its head: catching up is then no request.
        let ask = CatchUpAsk {
            up_to: PUSHED_CATCH_UP,
            mentions_of: shared.node.id(),
        };
        let (mut newer, page, mut sub) = client
            .subscribe(&held, FIRST_SCREEN as u32, Some(ask))
            .await?;
        tracing::debug!(peer = %peer.fmt_short(), newer = newer.len(), "subscribed");
        let page = match page {
            None => Batch::default(),
            Some(Ok(p)) => p.batch,
            Some(Err(e)) if e.is_misbehaviour() => return Err(e),
            // A peer that could not merge them: reads and first screens do it.
            Some(Err(e)) => {
                tracing::debug!("no first page from {}: {e}", peer.fmt_short());
                Batch::default()
            }
        };
        // The heads of people never held are taken at once, alone, with that page: Home is
        // whole the moment they are here. Their first screens follow, the newest first.
        newer.sort_by_key(|h| std::cmp::Reverse(h.head().timestamp_ms));
        let none_held: std::collections::HashSet<PublicKey> = held
            .iter()
            .filter(|(_, seq)| *seq == 0)
            .map(|(a, _)| *a)
            .collect();
        let new: Vec<SignedHead> = newer
            .iter()
            .filter(|h| none_held.contains(&h.head().author))
            .cloned()
            .collect();
        if !new.is_empty() {
            shared
                .node
                .take_new_heads(&new, &page.nodes, &page.bodies)
                .map_err(|e| ClientError::Local(Box::new(e)))?;
        }
        for head in newer {
            let catch_up = Batch::default();
            let shown = Input::HeadShown {
                peer,
                conn,
                head,
                catch_up,
            };
            let _ = inputs.send(shown).await;
        }
        // Feeds held but perhaps not complete yet resume in the background.
        let held = held
            .iter()
            .filter(|(_, seq)| *seq > 0)
            .map(|(a, _)| *a)
            .collect();
        let _ = inputs.send(Input::Subscribed { peer, conn, held }).await;
        while let Some(pushed) = sub.next().await {
            let pushed = pushed?;
            let shown = Input::HeadShown {
                peer,
                conn,
                head: pushed.head,
                catch_up: pushed.catch_up,
            };
            let _ = inputs.send(shown).await;
        }
        Ok::<_, ClientError>(())
    };
    if let Err(e) = r.await
        && e.is_misbehaviour()
    {
        let error = NetError::client(peer, e);
        let _ = inputs.send(Input::Misbehaved { peer, conn, error }).await;
    }
}
