//! The asking side of `rookery/sync/2`: one QUIC stream per request, the hello and the request
//! sent together, so every exchange is one round trip.
//!
//! The stream I/O is here; what is checked lives in [`crate::verify`], run on each frame as it
//! arrives. A [`ClientError::Fault`] (or a stall, [`ClientError::Timeout`]) is the peer's
//! misbehaviour, and the caller drops the peer; a [`ClientError::Local`] is a failure of the
//! caller's own (a store that could not take a batch), never the peer's. Every frame has a
//! deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use rookery_feed::{Head, Index, MessageId, PublicKey, SignedHead};
use rookery_prolly::{Hash, KeyRange, Query};

use crate::verify::{self, Batch, Decoded, Fault, NodeStream, PageAnswer, Pushed, RangeAnswer};
use crate::wire::{
    CatchUpAsk, ErrorCode, Hello, PROTOCOL_VERSION, Request, Response, WireError, WireRange,
    encode_frame, key_prefix, read_frame_sized,
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
    #[error("bad data from the peer")]
    Fault(#[from] Fault),
    /// The peer refused the request.
    #[error("the peer refused: {code:?}")]
    Refused {
        /// The refusal's code.
        code: ErrorCode,
        /// The peer's words (for logs).
        message: String,
    },
    /// The caller could not take what the peer sent (its own store failed): not the peer's
    /// fault.
    #[error("a local failure while taking the answer")]
    Local(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ClientError {
    /// Whether the peer broke the protocol (bad data, bad frames, stalling): drop it.
    pub fn is_misbehaviour(&self) -> bool {
        match self {
            ClientError::Fault(_) | ClientError::Timeout => true,
            ClientError::Wire(e) => !matches!(e, WireError::Io(_) | WireError::Closed),
            ClientError::Connection(_) | ClientError::Refused { .. } | ClientError::Local(_) => {
                false
            }
        }
    }
}

/// Why a caller did not take a verified batch: the peer's fault (its data breaks the caller's
/// rules, e.g. a head that forks) or the caller's own failure.
#[derive(Debug)]
pub enum Rejection {
    /// The peer's data is refused by the caller's rules.
    Peer(String),
    /// The caller failed.
    Local(Box<dyn std::error::Error + Send + Sync>),
}

impl From<Rejection> for ClientError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Peer(why) => ClientError::Fault(Fault::Refused(why)),
            Rejection::Local(e) => ClientError::Local(e),
        }
    }
}

/// The slowest a whole answer may come, in bytes per second of what it could hold at most.
const MIN_ANSWER_RATE: f64 = (64 << 10) as f64;
/// The longest any one answer may take.
const MAX_ANSWER_TIME: Duration = Duration::from_secs(600);

/// Where a frame's bodies are checked: in place, or on a blocking thread.
enum Check {
    Here(Vec<Vec<u8>>),
    Elsewhere(tokio::task::JoinHandle<Decoded>),
}

/// A frame with at least this many bodies has them checked on other threads while the frame
/// before is taken; a smaller one is checked in place (a thread hand-off costs more).
const PIPELINE_FROM: usize = 64;

/// The deadline for a whole answer that can hold up to `max_bytes`: two frame deadlines, and the
/// time those bytes take at [`MIN_ANSWER_RATE`], at most [`MAX_ANSWER_TIME`]. A peer that keeps
/// an answer going longer is stalling.
pub fn answer_deadline(frame_timeout: Duration, max_bytes: u64) -> Duration {
    let transfer = Duration::from_secs_f64(max_bytes as f64 / MIN_ANSWER_RATE);
    (frame_timeout * 2 + transfer).min(MAX_ANSWER_TIME)
}

/// The kinds of request, for counting.
const KINDS: usize = 4;

/// What a client has sent and received on one connection.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests by kind: range, diff, fetch, subscribe.
    pub requests: [AtomicU64; KINDS],
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
    /// `Range` requests.
    pub range: u64,
    /// `Diff` requests.
    pub diff: u64,
    /// `Fetch` requests.
    pub fetch: u64,
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

