//! Catch-up in the background: completing every index of one author's current head, the four
//! side by side (each its own stream: the small ones travel while the messages stream is still
//! being stored). A local delta from the root last known complete names exactly what is
//! missing, level by level; the first round for a (index, root) is one `Diff` stream
//! (everything at once), later rounds — after a break — `Fetch` exactly what is still
//! missing. Batches are imported as they arrive, so a broken connection loses nothing, and
//! the next session resumes where this one stopped.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rookery_feed::{Index, MessageId, PublicKey, SignedHead};
use rookery_prolly::{Hash, KeyRange};
use rookery_sync::wire::MAX_HASHES;
use rookery_sync::{Batch, Client, ClientError};
use tokio::sync::mpsc;

use super::engine::Input;
use super::error::rejection;
use super::{Fetching, NetError, Shared};

/// Rounds of fetching one index before the catch-up gives up on this session set.
const MAX_ROUNDS: usize = 64;

/// How a catch-up ended, when it did not fail.
#[derive(Debug)]
pub(crate) enum BackfillEnd {
    /// Every index is held in full, bodies included.
    Complete,
    /// A newer head arrived: stopped after an index, to go on after its first screen.
    Yielded,
    /// No session could supply what is missing now.
    NoPeer,
}

/// One catch-up of one author.
pub(crate) struct Job<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) author: PublicKey,
    /// The sessions to ask, best first (the author's own first).
    pub(crate) clients: Vec<Client>,
    pub(crate) inputs: &'a mpsc::Sender<Input>,
    /// Set by the engine when a newer head of this author waits.
    pub(crate) yield_now: &'a AtomicBool,
    /// Rounds in flight: the status "fetching" is cleared when the last one ends.
    pub(crate) in_flight: AtomicUsize,
}

impl Job<'_> {
    /// Completes the author's indexes, side by side. Ends with the first failure, else
    /// `NoPeer` if an index could not be completed, else `Yielded` if one stopped for a newer
    /// head.
    pub(crate) async fn run(
        &self,
        started: &mut HashSet<(Index, Hash)>,
    ) -> Result<BackfillEnd, NetError> {
        let shared = Mutex::new(std::mem::take(started));
        let [a, b, c, d] = Index::ALL;
        let ends = tokio::join!(
            self.complete(a, &shared),
            self.complete(b, &shared),
            self.complete(c, &shared),
            self.complete(d, &shared),
        );
        *started = shared.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut end = BackfillEnd::Complete;
        for e in [ends.0, ends.1, ends.2, ends.3] {
            match (e?, &end) {
                (BackfillEnd::NoPeer, _) => end = BackfillEnd::NoPeer,
                (BackfillEnd::Yielded, BackfillEnd::Complete) => end = BackfillEnd::Yielded,
                _ => {}
            }
        }
        Ok(end)
    }

    /// Completes one index of the author's current head.
    async fn complete(
        &self,
        index: Index,
        started: &Mutex<HashSet<(Index, Hash)>>,
    ) -> Result<BackfillEnd, NetError> {
        let node = &self.shared.node;
        if self.yield_now.load(Ordering::Relaxed) {
            return Ok(BackfillEnd::Yielded);
        }
        let Some(head) = node.store().head(&self.author)? else {
            return Ok(BackfillEnd::Complete);
        };
        let root = head.head().roots.get(index);
        let from = node.backfilled(&self.author, index)?;
        if from == root {
            return Ok(BackfillEnd::Complete);
        }
        let mut rounds = 0;
        loop {
            let d = node.trees().delta(&from, &root, &KeyRange::all())?;
            // Every index names the author's own messages, and their bodies travel with the
            // messages index: only its rounds look for bodies (the others, run beside it,
            // would otherwise ask again for what its stream is bringing).
            let missing_bodies: Vec<MessageId> = if d.missing.is_empty() && index == Index::Messages
            {
                let ids: Vec<MessageId> = d
                    .values
                    .iter()
                    .filter_map(|v| <[u8; 32]>::try_from(v.as_slice()).ok().map(MessageId))
                    .collect();
                let held = node.store().held_bodies(&ids)?;
                ids.iter()
                    .zip(held)
                    .filter(|(_, held)| !held)
                    .map(|(id, _)| *id)
                    .collect()
            } else {
                vec![]
            };
            if d.missing.is_empty() && missing_bodies.is_empty() {
                node.set_backfilled(&self.author, index, &root)?;
                break;
            }
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Ok(BackfillEnd::NoPeer);
            }
            let first = started
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((index, root));
            let round = Round {
                head: &head,
                index,
                from: &from,
                root: &root,
                first,
                nodes: &d.missing,
                bodies: &missing_bodies,
            };
            if !self.fetch(&round).await? {
                return Ok(BackfillEnd::NoPeer);
            }
        }
        Ok(BackfillEnd::Complete)
    }

    /// One round from the sessions, best first. Returns whether anything came.
    async fn fetch(&self, r: &Round<'_>) -> Result<bool, NetError> {
        for client in &self.clients {
            let peer = client.peer();
            let what = Some(Fetching::History(self.author, r.index));
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            let _ = self.inputs.send(Input::Fetching { peer, what }).await;
            let mut got = 0usize;
            let result = self.ask(client, r, &mut got).await;
            if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
                let _ = self.inputs.send(Input::Fetching { peer, what: None }).await;
            }
            match result {
                Err(ClientError::Local(e)) => {
                    return Err(NetError::client(peer, ClientError::Local(e)));
                }
                Err(e) if e.is_misbehaviour() => {
                    let conn = client.connection().stable_id();
                    let error = NetError::client(peer, e);
                    let _ = self
                        .inputs
                        .send(Input::Misbehaved { peer, conn, error })
                        .await;
                }
                _ if got > 0 => return Ok(true),
                _ => {}
            }
        }
        Ok(false)
    }

    /// Asks one client for one round: the whole delta as one `Diff` stream on the first round,
    /// else `Fetch` of exactly what is missing. Every batch is imported with the head.
    async fn ask(
        &self,
        client: &Client,
        r: &Round<'_>,
        got: &mut usize,
    ) -> Result<(), ClientError> {
        let author = self.author;
        let mut import = |b: Batch| {
            *got += b.nodes.len() + b.bodies.len();
            self.shared
                .node
                .import_checked(r.head, &b.nodes, &b.bodies)
                .map(|_| ())
                .map_err(rejection)
        };
        // Every message travels with the messages index; the others point at them.
        let with_bodies = r.index == Index::Messages;
        if r.first {
            let (all, seq) = (KeyRange::all(), r.head.head().seq);
            return client
                .diff(
                    &author,
                    r.index,
                    r.from,
                    r.root,
                    &all,
                    with_bodies,
                    seq,
                    &mut import,
                )
                .await;
        }
        // Nodes and bodies share one request's limit.
        let half = MAX_HASHES / 2;
        let (mut nodes, mut bodies) = (r.nodes, r.bodies);
        while !nodes.is_empty() || !bodies.is_empty() {
            let (n, rest_n) = nodes.split_at(nodes.len().min(half));
            let (b, rest_b) = bodies.split_at(bodies.len().min(MAX_HASHES - n.len()));
            client
                .fetch(Some(&author), n, b, with_bodies, &mut import)
                .await?;
            (nodes, bodies) = (rest_n, rest_b);
        }
        Ok(())
    }
}

/// One round of a catch-up.
struct Round<'a> {
    head: &'a SignedHead,
    index: Index,
    from: &'a Hash,
    root: &'a Hash,
    first: bool,
    nodes: &'a [Hash],
    bodies: &'a [MessageId],
}
