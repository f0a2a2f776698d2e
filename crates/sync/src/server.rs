//! The answering side of `rookery/sync/1`: one task per QUIC stream, each stream one request.
//!
//! A peer answers for every author it holds, not only itself. Every connection has a budget
//! ([`Limits`]): requests and bytes per minute, requests in flight, time per request. A peer that
//! goes over it, sends a malformed frame or asks for more than a request may ask is
//! disconnected, and its requests in flight end with the connection.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iroh::endpoint::{Connection, RecvStream, SendStream, VarInt};
use iroh::protocol::{AcceptError, ProtocolHandler};
use rookery_feed::{MessageId, PublicKey};
use rookery_prolly::node::Val;
use rookery_prolly::{Change, Hash, KeyRange, Node, NodeStore, Prolly, Query};
use rookery_store::Store;
use tokio::sync::{Notify, Semaphore, broadcast, mpsc};

use crate::wire::{
    ErrorCode, Hello, MAX_FRAME, PROTOCOL_VERSION, Request, Response, WireError, encode_frame,
    read_frame,
};

/// Close code: the peer broke the protocol (malformed frame, bad data, a request over a limit).
pub const CLOSE_PROTOCOL: u32 = 1;
/// Close code: the peer used more than its share (requests, bytes, time).
pub const CLOSE_OVER_BUDGET: u32 = 2;
/// Close code: a normal goodbye.
pub const CLOSE_NORMAL: u32 = 0;

/// How much one peer may ask of us, and how long either side waits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests in flight on one connection (subscriptions not counted).
    pub max_in_flight: usize,
    /// Subscriptions open on one connection; a new one beyond this ends the oldest.
    pub max_subscriptions: usize,
    /// Requests per minute on one connection.
    pub max_requests_per_minute: u32,
    /// Response bytes per minute on one connection.
    pub max_bytes_per_minute: u64,
    /// The time a peer has to send a whole request, and we to answer it.
    pub request_timeout: Duration,
    /// The time we wait for each frame of an answer from a peer.
    pub response_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 32,
            max_subscriptions: 8,
            max_requests_per_minute: 20_000,
            max_bytes_per_minute: 1 << 30,
            request_timeout: Duration::from_secs(30),
            response_timeout: Duration::from_secs(20),
        }
    }
}

/// The target size of one `Nodes` frame (well under [`MAX_FRAME`]).
const FRAME_TARGET: usize = 1 << 20;

/// The state every connection's server shares: the store, the head-change feed, the limits.
#[derive(Debug)]
pub struct Server {
    trees: Prolly<Arc<Store>>,
    changes: broadcast::Sender<PublicKey>,
    limits: Limits,
}

/// One connection's open subscriptions, oldest first.
type Subscriptions = Arc<Mutex<std::collections::VecDeque<Arc<Notify>>>>;

/// One connection's use of its budget.
#[derive(Debug)]
struct Budget {
    window: Instant,
    requests: u32,
    bytes: u64,
}

/// Why a connection is ended from our side.
#[derive(Debug)]
struct Violation {
    code: u32,
    reason: String,
}

impl Violation {
    fn protocol(reason: impl Into<String>) -> Self {
        Violation {
            code: CLOSE_PROTOCOL,
            reason: reason.into(),
        }
    }
    fn budget(reason: impl Into<String>) -> Self {
        Violation {
            code: CLOSE_OVER_BUDGET,
            reason: reason.into(),
        }
    }
}

/// Ends a connection with a code and a reason the peer can log.
pub fn close(conn: &Connection, code: u32, reason: &str) {
    conn.close(VarInt::from_u32(code), reason.as_bytes());
}

