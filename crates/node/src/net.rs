//! Replication: the node online.
//!
//! [`Node::start`] binds an iroh endpoint with the node's key and registers `rookery/sync/1`
//! with a router. Every connection, dialled or accepted, is a session both ways: the peer may
//! ask us (the sync server answers for every author held) and we ask it about the authors we
//! follow. What a session does with a peer:
//!
//! 1. `Heads` for every followed author, then `Subscribe` to them: a peer answers for anyone it
//!    holds, so a followed author who is offline is replicated through whoever has them.
//! 2. For each head newer than ours (checked against its signature, our head, and what this
//!    peer sent before: a peer may not go back), the first screen, in one round trip:
//!    `Range` over the newest posts for an author we never had (a verified range proof), or
//!    `Diff` from our root for one we had; with it, `Diff` of the mentions index on our own
//!    key's range (new notifications), and the author's profile. All of it is imported with the
//!    head in one transaction, so the timeline and the notifications appear together.
//! 3. In the background, at low priority, every index is completed: a local delta from the last
//!    root known complete names what is missing, level by level; the first round is one `Diff`
//!    (everything in one stream), later rounds (after an interruption) `Nodes` for exactly what
//!    is still missing. Batches are imported as they arrive, so a broken connection loses
//!    nothing, and the next session resumes.
//!
//! A peer that sends anything that fails verification, stalls, or breaks a rule is
//! disconnected; nothing it sent is stored. Reads that meet a missing node fetch it on demand
//! ([`Network::read`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use iroh::address_lookup::memory::MemoryLookup;
use iroh::endpoint::Connection;
use iroh::protocol::Router;
use iroh::{Endpoint, EndpointAddr};
use iroh_blobs::BlobsProtocol;
use iroh_blobs::store::fs::FsStore;
use rookery_feed::{Index, MessageId, PublicKey, SignedHead, keys};
use rookery_prolly::{Hash, KeyRange, NodeBytes, Prolly, Query};
use rookery_store::Store;
use rookery_sync::server::{CLOSE_NORMAL, CLOSE_PROTOCOL, close};
use rookery_sync::{
    ALPN, Batch, Client, ClientError, CountersSnapshot, Limits, NetOptions, Server, SyncProtocol,
    Ticket,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::api::{Event, PeerView};
use crate::{Node, NodeError};

/// The posts fetched for a first screen.
pub const FIRST_SCREEN: usize = 32;
/// The most hashes in one `Nodes` request.
const NODES_BATCH: usize = rookery_sync::wire::MAX_HASHES;
/// Rounds of on-demand fetching before a read gives up. A read stops earlier when a round
/// fetches nothing; each round fetches one level of one tree, and a read across many authors
/// (a thread, notifications) may walk a few levels of each of their trees.
const READ_ROUNDS: usize = 64;
/// The largest avatar image taken in or served.
pub const MAX_AVATAR_BYTES: usize = 1 << 20;

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
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            net: NetOptions::default(),
            limits: Limits::default(),
            background: true,
            pubs: vec![],
        }
    }
}

/// One open session.
struct Session {
    client: Client,
    /// The highest seq this peer has shown us per author: it may not go back.
    shown: HashMap<PublicKey, u64>,
    fetching: Option<String>,
    /// The one subscription to the followed authors; replaced when the follows change.
    watch: Option<JoinHandle<()>>,
    /// UDP bytes of the connection when the session began (the QUIC handshake).
    setup_bytes: u64,
}

struct Inner {
    node: Arc<Node>,
    endpoint: Endpoint,
    /// Images (avatars), content-addressed by BLAKE3, served and fetched with iroh-blobs.
    blobs: FsStore,
    router: Router,
    lookup: MemoryLookup,
    config: NetConfig,
    sessions: Mutex<HashMap<PublicKey, Session>>,
    /// One sync at a time per author.
    authors: Mutex<HashMap<PublicKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Background completion runs one feed at a time.
    background: Semaphore,
    /// (author, index, root) whose completion has started: resumed with `Nodes`, not `Diff`.
    started: Mutex<HashSet<(PublicKey, Index, Hash)>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The node online: its endpoint, router and sessions. Dropping it does not stop it; call
/// [`Network::shutdown`].
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("id", &self.inner.endpoint.id())
            .finish_non_exhaustive()
    }
}