impl CountersSnapshot {
    /// Every request made.
    pub fn requests(&self) -> u64 {
        self.range + self.diff + self.fetch + self.subscribe
    }
}

impl Counters {
    /// The numbers now.
    pub fn snapshot(&self) -> CountersSnapshot {
        let r = |i: usize| self.requests[i].load(Ordering::Relaxed);
        CountersSnapshot {
            range: r(0),
            diff: r(1),
            fetch: r(2),
            subscribe: r(3),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            nodes_in: self.nodes_in.load(Ordering::Relaxed),
            bodies_in: self.bodies_in.load(Ordering::Relaxed),
        }
    }

    fn took(&self, batch: &Batch) {
        self.nodes_in
            .fetch_add(batch.nodes.len() as u64, Ordering::Relaxed);
        self.bodies_in
            .fetch_add(batch.bodies.len() as u64, Ordering::Relaxed);
    }
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

    /// The same client with another deadline for each frame (its counters shared): a read the
    /// UI waits for wants an answer sooner than a catch-up does.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout,
            ..self.clone()
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
            Request::Range { .. } => 0,
            Request::Diff { .. } => 1,
            Request::Fetch { .. } => 2,
            Request::Subscribe { .. } => 3,
        };
        self.counters.requests[kind].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(peer = %self.peer().fmt_short(), kind = ["range", "diff", "fetch", "subscribe"][kind], "request");
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
        Ok(read_counted(recv, self.timeout, &self.counters).await?.0)
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
        let (_send, mut recv) = self.open(&req).await?;
        let (nodes, bodies) = match self.frame(&mut recv).await? {
            Response::Proof { nodes, bodies } => (nodes, bodies),
            Response::Error { code, message } => {
                return Err(ClientError::Refused { code, message });
            }
            _ => return Err(Fault::UnexpectedFrame("a proof").into()),
        };
        let answer = verify::range(root, query, author, nodes, &bodies)?;
        self.counters.took(&answer.batch);
        Ok(answer)
    }

    /// The nodes of `to` that a holder of `from` lacks on `range`, with their bodies, frame
    /// by frame: `on_batch` gets each verified frame as it arrives (so a broken connection
    /// loses nothing already received). `seq` is the seq of the signed head `to` comes from:
    /// what the answer may hold is bounded by it ([`Index::max_entries`]).
    // The arguments are the request's fields, one for one, and the head's seq.
    #[allow(clippy::too_many_arguments)]
    pub async fn diff(
        &self,
        author: &PublicKey,
        index: Index,
        from: &Hash,
        to: &Hash,
        range: &KeyRange,
        bodies: bool,
        seq: u64,
        on_batch: impl FnMut(Batch) -> Result<(), Rejection>,
    ) -> Result<(), ClientError> {
        let req = diff_request(author, index, from, to, range, bodies, true);
        let stream = NodeStream::diff(*to, *author, bodies, index.max_entries(seq));
        self.stream_nodes(&req, stream, on_batch).await
    }

    /// The bodies alone of a `Diff` from `from` to `to` (of `author`'s tree at `seq`), for a
    /// caller that rebuilds the new tree from them: each checked for its signature, by
    /// `author`, once. Bodies of messages at or before `since` (the seq of the head holding
    /// `from`; a peer that lacks `from` sends every body of the new leaves) are dropped. What
    /// the bodies are worth is only known once the rebuilt root matches the signed one.
    #[allow(clippy::too_many_arguments)]
    pub async fn diff_bodies(
        &self,
        author: &PublicKey,
        index: Index,
        from: &Hash,
        to: &Hash,
        range: &KeyRange,
        since: u64,
        seq: u64,
        on_batch: impl FnMut(Batch) -> Result<(), Rejection>,
    ) -> Result<(), ClientError> {
        let req = diff_request(author, index, from, to, range, true, false);
        let stream = NodeStream::bodies_since(*author, since, index.max_entries(seq));
        self.stream_nodes(&req, stream, on_batch).await
    }

    /// Nodes and bodies by id; with `leaf_bodies`, the bodies the leaves among them name come
    /// too. With `author`, bodies by others are left out.
    pub async fn fetch(
        &self,
        author: Option<&PublicKey>,
        nodes: &[Hash],
        bodies: &[MessageId],
        leaf_bodies: bool,
        on_batch: impl FnMut(Batch) -> Result<(), Rejection>,
    ) -> Result<(), ClientError> {
        let req = Request::Fetch {
            nodes: nodes.to_vec(),
            bodies: bodies.to_vec(),
            leaf_bodies,
        };
        let stream = NodeStream::fetch(nodes, bodies, leaf_bodies, author.copied());
        self.stream_nodes(&req, stream, on_batch).await
    }

    /// Reads `Nodes` frames, each checked by `stream` before `on_batch` takes it, within a
    /// deadline for the whole answer (see [`answer_deadline`]).
    async fn stream_nodes(
        &self,
        req: &Request,
        mut stream: NodeStream,
        mut on_batch: impl FnMut(Batch) -> Result<(), Rejection>,
    ) -> Result<(), ClientError> {
        let deadline = answer_deadline(self.timeout, stream.max_bytes());
        tokio::time::timeout(deadline, async {
            let (_send, recv) = self.open(req).await?;
            let mut ahead = read_ahead(recv, self.timeout, self.counters.clone());
            self.read_nodes(&mut ahead, &mut stream, &mut on_batch)
                .await
        })
        .await
        .map_err(|_| ClientError::Timeout)?
    }

    /// Pipelined: while one frame's batch is taken (stored, by `on_batch`), the next frame's
    /// signatures are checked on other threads (and the frames after it are read, see
    /// [`read_ahead`]). A batch verified is taken before any error that follows it is
    /// returned, as if frames were taken one at a time.
    async fn read_nodes(
        &self,
        recv: &mut ReadAhead,
        stream: &mut NodeStream,
        on_batch: &mut impl FnMut(Batch) -> Result<(), Rejection>,
    ) -> Result<(), ClientError> {
        let mut ready: Option<Batch> = None;
        loop {
            let read = match recv.next().await {
                Ok(Response::Nodes {
                    nodes,
                    bodies,
                    more,
                }) => Ok((nodes, bodies, more)),
                Ok(Response::Error { code, message }) => {
                    Err(ClientError::Refused { code, message })
                }
                Ok(_) => Err(Fault::UnexpectedFrame("nodes").into()),
                Err(e) => Err(e),
            };
            // This frame's bodies start being checked, then the frame before is stored.
            let checking = read.map(|(nodes, bodies, more)| {
                let check = if bodies.len() < PIPELINE_FROM {
                    Check::Here(bodies)
                } else {
                    Check::Elsewhere(tokio::task::spawn_blocking(move || Decoded::of(&bodies)))
                };
                (nodes, check, more)
            });
            if let Some(b) = ready.take() {
                on_batch(b)?;
            }
            let (nodes, check, more) = checking?;
            let decoded = match check {
                Check::Here(bodies) => Decoded::of(&bodies),
                // A checking thread only panics if the decoder does (the fuzzers rule it
                // out): a bad frame all the same.
                Check::Elsewhere(h) => h.await.map_err(|_| Fault::Signed {
                    what: "body",
                    source: rookery_feed::FeedError::WrongAuthor,
                })?,
            };
            let batch = stream.frame_decoded(nodes, decoded, more)?;
            self.counters.took(&batch);
            if !more {
                on_batch(batch)?;
                return Ok(());
            }
            ready = Some(batch);
        }
    }

    /// Subscribes to `authors`' heads: returns those the peer holds newer than the seqs given
    /// (see [`verify::heads`]), with `page` > 0 the first page of the newest `page` posts
    /// across the people held not at all (those asked with seq 0; see [`verify::page`]:
    /// `None` if there are none, `Err` inside if the peer could not merge them), and the stream
    /// of changes from then on. With `catch_up`, heads of authors held come with their small
    /// catch-ups, on the stream (see [`CatchUpAsk`]).
    pub async fn subscribe(
        &self,
        authors: &[(PublicKey, u64)],
        page: u32,
        catch_up: Option<CatchUpAsk>,
    ) -> Result<(Vec<SignedHead>, FirstPage, Subscription), ClientError> {
        let req = Request::Subscribe {
            authors: authors.iter().map(|(a, s)| (key_prefix(a), *s)).collect(),
            page,
            catch_up,
        };
        let (send, mut recv) = self.open(&req).await?;
        let heads = match self.frame(&mut recv).await? {
            Response::Heads { heads } => heads,
            Response::Error { code, message } => {
                return Err(ClientError::Refused { code, message });
            }
            _ => return Err(Fault::UnexpectedFrame("heads").into()),
        };
        let mut latest: HashMap<PublicKey, u64> = authors.iter().copied().collect();
        let now = verify::heads(&heads, &latest)?;
        for h in &now {
            latest.insert(h.head().author, h.head().seq);
        }
        let new: std::collections::HashSet<PublicKey> = authors
            .iter()
            .filter(|(_, seq)| *seq == 0)
            .map(|(a, _)| *a)
            .collect();
        let shown: Vec<Head> = now.iter().map(|h| h.head().clone()).collect();
        let feeds = verify::page_feeds(&shown, &new, page);
        let first_page = if feeds.is_empty() {
            None
        } else {
            Some(match self.frame(&mut recv).await? {
                Response::Page {
                    lowest,
                    proofs,
                    bodies,
                    not_held,
                } => {
                    let answer = verify::page(&feeds, page, lowest, proofs, &bodies, &not_held)?;
                    self.counters.took(&answer.batch);
                    Ok(answer)
                }
                Response::Error { code, message } => Err(ClientError::Refused { code, message }),
                _ => return Err(Fault::UnexpectedFrame("a page").into()),
            })
        };
        Ok((
            now,
            first_page,
            Subscription {
                _send: send,
                recv,
                latest,
                up_to: catch_up.map_or(0, |c| c.up_to),
                counters: self.counters.clone(),
            },
        ))
    }
}