impl Server {
    /// A server over `store`; `changes` carries the author of every head that changes (the
    /// node sends on it when it publishes or imports).
    pub fn new(store: Arc<Store>, changes: broadcast::Sender<PublicKey>, limits: Limits) -> Self {
        Server {
            trees: Prolly::new(store),
            changes,
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn store(&self) -> &Store {
        self.trees.store()
    }

    /// Answers the requests a peer opens on `conn` until it closes or breaks a rule.
    pub async fn serve(self: Arc<Self>, conn: Connection) {
        let in_flight = Arc::new(Semaphore::new(self.limits.max_in_flight));
        let subscriptions: Subscriptions = Arc::default();
        let budget = Arc::new(Mutex::new(Budget {
            window: Instant::now(),
            requests: 0,
            bytes: 0,
        }));
        let (violations, mut violated) = mpsc::unbounded_channel::<Violation>();
        loop {
            let (send, recv) = tokio::select! {
                s = conn.accept_bi() => match s {
                    Ok(s) => s,
                    Err(_) => return,
                },
                Some(v) = violated.recv() => {
                    tracing::info!(peer = %conn.remote_id().fmt_short(), reason = %v.reason, "disconnecting peer");
                    close(&conn, v.code, &v.reason);
                    return;
                }
            };
            if let Err(v) = self.charge(&budget, 1, 0) {
                close(&conn, v.code, &v.reason);
                return;
            }
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                close(&conn, CLOSE_OVER_BUDGET, "too many requests in flight");
                return;
            };
            let this = self.clone();
            let (budget, violations, subscriptions) =
                (budget.clone(), violations.clone(), subscriptions.clone());
            tokio::spawn(async move {
                let mut permit = Some(permit);
                let r = this
                    .stream(send, recv, &budget, &subscriptions, &mut permit)
                    .await;
                if let Err(v) = r {
                    let _ = violations.send(v);
                }
            });
        }
    }

    /// Counts `requests` and `bytes` against the connection's budget for this minute.
    fn charge(&self, budget: &Mutex<Budget>, requests: u32, bytes: u64) -> Result<(), Violation> {
        let mut b = budget.lock().unwrap_or_else(|e| e.into_inner());
        if b.window.elapsed() >= Duration::from_secs(60) {
            *b = Budget {
                window: Instant::now(),
                requests: 0,
                bytes: 0,
            };
        }
        b.requests += requests;
        b.bytes += bytes;
        if b.requests > self.limits.max_requests_per_minute {
            return Err(Violation::budget("too many requests"));
        }
        if b.bytes >= self.limits.max_bytes_per_minute {
            return Err(Violation::budget("too many bytes asked for"));
        }
        Ok(())
    }

    /// One stream: hello, one request, its answer.
    async fn stream(
        &self,
        mut send: SendStream,
        mut recv: RecvStream,
        budget: &Mutex<Budget>,
        subscriptions: &Subscriptions,
        permit: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<(), Violation> {
        let read = async {
            let hello: Hello = read_frame(&mut recv).await?;
            if hello.version != PROTOCOL_VERSION {
                return Ok::<_, WireError>(Err(hello.version));
            }
            let req: Request = read_frame(&mut recv).await?;
            Ok(Ok(req))
        };
        let req = match tokio::time::timeout(self.limits.request_timeout, read).await {
            Err(_) => return Err(Violation::budget("request took too long")),
            Ok(Err(WireError::Closed | WireError::Io(_))) => return Ok(()),
            Ok(Err(e)) => return Err(Violation::protocol(e.to_string())),
            Ok(Ok(Err(version))) => {
                let _ = write(&mut send, &hello()).await;
                let _ = write(
                    &mut send,
                    &Response::Error {
                        code: ErrorCode::Internal,
                        message: format!("protocol version {version} is not spoken here"),
                    },
                )
                .await;
                let _ = send.finish();
                return Ok(());
            }
            Ok(Ok(Ok(req))) => req,
        };
        req.check()
            .map_err(|e| Violation::protocol(format!("bad request: {e}")))?;
        let _ = recv.stop(VarInt::from_u32(CLOSE_NORMAL));
        if write(&mut send, &hello()).await.is_err() {
            // The asker gave up on this request (it may, e.g. when it re-subscribes).
            return Ok(());
        }
        if let Request::Subscribe { authors } = req {
            // A subscription is long-lived: it does not hold a request slot.
            permit.take();
            // A peer re-subscribes when its follows change: the oldest subscription beyond
            // the limit ends, the connection stays.
            let cancel = Arc::new(Notify::new());
            {
                let mut subs = subscriptions.lock().unwrap_or_else(|e| e.into_inner());
                while subs.len() >= self.limits.max_subscriptions.max(1) {
                    if let Some(old) = subs.pop_front() {
                        old.notify_one();
                    }
                }
                subs.push_back(cancel.clone());
            }
            // Where the authors are now, then every change: listening starts before the
            // snapshot is read, so no change falls between the two.
            let changes = self.changes.subscribe();
            let now = self.heads(authors.iter().map(|(a, seq)| (*a, Some(*seq))))?;
            if write(&mut send, &now).await.is_err() {
                return Ok(());
            }
            let authors = authors.into_iter().map(|(a, _)| a).collect();
            self.subscribe(send, authors, changes, &cancel).await;
            subscriptions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|c| !Arc::ptr_eq(c, &cancel));
            return Ok(());
        }
        let answer = async {
            let mut sent = 0u64;
            for frame in self.answer(req) {
                // A peer over its byte budget gets no further frame; the frames sent so far
                // are delivered before the connection is closed (they are verified data the
                // peer can keep).
                if let Err(v) = self.charge(budget, 0, 0) {
                    let _ = send.finish();
                    let _ = tokio::time::timeout(Duration::from_secs(5), send.stopped()).await;
                    return Err(v);
                }
                let frame = frame?;
                let bytes = encode_frame(&frame).map_err(|e| Violation::protocol(e.to_string()))?;
                sent += bytes.len() as u64;
                if send.write_all(&bytes).await.is_err() {
                    return Ok(sent);
                }
                let _ = self.charge(budget, 0, bytes.len() as u64);
            }
            let _ = send.finish();
            Ok(sent)
        };
        match tokio::time::timeout(self.limits.request_timeout, answer).await {
            Err(_) => Err(Violation::budget("answer took too long to take")),
            Ok(r) => r.map(|_| ()),
        }
    }

    /// The frames that answer `req` (not a subscription), produced lazily.
    fn answer(
        &self,
        req: Request,
    ) -> Box<dyn Iterator<Item = Result<Response, Violation>> + Send + '_> {
        let one = |r: Result<Response, Violation>| -> Box<dyn Iterator<Item = _> + Send> {
            Box::new(std::iter::once(r))
        };
        match req {
            Request::Heads { authors } => one(self.heads(authors.iter().map(|a| (*a, None)))),
            Request::Newer { authors } => {
                one(self.heads(authors.iter().map(|(a, seq)| (*a, Some(*seq)))))
            }
            Request::Range {
                author,
                root,
                range,
                limit,
                reverse,
                ..
            } => one(self.range(&author, &root, range.into(), limit, reverse)),
            Request::Diff {
                author,
                from,
                to,
                range,
                bodies,
                ..
            } => match self.store().head(&author) {
                Ok(Some(_)) => match self.trees.delta(&from, &to, &range.clone().into()) {
                    Ok(d) => {
                        // Bodies of the entries that changed, when the old tree is here to
                        // tell; else of every entry in the new leaves.
                        let changed: Result<Vec<Vec<u8>>, _> = self
                            .trees
                            .diff(&from, &to, range.into())
                            .filter_map(|c| match c {
                                Ok(
                                    Change::Added { value, .. }
                                    | Change::Changed { new: value, .. },
                                ) => Some(Ok(value)),
                                Ok(Change::Removed { .. }) => None,
                                Err(e) => Some(Err(e)),
                            })
                            .collect();
                        let values = if bodies {
                            changed
                                .unwrap_or(d.values)
                                .into_iter()
                                .filter_map(|v| id_of(&v))
                                .collect()
                        } else {
                            vec![]
                        };
                        Box::new(
                            self.frames(d.nodes.into_iter().map(|n| n.bytes).collect(), values),
                        )
                    }
                    Err(e) => one(Ok(error(ErrorCode::Internal, e.to_string()))),
                },
                Ok(None) => one(Ok(error(ErrorCode::NotFound, "author not held".into()))),
                Err(e) => one(Ok(error(ErrorCode::Internal, e.to_string()))),
            },
            Request::Nodes { hashes } => {
                let mut nodes = Vec::new();
                let mut bodies = Vec::new();
                for h in hashes {
                    match self.store().get(&h) {
                        Ok(Some(bytes)) => nodes.push(bytes),
                        Ok(None) => bodies.push(MessageId(h.0)),
                        Err(e) => return one(Ok(error(ErrorCode::Internal, e.to_string()))),
                    }
                }
                // The bodies a leaf names travel with it: a leaf is no use without them.
                for n in &nodes {
                    if let Ok(node) = Node::decode(n) {
                        bodies.extend(node.entries.iter().filter_map(|e| match &e.val {
                            Val::Leaf(v) => id_of(v),
                            Val::Child { .. } => None,
                        }));
                    }
                }
                Box::new(self.frames(nodes, bodies))
            }
            Request::Subscribe { .. } => one(Err(Violation::protocol("subscribe"))),
        }
    }

