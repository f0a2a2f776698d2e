//! Checking what a peer answers, with no I/O: every head against its signature and what was
//! asked, every range proof against the root asked for, every node of a stream against its id
//! and what was asked (or what a node received before names), every body against its
//! signature and what may be sent. The client runs these on each frame as it arrives; a
//! [`Fault`] is the peer's misbehaviour and nothing of that answer is kept.
//!
//! Being pure, these are unit-tested here and fuzzed on their own (`fuzz/`), apart from the
//! QUIC streams that carry the frames.

use std::collections::{HashMap, HashSet};

use std::ops::Bound;

use rookery_feed::{
    Content, FeedError, Head, MessageId, PublicKey, SignedHead, SignedMessage, keys,
};
use rookery_prolly::node::Val;
use rookery_prolly::{Hash, KeyRange, KeyValue, NodeBytes, Query, RangeProof, verify_node};

use crate::wire::{KeyPrefix, SAME_PREFIX, key_prefix};

/// Why a peer's answer was refused. Each is the peer's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// A head or a body that does not decode or whose signature does not verify.
    #[error("a signed {what} from the peer is bad")]
    Signed {
        /// "head" or "body".
        what: &'static str,
        /// What the feed rules said.
        #[source]
        source: FeedError,
    },
    /// A head of an author not asked about, or twice in one answer.
    #[error("a head that was not asked for")]
    UnaskedHead,
    /// A head older than the seq the asker said it holds.
    #[error("a head older than the one asked about")]
    StaleHead,
    /// A range proof that does not verify against the root asked for.
    #[error("the range proof does not verify")]
    BadProof(#[source] rookery_prolly::Error),
    /// A node that was not asked for (nor named by a node received before).
    #[error("a node that was not asked for")]
    UnaskedNode,
    /// A node whose bytes do not hash to its id or do not decode strictly.
    #[error("a bad node")]
    BadNode(#[source] rookery_prolly::Error),
    /// A body that was not asked for (nor named by an entry received).
    #[error("a body that was not asked for")]
    UnaskedBody,
    /// A frame of another kind than the request's answer.
    #[error("expected {0}")]
    UnexpectedFrame(&'static str),
    /// A frame that says more follow but carries less than a full frame: an honest server
    /// fills every frame but the last, so an answer always makes progress.
    #[error("a short frame with more to follow")]
    ShortFrame,
    /// More than the request can have as an answer (nodes and bodies together).
    #[error("more than was asked for: over {max} nodes and bodies")]
    OverAnswer {
        /// The most the request could have brought.
        max: u64,
    },
    /// A pushed head no newer than one this subscription already brought.
    #[error("a head pushed again")]
    RepeatedHead,
    /// A `Page` answer that leaves out what it must show, or whose lowest key is not the
    /// page's: too high (fewer posts than asked from it up), too low (as many above it), or a
    /// feed that can have entries on it neither proved nor said not held.
    #[error("the page is not the page asked for: {0}")]
    BadPage(&'static str),
    /// Data that verified but that the asker's own rules refuse (a head going back within a
    /// session, a rollback or a fork found on import).
    #[error("refused: {0}")]
    Refused(String),
}

/// The least the `k`-th frame of an answer (0 first) must carry when more follow, in bytes of
/// accepted nodes and bodies: a quarter of what the server fills it to
/// ([`crate::wire::frame_target`]), which leaves room for how the last node or body falls.
pub fn min_full_frame(k: usize) -> usize {
    crate::wire::frame_target(k) / 4
}

/// Verified nodes and bodies, as they arrive.
#[derive(Debug, Default)]
pub struct Batch {
    /// Tree nodes, each checked against its id.
    pub nodes: Vec<NodeBytes>,
    /// Signed bodies (by the author asked about, when one was named).
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

/// The answer to a `Page`, verified.
#[derive(Debug)]
pub struct PageAnswer {
    /// The page's lowest key (`None`: every entry of the feeds held is here).
    pub lowest: Option<Vec<u8>>,
    /// The feeds the peer did not hold at the root asked (their part of the page is unknown).
    pub not_held: Vec<PublicKey>,
    /// The proof nodes and bodies.
    pub batch: Batch,
}

/// Bodies decode one frame's worth over the cores, each core's share checked as one batch:
/// signature checks are most of the cost of taking in a feed. Below this many, one thread is
/// faster than starting others.
const PARALLEL_FROM: usize = 256;

/// Decodes signed messages, checking every signature (in batches: `decode_many`).
pub fn decode_bodies(bodies: &[Vec<u8>]) -> Result<Vec<SignedMessage>, Fault> {
    let bad = |source| Fault::Signed {
        what: "body",
        source,
    };
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if bodies.len() < PARALLEL_FROM || cores == 1 {
        return SignedMessage::decode_many(bodies).map_err(bad);
    }
    let chunk = bodies.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let parts: Vec<_> = bodies
            .chunks(chunk)
            .map(|c| scope.spawn(move || SignedMessage::decode_many(c)))
            .collect();
        let mut out = Vec::with_capacity(bodies.len());
        for p in parts {
            // A verifying thread only panics if the decoder does, which the fuzzers rule out;
            // treat it as a bad body all the same.
            let part = p.join().unwrap_or(Err(FeedError::WrongAuthor));
            out.extend(part.map_err(bad)?);
        }
        Ok(out)
    })
}

/// A frame's bodies decoded and their signatures checked ([`decode_bodies`]), with their
/// count and size for the frame's other checks.
#[derive(Debug)]
pub struct Decoded {
    count: usize,
    bytes: usize,
    messages: Result<Vec<SignedMessage>, Fault>,
}

impl Decoded {
    /// Decodes `bodies`.
    pub fn of(bodies: &[Vec<u8>]) -> Self {
        Decoded {
            count: bodies.len(),
            bytes: bodies.iter().map(Vec::len).sum(),
            messages: decode_bodies(bodies),
        }
    }
}

/// Checks decoded bodies: each must be `named`; with `author`, bodies by anyone else are left
/// out (an index may name another author's message, and a relay may send it).
fn filter_bodies(
    decoded: Vec<SignedMessage>,
    author: Option<&PublicKey>,
    named: impl Fn(&MessageId) -> bool,
) -> Result<Vec<SignedMessage>, Fault> {
    let mut out = Vec::with_capacity(decoded.len());
    for m in decoded {
        if !named(&m.id()) {
            return Err(Fault::UnaskedBody);
        }
        if author.is_none_or(|a| m.message().author == *a) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Checks a subscription's first frame: signatures, only authors asked about, each once, and
/// none older than the seq the asker holds. A head with the same seq passes: if it differs
/// from the one held, it is a fork, which the asker records as evidence.
pub fn heads(heads: &[Vec<u8>], asked: &HashMap<PublicKey, u64>) -> Result<Vec<SignedHead>, Fault> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(heads.len());
    // Authors asked, and those answered for sharing a prefix with one (see `KeyPrefix`).
    let mut known = std::borrow::Cow::Borrowed(asked);
    for bytes in heads {
        let h = SignedHead::decode(bytes).map_err(|source| Fault::Signed {
            what: "head",
            source,
        })?;
        let author = h.head().author;
        if !known.contains_key(&author) && shares_prefix(&known, &author) {
            known.to_mut().insert(author, 0);
        }
        let held = known.get(&author).ok_or(Fault::UnaskedHead)?;
        if !seen.insert(author) {
            return Err(Fault::UnaskedHead);
        }
        if h.head().seq < *held {
            return Err(Fault::StaleHead);
        }
        out.push(h);
    }
    Ok(out)
}

/// Whether `author`, not among `known`, shares its key's prefix with one who is (and fewer than
/// [`SAME_PREFIX`] do): a subscription names authors by prefix, so a peer holding keys made to
/// share one answers with them all ([`KeyPrefix`]). The asker takes what is signed and keeps to
/// whom it follows.
fn shares_prefix(known: &HashMap<PublicKey, u64>, author: &PublicKey) -> bool {
    let p = key_prefix(author);
    let n = known.keys().filter(|k| key_prefix(k) == p).count();
    n > 0 && n < SAME_PREFIX
}

/// Checks a head pushed on a subscription: its signature, that its author was subscribed to,
/// and that it is newer than any this subscription brought before (`latest`, updated here):
/// a peer cannot keep the asker busy with heads it already has.
pub fn pushed_head(
    bytes: &[u8],
    latest: &mut HashMap<PublicKey, u64>,
) -> Result<SignedHead, Fault> {
    newer_head(bytes, latest).map(|(h, _)| h)
}

/// [`pushed_head`], and the seq the subscription had of the author before it.
fn newer_head(
    bytes: &[u8],
    latest: &mut HashMap<PublicKey, u64>,
) -> Result<(SignedHead, u64), Fault> {
    let h = SignedHead::decode(bytes).map_err(|source| Fault::Signed {
        what: "head",
        source,
    })?;
    let author = h.head().author;
    if !latest.contains_key(&author) && shares_prefix(latest, &author) {
        latest.insert(author, 0);
    }
    let Some(seq) = latest.get_mut(&author) else {
        return Err(Fault::UnaskedHead);
    };
    if h.head().seq <= *seq {
        return Err(Fault::RepeatedHead);
    }
    let before = std::mem::replace(seq, h.head().seq);
    Ok((h, before))
}

/// A pushed head with what came with it.
#[derive(Debug)]
pub struct Pushed {
    /// The head, checked as [`pushed_head`] checks it.
    pub head: SignedHead,
    /// Its catch-up ([`crate::wire::CatchUpAsk`]): bodies by its author newer than the seq
    /// this subscription had of them (older ones dropped), and `mentions` nodes of its tree,
    /// each checked against its id and found from the root down. Empty when none came. What
    /// it is worth is known only once the asker rebuilds the new `messages` tree from the
    /// bodies and finds the nodes complete the delta on its range: else it asks.
    pub catch_up: Batch,
}

/// Checks a pushed head (as [`pushed_head`]) and its catch-up: at most `up_to` bodies (0: none
/// was asked for), each signed by the head's author; nodes of the head's `mentions` tree, no
/// more than that tree can have.
pub fn pushed(
    head: &[u8],
    bodies: &[Vec<u8>],
    mentions: Vec<Vec<u8>>,
    latest: &mut HashMap<PublicKey, u64>,
    up_to: u32,
) -> Result<Pushed, Fault> {
    let (head, since) = newer_head(head, latest)?;
    let mut catch_up = Batch::default();
    if bodies.is_empty() && mentions.is_empty() {
        return Ok(Pushed { head, catch_up });
    }
    if up_to == 0 || bodies.len() > up_to as usize {
        return Err(Fault::OverAnswer {
            max: u64::from(up_to),
        });
    }
    let h = head.head();
    catch_up.bodies = NodeStream::bodies_since(h.author, since, u64::from(up_to))
        .frame(vec![], bodies, false)?
        .bodies;
    let entries = rookery_feed::Index::Mentions.max_entries(h.seq);
    catch_up.nodes = NodeStream::diff(h.roots.mentions, h.author, false, entries)
        .frame(mentions, &[], false)?
        .nodes;
    Ok(Pushed { head, catch_up })
}

/// Checks a `Range` answer: the proof against `root` (which the asker took from a signed
/// head), and the bodies against the entries the proof shows.
pub fn range(
    root: &Hash,
    query: &Query,
    author: &PublicKey,
    nodes: Vec<Vec<u8>>,
    bodies: &[Vec<u8>],
) -> Result<RangeAnswer, Fault> {
    let proof = RangeProof { nodes };
    let entries = rookery_prolly::verify_range(root, query, &proof).map_err(Fault::BadProof)?;
    let named: HashSet<&[u8]> = entries.iter().map(|(_, v)| v.as_slice()).collect();
    let bodies = filter_bodies(decode_bodies(bodies)?, Some(author), |id| {
        named.contains(id.0.as_slice())
    })?;
    let nodes = proof
        .nodes
        .into_iter()
        .map(|bytes| NodeBytes {
            id: Hash::of_node(&bytes),
            bytes,
        })
        .collect();
    Ok(RangeAnswer {
        entries,
        batch: Batch { nodes, bodies },
    })
}

/// The feeds a subscription's first page is over: of `heads` (its first frame), those of
/// authors in `new` (asked with seq 0) with any message, the `page` whose newest key (a head's
/// timestamp and seq) is highest — only they can have posts on a page of `page` — newest
/// first, ties by author. Both sides compute it, so the asker knows what the page must cover.
pub fn page_feeds(heads: &[Head], new: &HashSet<PublicKey>, page: u32) -> Vec<Head> {
    // A prefix standing for two authors shown is left out: the peer and the asker do not see
    // the same `new` for it (the peer knows only the prefix asked).
    let mut per_prefix: HashMap<KeyPrefix, usize> = HashMap::new();
    for h in heads {
        *per_prefix.entry(key_prefix(&h.author)).or_default() += 1;
    }
    let mut feeds: Vec<Head> = heads
        .iter()
        .filter(|h| h.seq > 0 && new.contains(&h.author))
        .filter(|h| per_prefix[&key_prefix(&h.author)] == 1)
        .cloned()
        .collect();
    feeds.sort_by(|a, b| {
        keys::message(b.timestamp_ms, b.seq)
            .cmp(&keys::message(a.timestamp_ms, a.seq))
            .then(a.author.as_bytes().cmp(b.author.as_bytes()))
    });
    feeds.truncate(page as usize);
    feeds
}

/// Checks a `Page` frame for `heads` (signed heads the asker holds): each proof is the whole
/// range from `lowest` up of its feed's `messages` tree under the root asked; every feed whose
/// newest key (its head's timestamp and seq) is at `lowest` or above is proved or said not
/// held; every entry proved has its body; and `lowest` is the key of the `limit`-th newest post
/// among them — as many posts from it up, fewer above it (`None`: fewer in all, every feed
/// held proved whole).
pub fn page(
    heads: &[Head],
    limit: u32,
    lowest: Option<Vec<u8>>,
    proofs: Vec<crate::wire::PageProof>,
    bodies: &[Vec<u8>],
    not_held: &[u32],
) -> Result<PageAnswer, Fault> {
    let mut covered = vec![false; heads.len()];
    for i in proofs
        .iter()
        .map(|(i, _, _)| *i)
        .chain(not_held.iter().copied())
    {
        match covered.get_mut(i as usize) {
            Some(c) if !*c => *c = true,
            _ => return Err(Fault::BadPage("a feed not asked about, or twice")),
        }
    }
    for (h, c) in heads.iter().zip(&covered) {
        let may_be_on_it = h.seq > 0
            && lowest
                .as_ref()
                .is_none_or(|l| keys::message(h.timestamp_ms, h.seq) >= *l);
        if may_be_on_it && !c {
            return Err(Fault::BadPage("a feed that can be on the page is missing"));
        }
    }
    // Every entry on the page proved, by the feed it is in (the one below it, which says where
    // the feed goes on, is proved too but needs no body).
    let mut entries: Vec<(usize, KeyValue)> = Vec::new();
    let mut nodes = Vec::new();
    for (i, from, proof) in proofs {
        let h = &heads[i as usize];
        match (&from, &lowest) {
            (Some(f), Some(l)) if f <= l => {}
            (None, _) => {}
            _ => return Err(Fault::BadPage("a proof that starts above the page")),
        }
        let query = Query::new(KeyRange {
            start: from.map_or(Bound::Unbounded, Bound::Included),
            end: Bound::Unbounded,
        })
        .reverse();
        let proof = RangeProof { nodes: proof };
        let found = rookery_prolly::verify_range(&h.roots.messages, &query, &proof)
            .map_err(Fault::BadProof)?;
        entries.extend(
            found
                .into_iter()
                .filter(|(k, _)| lowest.as_ref().is_none_or(|l| k >= l))
                .map(|e| (i as usize, e)),
        );
        nodes.extend(proof.nodes.into_iter().map(|bytes| NodeBytes {
            id: Hash::of_node(&bytes),
            bytes,
        }));
    }
    let named: HashSet<&[u8]> = entries.iter().map(|(_, (_, v))| v.as_slice()).collect();
    let authors: HashSet<PublicKey> = heads.iter().map(|h| h.author).collect();
    let mut bodies = filter_bodies(decode_bodies(bodies)?, None, |id| {
        named.contains(id.0.as_slice())
    })?;
    // Only the feeds' own messages are kept (an index may name another author's).
    bodies.retain(|b| authors.contains(&b.message().author));
    let by_id: HashMap<MessageId, &SignedMessage> = bodies.iter().map(|b| (b.id(), b)).collect();
    // The posts counted as the reader counts them: the index author's own post, at the key
    // its timestamp and seq make.
    let (mut from, mut above) = (0u32, 0u32);
    for (i, (key, value)) in &entries {
        let id = <[u8; 32]>::try_from(value.as_slice())
            .map(MessageId)
            .map_err(|_| Fault::BadPage("an entry that names no message"))?;
        let body = by_id
            .get(&id)
            .ok_or(Fault::BadPage("an entry on the page without its body"))?;
        let m = body.message();
        let post = m.author == heads[*i].author
            && *key == keys::message(m.timestamp_ms, m.seq)
            && matches!(m.content, Content::Post(_));
        if post {
            from += 1;
            if lowest.as_ref().is_some_and(|l| key > l) {
                above += 1;
            }
        }
    }
    match &lowest {
        Some(_) if from < limit => return Err(Fault::BadPage("fewer posts than asked")),
        Some(_) if above >= limit => {
            return Err(Fault::BadPage("a lowest key lower than the page's"));
        }
        None if from >= limit => return Err(Fault::BadPage("a page said to be all there is")),
        _ => {}
    }
    Ok(PageAnswer {
        lowest,
        not_held: not_held.iter().map(|i| heads[*i as usize].author).collect(),
        batch: Batch { nodes, bodies },
    })
}

/// What a stream of `Nodes` frames may carry, updated frame by frame. A node is taken only if
/// it is expected: asked for or, for a diff, a child of a node received before (parents come
/// first). A body is taken only if it was asked for or a leaf received names it (when leaves
/// bring their bodies). Each node and body is taken at most once, the whole answer is at most
/// what the request can have brought, and every frame but the last is a full one
/// ([`min_full_frame`]) — so an answer is bounded in items, bytes and frames, and a peer that
/// drips, repeats or pads it is found out at once.
#[derive(Debug)]
pub struct NodeStream {
    expected: HashSet<Hash>,
    children: bool,
    leaf_bodies: bool,
    asked_bodies: HashSet<MessageId>,
    named: HashSet<MessageId>,
    author: Option<PublicKey>,
    /// A bodies-only answer: any body by `author` newer than this seq is taken (once), older
    /// ones are dropped.
    since: Option<u64>,
    /// Nodes and bodies the answer may still bring.
    left: u64,
    max: u64,
    /// Frames taken so far.
    frames: usize,
}

impl NodeStream {
    /// The answer to a `Diff` up to `to`: its nodes from the root down; with `bodies`, the
    /// bodies its leaves name. Bodies by others than `author` are left out. `entries` bounds the
    /// entries of the tree under `to` (from its signed head: see `Index::max_entries`): a tree
    /// has at most as many leaves as entries and fewer inner nodes than leaves, and a body per
    /// entry.
    pub fn diff(to: Hash, author: PublicKey, bodies: bool, entries: u64) -> Self {
        let max = entries.saturating_mul(3).saturating_add(64);
        NodeStream {
            expected: HashSet::from([to]),
            children: true,
            leaf_bodies: bodies,
            asked_bodies: HashSet::new(),
            named: HashSet::new(),
            author: Some(author),
            since: None,
            left: max,
            max,
            frames: 0,
        }
    }

    /// The answer to a `Diff` asked without nodes: bodies only, by `author`, those at or
    /// before `since` dropped, each taken once, no more than `entries` bodies (as
    /// [`NodeStream::diff`] bounds them). A node in it is a fault.
    pub fn bodies_since(author: PublicKey, since: u64, entries: u64) -> Self {
        let max = entries.saturating_add(64);
        NodeStream {
            expected: HashSet::new(),
            children: false,
            leaf_bodies: false,
            asked_bodies: HashSet::new(),
            named: HashSet::new(),
            author: Some(author),
            since: Some(since),
            left: max,
            max,
            frames: 0,
        }
    }

    /// The answer to a `Fetch`. With `author`, bodies by others are left out.
    pub fn fetch(
        nodes: &[Hash],
        bodies: &[MessageId],
        leaf_bodies: bool,
        author: Option<PublicKey>,
    ) -> Self {
        let leaves = if leaf_bodies {
            nodes.len() * rookery_prolly::MAX_ENTRIES
        } else {
            0
        };
        let max = (nodes.len() + bodies.len() + leaves) as u64;
        NodeStream {
            expected: nodes.iter().copied().collect(),
            children: false,
            leaf_bodies,
            asked_bodies: bodies.iter().copied().collect(),
            named: HashSet::new(),
            author,
            since: None,
            left: max,
            max,
            frames: 0,
        }
    }

    /// The most bytes the whole answer can have: every node at its largest and every body too.
    pub fn max_bytes(&self) -> u64 {
        let item = rookery_prolly::MAX_ENCODED_NODE.max(rookery_feed::limits::MAX_MESSAGE_BYTES);
        self.max.saturating_mul(item as u64 + 8)
    }

    /// Checks one frame's nodes and bodies; `more` says another frame follows.
    pub fn frame(
        &mut self,
        nodes: Vec<Vec<u8>>,
        bodies: &[Vec<u8>],
        more: bool,
    ) -> Result<Batch, Fault> {
        self.frame_decoded(nodes, Decoded::of(bodies), more)
    }

    /// [`frame`](Self::frame) with the bodies decoded already (elsewhere, perhaps while the
    /// frame before was being stored). Their signatures' verdict counts only after the
    /// frame's other checks, as in `frame`.
    pub fn frame_decoded(
        &mut self,
        nodes: Vec<Vec<u8>>,
        bodies: Decoded,
        more: bool,
    ) -> Result<Batch, Fault> {
        let size = nodes.iter().map(Vec::len).sum::<usize>() + bodies.bytes;
        if more && size < min_full_frame(self.frames) {
            return Err(Fault::ShortFrame);
        }
        self.frames += 1;
        let items = (nodes.len() + bodies.count) as u64;
        self.left = self
            .left
            .checked_sub(items)
            .ok_or(Fault::OverAnswer { max: self.max })?;
        let mut batch = Batch::default();
        for bytes in nodes {
            let id = Hash::of_node(&bytes);
            if !self.expected.remove(&id) {
                return Err(Fault::UnaskedNode);
            }
            let node = verify_node(&id, &bytes).map_err(Fault::BadNode)?;
            for e in &node.entries {
                match &e.val {
                    Val::Child { .. } if self.children => {
                        if let Some(c) = e.child_id() {
                            self.expected.insert(c);
                        }
                    }
                    Val::Leaf(v) if self.leaf_bodies => {
                        if let Ok(id) = <[u8; 32]>::try_from(v.as_slice()) {
                            self.named.insert(MessageId(id));
                        }
                    }
                    _ => {}
                }
            }
            batch.nodes.push(NodeBytes { id, bytes });
        }
        let decoded = bodies.messages?;
        let mut taken = Vec::with_capacity(decoded.len());
        if let Some(since) = self.since {
            for m in decoded {
                // Taken once: `named` holds the ids taken so far.
                if !self.named.insert(m.id()) {
                    return Err(Fault::UnaskedBody);
                }
                let msg = m.message();
                if self.author.is_none_or(|a| msg.author == a) && msg.seq > since {
                    taken.push(m);
                }
            }
            batch.bodies = taken;
            return Ok(batch);
        }
        for m in decoded {
            // Taken once: a name is crossed off as its body arrives.
            let id = m.id();
            if !(self.named.remove(&id) || self.asked_bodies.remove(&id)) {
                return Err(Fault::UnaskedBody);
            }
            taken.push(m);
        }
        batch.bodies = filter_bodies(taken, self.author.as_ref(), |_| true)?;
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_feed::{Content, Head, Message, Post, Roots, SecretKey};
    use rookery_prolly::{KeyRange, MemStore, NodeStore, Prolly};

    fn key(n: u8) -> SecretKey {
        SecretKey::from_bytes(&[n; 32])
    }

    fn head(k: &SecretKey, seq: u64) -> Vec<u8> {
        let h = Head {
            author: k.public(),
            seq,
            timestamp_ms: seq,
            roots: Roots::empty(),
            about: None,
        };
        SignedHead::sign(h, k).unwrap().bytes().to_vec()
    }

    fn body(k: &SecretKey, seq: u64) -> SignedMessage {
        let m = Message {
            author: k.public(),
            seq,
            timestamp_ms: seq,
            content: Content::Post(Post {
                text: format!("post {seq}"),
                mentions: vec![],
                reply: None,
            }),
        };
        SignedMessage::sign(m, k).unwrap()
    }

    #[test]
    fn heads_only_as_asked() {
        let (a, b) = (key(1), key(2));
        let asked = HashMap::from([(a.public(), 2)]);
        assert_eq!(heads(&[head(&a, 3)], &asked).unwrap().len(), 1);
        // The same seq passes (a fork is the asker's to record).
        assert!(heads(&[head(&a, 2)], &asked).is_ok());
        assert!(matches!(
            heads(&[head(&a, 1)], &asked),
            Err(Fault::StaleHead)
        ));
        assert!(matches!(
            heads(&[head(&b, 3)], &asked),
            Err(Fault::UnaskedHead)
        ));
        assert!(matches!(
            heads(&[head(&a, 3), head(&a, 4)], &asked),
            Err(Fault::UnaskedHead)
        ));
        let mut forged = head(&a, 3);
        *forged.last_mut().unwrap() ^= 1;
        assert!(matches!(
            heads(&[forged], &asked),
            Err(Fault::Signed { what: "head", .. })
        ));
        let mut latest = HashMap::from([(a.public(), 2)]);
        assert!(pushed_head(&head(&a, 9), &mut latest).is_ok());
        // The same head again, or an older one: a peer keeping the asker busy.
        assert!(matches!(
            pushed_head(&head(&a, 9), &mut latest),
            Err(Fault::RepeatedHead)
        ));
        assert!(pushed_head(&head(&a, 5), &mut latest).is_err());
        assert!(pushed_head(&head(&b, 9), &mut latest).is_err());
    }

    /// Valid keys (curve points, no secret known) whose first 16 bytes are `k`'s.
    fn siblings(k: &PublicKey, n: usize) -> Vec<PublicKey> {
        (0u16..)
            .filter_map(|i| {
                let mut b = *k.as_bytes();
                b[16..18].copy_from_slice(&i.to_be_bytes());
                PublicKey::from_bytes(&b).ok().filter(|p| p != k)
            })
            .take(n)
            .collect()
    }

    #[test]
    fn a_head_sharing_an_asked_prefix_is_taken_up_to_a_bound() {
        let a = key(1);
        let (near, far) = (siblings(&a.public(), 4), key(2).public());
        // Asked about one key; a peer answering for its prefix shows another one sharing it
        // (keys made to share a prefix): taken, as nothing held, not a fault.
        let asked = HashMap::from([(near[0], 5)]);
        let got = heads(&[head(&a, 3)], &asked).unwrap();
        assert_eq!(got[0].head().author, a.public());
        let mut latest = asked.clone();
        assert!(pushed_head(&head(&a, 4), &mut latest).is_ok());
        assert_eq!(latest[&a.public()], 4);
        // A key sharing no prefix asked is not.
        let other = HashMap::from([(far, 5)]);
        assert!(matches!(
            heads(&[head(&a, 3)], &other),
            Err(Fault::UnaskedHead)
        ));
        // Nor one prefix for more than `SAME_PREFIX` keys.
        let crowded: HashMap<PublicKey, u64> = near.iter().map(|k| (*k, 1)).collect();
        assert!(heads(&[head(&a, 3)], &crowded).is_err());
        assert!(pushed_head(&head(&a, 3), &mut crowded.clone()).is_err());
        // A first page leaves out a prefix that two heads shown share: the peer, knowing
        // only the prefix, cannot tell which of them the asker holds nothing of.
        let h = |author: PublicKey, seq: u64| Head {
            author,
            seq,
            timestamp_ms: seq,
            roots: Roots::empty(),
            about: None,
        };
        let new = HashSet::from([a.public(), far, near[0]]);
        let feeds = page_feeds(&[h(a.public(), 3), h(near[0], 2), h(far, 1)], &new, 32);
        let authors: Vec<PublicKey> = feeds.iter().map(|f| f.author).collect();
        assert_eq!(authors, vec![far]);
    }

    /// A tree of `n` entries whose values are the ids of `n` bodies.
    fn tree(n: u64) -> (Prolly<MemStore>, Hash, Vec<SignedMessage>) {
        let k = key(1);
        let bodies: Vec<_> = (1..=n).map(|s| body(&k, s)).collect();
        let p = Prolly::new(MemStore::new());
        let edits = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| ((i as u64).to_be_bytes().to_vec(), Some(b.id().0.to_vec())));
        let root = p.apply(&rookery_prolly::EMPTY_ROOT, edits).unwrap();
        (p, root, bodies)
    }

    #[test]
    fn a_range_answer_is_proven_and_its_bodies_named() {
        let (p, root, bodies) = tree(400);
        let q = Query::new(KeyRange::all()).reverse().limit(5);
        let (entries, proof) = p.prove_range(&root, &q).unwrap();
        let named: Vec<Vec<u8>> = bodies
            .iter()
            .filter(|b| entries.iter().any(|(_, v)| v == &b.id().0.to_vec()))
            .map(|b| b.bytes().to_vec())
            .collect();
        let author = key(1).public();
        let ok = range(&root, &q, &author, proof.nodes.clone(), &named).unwrap();
        assert_eq!((ok.entries.len(), ok.batch.bodies.len()), (5, 5));
        // A body the proof does not name.
        let other = vec![bodies[0].bytes().to_vec()];
        assert!(matches!(
            range(&root, &q, &author, proof.nodes.clone(), &other),
            Err(Fault::UnaskedBody)
        ));
        // A proof for another root.
        assert!(matches!(
            range(&Hash([9; 32]), &q, &author, proof.nodes, &named),
            Err(Fault::BadProof(_))
        ));
    }

    #[test]
    fn a_bodies_only_answer_takes_new_bodies_by_the_author_once() {
        let (p, root, _) = tree(10);
        let bytes = |m: SignedMessage| m.bytes().to_vec();
        let mut s = NodeStream::bodies_since(key(1).public(), 5, 10);
        // Older bodies (a peer without the old tree sends the whole new leaf) and bodies by
        // someone else are dropped; the new ones taken.
        let frame: Vec<Vec<u8>> = (3..=8)
            .map(|q| bytes(body(&key(1), q)))
            .chain([bytes(body(&key(2), 9))])
            .collect();
        let got = s.frame(vec![], &frame, false).unwrap();
        let seqs: Vec<u64> = got.bodies.iter().map(|m| m.message().seq).collect();
        assert_eq!(seqs, vec![6, 7, 8]);
        // The same body twice is a fault, as in any stream.
        let again = s.frame(vec![], &[bytes(body(&key(1), 7))], false);
        assert!(matches!(again, Err(Fault::UnaskedBody)));
        // A node in it is too: none was asked for.
        let top = p.store().get(&root).unwrap().unwrap();
        let mut s = NodeStream::bodies_since(key(1).public(), 5, 10);
        assert!(matches!(
            s.frame(vec![top], &[], false),
            Err(Fault::UnaskedNode)
        ));
        // A forged body fails its signature.
        let mut forged = bytes(body(&key(1), 9));
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let mut s = NodeStream::bodies_since(key(1).public(), 5, 10);
        assert!(matches!(
            s.frame(vec![], &[forged], false),
            Err(Fault::Signed { .. })
        ));
        // No more bodies than the tree can have entries.
        let mut s = NodeStream::bodies_since(key(1).public(), 0, 0);
        let many: Vec<Vec<u8>> = (1..=70).map(|q| bytes(body(&key(1), q))).collect();
        assert!(matches!(
            s.frame(vec![], &many, false),
            Err(Fault::OverAnswer { .. })
        ));
    }

    #[test]
    fn a_pushed_catch_up_is_checked_like_the_answers_it_replaces() {
        let (a, b) = (key(1), key(2));
        let (p, root, _) = tree(300);
        let signed = |seq: u64| {
            let h = Head {
                author: a.public(),
                seq,
                timestamp_ms: seq,
                roots: Roots {
                    mentions: root,
                    ..Roots::empty()
                },
                about: None,
            };
            SignedHead::sign(h, &a).unwrap().bytes().to_vec()
        };
        let bytes = |m: SignedMessage| m.bytes().to_vec();
        let top = p.store().get(&root).unwrap().unwrap();
        let child = rookery_prolly::Node::decode(&top).unwrap().entries[0]
            .child_id()
            .unwrap();
        let child = p.store().get(&child).unwrap().unwrap();
        let latest = || HashMap::from([(a.public(), 5)]);

        // A head alone, whatever was asked.
        let alone = pushed(&signed(6), &[], vec![], &mut latest(), 0).unwrap();
        assert!(alone.catch_up.bodies.is_empty() && alone.catch_up.nodes.is_empty());
        // Bodies newer than what the subscription had, by the author; older ones and someone
        // else's dropped; the mentions nodes from the head's root down.
        let mut l = latest();
        let sent: Vec<Vec<u8>> = (4..=8)
            .map(|q| bytes(body(&a, q)))
            .chain([bytes(body(&b, 7))])
            .collect();
        let got = pushed(
            &signed(8),
            &sent,
            vec![top.clone(), child.clone()],
            &mut l,
            32,
        )
        .unwrap();
        let seqs: Vec<u64> = got
            .catch_up
            .bodies
            .iter()
            .map(|m| m.message().seq)
            .collect();
        assert_eq!(seqs, vec![6, 7, 8]);
        assert_eq!(got.catch_up.nodes.len(), 2);
        assert_eq!(l[&a.public()], 8);
        // The same head again.
        assert!(matches!(
            pushed(&signed(8), &[], vec![], &mut l, 32),
            Err(Fault::RepeatedHead)
        ));
        // A catch-up not asked for, or larger than asked.
        let one = [bytes(body(&a, 6))];
        assert!(matches!(
            pushed(&signed(6), &one, vec![], &mut latest(), 0),
            Err(Fault::OverAnswer { .. })
        ));
        let many: Vec<Vec<u8>> = (6..=40).map(|q| bytes(body(&a, q))).collect();
        assert!(matches!(
            pushed(&signed(40), &many, vec![], &mut latest(), 32),
            Err(Fault::OverAnswer { .. })
        ));
        // A node that is not under the head's root first, a bad node, a forged body.
        assert!(matches!(
            pushed(&signed(6), &one, vec![child], &mut latest(), 32),
            Err(Fault::UnaskedNode)
        ));
        let mut bad = top.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        assert!(pushed(&signed(6), &one, vec![bad], &mut latest(), 32).is_err());
        let mut forged = bytes(body(&a, 6));
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(
            pushed(&signed(6), &[forged], vec![top], &mut latest(), 32),
            Err(Fault::Signed { .. })
        ));
    }

    #[test]
    fn a_stream_takes_each_node_and_body_once() {
        let (p, root, bodies) = tree(2000);
        let top = p.store().get(&root).unwrap().unwrap();
        let mut s = NodeStream::diff(root, key(1).public(), true, 2000);
        let got = s.frame(vec![top.clone()], &[], false).unwrap();
        assert_eq!(got.nodes.len(), 1);
        // The root again: not expected any more.
        let again = s.frame(vec![top.clone()], &[], false);
        assert!(matches!(again, Err(Fault::UnaskedNode)));
        // A frame that says more follow but is not full: a dripping peer.
        let mut s = NodeStream::diff(root, key(1).public(), true, 2000);
        let drip = s.frame(vec![top.clone()], &[], true);
        assert!(matches!(drip, Err(Fault::ShortFrame)));
        // More than a tree of that many entries can have.
        let mut s = NodeStream::diff(root, key(1).public(), true, 0);
        let over = s.frame(vec![top; 100], &[], false);
        assert!(matches!(over, Err(Fault::OverAnswer { .. })));
        // A fetch of one leaf brings the bodies it names, each once.
        let leaf = p
            .tree_nodes(&root)
            .unwrap()
            .into_iter()
            .find(|n| rookery_prolly::Node::decode(&n.bytes).is_ok_and(|n| n.is_leaf()));
        let leaf = leaf.unwrap();
        let node = rookery_prolly::Node::decode(&leaf.bytes).unwrap();
        let first = match &node.entries[0].val {
            Val::Leaf(v) => MessageId(<[u8; 32]>::try_from(v.as_slice()).unwrap()),
            Val::Child { .. } => unreachable!(),
        };
        let b = bodies
            .iter()
            .find(|b| b.id() == first)
            .unwrap()
            .bytes()
            .to_vec();
        let one = std::slice::from_ref(&b);
        let mut s = NodeStream::fetch(&[leaf.id], &[], true, None);
        let got = s.frame(vec![leaf.bytes.clone()], one, false).unwrap();
        assert_eq!((got.nodes.len(), got.bodies.len()), (1, 1));
        let again = s.frame(vec![], one, false);
        assert!(matches!(again, Err(Fault::UnaskedBody)));
        // Without leaf bodies, only bodies asked for by id.
        let mut s = NodeStream::fetch(&[leaf.id], &[], false, None);
        let unasked = s.frame(vec![leaf.bytes.clone()], one, false);
        assert!(matches!(
            unasked,
            Err(Fault::UnaskedBody | Fault::OverAnswer { .. })
        ));
        let mut s = NodeStream::fetch(&[], &[first], false, None);
        assert_eq!(s.frame(vec![], one, false).unwrap().bodies.len(), 1);
        // A node whose bytes were changed does not hash to anything asked for.
        let mut bad = leaf.bytes.clone();
        bad[3] ^= 1;
        let mut s = NodeStream::fetch(&[leaf.id], &[], true, None);
        assert!(s.frame(vec![bad], &[], false).is_err());
    }
}
