//! The replication engine: one task that owns every session and every author's sync state,
//! driven by the closed set of [`Input`]s. It never awaits the network: each exchange (a dial,
//! a subscription, a first screen, a catch-up, an on-demand fetch) runs as a task of its own
//! in the engine's `JoinSet` and reports back as an input. So the state has one owner and no
//! lock, and shutting down aborts every task at once.
//!
//! **Invariants:** at most one first screen or catch-up runs per author (a head shown
//! meanwhile waits as that author's `pending`, the newest one kept); at most
//! [`FIRST_SCREENS_PER_SESSION`] first screens run per session (the rest wait in the session's
//! queue), which keeps the requests in flight on one connection under the server's budget; at
//! most [`BACKFILLS`] catch-ups run at once. The input channel is bounded ([`INPUTS`]): a task
//! that reports faster than the engine takes waits, so a flood from one peer is backpressure
//! on that peer, not memory. After every input the engine publishes a
//! [`View`] of the sessions for the node's synchronous readers.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use iroh::EndpointAddr;
use iroh::endpoint::Connection;
use rookery_feed::{Content, Index, MessageId, PublicKey, SignedHead};
use rookery_prolly::Hash;
use rookery_sync::wire::{CLOSE_NORMAL, CLOSE_PROTOCOL};
use rookery_sync::{ALPN, Batch, Client, close};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::backfill::{self, BackfillEnd};
use super::session::{self, Session};
use super::{Fetching, NetError, SessionView, Shared, View, avatars, first_screen, on_demand};
use crate::NodeEvent;

/// First screens running at once on one session.
const FIRST_SCREENS_PER_SESSION: usize = 4;
/// Inputs waiting for the engine before their senders wait.
const INPUTS: usize = 1024;
/// Catch-ups running at once: one slow author never holds up the rest.
const BACKFILLS: usize = 4;

/// A reply the engine owes someone who waits.
type Reply<T> = oneshot::Sender<T>;

/// What drives the engine.
#[derive(Debug)]
pub(crate) enum Input {
    /// Open a connection to a peer (unless a session is open); `done` hears how it went.
    Dial {
        addr: EndpointAddr,
        done: Option<Reply<Result<(), NetError>>>,
    },
    /// A dial ended: the connection, or why not (as iroh said).
    Dialled {
        peer: PublicKey,
        conn: Result<Connection, String>,
    },
    /// A session's connection closed.
    Closed { peer: PublicKey, conn: usize },
    /// A session's subscription was answered: `held` are the authors it named whose feeds
    /// are here already (their catch-up resumes).
    Subscribed {
        peer: PublicKey,
        conn: usize,
        held: Vec<PublicKey>,
    },
    /// A session's subscription showed a head (with its catch-up, if one came).
    HeadShown {
        peer: PublicKey,
        conn: usize,
        head: SignedHead,
        catch_up: Batch,
    },
    /// A session broke the protocol.
    Misbehaved {
        peer: PublicKey,
        conn: usize,
        error: NetError,
    },
    /// A first screen ended.
    FirstScreenDone {
        author: PublicKey,
        peer: PublicKey,
        result: Result<(), NetError>,
    },
    /// A catch-up ended; `started` are the (index, root) whose first round was asked for.
    BackfillDone {
        author: PublicKey,
        result: Result<BackfillEnd, NetError>,
        started: HashSet<(Index, Hash)>,
    },
    /// What a task is fetching from a peer now.
    Fetching {
        peer: PublicKey,
        what: Option<Fetching>,
    },
    /// A read met these missing; `reply` hears whether anything came.
    Read {
        nodes: Vec<Hash>,
        bodies: Vec<MessageId>,
        reply: Reply<bool>,
    },
    /// Close every session and stop.
    Shutdown(Reply<()>),
}

/// One author's sync.
#[derive(Debug, Default)]
struct AuthorSync {
    /// A first screen or a catch-up is running.
    busy: bool,
    /// The newest head shown while busy, and who showed it.
    pending: Option<(PublicKey, SignedHead)>,
    /// A catch-up is wanted (queued, or after the job running now).
    backfill: bool,
    /// Set to ask a running catch-up to stop after the index it is on.
    yield_now: Option<Arc<AtomicBool>>,
    /// The catch-up pushed with the newest head shown, for that head's first screen.
    pushed: Option<(SignedHead, Batch)>,
    /// (index, root) whose catch-up was asked for as one `Diff`: later rounds use `Fetch`.
    started: HashSet<(Index, Hash)>,
}

