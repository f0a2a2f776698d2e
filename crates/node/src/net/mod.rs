//! Replication: the node online.
//!
//! [`Node::start`] binds an iroh endpoint with the node's key, serves `rookery/sync/2` and
//! iroh-blobs on a router, and starts the engine (`engine.rs`): one task that owns every
//! session and every author's sync state, driven by a closed set of inputs (a connection
//! accepted or dialled or closed, the follows changed, a head shown, a first screen or a
//! catch-up done, a read wanting data). It never waits on the network itself: each exchange
//! runs as a task of its own and reports back as an input, so one author at a time is synced
//! and no lock is held across a round trip.
//!
//! What a session does with a peer (both ways: the peer may ask us, and we ask it):
//!
//! 1. `Subscribe` to every followed author with the seqs held (`session.rs`): the first frame
//!    names the heads newer than ours, then each change is pushed. A peer answers for anyone
//!    it holds, so a followed author who is offline is replicated through whoever has them.
//! 2. For each head newer than ours (checked against its signature, our head, and what this
//!    peer showed before: a peer may not go back), the first screen in one round trip
//!    (`first_screen.rs`): `Range` over the newest posts for an author we never had, or `Diff`
//!    from our root; with it, `Diff` of the mentions index on our key's range, and the profile.
//!    All of it is imported with the head in one transaction.
//! 3. In the background, every index is completed (`backfill.rs`): a local delta from the root
//!    known complete names what is missing; the first round is one `Diff` stream, later rounds
//!    `Fetch` exactly what is missing, so a broken catch-up resumes where it stopped.
//!
//! Reads that meet a missing node fetch it on demand ([`Network::read`], `on_demand.rs`);
//! avatars travel as iroh-blobs (`avatars.rs`). A peer that sends anything that fails
//! verification, stalls, or breaks a rule is disconnected and nothing it sent is stored; a
//! local failure is never blamed on the peer (`error.rs`).

mod avatars;
mod backfill;
mod engine;
mod error;
mod first_screen;
mod on_demand;
mod session;

pub use avatars::{AVATAR_SIDE, MAX_AVATAR_BYTES};
pub use error::NetError;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use iroh::address_lookup::memory::MemoryLookup;
use iroh::protocol::Router;
use iroh::{Endpoint, EndpointAddr};
use iroh_blobs::BlobsProtocol;
use iroh_blobs::store::fs::FsStore;
use rookery_feed::{Index, PublicKey, SignedMessage};
use rookery_sync::{
    ALPN, Client, CountersSnapshot, Limits, NetOptions, Server, SyncProtocol, Ticket,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::Node;
use engine::{Engine, Input};

/// The posts fetched for a first screen.
pub const FIRST_SCREEN: usize = 32;

/// How the node goes online.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Relays, discovery, the address to bind.
    pub net: NetOptions,
    /// What a peer may ask of us, and how long we wait for answers.
    pub limits: Limits,
    /// Complete every followed feed in the background (off: only first screens, mentions and
    /// catch-up diffs, plus what reads fetch on demand).
    pub background: bool,
    /// Peers to keep a session with whether or not they are followed ("pubs").
    pub pubs: Vec<Ticket>,
    /// The longest a read waits for the network before it answers with what is missing.
    pub read_timeout: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            net: NetOptions::default(),
            limits: Limits::default(),
            background: true,
            pubs: vec![],
            read_timeout: Duration::from_secs(5),
        }
    }
}

/// What is being fetched from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetching {
    /// The newest posts, new mentions and profile of an author.
    FirstScreen(PublicKey),
    /// The rest of one of an author's indexes.
    History(PublicKey, Index),
}

/// A sync session with a peer, as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerState {
    /// The peer's key (also its endpoint id).
    pub key: PublicKey,
    /// Whether a session is open now.
    pub connected: bool,
    /// Frame bytes received from them in this session.
    pub bytes_in: u64,
    /// Frame bytes of requests sent to them in this session.
    pub bytes_out: u64,
    /// Requests made to them in this session.
    pub requests: u64,
    /// What is being fetched from them now, if anything.
    pub fetching: Option<Fetching>,
}

/// One session as the engine shows it to the rest of the node.
#[derive(Clone, Debug)]
pub(crate) struct SessionView {
    pub(crate) client: Client,
    pub(crate) fetching: Option<Fetching>,
    /// UDP bytes of the connection when the session began (the QUIC handshake).
    pub(crate) setup_bytes: u64,
}

impl SessionView {
    pub(crate) fn state(&self, connected: bool) -> PeerState {
        let c = self.client.counters().snapshot();
        PeerState {
            key: self.client.peer(),
            connected,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            requests: c.requests(),
            fetching: self.fetching,
        }
    }
}

/// What the engine publishes after every input: the sessions and whether anything is being
/// fetched. Only the engine writes it.
#[derive(Clone, Debug, Default)]
pub(crate) struct View {
    pub(crate) sessions: HashMap<PublicKey, SessionView>,
    /// Catch-ups running now.
    pub(crate) backfilling: usize,
}

/// What the engine and its tasks share, set once at start.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) node: Arc<Node>,
    pub(crate) endpoint: Endpoint,
    /// Images (avatars), content-addressed by BLAKE3, served and fetched with iroh-blobs.
    pub(crate) blobs: FsStore,
    pub(crate) lookup: MemoryLookup,
    pub(crate) config: NetConfig,
    pub(crate) server: Arc<Server>,
    router: Router,
}