    /// The heads held for `authors`, each only if newer than the seq given with it.
    fn heads(
        &self,
        authors: impl Iterator<Item = (PublicKey, Option<u64>)>,
    ) -> Result<Response, Violation> {
        let mut heads = Vec::new();
        let mut seen = HashSet::new();
        for (a, since) in authors.filter(|(a, _)| seen.insert(*a)) {
            match self.store().head(&a) {
                Ok(Some(h)) if since.is_none_or(|s| h.head().seq > s) => {
                    heads.push(h.bytes().to_vec())
                }
                Ok(Some(_)) => {}
                Ok(None) => {}
                Err(e) => return Ok(error(ErrorCode::Internal, e.to_string())),
            }
        }
        Ok(Response::Heads { heads })
    }

    fn range(
        &self,
        author: &PublicKey,
        root: &Hash,
        range: KeyRange,
        limit: u32,
        reverse: bool,
    ) -> Result<Response, Violation> {
        match self.store().head(author) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(error(ErrorCode::NotFound, "author not held".into())),
            Err(e) => return Ok(error(ErrorCode::Internal, e.to_string())),
        }
        let mut query = Query::new(range).limit(limit as usize);
        if reverse {
            query = query.reverse();
        }
        let (entries, proof) = match self.trees.prove_range(root, &query) {
            Ok(p) => p,
            Err(rookery_prolly::Error::MissingNodes(_)) => {
                return Ok(error(ErrorCode::NotFound, "tree not held".into()));
            }
            Err(e) => return Ok(error(ErrorCode::Internal, e.to_string())),
        };
        let mut room = MAX_FRAME - proof.byte_len() - 64 * 1024;
        let mut bodies = Vec::new();
        for (_, v) in entries {
            if let Some(id) = id_of(&v)
                && let Ok(Some(b)) = self.store().body(&id)
            {
                // Bodies that do not fit are fetched with `Nodes` by the asker.
                if b.bytes().len() + 8 > room {
                    break;
                }
                room -= b.bytes().len() + 8;
                bodies.push(b.bytes().to_vec());
            }
        }
        Ok(Response::Proof {
            nodes: proof.nodes,
            bodies,
        })
    }

    /// `nodes`, then the held bodies among `bodies`, in `Nodes` frames of about
    /// [`FRAME_TARGET`] bytes; bodies are read from the store only as frames are made.
    fn frames(
        &self,
        nodes: Vec<Vec<u8>>,
        bodies: Vec<MessageId>,
    ) -> impl Iterator<Item = Result<Response, Violation>> + Send + '_ {
        let mut nodes = nodes.into_iter().peekable();
        // Bodies are read a batch at a time (one read transaction each), as frames are made.
        let mut ids = bodies.into_iter().peekable();
        let mut ready: std::collections::VecDeque<Vec<u8>> = Default::default();
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let (mut out_nodes, mut out_bodies, mut size) = (Vec::new(), Vec::new(), 0usize);
            while size < FRAME_TARGET {
                if let Some(n) = nodes.next() {
                    size += n.len() + 4;
                    out_nodes.push(n);
                    continue;
                }
                if ready.is_empty() {
                    let batch: Vec<MessageId> = ids.by_ref().take(512).collect();
                    if batch.is_empty() {
                        break;
                    }
                    match self.store().bodies(&batch) {
                        Ok(found) => {
                            ready.extend(found.into_iter().flatten().map(|b| b.bytes().to_vec()))
                        }
                        Err(e) => {
                            done = true;
                            return Some(Ok(error(ErrorCode::Internal, e.to_string())));
                        }
                    }
                    continue;
                }
                if let Some(b) = ready.pop_front() {
                    size += b.len() + 4;
                    out_bodies.push(b);
                }
            }
            let more = nodes.peek().is_some() || !ready.is_empty() || ids.peek().is_some();
            done = !more;
            Some(Ok(Response::Nodes {
                nodes: out_nodes,
                bodies: out_bodies,
                more,
            }))
        })
    }

    /// Sends each change of `authors`' heads until the peer goes away.
    async fn subscribe(
        &self,
        mut send: SendStream,
        authors: Vec<PublicKey>,
        mut changes: broadcast::Receiver<PublicKey>,
        cancel: &Notify,
    ) {
        let wanted: HashSet<PublicKey> = authors.into_iter().collect();
        loop {
            let author = tokio::select! {
                c = changes.recv() => match c {
                    Ok(a) => a,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = send.stopped() => return,
                _ = cancel.notified() => {
                    let _ = send.finish();
                    return;
                }
            };
            if !wanted.contains(&author) {
                continue;
            }
            if let Ok(Some(h)) = self.store().head(&author)
                && write(
                    &mut send,
                    &Response::Head {
                        head: h.bytes().to_vec(),
                    },
                )
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

fn hello() -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
    }
}

fn error(code: ErrorCode, message: String) -> Response {
    Response::Error { code, message }
}

/// The message id an index value names, if it is one.
fn id_of(v: &[u8]) -> Option<MessageId> {
    <[u8; 32]>::try_from(v).ok().map(MessageId)
}

async fn write(send: &mut SendStream, r: &impl serde::Serialize) -> Result<(), WireError> {
    let bytes = encode_frame(r)?;
    send.write_all(&bytes)
        .await
        .map_err(|e| WireError::Io(std::io::Error::other(e)))
}

/// The `rookery/sync/1` protocol for iroh's router: every connection, accepted or dialled, is
/// handed to the node (so it can ask the peer too) and served.
#[derive(Debug, Clone)]
pub struct SyncProtocol {
    server: Arc<Server>,
    sessions: mpsc::UnboundedSender<Connection>,
}

impl SyncProtocol {
    /// The protocol over `server`; each accepted connection is also sent on `sessions`.
    pub fn new(server: Arc<Server>, sessions: mpsc::UnboundedSender<Connection>) -> Self {
        SyncProtocol { server, sessions }
    }
}

impl ProtocolHandler for SyncProtocol {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let _ = self.sessions.send(conn.clone());
        self.server.clone().serve(conn).await;
        Ok(())
    }
}
