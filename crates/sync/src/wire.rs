//! The wire format of `rookery/sync/2`.
//!
//! A connection carries frames: a 4-byte big-endian length, then that many bytes of postcard.
//! A length over [`MAX_FRAME`] is refused before anything is allocated or read. A frame whose
//! postcard is [`COMPRESS_MIN`] bytes or more, and which zstd makes smaller, goes compressed:
//! the length's top bit ([`COMPRESSED`]) is set and the bytes are one zstd frame that states
//! its content size, which must be within the same limit (a small frame claiming to inflate
//! past it is refused before anything is inflated). Each side first
//! sends a [`Hello`]; a peer with another protocol version is told so and dropped. Then the
//! asker sends [`Request`]s and reads [`Response`]s. Every request is checked against the
//! limits below before it is served ([`Request::check`]).
//!
//! Everything in a response is checked by the receiver (nodes against their ids, proofs
//! against a signed head's root, bodies and heads against their signatures) before it is
//! stored: the wire format itself trusts nothing.

use std::ops::Bound;

use rookery_feed::{Index, MessageId, PublicKey};
use rookery_prolly::Hash;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The ALPN protocol name.
pub const ALPN: &[u8] = b"rookery/sync/2";
/// The protocol version sent in [`Hello`]. Version 2 replaced `Nodes` by `Fetch` and dropped
/// the one-shot `Heads` and `Newer` (a subscription's first frame answers both); version 3
/// added a first page to `Subscribe` (a version-2 server would take it for a malformed
/// request); version 4 compresses frames (a version-3 peer would read a compressed frame's
/// length as over the limit) and lets a `Diff` ask for the bodies alone; version 5 lets a
/// subscription ask for each small catch-up to come with its head ([`CatchUpAsk`]); version 6
/// fills a stream's first `Nodes` frames smaller ([`frame_target`]; a version-5 asker would take
/// them for a dripping peer).
pub const PROTOCOL_VERSION: u32 = 6;
/// The top bit of a frame's length: the frame is zstd-compressed.
pub const COMPRESSED: u32 = 1 << 31;
/// Frames shorter than this go as they are: a hello, a request, a pushed head gain nothing.
pub const COMPRESS_MIN: usize = 256;
/// zstd's level for frames: its default (other levels were not measured).
const ZSTD_LEVEL: i32 = 3;
/// The size the first `Nodes` frame of an answer is filled to ([`frame_target`]).
pub const FIRST_FRAME: usize = 64 << 10;
/// The size the later `Nodes` frames of an answer are filled to ([`frame_target`]).
pub const FULL_FRAME: usize = 1 << 20;

/// The size the `k`-th `Nodes` frame of an answer (0 first) is filled to: [`FIRST_FRAME`],
/// doubling frame by frame up to [`FULL_FRAME`]. A connection's first round trips carry little
/// (QUIC's slow start opens its window from 12,000 bytes), and several streams share it: with
/// whole-MiB frames from the start, nothing could be checked or stored until megabytes had
/// come in. Small first frames let the asker work while the window opens.
pub fn frame_target(k: usize) -> usize {
    (FIRST_FRAME << k.min(16)).min(FULL_FRAME)
}

/// The largest frame either side accepts: 4 MiB.
pub const MAX_FRAME: usize = 4 << 20;
/// The largest request frame a server reads: the largest request the limits allow (a `Fetch`
/// of 1,024 ids, a `Subscribe` of 1,024 authors) fits many times over.
pub const MAX_REQUEST_FRAME: usize = 64 << 10;
/// The most authors one `Subscribe` names.
pub const MAX_AUTHORS: usize = 1024;
/// The most nodes and bodies one `Fetch` asks for, together.
pub const MAX_HASHES: usize = 1024;
/// The most entries one `Range` asks for.
pub const MAX_RANGE_LIMIT: u32 = 1000;
/// The longest key in a range bound.
pub const MAX_BOUND_KEY: usize = rookery_prolly::MAX_KEY_LEN;
/// The most posts of a subscription's first page.
pub const MAX_PAGE_LIMIT: u32 = 64;
/// The most new messages a catch-up pushed with a head may hold ([`CatchUpAsk::up_to`]).
pub const MAX_CATCH_UP: u32 = 64;