/// The dials of one peer in flight.
struct Dialing {
    /// Every address they try.
    tried: EndpointAddr,
    /// How many.
    running: usize,
    /// Who waits to hear how they went.
    waiting: Vec<Reply<Result<(), NetError>>>,
    /// Why the last one that failed did, as iroh said.
    failed: Option<String>,
}

/// The engine's state.
pub(crate) struct Engine {
    shared: Arc<Shared>,
    inputs: mpsc::Sender<Input>,
    view: watch::Sender<Arc<View>>,
    sessions: HashMap<PublicKey, Session>,
    /// Dials in flight, with the addresses tried and who waits to hear how each went: a
    /// second dial of the same peer with no address the first does not try (the node dials
    /// the peers it knows as it starts, and a ticket may name one of them) waits for the
    /// first instead of opening another connection.
    dialing: HashMap<PublicKey, Dialing>,
    authors: HashMap<PublicKey, AuthorSync>,
    followed: HashSet<PublicKey>,
    /// My own feed is marked lost by a repair: it is asked of every peer too, and its head
    /// taken from them, until it is whole again.
    restoring: bool,
    queue: VecDeque<PublicKey>,
    backfilling: usize,
    tasks: JoinSet<()>,
}

impl Engine {
    /// Starts the engine; returns its input channel and the view it publishes.
    pub(crate) fn spawn(
        shared: Arc<Shared>,
        accepted: mpsc::UnboundedReceiver<Connection>,
    ) -> Result<(mpsc::Sender<Input>, watch::Receiver<Arc<View>>), NetError> {
        let (inputs, rx) = mpsc::channel(INPUTS);
        let (view, view_rx) = watch::channel(Arc::new(View::default()));
        let events = shared.node.subscribe();
        let followed = shared.node.followed()?.into_iter().collect();
        let restoring = shared.node.own_feed_lost()?;
        let engine = Engine {
            shared,
            inputs: inputs.clone(),
            view,
            sessions: HashMap::new(),
            dialing: HashMap::new(),
            authors: HashMap::new(),
            followed,
            restoring,
            queue: VecDeque::new(),
            backfilling: 0,
            tasks: JoinSet::new(),
        };
        tokio::spawn(engine.run(rx, accepted, events));
        Ok((inputs, view_rx))
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Input>,
        mut accepted: mpsc::UnboundedReceiver<Connection>,
        mut events: broadcast::Receiver<NodeEvent>,
    ) {
        self.dial_known();
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(Input::Shutdown(done)) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(input) => self.handle(input),
                    None => return,
                },
                Some(conn) = accepted.recv() => self.add_session(conn),
                e = events.recv() => match e {
                    Ok(NodeEvent::Published(m)) if matches!(
                        m.message().content,
                        Content::Follow { .. } | Content::Unfollow { .. } | Content::Block { .. }
                    ) => self.follows_changed(),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.follows_changed(),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                Some(_) = self.tasks.join_next() => {}
            }
            self.publish_view();
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Dial { addr, done } => self.dial(addr, done),
            Input::Dialled { peer, conn } => {
                let last = self.dialing.get_mut(&peer).is_none_or(|d| {
                    d.running = d.running.saturating_sub(1);
                    d.running == 0
                });
                let ok = conn.is_ok();
                match conn {
                    Ok(conn) => {
                        // The peer may ask us over this connection too.
                        self.tasks
                            .spawn(self.shared.server.clone().serve(conn.clone()));
                        self.add_session(conn);
                    }
                    Err(e) => {
                        tracing::debug!(peer = %peer.fmt_short(), "dial failed: {e}");
                        if let Some(d) = self.dialing.get_mut(&peer) {
                            d.failed = Some(e);
                        }
                    }
                }
                // The waiters hear at the first success, or when the last dial failed.
                let (waiting, why) = match self.dialing.get_mut(&peer) {
                    Some(d) if ok || last => (std::mem::take(&mut d.waiting), d.failed.clone()),
                    _ => (Vec::new(), None),
                };
                if last {
                    self.dialing.remove(&peer);
                }
                let connected = self.sessions.contains_key(&peer);
                for d in waiting {
                    let _ = d.send(if connected {
                        Ok(())
                    } else {
                        Err(NetError::Dial {
                            peer,
                            source: why.clone().unwrap_or_default().into(),
                        })
                    });
                }
            }
            Input::Closed { peer, conn } => {
                if self.session_is(&peer, conn) {
                    self.end_session(&peer);
                }
            }
            Input::Subscribed { peer, conn, held } => {
                if self.session_is(&peer, conn) {
                    for a in held {
                        self.want_backfill(a);
                    }
                }
            }
            Input::HeadShown {
                peer,
                conn,
                head,
                catch_up,
            } => {
                if self.session_is(&peer, conn) {
                    self.head_shown(peer, head, catch_up);
                }
            }
            Input::Misbehaved { peer, conn, error } => {
                if self.session_is(&peer, conn) {
                    self.drop_peer(&peer, &error);
                }
            }
            Input::FirstScreenDone {
                author,
                peer,
                result,
            } => self.first_screen_done(author, peer, result),
            Input::BackfillDone {
                author,
                result,
                started,
            } => self.backfill_done(author, result, started),
            Input::Fetching { peer, what } => self.set_fetching(&peer, what),
            Input::Read {
                nodes,
                bodies,
                reply,
            } => {
                let clients = self.clients(None);
                let (shared, inputs) = (self.shared.clone(), self.inputs.clone());
                self.tasks.spawn(async move {
                    let got = on_demand::fetch(&shared, clients, nodes, bodies, &inputs).await;
                    let _ = reply.send(got);
                });
            }
            Input::Shutdown(_) => unreachable!("handled in the loop"),
        }
    }

    // ----- sessions -----

    fn session_is(&self, peer: &PublicKey, conn: usize) -> bool {
        self.sessions.get(peer).is_some_and(|s| s.conn_id == conn)
    }

    /// The sessions' clients, best first: `first`'s, then those that have brought the most.
    fn clients(&self, first: Option<&PublicKey>) -> Vec<Client> {
        let mut out: Vec<Client> = self
            .sessions
            .values()
            .map(|s| s.view.client.clone())
            .collect();
        out.sort_by_key(|c| {
            let brought = c.counters().snapshot().bytes_in;
            (Some(c.peer()) != first.copied(), std::cmp::Reverse(brought))
        });
        out
    }

    fn dial(&mut self, addr: EndpointAddr, done: Option<Reply<Result<(), NetError>>>) {
        let peer = addr.id;
        if peer == self.shared.node.id() || self.sessions.contains_key(&peer) {
            if let Some(d) = done {
                let _ = d.send(Ok(()));
            }
            return;
        }
        if let Some(d) = self.dialing.get_mut(&peer)
            && addr.addrs.is_subset(&d.tried.addrs)
        {
            d.waiting.extend(done);
            return;
        }
        // A dial with addresses the ones in flight lack goes ahead on its own; whichever
        // connects first makes the session.
        let d = self.dialing.entry(peer).or_insert_with(|| Dialing {
            tried: EndpointAddr::new(peer),
            running: 0,
            waiting: Vec::new(),
            failed: None,
        });
        d.tried.addrs.extend(addr.addrs.iter().cloned());
        d.running += 1;
        d.waiting.extend(done);
        let (endpoint, inputs) = (self.shared.endpoint.clone(), self.inputs.clone());
        self.tasks.spawn(async move {
            let conn = endpoint
                .connect(addr, ALPN)
                .await
                .map_err(|e| e.to_string());
            let _ = inputs.send(Input::Dialled { peer, conn }).await;
        });
    }

    /// Dials every followed author and pub whose address is known (failures are normal:
    /// people are offline).
    fn dial_known(&mut self) {
        let pubs: HashSet<PublicKey> = self.shared.config.pubs.iter().map(|t| t.0.id).collect();
        for (key, ticket) in self.shared.node.known_peers().unwrap_or_default() {
            if self.followed.contains(&key) || pubs.contains(&key) {
                self.dial(ticket.0, None);
            }
        }
    }

    fn add_session(&mut self, conn: Connection) {
        let peer = conn.remote_id();
        let session = Session::new(&conn, self.shared.config.limits.response_timeout);
        let conn_id = session.conn_id;
        if let Some(old) = self.sessions.insert(peer, session) {
            old.stop();
        }
        let inputs = self.inputs.clone();
        self.tasks.spawn(async move {
            conn.closed().await;
            let _ = inputs
                .send(Input::Closed {
                    peer,
                    conn: conn_id,
                })
                .await;
        });
        self.subscribe(&peer);
        self.report(&peer);
    }

    /// (Re)starts a session's one subscription, to every author followed now (and to me while
    /// my own feed is being restored).
    fn subscribe(&mut self, peer: &PublicKey) {
        let mut authors: Vec<PublicKey> = self.followed.iter().copied().collect();
        if self.restoring {
            authors.push(self.shared.node.id());
        }
        let Some(s) = self.sessions.get_mut(peer) else {
            return;
        };
        if let Some(w) = s.watch.take() {
            w.abort();
        }
        if authors.is_empty() {
            return;
        }
        let task = session::watch(
            self.shared.clone(),
            s.view.client.clone(),
            authors,
            self.inputs.clone(),
        );
        s.watch = Some(self.tasks.spawn(task));
    }

    fn end_session(&mut self, peer: &PublicKey) {
        if let Some(s) = self.sessions.remove(peer) {
            let closed = s.view.state(false);
            s.stop();
            self.shared.node.emit(NodeEvent::Peer(closed));
        }
    }

    /// Drops a peer that broke the protocol.
    fn drop_peer(&mut self, peer: &PublicKey, why: &NetError) {
        tracing::warn!(peer = %peer.fmt_short(), "disconnecting peer: {why}");
        if let Some(s) = self.sessions.get(peer) {
            close(s.view.client.connection(), CLOSE_PROTOCOL, "bad data");
        }
        self.end_session(peer);
    }

    fn follows_changed(&mut self) {
        let now: HashSet<PublicKey> = match self.shared.node.followed() {
            Ok(f) => f.into_iter().collect(),
            Err(e) => {
                tracing::warn!("reading the follows failed: {e}");
                return;
            }
        };
        let new: Vec<PublicKey> = now.difference(&self.followed).copied().collect();
        self.followed = now;
        let peers: Vec<PublicKey> = self.sessions.keys().copied().collect();
        for p in peers {
            self.subscribe(&p);
        }
        let known: HashMap<PublicKey, EndpointAddr> = self
            .shared
            .node
            .known_peers()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, t)| (k, t.0))
            .collect();
        for key in new {
            if !self.sessions.contains_key(&key) {
                let addr = known
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| EndpointAddr::new(key));
                self.dial(addr, None);
            }
        }
    }

    fn set_fetching(&mut self, peer: &PublicKey, what: Option<Fetching>) {
        if let Some(s) = self.sessions.get_mut(peer) {
            s.view.fetching = what;
            self.report(peer);
        }
    }

    fn report(&self, peer: &PublicKey) {
        if let Some(s) = self.sessions.get(peer) {
            self.shared.node.emit(NodeEvent::Peer(s.view.state(true)));
        }
    }

    fn publish_view(&self) {
        let sessions: HashMap<PublicKey, SessionView> = self
            .sessions
            .iter()
            .map(|(k, s)| (*k, s.view.clone()))
            .collect();
        self.view.send_replace(Arc::new(View {
            sessions,
            backfilling: self.backfilling,
        }));
    }

    // ----- heads and first screens -----

    /// A head a peer showed us, and the catch-up that came with it.
    fn head_shown(&mut self, peer: PublicKey, head: SignedHead, catch_up: Batch) {
        let (author, seq) = (head.head().author, head.head().seq);
        let wanted = if author == self.shared.node.id() {
            self.restoring
        } else {
            self.followed.contains(&author)
        };
        if !wanted {
            return;
        }
        let Some(s) = self.sessions.get_mut(&peer) else {
            return;
        };
        let shown = s.shown.entry(author).or_insert(0);
        if seq < *shown {
            let why = NetError::Peer {
                peer,
                source: rookery_sync::Fault::Refused(format!(
                    "the peer went back from seq {shown} to {seq}"
                ))
                .into(),
            };
            self.drop_peer(&peer, &why);
            return;
        }
        *shown = seq;
        let state = self.authors.entry(author).or_default();
        state.pushed = (!catch_up.bodies.is_empty()).then(|| (head.clone(), catch_up));
        self.take_head(peer, head);
    }

    /// Syncs `head` from `peer` if it is newer than ours, as soon as the author and the
    /// session are free.
    fn take_head(&mut self, peer: PublicKey, head: SignedHead) {
        let author = head.head().author;
        let state = self.authors.entry(author).or_default();
        if state.busy {
            if let Some(y) = &state.yield_now {
                y.store(true, Ordering::Relaxed);
            }
            if state
                .pending
                .as_ref()
                .is_none_or(|(_, p)| p.head().seq < head.head().seq)
            {
                state.pending = Some((peer, head));
            }
            return;
        }
        let held = match self.shared.node.store().head(&author) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("reading a head failed: {e}");
                return;
            }
        };
        let alone = self
            .shared
            .node
            .store()
            .head_alone(&author)
            .unwrap_or(false);
        let held = match held {
            // The peer is behind us: nothing to take (not its fault).
            Some(h) if h.head().seq > head.head().seq => return,
            // Held already, and not alone: the catch-up does the rest.
            Some(h) if h.bytes() == head.bytes() && !alone => {
                self.want_backfill(author);
                return;
            }
            // A head taken alone (an author never held, their head imported as the
            // subscription answered), none of its trees: a first screen as for someone new.
            _ if alone => None,
            h => h,
        };
        let Some(s) = self.sessions.get_mut(&peer) else {
            return;
        };
        if s.first_screens >= FIRST_SCREENS_PER_SESSION {
            s.waiting.push_back(head);
            return;
        }
        tracing::debug!(author = %author.fmt_short(), held = held.is_some(), "first screen");
        s.first_screens += 1;
        s.view.fetching = Some(Fetching::FirstScreen(author));
        let client = s.view.client.clone();
        let state = self.authors.entry(author).or_default();
        state.busy = true;
        let pushed = state
            .pushed
            .take()
            .filter(|(h, _)| h.bytes() == head.bytes())
            .map(|(_, b)| b);
        self.report(&peer);
        let (shared, inputs) = (self.shared.clone(), self.inputs.clone());
        self.tasks.spawn(async move {
            let result = first_screen::run(&shared, &client, &head, held.as_ref(), pushed).await;
            let _ = inputs
                .send(Input::FirstScreenDone {
                    author,
                    peer,
                    result,
                })
                .await;
        });
    }

    fn first_screen_done(
        &mut self,
        author: PublicKey,
        peer: PublicKey,
        result: Result<(), NetError>,
    ) {
        if let Some(state) = self.authors.get_mut(&author) {
            state.busy = false;
        }
        if let Some(s) = self.sessions.get_mut(&peer) {
            s.first_screens = s.first_screens.saturating_sub(1);
            if s.first_screens == 0 {
                s.view.fetching = None;
            }
            self.report(&peer);
        }
        tracing::debug!(author = %author.fmt_short(), ok = result.is_ok(), "first screen done");
        match result {
            Err(e) if e.is_peer_fault() => self.drop_peer(&peer, &e),
            Err(e) => tracing::debug!(peer = %peer.fmt_short(), "head not taken: {e}"),
            Ok(()) => self.fetch_avatar(author, peer),
        }
        self.check_restored(author);
        // The heads that waited for a free place, in the order shown (newest first).
        while let Some(s) = self.sessions.get_mut(&peer)
            && s.first_screens < FIRST_SCREENS_PER_SESSION
            && let Some(head) = s.waiting.pop_front()
        {
            self.take_head(peer, head);
        }
        self.next_for(author);
    }

    /// What comes after a job of `author`'s: the head that waited, or the catch-up.
    fn next_for(&mut self, author: PublicKey) {
        let state = self.authors.entry(author).or_default();
        if let Some((peer, head)) = state.pending.take() {
            self.take_head(peer, head);
        } else {
            self.want_backfill(author);
        }
    }

    /// The profile's avatar, from the author first (the peer that sent the head may be
    /// relaying it and not hold the image), then the peer, then every session.
    fn fetch_avatar(&mut self, author: PublicKey, peer: PublicKey) {
        let node = &self.shared.node;
        let Ok(Some(head)) = node.store().head(&author) else {
            return;
        };
        let Ok(Some(about)) = crate::read::about_of(node, head.head()) else {
            return;
        };
        let Some(hash) = about.avatar else {
            return;
        };
        let mut order = vec![author, peer];
        order.extend(
            self.sessions
                .keys()
                .filter(|k| **k != author && **k != peer),
        );
        order.retain(|k| self.sessions.contains_key(k));
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            if let Err(e) = avatars::fetch_from(&shared, &Hash(hash), &order).await {
                tracing::debug!(author = %author.fmt_short(), "avatar not fetched: {e}");
            }
        });
    }

    // ----- catch-up -----

    /// Completes `author`'s indexes in the background, when the author is free and a slot is.
    fn want_backfill(&mut self, author: PublicKey) {
        if !self.shared.config.background {
            return;
        }
        let state = self.authors.entry(author).or_default();
        if state.backfill && (state.busy || self.queue.contains(&author)) {
            return;
        }
        state.backfill = true;
        if state.busy {
            return;
        }
        if self.backfilling < BACKFILLS {
            self.start_backfill(author);
        } else if !self.queue.contains(&author) {
            self.queue.push_back(author);
        }
    }

    fn start_backfill(&mut self, author: PublicKey) {
        let state = self.authors.entry(author).or_default();
        state.busy = true;
        let yield_now = Arc::new(AtomicBool::new(false));
        state.yield_now = Some(yield_now.clone());
        let started = state.started.clone();
        self.backfilling += 1;
        let clients = self.clients(Some(&author));
        let (shared, inputs) = (self.shared.clone(), self.inputs.clone());
        self.tasks.spawn(async move {
            let mut started = started;
            let job = backfill::Job {
                shared: &shared,
                author,
                clients,
                inputs: &inputs,
                yield_now: &yield_now,
                in_flight: Default::default(),
            };
            let result = job.run(&mut started).await;
            let _ = inputs
                .send(Input::BackfillDone {
                    author,
                    result,
                    started,
                })
                .await;
        });
    }

    fn backfill_done(
        &mut self,
        author: PublicKey,
        result: Result<BackfillEnd, NetError>,
        started: HashSet<(Index, Hash)>,
    ) {
        self.backfilling = self.backfilling.saturating_sub(1);
        let state = self.authors.entry(author).or_default();
        state.busy = false;
        state.yield_now = None;
        state.started.extend(started);
        // Yielded to a newer head: the catch-up goes on after its first screen.
        state.backfill = matches!(result, Ok(BackfillEnd::Yielded));
        if let Err(e) = &result {
            tracing::debug!(author = %author.fmt_short(), "catch-up paused: {e}");
        }
        if let Ok(BackfillEnd::NoPeer) = &result {
            tracing::debug!(author = %author.fmt_short(), "catch-up paused: no peer has the rest");
        }
        let again = state.backfill;
        let pending = state.pending.take();
        self.check_restored(author);
        if let Some((peer, head)) = pending {
            self.take_head(peer, head);
        } else if again {
            self.want_backfill(author);
        }
        while self.backfilling < BACKFILLS {
            let Some(next) = self.queue.pop_front() else {
                break;
            };
            if self.authors.get(&next).is_some_and(|s| !s.busy) {
                self.start_backfill(next);
            }
        }
    }

    /// After a job of my own feed's, while it is being restored: whether it is whole again
    /// (then my follow list is whole too, and may name more authors).
    fn check_restored(&mut self, author: PublicKey) {
        if !self.restoring || author != self.shared.node.id() {
            return;
        }
        match self.shared.node.check_own_feed() {
            Ok(still) => self.restoring = still,
            Err(e) => tracing::warn!("checking my own feed failed: {e}"),
        }
        if !self.restoring {
            self.follows_changed();
        }
    }

    async fn shutdown(&mut self) {
        for s in self.sessions.values() {
            close(s.view.client.connection(), CLOSE_NORMAL, "bye");
        }
        self.sessions.clear();
        self.tasks.shutdown().await;
        self.publish_view();
    }
}
