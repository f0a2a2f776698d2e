//! The asking side of `rookery/sync/1`: one QUIC stream per request, the hello and the request
//! sent together, so every exchange is one round trip.
//!
//! Nothing a peer sends is trusted: heads are checked against their signatures and the authors
//! asked for; a range proof is verified against the root asked for (which the caller takes
//! from a signed head); every node of a `Diff` or `Nodes` answer must be one that was asked for
//! or a child of one already received (so nothing unasked-for is stored), and is checked
//! against its hash and decoded strictly; every body must carry a valid signature and be named
//! by what was asked for. Any violation is a [`ClientError::BadData`], and the caller drops the
//! peer. Every frame has a deadline.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use rookery_feed::{FeedError, Index, MessageId, PublicKey, SignedHead, SignedMessage};
use rookery_prolly::node::Val;
use rookery_prolly::{Hash, KeyRange, KeyValue, NodeBytes, Query, RangeProof, verify_node};

use crate::wire::{
    ErrorCode, Hello, PROTOCOL_VERSION, Request, Response, WireError, WireRange, encode_frame,
    read_frame_sized,
};

/// Why an exchange with a peer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection or stream failed (the peer went away).
    #[error("connection lost: {0}")]
    Connection(String),
    /// The peer did not answer in time.
    #[error("the peer did not answer in time")]
    Timeout,
    /// A frame could not be read (oversized, malformed, another protocol version).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The peer sent data that fails verification.
    #[error("bad data from peer: {0}")]
    BadData(String),
    /// The peer refused the request.
    #[error("peer refused: {code:?}: {message}")]
    Refused {
        /// Why.
        code: ErrorCode,
        /// The peer's words (for logs).
        message: String,
    },
}

impl ClientError {
    /// Whether the peer broke the protocol (bad data, bad frames, stalling): drop it.
    pub fn is_misbehaviour(&self) -> bool {
        match self {
            ClientError::BadData(_) | ClientError::Timeout => true,
            ClientError::Wire(e) => !matches!(e, WireError::Io(_) | WireError::Closed),
            ClientError::Connection(_) | ClientError::Refused { .. } => false,
        }
    }
}