/// A `Diff` request, its fields one for one.
fn diff_request(
    author: &PublicKey,
    index: Index,
    from: &Hash,
    to: &Hash,
    range: &KeyRange,
    bodies: bool,
    nodes: bool,
) -> Request {
    Request::Diff {
        author: *author,
        index,
        from: *from,
        to: *to,
        range: WireRange::from(range.clone()),
        bodies,
        nodes,
    }
}

/// A subscription's first page: `None` when there was none to ask for (no one new).
pub type FirstPage = Option<Result<PageAnswer, ClientError>>;

/// Heads pushed by a peer.
#[derive(Debug)]
pub struct Subscription {
    _send: SendStream,
    recv: RecvStream,
    /// The newest seq this subscription brought per author (or the one held, at first).
    latest: HashMap<PublicKey, u64>,
    /// The largest catch-up asked to come with a head (0: none).
    up_to: u32,
    counters: Arc<Counters>,
}

impl Subscription {
    /// The next head, checked against its signature, the authors subscribed to, and what the
    /// subscription brought before, with its catch-up if one came (see [`verify::pushed`]);
    /// `None` when the peer ends the subscription.
    pub async fn next(&mut self) -> Option<Result<Pushed, ClientError>> {
        let (frame, len) = match read_frame_sized::<Response>(&mut self.recv).await {
            Ok(f) => f,
            Err(WireError::Closed | WireError::Io(_)) => return None,
            Err(e) => return Some(Err(e.into())),
        };
        self.counters
            .bytes_in
            .fetch_add(len as u64, Ordering::Relaxed);
        Some(match frame {
            Response::Head {
                head,
                bodies,
                mentions,
            } => verify::pushed(&head, &bodies, mentions, &mut self.latest, self.up_to)
                .inspect(|p| self.counters.took(&p.catch_up))
                .map_err(ClientError::from),
            _ => Err(Fault::UnexpectedFrame("a head").into()),
        })
    }
}

