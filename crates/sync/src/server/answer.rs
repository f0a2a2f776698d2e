//! Answering requests from the store: range proofs with the bodies they name, diffs and fetches
//! as streams of `Nodes` frames made lazily (bodies are read a batch at a time as frames are
//! made). Nothing here decides whether a peer may ask; `budget.rs` does.
//!
//! A failure of our own store is logged here and answered as a bare `Internal` error: a peer
//! never receives local error text.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use rookery_feed::{MessageId, PublicKey, SignedHead};
use rookery_prolly::node::Val;
use rookery_prolly::{
    Change, DeltaNode, Hash, KeyRange, Node, NodeBytes, NodeStore, Prolly, Query,
};
use rookery_store::Store;

use crate::wire::{ErrorCode, KeyPrefix, MAX_FRAME, Request, Response, SAME_PREFIX, frame_target};
/// Bodies read from the store in one read transaction while making frames.
const BODY_BATCH: usize = 512;

/// A refusal with a code and words for the asker's logs.
pub(crate) fn error(code: ErrorCode, message: &str) -> Response {
    Response::Error {
        code,
        message: message.to_string(),
    }
}

/// Our own failure: logged, and answered without its details.
pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::warn!("answering a sync request failed: {e}");
    error(ErrorCode::Internal, "internal error")
}

/// The message id an index value names, if it is one.
pub(crate) fn id_of(v: &[u8]) -> Option<MessageId> {
    <[u8; 32]>::try_from(v).ok().map(MessageId)
}

/// Reads the store to answer requests.
#[derive(Debug)]
pub(crate) struct Answers {
    trees: Prolly<Arc<Store>>,
}

/// The frames of one answer, made as they are sent.
pub(crate) type Frames<'a> = Box<dyn Iterator<Item = Response> + Send + 'a>;

impl Answers {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Answers {
            trees: Prolly::new(store),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        self.trees.store()
    }

    pub(crate) fn trees(&self) -> &Prolly<Arc<Store>> {
        &self.trees
    }