/// The node online: its endpoint, router and engine. Dropping it does not stop it; call
/// [`Network::shutdown`].
#[derive(Clone, Debug)]
pub struct Network {
    shared: Arc<Shared>,
    inputs: mpsc::Sender<Input>,
    view: watch::Receiver<Arc<View>>,
}

impl Node {
    /// Goes online: binds the endpoint, serves `rookery/sync/2`, dials the followed authors and
    /// pubs whose addresses are known, and keeps every session in sync from then on.
    pub async fn start(self: &Arc<Self>, config: NetConfig) -> Result<Network, NetError> {
        let lookup = MemoryLookup::new();
        for (_, t) in self.known_peers()? {
            lookup.add_endpoint_info(t.0);
        }
        for t in &config.pubs {
            self.remember_peer(t)?;
            lookup.add_endpoint_info(t.0.clone());
        }
        let endpoint =
            rookery_sync::bind_endpoint(self.secret_key().clone(), &config.net, lookup.clone())
                .await?;
        let server = Arc::new(Server::new(
            self.store_arc(),
            self.head_changes(),
            config.limits.clone(),
        ));
        let blobs = FsStore::load(self.data_dir().join("blobs"))
            .await
            .map_err(|e| NetError::Blobs(Box::new(e)))?;
        let (accepted, accepted_rx) = mpsc::unbounded_channel();
        let router = Router::builder(endpoint.clone())
            .accept(ALPN, SyncProtocol::new(server.clone(), accepted))
            .accept(iroh_blobs::ALPN, BlobsProtocol::new(&blobs, None))
            .spawn();
        let shared = Arc::new(Shared {
            node: self.clone(),
            endpoint,
            blobs,
            lookup,
            config,
            server,
            router,
        });
        let (inputs, view) = Engine::spawn(shared.clone(), accepted_rx)?;
        Ok(Network {
            shared,
            inputs,
            view,
        })
    }
}

impl Network {
    /// The node underneath.
    pub fn node(&self) -> &Arc<Node> {
        &self.shared.node
    }

    /// Sends an input to the engine; `false` once it has stopped.
    async fn send(&self, input: Input) -> bool {
        self.inputs.send(input).await.is_ok()
    }

    /// The sessions now.
    fn sessions(&self) -> HashMap<PublicKey, SessionView> {
        self.view.borrow().sessions.clone()
    }

    /// The endpoint's key (the node's).
    pub fn id(&self) -> PublicKey {
        self.shared.endpoint.id()
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoint
    }

    /// My ticket: key, relay and direct addresses, as one copyable string.
    pub fn ticket(&self) -> Ticket {
        Ticket::of(&self.shared.endpoint)
    }

    /// Follows `key` (with its ticket, if known, so it can be dialled) and starts syncing them
    /// at once: the engine hears of the follow and dials them.
    pub fn follow(
        &self,
        key: PublicKey,
        ticket: Option<&Ticket>,
    ) -> Result<SignedMessage, NetError> {
        if let Some(t) = ticket {
            self.node().remember_peer(t)?;
            self.shared.lookup.add_endpoint_info(t.0.clone());
        }
        Ok(self.node().follow(key)?)
    }

    /// Opens a session with a peer (by ticket), unless one is open; returns once it is.
    pub async fn connect(&self, ticket: &Ticket) -> Result<(), NetError> {
        self.node().remember_peer(ticket)?;
        self.shared.lookup.add_endpoint_info(ticket.0.clone());
        self.dial(ticket.0.clone()).await
    }

    pub(crate) async fn dial(&self, addr: EndpointAddr) -> Result<(), NetError> {
        let (done, dialled) = oneshot::channel();
        if !self
            .send(Input::Dial {
                addr,
                done: Some(done),
            })
            .await
        {
            return Err(NetError::Stopped);
        }
        dialled.await.unwrap_or(Err(NetError::Stopped))
    }

    /// Whether a session with `peer` is open.
    pub fn is_connected(&self, peer: &PublicKey) -> bool {
        self.view.borrow().sessions.contains_key(peer)
    }

    /// Whether anything is being fetched now (a first screen, or background completion).
    pub fn busy(&self) -> bool {
        let v = self.view.borrow();
        v.backfilling > 0 || v.sessions.values().any(|s| s.fetching.is_some())
    }

    /// The sessions now, by key.
    pub fn peers(&self) -> Vec<PeerState> {
        let mut out: Vec<PeerState> = self.sessions().values().map(|s| s.state(true)).collect();
        out.sort_by_key(|p| *p.key.as_bytes());
        out
    }

    /// UDP bytes sent and received on the session with `peer` (QUIC headers, encryption and
    /// retransmissions included): what crossed the connection.
    pub fn connection_bytes(&self, peer: &PublicKey) -> Option<(u64, u64)> {
        self.sessions().get(peer).map(|s| {
            let st = s.client.connection().stats();
            (st.udp_tx.bytes, st.udp_rx.bytes)
        })
    }

    /// UDP bytes of the session with `peer` before its first request: the connection's setup.
    pub fn setup_bytes(&self, peer: &PublicKey) -> Option<u64> {
        self.sessions().get(peer).map(|s| s.setup_bytes)
    }

    /// What the client for `peer` has moved (for tests and benchmarks).
    pub fn counters(&self, peer: &PublicKey) -> Option<CountersSnapshot> {
        self.sessions()
            .get(peer)
            .map(|s| s.client.counters().snapshot())
    }

    /// Closes every session, stops the engine and its tasks, stops serving and closes the
    /// endpoint.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.send(Input::Shutdown(done)).await {
            let _ = stopped.await;
        }
        let _ = self.shared.router.shutdown().await;
        self.shared.endpoint.close().await;
    }
}