/// Reads `recv`'s frames on a task of their own, up to [`READ_AHEAD`] bytes of decoded frames
/// ahead of the caller: the stream is drained while the caller stores what came before, so the
/// peer's flow-control window reopens at once instead of after each store, and frames are
/// decoded (and decompressed) off the caller's path. Ends after the last frame of a `Nodes`
/// answer, at the first frame that is not one, or at an error; stops (and drops the stream)
/// when the caller drops the [`ReadAhead`].
fn read_ahead(
    mut recv: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    timeout: Duration,
    counters: Arc<Counters>,
) -> ReadAhead {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let room = Arc::new(tokio::sync::Semaphore::new(READ_AHEAD));
    let task = tokio::spawn(async move {
        loop {
            let read = read_counted::<Response>(&mut recv, timeout, &counters).await;
            let last = !matches!(read, Ok((Response::Nodes { more: true, .. }, _)));
            // Held until the caller takes the frame. A compressed frame holds more than it
            // took on the wire: what it holds decoded is counted.
            let held = match &read {
                Ok((Response::Nodes { nodes, bodies, .. }, len)) => nodes
                    .iter()
                    .chain(bodies)
                    .map(|b| b.len() + 8)
                    .sum::<usize>()
                    .max(*len),
                Ok((_, len)) => *len,
                Err(_) => 0,
            };
            let n = held.clamp(1, READ_AHEAD) as u32;
            let Ok(permit) = room.clone().acquire_many_owned(n).await else {
                return;
            };
            if tx.send((read.map(|(f, _)| f), permit)).is_err() || last {
                return;
            }
        }
    });
    ReadAhead { rx, task }
}