/// Decodes signed messages, checking every signature; a frame's worth is split over the cores
/// (signature checks are most of the cost of taking in a feed).
fn decode_all(bodies: &[Vec<u8>]) -> Result<Vec<SignedMessage>, ClientError> {
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if bodies.len() < 256 || cores == 1 {
        return Ok(bodies
            .iter()
            .map(|b| SignedMessage::decode(b))
            .collect::<Result<_, _>>()?);
    }
    let chunk = bodies.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let parts: Vec<_> = bodies
            .chunks(chunk)
            .map(|c| {
                scope.spawn(move || {
                    c.iter()
                        .map(|b| SignedMessage::decode(b))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(bodies.len());
        for p in parts {
            let part = p.join().map_err(|_| bad("a verifying thread failed"))?;
            out.extend(part?);
        }
        Ok(out)
    })
}

fn bad(what: impl Into<String>) -> ClientError {
    ClientError::BadData(what.into())
}

impl From<FeedError> for ClientError {
    fn from(e: FeedError) -> Self {
        bad(e.to_string())
    }
}

/// What a client has sent and received on one connection.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests by kind: heads, range, diff, nodes, subscribe.
    pub requests: [AtomicU64; 5],
    /// Frame bytes received.
    pub bytes_in: AtomicU64,
    /// Frame bytes sent.
    pub bytes_out: AtomicU64,
    /// Tree nodes received (verified).
    pub nodes_in: AtomicU64,
    /// Message bodies received (verified).
    pub bodies_in: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CountersSnapshot {
    /// `Heads` requests.
    pub heads: u64,
    /// `Range` requests.
    pub range: u64,
    /// `Diff` requests.
    pub diff: u64,
    /// `Nodes` requests.
    pub nodes: u64,
    /// `Subscribe` requests.
    pub subscribe: u64,
    /// Frame bytes received.
    pub bytes_in: u64,
    /// Frame bytes sent.
    pub bytes_out: u64,
    /// Tree nodes received.
    pub nodes_in: u64,
    /// Message bodies received.
    pub bodies_in: u64,
}

impl Counters {
    /// The numbers now.
    pub fn snapshot(&self) -> CountersSnapshot {
        let r = |i: usize| self.requests[i].load(Ordering::Relaxed);
        CountersSnapshot {
            heads: r(0),
            range: r(1),
            diff: r(2),
            nodes: r(3),
            subscribe: r(4),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            nodes_in: self.nodes_in.load(Ordering::Relaxed),
            bodies_in: self.bodies_in.load(Ordering::Relaxed),
        }
    }
}

/// Verified nodes and bodies, as they arrive.
#[derive(Debug, Default)]
pub struct Batch {
    /// Tree nodes, each checked against its id.
    pub nodes: Vec<NodeBytes>,
    /// Signed bodies by the author asked about.
    pub bodies: Vec<SignedMessage>,
}

/// The answer to a `Range`: the verified entries and what proves them.
#[derive(Debug)]
pub struct RangeAnswer {
    /// The query's entries.
    pub entries: Vec<KeyValue>,
    /// The proof nodes and the bodies sent with them.
    pub batch: Batch,
}

/// A client for one connection.
#[derive(Debug, Clone)]
pub struct Client {
    conn: Connection,
    timeout: Duration,
    counters: Arc<Counters>,
}

impl Client {
    /// A client over `conn`, waiting at most `timeout` for each frame.
    pub fn new(conn: Connection, timeout: Duration) -> Self {
        Client {
            conn,
            timeout,
            counters: Arc::default(),
        }
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The peer's key.
    pub fn peer(&self) -> PublicKey {
        self.conn.remote_id()
    }

    /// What this client has sent and received.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    async fn timed<T>(
        &self,
        f: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// Opens a stream and sends the hello and the request in one write.
    async fn open(&self, req: &Request) -> Result<(SendStream, RecvStream), ClientError> {
        let kind = match req {
            Request::Heads { .. } => 0,
            Request::Range { .. } => 1,
            Request::Diff { .. } => 2,
            Request::Nodes { .. } => 3,
            Request::Subscribe { .. } => 4,
            Request::Newer { .. } => 0,
        };
        self.counters.requests[kind].fetch_add(1, Ordering::Relaxed);
        let mut bytes = encode_frame(&Hello {
            version: PROTOCOL_VERSION,
        })?;
        bytes.extend(encode_frame(req)?);
        self.counters
            .bytes_out
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let (mut send, mut recv) = self
            .timed(async {
                self.conn
                    .open_bi()
                    .await
                    .map_err(|e| ClientError::Connection(e.to_string()))
            })
            .await?;
        send.write_all(&bytes)
            .await
            .map_err(|e| ClientError::Connection(e.to_string()))?;
        if !matches!(req, Request::Subscribe { .. }) {
            let _ = send.finish();
        }
        let hello: Hello = self.frame(&mut recv).await?;
        if hello.version != PROTOCOL_VERSION {
            return Err(WireError::Version(hello.version).into());
        }
        Ok((send, recv))
    }

    async fn frame<T: serde::de::DeserializeOwned>(
        &self,
        recv: &mut RecvStream,
    ) -> Result<T, ClientError> {
        let (f, len) = self
            .timed(async {
                read_frame_sized::<T>(recv).await.map_err(|e| match e {
                    WireError::Io(e) => ClientError::Connection(e.to_string()),
                    WireError::Closed => ClientError::Connection("stream closed".into()),
                    e => e.into(),
                })
            })
            .await?;
        self.counters
            .bytes_in
            .fetch_add(len as u64, Ordering::Relaxed);
        Ok(f)
    }

    async fn one(&self, req: &Request) -> Result<Response, ClientError> {
        let (_send, mut recv) = self.open(req).await?;
        match self.frame(&mut recv).await? {
            Response::Error { code, message } => Err(ClientError::Refused { code, message }),
            r => Ok(r),
        }
    }

    /// The latest heads the peer holds for `authors`, each checked against its signature.
    pub async fn heads(&self, authors: &[PublicKey]) -> Result<Vec<SignedHead>, ClientError> {
        let req = Request::Heads {
            authors: authors.to_vec(),
        };
        self.heads_for(&req, authors.iter().map(|a| (*a, 0)).collect())
            .await
    }

    /// The heads the peer holds that are newer than the seqs given.
    pub async fn newer(
        &self,
        authors: &[(PublicKey, u64)],
    ) -> Result<Vec<SignedHead>, ClientError> {
        let req = Request::Newer {
            authors: authors.to_vec(),
        };
        self.heads_for(&req, authors.iter().copied().collect())
            .await
    }

    async fn heads_for(
        &self,
        req: &Request,
        wanted: std::collections::HashMap<PublicKey, u64>,
    ) -> Result<Vec<SignedHead>, ClientError> {
        let answer = self.one(req).await?;
        self.check_heads(answer, req, wanted)
    }

    /// Checks a `Heads` answer: signatures, only authors asked about, each once, and (for
    /// `Newer` and `Subscribe`) none older than the seq given.
    fn check_heads(
        &self,
        answer: Response,
        req: &Request,
        wanted: std::collections::HashMap<PublicKey, u64>,
    ) -> Result<Vec<SignedHead>, ClientError> {
        let heads = match answer {
            Response::Heads { heads } => heads,
            Response::Error { code, message } => {
                return Err(ClientError::Refused { code, message });
            }
            _ => return Err(bad("expected heads")),
        };
        let newer = !matches!(req, Request::Heads { .. });
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(heads.len());
        for h in heads {
            let h = SignedHead::decode(&h)?;
            let a = h.head().author;
            let Some(held) = wanted.get(&a) else {
                return Err(bad("a head that was not asked for"));
            };
            // A head with the same seq passes: if it differs from the one held, it is a fork,
            // which the caller records as evidence.
            if !seen.insert(a) || (newer && h.head().seq < *held) {
                return Err(bad("a head twice, or older than asked for"));
            }
            out.push(h);
        }
        Ok(out)
    }

    /// The first `query.limit` entries of `query.range` in `author`'s tree under `root`, proven
    /// against `root`, with the bodies the entries name.
    pub async fn range(
        &self,
        author: &PublicKey,
        index: Index,
        root: &Hash,
        query: &Query,
    ) -> Result<RangeAnswer, ClientError> {
        let req = Request::Range {
            author: *author,
            index,
            root: *root,
            range: query.range.clone().into(),
            limit: query.limit.unwrap_or(u32::MAX as usize) as u32,
            reverse: query.reverse,
        };
        let Response::Proof { nodes, bodies } = self.one(&req).await? else {
            return Err(bad("expected a proof"));
        };
        let proof = RangeProof { nodes };
        let entries = rookery_prolly::verify_range(root, query, &proof)
            .map_err(|e| bad(format!("range proof: {e}")))?;
        let named: HashSet<Vec<u8>> = entries.iter().map(|(_, v)| v.clone()).collect();
        let bodies = self.bodies(bodies, Some(author), |id| named.contains(id.0.as_slice()))?;
        let nodes: Vec<NodeBytes> = proof
            .nodes
            .into_iter()
            .map(|bytes| NodeBytes {
                id: Hash::of_node(&bytes),
                bytes,
            })
            .collect();
        self.count(&nodes, &bodies);
        Ok(RangeAnswer {
            entries,
            batch: Batch { nodes, bodies },
        })
    }

    fn count(&self, nodes: &[NodeBytes], bodies: &[SignedMessage]) {
        self.counters
            .nodes_in
            .fetch_add(nodes.len() as u64, Ordering::Relaxed);
        self.counters
            .bodies_in
            .fetch_add(bodies.len() as u64, Ordering::Relaxed);
    }

    /// Decodes and checks bodies: signature, `named`, and the author if one is given (bodies by
    /// anyone else are left out: an index may name another author's message, and a relay may
    /// send it).
    fn bodies(
        &self,
        bodies: Vec<Vec<u8>>,
        author: Option<&PublicKey>,
        named: impl Fn(&MessageId) -> bool,
    ) -> Result<Vec<SignedMessage>, ClientError> {
        let mut out = Vec::with_capacity(bodies.len());
        for m in decode_all(&bodies)? {
            if !named(&m.id()) {
                return Err(bad("a body that was not asked for"));
            }
            if author.is_none_or(|a| m.message().author == *a) {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// The nodes of `to` that a holder of `from` lacks on `range`, with their bodies, frame
    /// by frame: `on_batch` gets each verified frame as it arrives (so a broken connection
    /// loses nothing already received).
    // The arguments are the request's fields, one for one.
    #[allow(clippy::too_many_arguments)]
    pub async fn diff(
        &self,
        author: &PublicKey,
        index: Index,
        from: &Hash,
        to: &Hash,
        range: &KeyRange,
        bodies: bool,
        on_batch: impl FnMut(Batch) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let req = Request::Diff {
            author: *author,
            index,
            from: *from,
            to: *to,
            range: WireRange::from(range.clone()),
            bodies,
        };
        self.stream_nodes(&req, Some(author), HashSet::from([*to]), on_batch)
            .await
    }

    /// Nodes (and bodies) by hash: each node, and the bodies its leaves name, travel together.
    /// With `author`, bodies by others are left out.
    pub async fn nodes(
        &self,
        author: Option<&PublicKey>,
        hashes: &[Hash],
        on_batch: impl FnMut(Batch) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let req = Request::Nodes {
            hashes: hashes.to_vec(),
        };
        let asked: HashSet<Hash> = hashes.iter().copied().collect();
        self.stream_nodes(&req, author, asked, on_batch).await
    }

    /// Reads `Nodes` frames. A node is taken only if it is in `expected`: the hashes asked for
    /// or, for a diff, a child of a node received before (parents come first). A body is taken
    /// only if it was asked for or a leaf received names it.
    async fn stream_nodes(
        &self,
        req: &Request,
        author: Option<&PublicKey>,
        mut expected: HashSet<Hash>,
        mut on_batch: impl FnMut(Batch) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        let diff = matches!(req, Request::Diff { .. });
        let asked_bodies: HashSet<Hash> = if diff {
            HashSet::new()
        } else {
            expected.clone()
        };
        let (_send, mut recv) = self.open(req).await?;
        let mut named: HashSet<[u8; 32]> = HashSet::new();
        loop {
            let (nodes, bodies, more) = match self.frame(&mut recv).await? {
                Response::Nodes {
                    nodes,
                    bodies,
                    more,
                } => (nodes, bodies, more),
                Response::Error { code, message } => {
                    return Err(ClientError::Refused { code, message });
                }
                _ => return Err(bad("expected nodes")),
            };
            let mut batch = Batch::default();
            for bytes in nodes {
                let id = Hash::of_node(&bytes);
                if !expected.remove(&id) {
                    return Err(bad("a node that was not asked for"));
                }
                let node = verify_node(&id, &bytes).map_err(|e| bad(format!("node: {e}")))?;
                for e in &node.entries {
                    match &e.val {
                        Val::Child { .. } if diff => {
                            if let Some(c) = e.child_id() {
                                expected.insert(c);
                            }
                        }
                        Val::Leaf(v) => {
                            if let Ok(id) = <[u8; 32]>::try_from(v.as_slice()) {
                                named.insert(id);
                            }
                        }
                        Val::Child { .. } => {}
                    }
                }
                batch.nodes.push(NodeBytes { id, bytes });
            }
            batch.bodies = self.bodies(bodies, author, |id| {
                named.contains(&id.0) || asked_bodies.contains(&Hash(id.0))
            })?;
            self.count(&batch.nodes, &batch.bodies);
            on_batch(batch)?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Subscribes to `authors`' heads: returns those the peer holds newer than the seqs given
    /// (checked like [`Client::newer`]), and the stream of changes from then on.
    pub async fn subscribe(
        &self,
        authors: &[(PublicKey, u64)],
    ) -> Result<(Vec<SignedHead>, Subscription), ClientError> {
        let req = Request::Subscribe {
            authors: authors.to_vec(),
        };
        let (send, mut recv) = self.open(&req).await?;
        let first = self.frame(&mut recv).await?;
        let now = self.check_heads(first, &req, authors.iter().copied().collect())?;
        Ok((
            now,
            Subscription {
                _send: send,
                recv,
                authors: authors.iter().map(|(a, _)| *a).collect(),
                counters: self.counters.clone(),
            },
        ))
    }
}

/// Heads pushed by a peer.
#[derive(Debug)]
pub struct Subscription {
    _send: SendStream,
    recv: RecvStream,
    authors: HashSet<PublicKey>,
    counters: Arc<Counters>,
}

impl Subscription {
    /// The next head, checked against its signature and the authors subscribed to; `None`
    /// when the peer ends the subscription.
    pub async fn next(&mut self) -> Option<Result<SignedHead, ClientError>> {
        let (frame, len) = match read_frame_sized::<Response>(&mut self.recv).await {
            Ok(f) => f,
            Err(WireError::Closed | WireError::Io(_)) => return None,
            Err(e) => return Some(Err(e.into())),
        };
        self.counters
            .bytes_in
            .fetch_add(len as u64, Ordering::Relaxed);
        Some(match frame {
            Response::Head { head } => SignedHead::decode(&head)
                .map_err(ClientError::from)
                .and_then(|h| {
                    if self.authors.contains(&h.head().author) {
                        Ok(h)
                    } else {
                        Err(bad("a head that was not subscribed to"))
                    }
                }),
            _ => Err(bad("expected a head")),
        })
    }
}