/// Close code: a normal goodbye.
pub const CLOSE_NORMAL: u32 = 0;
/// Close code: the peer broke the protocol (a malformed frame, bad data, a request over a
/// limit, an answer that fails verification).
pub const CLOSE_PROTOCOL: u32 = 1;
/// Close code: the peer used more than its share (requests, bytes, time).
pub const CLOSE_OVER_BUDGET: u32 = 2;

/// The first frame each way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub version: u32,
}

/// A key range on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRange {
    /// The lower bound of the keys.
    pub start: Bound<Vec<u8>>,
    /// The upper bound of the keys.
    pub end: Bound<Vec<u8>>,
}

impl From<rookery_prolly::KeyRange> for WireRange {
    fn from(r: rookery_prolly::KeyRange) -> Self {
        WireRange {
            start: r.start,
            end: r.end,
        }
    }
}

impl From<WireRange> for rookery_prolly::KeyRange {
    fn from(r: WireRange) -> Self {
        rookery_prolly::KeyRange {
            start: r.start,
            end: r.end,
        }
    }
}

/// How a subscription names an author: the first 16 bytes of their key. Half the bytes of a
/// subscription naming hundreds of people (which then fits the first flight of a connection
/// and is answered a round trip sooner), and 128 bits: no key can be made to share the prefix
/// of someone else's (that takes about 2^128 tries). Two keys someone made to share one
/// (about 2^64 tries) are both answered; the asker takes the one it follows and ignores the
/// other.
pub type KeyPrefix = [u8; 16];

/// The most authors one [`KeyPrefix`] of a subscription stands for (keys made to share a
/// prefix are answered, up to this many; more is a fault).
pub const SAME_PREFIX: usize = 4;

/// The [`KeyPrefix`] of `key`.
pub fn key_prefix(key: &PublicKey) -> KeyPrefix {
    let mut p = [0u8; 16];
    p.copy_from_slice(&key.as_bytes()[..16]);
    p
}

/// What a subscriber asks to come with each head it is shown of an author it holds, when the
/// head is at most `up_to` messages newer than the one held: the bodies of the new messages
/// (from which it rebuilds the `messages` tree on the path it holds, as after a bodies-only
/// `Diff`) and the `mentions` nodes of that head it lacks on the range of `mentions_of` (as a
/// `Diff` of that range from the root it holds would bring). Catching up is then no request
/// at all: the head and what it needs arrive in one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatchUpAsk {
    /// The largest gap, in messages, that comes with its head (at most [`MAX_CATCH_UP`]).
    pub up_to: u32,
    /// Whose mentions (the subscriber's own key).
    pub mentions_of: PublicKey,
}