/// One frame from `recv` within `timeout`, with its length on the wire, counted in.
async fn read_counted<T: serde::de::DeserializeOwned>(
    recv: &mut (impl tokio::io::AsyncRead + Unpin),
    timeout: Duration,
    counters: &Counters,
) -> Result<(T, usize), ClientError> {
    let (f, len) = tokio::time::timeout(timeout, read_frame_sized::<T>(recv))
        .await
        .map_err(|_| ClientError::Timeout)?
        .map_err(|e| match e {
            WireError::Io(e) => ClientError::Connection(e.to_string()),
            WireError::Closed => ClientError::Connection("stream closed".into()),
            e => e.into(),
        })?;
    counters.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
    Ok((f, len))
}

/// Bytes of frames, decoded, a stream may hold read ahead of the caller (see [`read_ahead`]);
/// at most one frame more waits for room.
const READ_AHEAD: usize = 8 << 20;

/// A frame read ahead, with the room it takes until the caller takes it.
type Ahead = (
    Result<Response, ClientError>,
    tokio::sync::OwnedSemaphorePermit,
);

/// The frames of one stream, read ahead by a task of their own (see [`read_ahead`]).
struct ReadAhead {
    rx: tokio::sync::mpsc::UnboundedReceiver<Ahead>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    /// The next frame, or why there is none.
    async fn next(&mut self) -> Result<Response, ClientError> {
        match self.rx.recv().await {
            Some((frame, _room)) => frame,
            None => Err(ClientError::Connection("stream closed".into())),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_stream_is_read_ahead_only_as_far_as_its_decoded_frames_fit() {
        // Frames of zeros: a few hundred bytes on the wire, 3 MiB each once decoded.
        let frame = encode_frame(&Response::Nodes {
            nodes: vec![vec![0; 1 << 20]; 3],
            bodies: vec![],
            more: true,
        })
        .unwrap();
        assert!(frame.len() < 4096, "the frame goes compressed");
        let len = frame.len() as u64;
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(async move {
            for _ in 0..100 {
                tx.write_all(&frame).await.unwrap();
            }
            tx
        });
        let counters = Arc::new(Counters::default());
        let mut ahead = read_ahead(rx, Duration::from_secs(5), counters.clone());
        let _tx = writer.await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // 8 MiB of room: two frames held, a third waiting for room, none beyond.
        let frames = |c: &Counters| c.bytes_in.load(Ordering::Relaxed) / len;
        assert!(
            frames(&counters) <= 3,
            "{} frames read ahead",
            frames(&counters)
        );
        // Taking frames makes room for the next ones.
        for _ in 0..10 {
            assert!(matches!(
                ahead.next().await,
                Ok(Response::Nodes { more: true, .. })
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!((10..=13).contains(&frames(&counters)));
    }
}