fn net_err(e: impl std::fmt::Display) -> NodeError {
    NodeError::Network(e.to_string())
}

impl Node {
    /// Goes online: binds the endpoint, serves `rookery/sync/1`, dials the followed authors and
    /// pubs whose addresses are known, and keeps every session in sync from then on.
    pub async fn start(self: &Arc<Self>, config: NetConfig) -> Result<Network, NodeError> {
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
                .await
                .map_err(net_err)?;
        let server = Arc::new(Server::new(
            self.store_arc(),
            self.head_changes(),
            config.limits.clone(),
        ));
        let blobs = FsStore::load(self.data_dir().join("blobs"))
            .await
            .map_err(net_err)?;
        let (accepted, mut accepted_rx) = mpsc::unbounded_channel();
        let router = Router::builder(endpoint.clone())
            .accept(ALPN, SyncProtocol::new(server.clone(), accepted))
            .accept(iroh_blobs::ALPN, BlobsProtocol::new(&blobs, None))
            .spawn();
        let inner = Arc::new(Inner {
            node: self.clone(),
            endpoint,
            blobs,
            router,
            lookup,
            config,
            sessions: Mutex::default(),
            authors: Mutex::default(),
            background: Semaphore::new(1),
            started: Mutex::default(),
            tasks: Mutex::default(),
        });
        let net = Network { inner };
        // Accepted connections become sessions.
        let n = net.clone();
        net.spawn(async move {
            while let Some(conn) = accepted_rx.recv().await {
                n.add_session(conn);
            }
        });
        // Follows made from now on: ask every session about the new author, and dial them.
        let n = net.clone();
        let mut events = self.subscribe();
        net.spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Event::Published { message }) => {
                        if let crate::api::ContentView::Follow { target } = message.content
                            && let Ok(key) = rookery_feed::parse_key(&target)
                        {
                            n.on_follow(key);
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        // Sessions with the followed authors and pubs whose addresses are known.
        let n = net.clone();
        net.spawn(async move { n.dial_known().await });
        Ok(net)
    }
}

impl Network {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<PublicKey, Session>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The lock that makes syncs of one author happen one at a time.
    fn author_lock(&self, author: &PublicKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut authors = self.inner.authors.lock().unwrap_or_else(|e| e.into_inner());
        authors.entry(*author).or_default().clone()
    }

    fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) {
        let h = tokio::spawn(f);
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(h);
    }

    pub(crate) fn node(&self) -> &Node {
        &self.inner.node
    }

    pub(crate) fn node_arc(&self) -> Arc<Node> {
        self.inner.node.clone()
    }