/// What an asker wants. Variant order is the wire tag; new requests go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The first `limit` entries of `range` in one index of `author`'s tree under `root`, as a
    /// range proof, with the bodies it names: a new follower's first screen in one round trip.
    Range {
        /// Whose feed.
        author: PublicKey,
        /// Which index.
        index: Index,
        /// The root (from a signed head the asker holds).
        root: Hash,
        /// Which keys.
        range: WireRange,
        /// How many entries.
        limit: u32,
        /// Largest keys first.
        reverse: bool,
    },
    /// The nodes of `to` that a holder of `from` lacks on `range`, with the bodies they name:
    /// catch-up in one round trip.
    Diff {
        /// Whose feed.
        author: PublicKey,
        /// Which index.
        index: Index,
        /// The root the asker holds.
        from: Hash,
        /// The root it wants.
        to: Hash,
        /// Which keys.
        range: WireRange,
        /// Send the bodies the changed entries name (a catch-up of an index whose messages
        /// travel with another index asks without).
        bodies: bool,
        /// Send the nodes. Without them, the answer is the bodies alone: an asker holding the
        /// path the new entries go on rebuilds the new tree from them and checks its root
        /// against the signed one, so the nodes would only repeat what it can compute.
        nodes: bool,
    },
    /// Tree nodes and message bodies by id, answered in `Nodes` frames.
    Fetch {
        /// Nodes by their hash.
        nodes: Vec<Hash>,
        /// Message bodies by their id.
        bodies: Vec<MessageId>,
        /// Also send the bodies that the leaves among `nodes` name (a leaf of the `messages`
        /// index is no use without them).
        leaf_bodies: bool,
    },
    /// A stream of heads for these authors: first one `Heads` frame with those newer than the
    /// seqs given (where they are now), then a `Head` frame for each change. Asking and
    /// subscribing in one request leaves no gap between the two in which a change is missed.
    ///
    /// With `page` > 0, and heads in that first frame of authors asked with seq 0 (people the
    /// asker holds nothing of), a `Page` frame follows it: the newest `page` posts across the
    /// `messages` trees of the `page` of those heads with the newest keys
    /// ([`crate::verify::page_feeds`]), merged by the peer — a newcomer's home timeline with
    /// the heads, in the same round trip.
    Subscribe {
        /// Whose (by [`KeyPrefix`]), and the seq the asker holds (0: none).
        authors: Vec<(KeyPrefix, u64)>,
        /// How many posts of a first page (0: none).
        page: u32,
        /// Small catch-ups pushed with their heads (`None`: heads alone). A head that comes
        /// with its catch-up is not in the first `Heads` frame: it follows it as a `Head`.
        catch_up: Option<CatchUpAsk>,
    },
}

/// One feed's part of a `Page` frame: the feed's place in the request, the first key of its
/// range (`None`: the whole feed), the proof's encoded nodes.
pub type PageProof = (u32, Option<Vec<u8>>, Vec<Vec<u8>>);

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Over a limit of this module.
    TooLarge,
    /// The peer does not hold what was asked for.
    NotFound,
    /// The peer's per-connection budget is used up.
    Busy,
    /// The asker speaks another protocol version.
    Version,
    /// A failure on the answering side. Its details stay there: the message says only that.
    Internal,
}

/// What a peer answers. Variant order is the wire tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Signed heads (bytes as `SignedHead` encodes them): a subscription's first frame.
    Heads {
        /// The heads held, in no particular order.
        heads: Vec<Vec<u8>>,
    },
    /// A range proof and the message bodies its entries name.
    Proof {
        /// Encoded nodes.
        nodes: Vec<Vec<u8>>,
        /// Signed message bodies.
        bodies: Vec<Vec<u8>>,
    },
    /// Nodes and bodies (a `Diff` or a `Fetch`), possibly in several frames: `more` is set on
    /// all but the last.
    Nodes {
        /// Encoded nodes.
        nodes: Vec<Vec<u8>>,
        /// Signed message bodies.
        bodies: Vec<Vec<u8>>,
        /// Another `Nodes` frame follows.
        more: bool,
    },
    /// A head pushed to a subscriber, with its catch-up if the subscription asked for one
    /// and the gap is small enough ([`CatchUpAsk`]; both empty otherwise).
    Head {
        /// The signed head.
        head: Vec<u8>,
        /// Signed bodies of the author's messages newer than the seq the subscriber holds.
        bodies: Vec<Vec<u8>>,
        /// Encoded `mentions` nodes of the head new on the subscriber's range, root first.
        mentions: Vec<Vec<u8>>,
    },
    /// A subscription's first page. `lowest` is the key of the `page`-th newest post across
    /// the feeds held (`None`: they hold fewer, and all of them is here). For every feed with
    /// entries from `lowest` up, a range proof of all its entries from its first key below
    /// `lowest` up (so a reader merging the feeds knows where each one goes on; `None`: the
    /// whole feed), and the bodies of the entries from `lowest` up. A feed with none is left
    /// out: its head says its newest key is below `lowest`.
    Page {
        /// The page's lowest key.
        lowest: Option<Vec<u8>>,
        /// Range proofs.
        proofs: Vec<PageProof>,
        /// Signed message bodies.
        bodies: Vec<Vec<u8>>,
        /// Feeds the peer does not hold at the root given (by place in the request).
        not_held: Vec<u32>,
    },
    /// The request was refused.
    Error {
        /// The refusal's code, to branch on.
        code: ErrorCode,
        /// For logs; never shown to users as is.
        message: String,
    },
}