    /// The frames that answer `req` (a subscription is answered elsewhere).
    pub(crate) fn answer(&self, req: Request) -> Frames<'_> {
        let one = |r: Response| -> Frames<'_> { Box::new(std::iter::once(r)) };
        match req {
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
                nodes,
                ..
            } => self.diff(&author, &from, &to, range.into(), bodies, nodes),
            Request::Fetch {
                nodes,
                bodies,
                leaf_bodies,
            } => self.fetch(nodes, bodies, leaf_bodies),
            Request::Subscribe { .. } => one(error(ErrorCode::Internal, "not here")),
        }
    }

    /// The newest `limit` posts across `feeds`: a k-way merge of reverse scans of their
    /// `messages` trees down to the `limit`-th post, then for each feed with entries from that
    /// key up, a range proof of them all, and their bodies. A feed whose tree or bodies are not
    /// all here is said not held, and the merge is made again without it.
    pub(crate) fn page(&self, feeds: &[(PublicKey, Hash)], limit: u32) -> Response {
        use std::collections::BinaryHeap;
        let mut not_held: Vec<u32> = Vec::new();
        let (lowest, on_page) = 'merge: loop {
            let mut heap = BinaryHeap::new();
            let mut sources: Vec<_> = feeds.iter().map(|_| None).collect();
            let all = Query::new(KeyRange::all()).reverse();
            for (i, (author, root)) in feeds.iter().enumerate() {
                if not_held.contains(&(i as u32)) {
                    continue;
                }
                if self.held(author).is_err() {
                    not_held.push(i as u32);
                    continue;
                }
                let mut source = self.trees.range(root, all.clone());
                match source.next() {
                    Some(Ok((k, v))) => heap.push((k, usize::MAX - i, v)),
                    Some(Err(rookery_prolly::Error::MissingNodes(_))) => {
                        not_held.push(i as u32);
                        continue;
                    }
                    Some(Err(e)) => return internal(e),
                    None => {}
                }
                sources[i] = Some(source);
            }
            // Largest key first; among equal keys, the feed asked first.
            let mut on_page = vec![false; feeds.len()];
            let mut posts = 0u32;
            let mut lowest = None;
            while let Some((key, rank, value)) = heap.pop() {
                let i = usize::MAX - rank;
                on_page[i] = true;
                if let Some(id) = id_of(&value) {
                    let body = match self.store().body(&id) {
                        Ok(Some(b)) => b,
                        Ok(None) => {
                            not_held.push(i as u32);
                            continue 'merge;
                        }
                        Err(e) => return internal(e),
                    };
                    let m = body.message();
                    if m.author == feeds[i].0
                        && key == rookery_feed::keys::message(m.timestamp_ms, m.seq)
                        && matches!(m.content, rookery_feed::Content::Post(_))
                    {
                        posts += 1;
                        if posts == limit {
                            lowest = Some(key);
                            break;
                        }
                    }
                }
                match sources[i].as_mut().and_then(|s| s.next()) {
                    Some(Ok((k, v))) => heap.push((k, rank, v)),
                    Some(Err(rookery_prolly::Error::MissingNodes(_))) => {
                        not_held.push(i as u32);
                        continue 'merge;
                    }
                    Some(Err(e)) => return internal(e),
                    None => {}
                }
            }
            // Ties: a feed whose next entry is at the lowest key is on the page too.
            if let Some(l) = &lowest {
                for (k, rank, _) in heap.iter() {
                    if k >= l {
                        on_page[usize::MAX - rank] = true;
                    }
                }
            }
            break (lowest, on_page);
        };
        use std::ops::Bound;
        let (mut proofs, mut ids, mut size) = (Vec::new(), Vec::new(), 0usize);
        for (i, (_, root)) in feeds.iter().enumerate() {
            if !on_page[i] || not_held.contains(&(i as u32)) {
                continue;
            }
            // From the feed's first key below the page, so the reader knows what comes next.
            let from = match &lowest {
                None => None,
                Some(l) => {
                    let below = Query::new(KeyRange {
                        start: Bound::Unbounded,
                        end: Bound::Excluded(l.clone()),
                    })
                    .reverse()
                    .limit(1);
                    match self.trees.range(root, below).next() {
                        Some(Ok((k, _))) => Some(k),
                        None => None,
                        Some(Err(e)) => return internal(e),
                    }
                }
            };
            let query = Query::new(KeyRange {
                start: from.clone().map_or(Bound::Unbounded, Bound::Included),
                end: Bound::Unbounded,
            })
            .reverse();
            let (entries, proof) = match self.trees.prove_range(root, &query) {
                Ok(p) => p,
                Err(e) => return internal(e),
            };
            size += proof.byte_len();
            ids.extend(
                entries
                    .iter()
                    .filter(|(k, _)| lowest.as_ref().is_none_or(|l| k >= l))
                    .filter_map(|(_, v)| id_of(v)),
            );
            proofs.push((i as u32, from, proof.nodes));
        }
        let mut bodies = Vec::with_capacity(ids.len());
        match self.store().bodies(&ids) {
            Ok(found) => {
                for b in found.into_iter().flatten() {
                    size += b.bytes().len() + 8;
                    bodies.push(b.bytes().to_vec());
                }
            }
            Err(e) => return internal(e),
        }
        if size + 64 * 1024 > MAX_FRAME {
            return error(ErrorCode::TooLarge, "the page is over a frame");
        }
        Response::Page {
            lowest,
            proofs,
            bodies,
            not_held,
        }
    }

    /// Whether `author`'s head is held: a request about anyone else is refused.
    fn held(&self, author: &PublicKey) -> Result<(), Response> {
        // An author the local identity blocked is not served: to the asker, not held here.
        if self.blocked(author) {
            return Err(error(ErrorCode::NotFound, "author not held"));
        }
        match self.store().head(author) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(error(ErrorCode::NotFound, "author not held")),
            Err(e) => Err(internal(e)),
        }
    }

    /// Whether the local identity blocked `author`: their data is held (it may be unblocked)
    /// but not served to anyone. A store that cannot tell serves nothing of them either.
    pub(crate) fn blocked(&self, author: &PublicKey) -> bool {
        !matches!(self.store().block_of(author), Ok(None))
    }

    /// The heads held for `authors` (named by key prefix: at most [`SAME_PREFIX`] heads for
    /// one), each only if newer than the seq given with it, less those of authors the local
    /// identity blocked; a failure of our store as the answer to send instead.
    pub(crate) fn heads(&self, authors: &[(KeyPrefix, u64)]) -> Result<Vec<SignedHead>, Response> {
        let mut seen = HashSet::new();
        let asked: Vec<(KeyPrefix, u64)> = authors
            .iter()
            .copied()
            .filter(|(a, _)| seen.insert(*a))
            .collect();
        let prefixes: Vec<KeyPrefix> = asked.iter().map(|(p, _)| *p).collect();
        let found = self
            .store()
            .heads_by_prefix(&prefixes, SAME_PREFIX)
            .map_err(internal)?;
        let blocked: HashSet<PublicKey> = self
            .store()
            .blocked()
            .map_err(internal)?
            .into_iter()
            .collect();
        Ok(asked
            .iter()
            .zip(found)
            .flat_map(|((_, since), hs)| hs.into_iter().filter(move |h| h.head().seq > *since))
            .filter(|h| !blocked.contains(&h.head().author))
            .collect())
    }

    fn range(
        &self,
        author: &PublicKey,
        root: &Hash,
        range: KeyRange,
        limit: u32,
        reverse: bool,
    ) -> Response {
        if let Err(r) = self.held(author) {
            return r;
        }
        let mut query = Query::new(range).limit(limit as usize);
        if reverse {
            query = query.reverse();
        }
        let (entries, proof) = match self.trees.prove_range(root, &query) {
            Ok(p) => p,
            Err(rookery_prolly::Error::MissingNodes(_)) => {
                return error(ErrorCode::NotFound, "tree not held");
            }
            Err(e) => return internal(e),
        };
        let mut room = MAX_FRAME - proof.byte_len() - 64 * 1024;
        let ids: Vec<MessageId> = entries.iter().filter_map(|(_, v)| id_of(v)).collect();
        let found = match self.store().bodies(&ids) {
            Ok(f) => f,
            Err(e) => return internal(e),
        };
        let mut bodies = Vec::new();
        for b in found.into_iter().flatten() {
            // Bodies that do not fit are fetched with `Fetch` by the asker.
            if b.bytes().len() + 8 > room {
                break;
            }
            room -= b.bytes().len() + 8;
            bodies.push(b.bytes().to_vec());
        }
        Response::Proof {
            nodes: proof.nodes,
            bodies,
        }
    }

    fn diff(
        &self,
        author: &PublicKey,
        from: &Hash,
        to: &Hash,
        range: KeyRange,
        bodies: bool,
        nodes: bool,
    ) -> Frames<'_> {
        if let Err(r) = self.held(author) {
            return Box::new(std::iter::once(r));
        }
        // The bodies of the entries that changed, when the old tree is here to tell (`None`:
        // it is not, or from nothing every entry changed: the bodies are then those of every
        // entry in the new leaves, taken as the leaves go).
        let changed = || -> Option<Vec<MessageId>> {
            if *from == rookery_prolly::EMPTY_ROOT {
                return None;
            }
            self.trees
                .diff(from, to, range.clone())
                .filter_map(|c| match c {
                    Ok(Change::Added { value, .. } | Change::Changed { new: value, .. }) => {
                        Some(Ok(id_of(&value)))
                    }
                    Ok(Change::Removed { .. }) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .map(|ids| ids.into_iter().flatten().collect())
        };
        if !nodes {
            // Bodies alone: the delta is only walked if the old tree cannot tell what changed.
            let ids = match bodies.then(changed).flatten() {
                Some(ids) => ids,
                None if !bodies => vec![],
                None => match self.trees.delta(from, to, &range) {
                    Ok(d) => d.values.iter().filter_map(|v| id_of(v)).collect(),
                    Err(e) => return Box::new(std::iter::once(internal(e))),
                },
            };
            return Box::new(self.frames(std::iter::empty(), ids, false, HashSet::new(), false));
        }
        // The nodes are read as the frames are made: the first frame goes at once, not after
        // a walk of the whole tree.
        let walk = match self.trees.delta_walk(from, to, &range) {
            Ok(w) => w,
            Err(e) => return Box::new(std::iter::once(internal(e))),
        };
        let listed = if bodies { changed() } else { Some(vec![]) };
        let of_leaves = listed.is_none();
        // The asker takes a body of a diff with nodes only once a leaf it received names it.
        Box::new(self.frames(
            walk,
            listed.unwrap_or_default(),
            true,
            HashSet::new(),
            of_leaves,
        ))
    }

    fn fetch(&self, hashes: Vec<Hash>, bodies: Vec<MessageId>, leaf_bodies: bool) -> Frames<'_> {
        let found = match self.store().get_many(&hashes) {
            Ok(f) => f,
            Err(e) => return Box::new(std::iter::once(internal(e))),
        };
        let nodes: Vec<DeltaNode> = hashes
            .into_iter()
            .zip(found)
            .filter_map(|(id, bytes)| {
                let bytes = bytes?;
                // A leaf names its entries' bodies (what the asker then takes).
                let values = match Node::decode(&bytes) {
                    Ok(node) if leaf_bodies => node
                        .entries
                        .into_iter()
                        .filter_map(|e| match e.val {
                            Val::Leaf(v) => Some(v),
                            Val::Child { .. } => None,
                        })
                        .collect(),
                    _ => vec![],
                };
                Some(DeltaNode {
                    node: NodeBytes { id, bytes },
                    values,
                })
            })
            .collect();
        // Bodies asked for by id may go first; those a leaf names, after the leaf; each once.
        let mut seen = HashSet::new();
        let bodies: Vec<MessageId> = bodies.into_iter().filter(|b| seen.insert(*b)).collect();
        Box::new(self.frames(
            nodes.into_iter().map(Ok),
            bodies,
            leaf_bodies,
            seen,
            leaf_bodies,
        ))
    }

    /// `nodes` and the held bodies among `bodies`, in `Nodes` frames filled to
    /// [`frame_target`] (growing to about 1 MiB); nodes are taken from `nodes` (a lazy walk,
    /// for a diff) and bodies read from the store only as frames are made. With `gated`, a body
    /// goes only once a node naming it has gone (or with the last frames, if none does), since
    /// the asker takes only bodies named by a leaf it holds or that it asked for (`free`).
    /// With `of_leaves`, the bodies a leaf names follow it, each once (besides `bodies`). A
    /// body goes as soon as it may: a leaf's bodies follow it, so the asker stores bodies from
    /// the first frames on instead of after every node.
    fn frames<'a>(
        &'a self,
        nodes: impl Iterator<Item = Result<DeltaNode, rookery_prolly::Error>> + Send + 'a,
        bodies: Vec<MessageId>,
        gated: bool,
        free: HashSet<MessageId>,
        of_leaves: bool,
    ) -> impl Iterator<Item = Response> + Send + 'a {
        let mut nodes = nodes.peekable();
        let mut ids: VecDeque<MessageId> = bodies.into();
        let mut named = free;
        let mut ready: VecDeque<Vec<u8>> = VecDeque::new();
        let mut done = false;
        let mut made = 0;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let target = frame_target(made);
            made += 1;
            let (mut out_nodes, mut out_bodies, mut size) = (Vec::new(), Vec::new(), 0usize);
            while size < target {
                if let Some(b) = ready.pop_front() {
                    size += b.len() + 4;
                    out_bodies.push(b);
                    continue;
                }
                // The next bodies that may go (all of them once no node is left to name them).
                let all = !gated || nodes.peek().is_none();
                let n = ids
                    .iter()
                    .take(BODY_BATCH)
                    .take_while(|id| all || named.contains(id))
                    .count();
                if n > 0 {
                    let batch: Vec<MessageId> = ids.drain(..n).collect();
                    match self.store().body_bytes(&batch) {
                        Ok(found) => ready.extend(found.into_iter().flatten()),
                        Err(e) => {
                            done = true;
                            return Some(internal(e));
                        }
                    }
                    continue;
                }
                let n = match nodes.next() {
                    None => break,
                    Some(Ok(n)) => n,
                    Some(Err(e)) => {
                        done = true;
                        return Some(internal(e));
                    }
                };
                if gated {
                    for id in n.values.iter().filter_map(|v| id_of(v)) {
                        if named.insert(id) && of_leaves {
                            ids.push_back(id);
                        }
                    }
                }
                size += n.node.bytes.len() + 4;
                out_nodes.push(n.node.bytes);
            }
            let more = nodes.peek().is_some() || !ready.is_empty() || !ids.is_empty();
            done = !more;
            Some(Response::Nodes {
                nodes: out_nodes,
                bodies: out_bodies,
                more,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{NodeStream, min_full_frame};
    use rookery_feed::{Content, Head, Message, Post, Roots, SecretKey, SignedMessage, keys};
    use rookery_prolly::{EMPTY_ROOT, MemStore};

    #[test]
    fn a_whole_feed_comes_in_growing_frames_each_leaf_followed_by_its_bodies() {
        let k = SecretKey::from_bytes(&[1; 32]);
        let author = k.public();
        let n = 6_000u64;
        let bodies: Vec<SignedMessage> = (1..=n)
            .map(|seq| {
                let m = Message {
                    author,
                    seq,
                    timestamp_ms: 1_000 * seq,
                    content: Content::Post(Post {
                        text: format!("post {seq}: {}", "words ".repeat(30)),
                        mentions: vec![],
                        reply: None,
                    }),
                };
                SignedMessage::sign(m, &k).unwrap()
            })
            .collect();
        let mem = Prolly::new(MemStore::new());
        let edits = bodies.iter().map(|b| {
            let m = b.message();
            (
                keys::message(m.timestamp_ms, m.seq),
                Some(b.id().0.to_vec()),
            )
        });
        let root = mem.apply(&EMPTY_ROOT, edits).unwrap();
        let nodes = mem
            .delta(&EMPTY_ROOT, &root, &KeyRange::all())
            .unwrap()
            .nodes;
        let head = Head {
            author,
            seq: n,
            timestamp_ms: 1_000 * n,
            roots: Roots {
                messages: root,
                ..Roots::empty()
            },
            about: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("db")).unwrap());
        store
            .import(&SignedHead::sign(head, &k).unwrap(), &nodes, &bodies)
            .unwrap();
        let answers = Answers::new(store);
        let frames: Vec<Response> = answers
            .diff(&author, &EMPTY_ROOT, &root, KeyRange::all(), true, true)
            .collect();
        // The asker's own checks: every body after a leaf naming it, each frame but the
        // last at least a quarter of its target.
        let mut stream = NodeStream::diff(root, author, true, n);
        let (mut nodes_in, mut bodies_in) = (0, 0);
        let count = frames.len();
        for (i, f) in frames.into_iter().enumerate() {
            let Response::Nodes {
                nodes,
                bodies,
                more,
            } = f
            else {
                panic!("frame {i} is not a Nodes frame");
            };
            assert_eq!(more, i + 1 < count);
            let size: usize = nodes.iter().chain(&bodies).map(Vec::len).sum();
            // Filled to its target, give or take the last item.
            assert!(size <= frame_target(i) + 64 * 1024, "frame {i}: {size} B");
            if more {
                assert!(size >= frame_target(i) - 64 * 1024, "frame {i}: {size} B");
                assert!(size >= min_full_frame(i));
            }
            // Bodies from the first frame on, not after every node.
            assert!(!bodies.is_empty(), "frame {i} has no bodies");
            let batch = stream.frame(nodes, &bodies, more).unwrap();
            nodes_in += batch.nodes.len();
            bodies_in += batch.bodies.len();
        }
        assert_eq!(frame_target(0), 64 << 10);
        assert!(count > 5, "{count} frames");
        assert_eq!((nodes_in, bodies_in), (nodes.len(), n as usize));
    }
}