    /// The endpoint's key (the node's).
    pub fn id(&self) -> PublicKey {
        self.inner.endpoint.id()
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// My ticket: key, relay and direct addresses, as one copyable string.
    pub fn ticket(&self) -> Ticket {
        Ticket::of(&self.inner.endpoint)
    }

    /// Follows someone by key or ticket, and starts syncing them at once.
    pub fn follow(&self, key_or_ticket: &str) -> Result<crate::api::MessageView, NodeError> {
        if let Ok(t) = key_or_ticket.trim().parse::<Ticket>() {
            self.inner.lookup.add_endpoint_info(t.0.clone());
        }
        // The follow is published; the event handler dials and asks the sessions.
        self.node().follow_address(key_or_ticket)
    }

    /// Opens a session with a peer (by ticket), unless one is open.
    pub async fn connect(&self, ticket: &Ticket) -> Result<(), NodeError> {
        self.node().remember_peer(ticket)?;
        self.inner.lookup.add_endpoint_info(ticket.0.clone());
        self.dial(ticket.0.clone()).await
    }

    async fn dial(&self, addr: EndpointAddr) -> Result<(), NodeError> {
        let id = addr.id;
        if id == self.id() || self.is_connected(&id) {
            return Ok(());
        }
        let conn = self
            .inner
            .endpoint
            .connect(addr, ALPN)
            .await
            .map_err(net_err)?;
        // The peer may ask us over this connection too.
        let server = Arc::new(Server::new(
            self.inner.node.store_arc(),
            self.inner.node.head_changes(),
            self.inner.config.limits.clone(),
        ));
        self.spawn(server.serve(conn.clone()));
        self.add_session(conn);
        Ok(())
    }

    fn is_connected(&self, id: &PublicKey) -> bool {
        let sessions = self.sessions();
        sessions
            .get(id)
            .is_some_and(|s| s.client.connection().close_reason().is_none())
    }

    /// Dials every followed author and pub whose address is known (failures are normal: people
    /// are offline).
    async fn dial_known(&self) {
        let followed: HashSet<PublicKey> = self
            .node()
            .followed()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let pubs: HashSet<PublicKey> = self.inner.config.pubs.iter().map(|t| t.0.id).collect();
        for (key, ticket) in self.node().known_peers().unwrap_or_default() {
            if followed.contains(&key) || pubs.contains(&key) {
                let n = self.clone();
                self.spawn(async move {
                    if let Err(e) = n.dial(ticket.0).await {
                        tracing::debug!(peer = %key.fmt_short(), "dial failed: {e}");
                    }
                });
            }
        }
    }

    fn on_follow(&self, key: PublicKey) {
        // Each session's subscription is replaced by one that names the new author too (one
        // subscription per session, however many follows).
        for c in self.clients() {
            self.resubscribe(&c);
        }
        let n = self.clone();
        self.spawn(async move {
            if !n.is_connected(&key) {
                let addr = n
                    .node()
                    .known_peers()
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, t)| t.0)
                    .unwrap_or_else(|| EndpointAddr::new(key));
                let _ = n.dial(addr).await;
            }
        });
    }

    fn clients(&self) -> Vec<Client> {
        let sessions = self.sessions();
        sessions.values().map(|s| s.client.clone()).collect()
    }

    fn add_session(&self, conn: Connection) {
        let peer = conn.remote_id();
        let client = Client::new(conn.clone(), self.inner.config.limits.response_timeout);
        {
            let mut sessions = self.sessions();
            sessions.insert(
                peer,
                Session {
                    client: client.clone(),
                    shown: HashMap::new(),
                    fetching: None,
                    watch: None,
                    setup_bytes: {
                        let st = conn.stats();
                        st.udp_tx.bytes + st.udp_rx.bytes
                    },
                },
            );
        }
        self.report(&peer);
        self.resubscribe(&client);
        let n = self.clone();
        self.spawn(async move {
            conn.closed().await;
            n.end_session(&client);
        });
    }

    /// (Re)starts the session's subscription to every author followed now.
    fn resubscribe(&self, client: &Client) {
        let followed = self.node().followed().unwrap_or_default();
        let n = self.clone();
        let c = client.clone();
        let task = tokio::spawn(async move {
            if !followed.is_empty() {
                n.watch(c, followed).await;
            }
        });
        let old = {
            let mut sessions = self.sessions();
            match sessions.get_mut(&client.peer()) {
                Some(s) if s.client.connection().stable_id() == client.connection().stable_id() => {
                    s.watch.replace(task)
                }
                _ => Some(task),
            }
        };
        if let Some(old) = old {
            old.abort();
        }
    }

    fn end_session(&self, client: &Client) {
        let peer = client.peer();
        {
            let mut sessions = self.sessions();
            if sessions.get(&peer).is_some_and(|s| {
                s.client.connection().stable_id() == client.connection().stable_id()
            }) && let Some(w) = sessions.remove(&peer).and_then(|s| s.watch)
            {
                w.abort();
            }
        }
        self.report_closed(client);
    }

    /// Drops a peer that broke the protocol.
    fn drop_peer(&self, client: &Client, why: &ClientError) {
        tracing::warn!(peer = %client.peer().fmt_short(), "disconnecting peer: {why}");
        close(client.connection(), CLOSE_PROTOCOL, "bad data");
        self.end_session(client);
    }

    /// Asks `client` for `authors`' heads, syncs what is newer, then follows their changes
    /// until the session ends.
    async fn watch(&self, client: Client, authors: Vec<PublicKey>) {
        let r = async {
            // One request: the heads newer than those held, then every change.
            let mut held = Vec::with_capacity(authors.len());
            for a in &authors {
                let seq = self.node().store().head(a).map_err(local)?;
                held.push((*a, seq.map_or(0, |h| h.head().seq)));
            }
            let (newer, mut sub) = client.subscribe(&held).await?;
            for h in newer {
                self.take_head(&client, h).await?;
            }
            // Feeds held but not complete yet resume in the background.
            for (a, seq) in &held {
                if *seq > 0 {
                    self.complete_later(*a);
                }
            }
            while let Some(h) = sub.next().await {
                self.take_head(&client, h?).await?;
            }
            Ok::<_, ClientError>(())
        };
        if let Err(e) = r.await
            && e.is_misbehaviour()
        {
            self.drop_peer(&client, &e);
        }
    }

    /// [`Network::on_head`], where only the peer's misbehaviour ends the subscription: a
    /// refusal or a local failure for one author leaves the others syncing.
    async fn take_head(&self, client: &Client, head: SignedHead) -> Result<(), ClientError> {
        match self.on_head(client, head).await {
            Err(e) if e.is_misbehaviour() => Err(e),
            Err(e) => {
                tracing::debug!(peer = %client.peer().fmt_short(), "head not taken: {e}");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// A head a peer showed us.
    async fn on_head(&self, client: &Client, head: SignedHead) -> Result<(), ClientError> {
        let author = head.head().author;
        let seq = head.head().seq;
        if author == self.id() || !self.node().followed().map_err(local)?.contains(&author) {
            return Ok(());
        }
        {
            let mut sessions = self.sessions();
            if let Some(s) = sessions.get_mut(&client.peer()) {
                let shown = s.shown.entry(author).or_insert(0);
                if seq < *shown {
                    return Err(ClientError::BadData(format!(
                        "the peer went back from seq {shown} to {seq}"
                    )));
                }
                *shown = seq;
            }
        }
        let lock = self.author_lock(&author);
        let _guard = lock.lock().await;
        let held = self.node().store().head(&author).map_err(local)?;
        match &held {
            // The peer is behind us: nothing to take (not its fault).
            Some(h) if h.head().seq > seq => return Ok(()),
            Some(h) if h.bytes() == head.bytes() => {
                drop(_guard);
                self.complete_later(author);
                return Ok(());
            }
            _ => {}
        }
        self.first_screen(client, &head, held.as_ref()).await?;
        drop(_guard);
        self.complete_later(author);
        Ok(())
    }

    /// The newest posts, the new mentions of me and the profile of `head`'s author, imported
    /// with the head in one go.
    async fn first_screen(
        &self,
        client: &Client,
        head: &SignedHead,
        held: Option<&SignedHead>,
    ) -> Result<(), ClientError> {
        let h = head.head();
        let author = h.author;
        self.set_fetching(
            client,
            Some(format!("newest posts of {}", author.fmt_short())),
        );
        let empty = EMPTY_ROOT;
        let store = self.node().store();
        let screen = async {
            match held {
                None => {
                    let q = Query::new(KeyRange::all()).reverse().limit(FIRST_SCREEN);
                    client
                        .range(&author, Index::Messages, &h.roots.messages, &q)
                        .await
                        .map(|a| a.batch)
                }
                Some(old) => {
                    collect_diff(
                        client,
                        &author,
                        Index::Messages,
                        &old.head().roots.messages,
                        &h.roots.messages,
                        &KeyRange::all(),
                    )
                    .await
                }
            }
        };
        let old_mentions = held.map_or(empty, |o| o.head().roots.mentions);
        let mine = keys::mentions_of(&self.id());
        let mentions = collect_diff(
            client,
            &author,
            Index::Mentions,
            &old_mentions,
            &h.roots.mentions,
            &mine,
        );
        let about = async {
            match h.about {
                Some(id) if store.body(&id).map_err(local)?.is_none() => {
                    let mut b = Batch::default();
                    client
                        .nodes(Some(&author), &[Hash(id.0)], |x| {
                            b.bodies.extend(x.bodies);
                            Ok(())
                        })
                        .await?;
                    Ok::<_, ClientError>(b)
                }
                _ => Ok(Batch::default()),
            }
        };
        let (screen, mentions, about) = tokio::join!(screen, mentions, about);
        let mut all = screen?;
        for b in [mentions?, about?] {
            all.nodes.extend(b.nodes);
            all.bodies.extend(b.bodies);
        }
        let r = self.import(head, all.nodes, all.bodies);
        self.set_fetching(client, None);
        r?;
        // The profile's avatar, from the same peer, in the background.
        if let Some(avatar) = self
            .node()
            .profile(&author)
            .ok()
            .and_then(|p| p.avatar)
            .and_then(|h| Hash::from_hex(&h))
        {
            let n = self.clone();
            let peer = client.peer();
            self.spawn(async move {
                // The peer that sent the head may be relaying it (transitive replication) and
                // not hold the image: ask the author first, then every session.
                if let Err(e) = n.fetch_blob_any(&avatar, &[author, peer]).await {
                    tracing::debug!(peer = %peer.fmt_short(), "avatar not fetched: {e}");
                }
            });
        }
        Ok(())
    }

    /// Publishes a profile; the avatar image (at most [`MAX_AVATAR_BYTES`]) goes into the blob
    /// store, served to peers, and the profile names its BLAKE3 hash.
    pub async fn set_profile(
        &self,
        name: &str,
        bio: &str,
        avatar: Option<&[u8]>,
    ) -> Result<crate::api::MessageView, NodeError> {
        let hash = match avatar {
            Some(bytes) if bytes.len() > MAX_AVATAR_BYTES => {
                return Err(NodeError::TooLarge {
                    what: "avatar image",
                    max: MAX_AVATAR_BYTES,
                });
            }
            Some(bytes) => {
                let tag = self.inner.blobs.add_slice(bytes).await.map_err(net_err)?;
                Some(*tag.hash.as_bytes())
            }
            None => None,
        };
        self.node().set_profile(name, bio, hash)
    }

    /// An image held in the blob store (an avatar), if it is here.
    pub async fn blob(&self, hash: &Hash) -> Result<Option<Vec<u8>>, NodeError> {
        let h = iroh_blobs::Hash::from_bytes(hash.0);
        if !self.inner.blobs.has(h).await.map_err(net_err)? {
            return Ok(None);
        }
        let bytes = self.inner.blobs.get_bytes(h).await.map_err(net_err)?;
        Ok(Some(bytes.to_vec()))
    }

    /// An image from the blob store or, if it is not here yet, from the sessions: the peers in
    /// `first` (those with a session), then every other session, until one has it. `None` if
    /// no peer has it now.
    pub async fn fetch_blob_any(
        &self,
        hash: &Hash,
        first: &[PublicKey],
    ) -> Result<Option<Vec<u8>>, NodeError> {
        if let Some(b) = self.blob(hash).await? {
            return Ok(Some(b));
        }
        let sessions: Vec<PublicKey> = self.clients().iter().map(|c| c.peer()).collect();
        let mut order: Vec<PublicKey> = first
            .iter()
            .filter(|p| sessions.contains(p))
            .copied()
            .collect();
        order.extend(sessions.iter().filter(|p| !first.contains(p)));
        for peer in order {
            // A peer that fails (or claims an oversized image) does not stop the search: one
            // hostile session must not make an avatar unreachable.
            match self.fetch_blob(peer, *hash).await {
                Ok(()) => return self.blob(hash).await,
                Err(e) => tracing::debug!(peer = %peer.fmt_short(), "no blob from this peer: {e}"),
            }
        }
        Ok(None)
    }

    /// Fetches an image from `peer` with iroh-blobs (verified against its BLAKE3 hash as it
    /// streams). Anything over [`MAX_AVATAR_BYTES`] is refused and dropped.
    async fn fetch_blob(&self, peer: PublicKey, hash: Hash) -> Result<(), NodeError> {
        let h = iroh_blobs::Hash::from_bytes(hash.0);
        if self.inner.blobs.has(h).await.map_err(net_err)? {
            return Ok(());
        }
        let timeout = self.inner.config.limits.request_timeout;
        let conn = tokio::time::timeout(
            timeout,
            self.inner
                .endpoint
                .connect(EndpointAddr::new(peer), iroh_blobs::ALPN),
        )
        .await
        .map_err(|_| net_err("timed out"))?
        .map_err(net_err)?;
        // The size is in the first bytes of the answer; check it before taking the rest.
        let size = tokio::time::timeout(
            timeout,
            iroh_blobs::get::request::get_verified_size(&conn, &h),
        )
        .await
        .map_err(|_| net_err("timed out"))?
        .map_err(net_err)?
        .0;
        if size > MAX_AVATAR_BYTES as u64 {
            conn.close(0u32.into(), b"too large");
            return Err(NodeError::TooLarge {
                what: "avatar image",
                max: MAX_AVATAR_BYTES,
            });
        }
        tokio::time::timeout(timeout, self.inner.blobs.remote().fetch(conn.clone(), h))
            .await
            .map_err(|_| net_err("timed out"))?
            .map_err(net_err)?;
        conn.close(0u32.into(), b"done");
        Ok(())
    }

    /// Imports verified data with `head`. A head the feed rules refuse (a rollback, a fork) is
    /// the peer's fault.
    fn import(
        &self,
        head: &SignedHead,
        nodes: Vec<NodeBytes>,
        bodies: Vec<rookery_feed::SignedMessage>,
    ) -> Result<(), ClientError> {
        match self.node().import_checked(head, &nodes, &bodies) {
            Ok(_) => Ok(()),
            Err(NodeError::Feed(e)) => Err(ClientError::BadData(e.to_string())),
            Err(NodeError::Store(rookery_store::Error::Feed(e))) => {
                Err(ClientError::BadData(e.to_string()))
            }
            Err(NodeError::Store(rookery_store::Error::BadNode(e))) => {
                Err(ClientError::BadData(e.to_string()))
            }
            Err(e) => Err(local(e)),
        }
    }

    /// Completes `author`'s indexes in the background, one feed at a time.
    fn complete_later(&self, author: PublicKey) {
        if !self.inner.config.background {
            return;
        }
        let n = self.clone();
        self.spawn(async move {
            let Ok(_permit) = n.inner.background.acquire().await else {
                return;
            };
            if let Err(e) = n.complete(&author).await {
                tracing::debug!(author = %author.fmt_short(), "catch-up paused: {e}");
            }
        });
    }

    /// Fetches whatever `author`'s current trees and bodies still lack. Returns once every
    /// index is complete (recorded, so the next catch-up starts from there) or no session can
    /// supply what is missing (the next session resumes).
    pub async fn complete(&self, author: &PublicKey) -> Result<(), NodeError> {
        for index in Index::ALL {
            let lock = self.author_lock(author);
            let _guard = lock.lock().await;
            let Some(head) = self.node().store().head(author)? else {
                return Ok(());
            };
            let root = head.head().roots.get(index);
            let done_key = complete_key(author, index);
            let from = self.completed(author, index)?;
            if from == root {
                continue;
            }
            let mut rounds = 0;
            loop {
                let d = self.node().trees().delta(&from, &root, &KeyRange::all())?;
                let missing_bodies: Vec<Hash> = if d.missing.is_empty() {
                    let ids: Vec<MessageId> = d
                        .values
                        .iter()
                        .filter_map(|v| <[u8; 32]>::try_from(v.as_slice()).ok().map(MessageId))
                        .collect();
                    let held = self.node().store().bodies(&ids)?;
                    ids.iter()
                        .zip(held)
                        .filter(|(_, b)| b.is_none())
                        .map(|(id, _)| Hash(id.0))
                        .collect()
                } else {
                    vec![]
                };
                if d.missing.is_empty() && missing_bodies.is_empty() {
                    self.node().store().set_setting(&done_key, &root.0)?;
                    break;
                }
                rounds += 1;
                if rounds > 64 {
                    return Err(net_err("catch-up made no progress"));
                }
                let first = self
                    .inner
                    .started
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((*author, index, root));
                let wanted: Vec<Hash> = if d.missing.is_empty() {
                    missing_bodies
                } else {
                    d.missing
                };
                if !self
                    .fetch(&head, index, &from, &root, first, &wanted)
                    .await?
                {
                    return Err(net_err("no peer has the missing data"));
                }
            }
        }
        Ok(())
    }

    /// One round of catch-up from the sessions, best first: the whole delta as one `Diff`
    /// stream on the first round, else `Nodes` for `wanted`. Returns whether anything came.
    async fn fetch(
        &self,
        head: &SignedHead,
        index: Index,
        from: &Hash,
        root: &Hash,
        first: bool,
        wanted: &[Hash],
    ) -> Result<bool, NodeError> {
        let author = head.head().author;
        let mut clients = self.clients();
        clients.sort_by_key(|c| c.peer() != author);
        for client in clients {
            self.set_fetching(
                &client,
                Some(format!(
                    "history of {} ({})",
                    author.fmt_short(),
                    index.name()
                )),
            );
            let mut got = 0usize;
            let mut import = |b: Batch| {
                got += b.nodes.len() + b.bodies.len();
                self.import(head, b.nodes, b.bodies)
            };
            let r = if first {
                client
                    // Every message travels with the messages index; the others point at them.
                    .diff(
                        &author,
                        index,
                        from,
                        root,
                        &KeyRange::all(),
                        index == Index::Messages,
                        &mut import,
                    )
                    .await
            } else {
                let mut r = Ok(());
                for chunk in wanted.chunks(NODES_BATCH) {
                    r = client.nodes(Some(&author), chunk, &mut import).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            };
            self.set_fetching(&client, None);
            match r {
                Err(e) if e.is_misbehaviour() => self.drop_peer(&client, &e),
                Err(ClientError::Refused { .. }) | Ok(()) if got == 0 => {}
                _ if got > 0 => return Ok(true),
                Err(_) => {}
                Ok(()) => {}
            }
        }
        Ok(false)
    }

    /// Runs a read, fetching what it meets missing from the sessions (one batch per tree
    /// level), until it completes or nothing more can be fetched.
    pub async fn read<T>(&self, f: impl Fn(&Node) -> Result<T, NodeError>) -> Result<T, NodeError> {
        let mut rounds = 0;
        loop {
            let wanted = match f(self.node()) {
                Err(NodeError::MissingNodes(h)) if rounds < READ_ROUNDS => h,
                Err(NodeError::MissingBodies(ids)) if rounds < READ_ROUNDS => {
                    ids.into_iter().map(|i| Hash(i.0)).collect()
                }
                r => return r,
            };
            rounds += 1;
            if !self.fetch_any(&wanted).await? {
                return f(self.node());
            }
        }
    }

    /// Fetches nodes or bodies by hash from any session; stores what verifies.
    async fn fetch_any(&self, wanted: &[Hash]) -> Result<bool, NodeError> {
        for client in self.clients() {
            let mut nodes = Vec::new();
            let mut bodies = Vec::new();
            let mut r = Ok(());
            for chunk in wanted.chunks(NODES_BATCH) {
                r = client
                    .nodes(None, chunk, |b| {
                        nodes.extend(b.nodes);
                        bodies.extend(b.bodies);
                        Ok(())
                    })
                    .await;
                if r.is_err() {
                    break;
                }
            }
            if let Err(e) = &r
                && e.is_misbehaviour()
            {
                self.drop_peer(&client, e);
                continue;
            }
            if !nodes.is_empty() || !bodies.is_empty() {
                self.node().store().import_nodes(&nodes)?;
                self.node().store().import_bodies(&bodies)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether anything is being fetched now (a first screen, or background completion).
    pub fn busy(&self) -> bool {
        let fetching = {
            let sessions = self.sessions();
            sessions.values().any(|s| s.fetching.is_some())
        };
        fetching || self.inner.background.available_permits() == 0
    }

    /// The sessions now.
    pub fn peers(&self) -> Vec<PeerView> {
        let sessions = self.sessions();
        let mut out: Vec<PeerView> = sessions
            .values()
            .map(|s| self.view(&s.client, s.fetching.clone(), true))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// UDP bytes sent and received on the session with `peer` (QUIC headers, encryption and
    /// retransmissions included): what crossed the connection.
    pub fn connection_bytes(&self, peer: &PublicKey) -> Option<(u64, u64)> {
        let sessions = self.sessions();
        sessions.get(peer).map(|s| {
            let st = s.client.connection().stats();
            (st.udp_tx.bytes, st.udp_rx.bytes)
        })
    }

    /// UDP bytes of the session with `peer` before its first request: the connection's setup.
    pub fn setup_bytes(&self, peer: &PublicKey) -> Option<u64> {
        let sessions = self.sessions();
        sessions.get(peer).map(|s| s.setup_bytes)
    }

    /// Whether every index of `author`'s current head is held in full, bodies included.
    pub fn is_complete(&self, author: &PublicKey) -> Result<bool, NodeError> {
        let Some(head) = self.node().store().head(author)? else {
            return Ok(false);
        };
        for index in Index::ALL {
            if self.completed(author, index)? != head.head().roots.get(index) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The last root of `author`'s `index` known to be held in full (the empty tree at first).
    fn completed(&self, author: &PublicKey, index: Index) -> Result<Hash, NodeError> {
        Ok(self
            .node()
            .store()
            .setting(&complete_key(author, index))?
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Hash)
            .unwrap_or(EMPTY_ROOT))
    }

    /// What the client for `peer` has moved (for tests and benchmarks).
    pub fn counters(&self, peer: &PublicKey) -> Option<CountersSnapshot> {
        let sessions = self.sessions();
        sessions.get(peer).map(|s| s.client.counters().snapshot())
    }

    fn view(&self, client: &Client, fetching: Option<String>, connected: bool) -> PeerView {
        let c = client.counters();
        PeerView {
            key: rookery_feed::format_key(&client.peer()),
            name: self.node().name_of(&client.peer()).ok().flatten(),
            connected,
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            requests: c.requests.iter().map(|r| r.load(Ordering::Relaxed)).sum(),
            fetching,
        }
    }

    fn set_fetching(&self, client: &Client, what: Option<String>) {
        {
            let mut sessions = self.sessions();
            if let Some(s) = sessions.get_mut(&client.peer()) {
                s.fetching = what;
            }
        }
        self.report(&client.peer());
    }

    fn report(&self, peer: &PublicKey) {
        let view = {
            let sessions = self.sessions();
            sessions
                .get(peer)
                .map(|s| self.view(&s.client, s.fetching.clone(), true))
        };
        if let Some(peer) = view {
            self.node().emit(Event::Peer { peer });
        }
    }

    fn report_closed(&self, client: &Client) {
        let peer = self.view(client, None, false);
        self.node().emit(Event::Peer { peer });
    }

    /// Closes every session, stops serving and closes the endpoint.
    pub async fn shutdown(&self) {
        for c in self.clients() {
            close(c.connection(), CLOSE_NORMAL, "bye");
        }
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
        let _ = self.inner.router.shutdown().await;
        self.inner.endpoint.close().await;
    }
}

/// A local failure while handling a peer's data (not the peer's fault).
fn local(e: impl std::fmt::Display) -> ClientError {
    ClientError::Connection(format!("local: {e}"))
}

fn complete_key(author: &PublicKey, index: Index) -> String {
    format!(
        "complete/{}/{}",
        rookery_feed::format_key(author),
        index.name()
    )
}

/// A whole `Diff` answer, verified, in memory.
async fn collect_diff(
    client: &Client,
    author: &PublicKey,
    index: Index,
    from: &Hash,
    to: &Hash,
    range: &KeyRange,
) -> Result<Batch, ClientError> {
    let mut all = Batch::default();
    if from == to {
        return Ok(all);
    }
    client
        .diff(author, index, from, to, range, true, |b| {
            all.nodes.extend(b.nodes);
            all.bodies.extend(b.bodies);
            Ok(())
        })
        .await?;
    Ok(all)
}