/// Why a frame could not be read or written, or a request is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The stream failed.
    #[error("sync stream failed")]
    Io(#[from] std::io::Error),
    /// The peer closed the stream before a whole frame.
    #[error("the peer closed the stream")]
    Closed,
    /// A frame longer than its limit ([`MAX_FRAME`], or [`MAX_REQUEST_FRAME`] for a request).
    #[error("a frame of {len} bytes is over the limit")]
    TooLarge {
        /// The announced length.
        len: usize,
    },
    /// A frame that is not what was expected.
    #[error("malformed frame")]
    Malformed(#[source] postcard::Error),
    /// A compressed frame that does not inflate to what its zstd header states.
    #[error("malformed compressed frame: {0}")]
    BadCompression(&'static str),
    /// A request over a limit.
    #[error("request over the limit: {0}")]
    OverLimit(&'static str),
    /// The peer speaks another version.
    #[error("the peer speaks protocol version {0}, not {PROTOCOL_VERSION}")]
    Version(u32),
}

impl Request {
    /// The QUIC send priority of this request's answer on its connection (higher goes first;
    /// a lower one takes the bandwidth a higher one leaves, e.g. while the asker's flow-control
    /// window for it is shut). What a person waits on goes first: subscriptions (heads, the
    /// first page), range proofs and fetches are small and read on demand. Then the `Diff`
    /// answers that carry bodies, since checking their signatures is most of the asker's work
    /// in a catch-up: a whole feed's bodies then start arriving while QUIC's window is still
    /// small, instead of sharing it with the diffs of the indexes that carry nodes alone,
    /// which are cheap to take in and fill the gaps.
    pub fn priority(&self) -> i32 {
        match self {
            Request::Subscribe { .. } | Request::Range { .. } | Request::Fetch { .. } => 2,
            Request::Diff { bodies: true, .. } => 1,
            Request::Diff { bodies: false, .. } => 0,
        }
    }

    /// Checks the request against the limits of this module.
    pub fn check(&self) -> Result<(), WireError> {
        let bound_ok = |r: &WireRange| {
            [&r.start, &r.end].iter().all(|b| match b {
                Bound::Included(k) | Bound::Excluded(k) => k.len() <= MAX_BOUND_KEY,
                Bound::Unbounded => true,
            })
        };
        match self {
            Request::Subscribe { authors, .. } if authors.len() > MAX_AUTHORS => {
                Err(WireError::OverLimit("authors"))
            }
            Request::Fetch { nodes, bodies, .. } if nodes.len() + bodies.len() > MAX_HASHES => {
                Err(WireError::OverLimit("hashes"))
            }
            Request::Range { limit, .. } if *limit > MAX_RANGE_LIMIT => {
                Err(WireError::OverLimit("limit"))
            }
            Request::Subscribe { page, .. } if *page > MAX_PAGE_LIMIT => {
                Err(WireError::OverLimit("page"))
            }
            Request::Subscribe {
                catch_up: Some(c), ..
            } if c.up_to > MAX_CATCH_UP => Err(WireError::OverLimit("catch-up")),
            Request::Range { range, .. } | Request::Diff { range, .. } if !bound_ok(range) => {
                Err(WireError::OverLimit("range key"))
            }
            _ => Ok(()),
        }
    }
}

/// Encodes one frame: length, then postcard, compressed where that pays.
pub fn encode_frame<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let body = postcard::to_allocvec(value).map_err(WireError::Malformed)?;
    if body.len() > MAX_FRAME {
        return Err(WireError::TooLarge { len: body.len() });
    }
    if body.len() >= COMPRESS_MIN {
        // zstd writes the content size into its frame header (it knows the input's length),
        // which is what the reader checks against its limit before inflating.
        let packed = zstd::bulk::compress(&body, ZSTD_LEVEL)?;
        if packed.len() < body.len() {
            let mut out = Vec::with_capacity(4 + packed.len());
            out.extend_from_slice(&(packed.len() as u32 | COMPRESSED).to_be_bytes());
            out.extend_from_slice(&packed);
            return Ok(out);
        }
    }
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Inflates a compressed frame's bytes: the content size its zstd header states must be
/// within `max`, and the bytes must inflate to exactly that.
fn inflate(packed: &[u8], max: usize) -> Result<Vec<u8>, WireError> {
    let size = match zstd::zstd_safe::get_frame_content_size(packed) {
        Ok(Some(n)) => n,
        Ok(None) => return Err(WireError::BadCompression("no content size")),
        Err(_) => return Err(WireError::BadCompression("not a zstd frame")),
    };
    if size > max as u64 {
        return Err(WireError::TooLarge { len: size as usize });
    }
    let body = zstd::bulk::decompress(packed, size as usize)
        .map_err(|_| WireError::BadCompression("corrupt"))?;
    if body.len() as u64 != size {
        return Err(WireError::BadCompression("shorter than its header states"));
    }
    Ok(body)
}

/// Writes one frame.
pub async fn write_frame<T: Serialize>(
    w: &mut (impl AsyncWrite + Unpin),
    value: &T,
) -> Result<(), WireError> {
    w.write_all(&encode_frame(value)?).await?;
    Ok(())
}

/// Reads one frame. The length is checked against [`MAX_FRAME`] before the body is read, and
/// the body must decode to exactly one `T`.
pub async fn read_frame<T: DeserializeOwned>(
    r: &mut (impl AsyncRead + Unpin),
) -> Result<T, WireError> {
    Ok(read_frame_sized(r).await?.0)
}

/// [`read_frame`] of a request: at most [`MAX_REQUEST_FRAME`] bytes.
pub async fn read_request_frame<T: DeserializeOwned>(
    r: &mut (impl AsyncRead + Unpin),
) -> Result<T, WireError> {
    Ok(read_frame_max(r, MAX_REQUEST_FRAME).await?.0)
}

/// [`read_frame`], also giving the frame's size on the wire (header included).
pub async fn read_frame_sized<T: DeserializeOwned>(
    r: &mut (impl AsyncRead + Unpin),
) -> Result<(T, usize), WireError> {
    read_frame_max(r, MAX_FRAME).await
}

async fn read_frame_max<T: DeserializeOwned>(
    r: &mut (impl AsyncRead + Unpin),
    max: usize,
) -> Result<(T, usize), WireError> {
    let mut len = [0u8; 4];
    read_exact_or_closed(r, &mut len).await?;
    let len = u32::from_be_bytes(len);
    let compressed = len & COMPRESSED != 0;
    let len = (len & !COMPRESSED) as usize;
    if len > max {
        return Err(WireError::TooLarge { len });
    }
    // Memory grows with the bytes that arrive, not with the length a header claims.
    let mut body = Vec::with_capacity(len.min(64 << 10));
    (&mut *r).take(len as u64).read_to_end(&mut body).await?;
    if body.len() < len {
        return Err(WireError::Closed);
    }
    if compressed {
        body = inflate(&body, max)?;
    }
    let (value, rest) = postcard::take_from_bytes::<T>(&body).map_err(WireError::Malformed)?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(
            postcard::Error::DeserializeBadEncoding,
        ));
    }
    Ok((value, 4 + len))
}

async fn read_exact_or_closed(
    r: &mut (impl AsyncRead + Unpin),
    buf: &mut [u8],
) -> Result<(), WireError> {
    match r.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(WireError::Closed),
        Err(e) => Err(e.into()),
    }
}

/// Sends our [`Hello`] and reads the peer's; a different version is an error.
pub async fn handshake(
    r: &mut (impl AsyncRead + Unpin),
    w: &mut (impl AsyncWrite + Unpin),
) -> Result<(), WireError> {
    write_frame(
        w,
        &Hello {
            version: PROTOCOL_VERSION,
        },
    )
    .await?;
    let theirs: Hello = read_frame(r).await?;
    if theirs.version != PROTOCOL_VERSION {
        return Err(WireError::Version(theirs.version));
    }
    Ok(())
}
