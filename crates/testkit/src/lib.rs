//! Synthetic feeds: realistic posts signed in bulk, for benchmarks, tests and the demo network.
//! Feeds are written by the node's own [`FeedWriter`], into trees kept in memory, and handed out
//! as bundles that a node imports as if synced.
//!
//! The text generator matches `bench/ssb/gen.js` draw for draw (xorshift64* seeded with 42;
//! per post the draws `u_len, u_mention, u_target, u_reply, u_parent`, then one per word), so
//! the Rust and the JavaScript benchmark peers carry the same posts: 40–600 characters, mean
//! about 200, 10% with a mention, 20% replies to an earlier post of the same feed.

#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use rookery_feed::{Content, Head, MessageId, Post, PublicKey, Reply, SecretKey};
use rookery_node::publish::{Draft, FeedWriter};
use rookery_node::{Bundle, NodeError};
use rookery_prolly::{MemStore, NodeStore, Prolly};

const WORDS: [&str; 64] = [
    "the", "of", "and", "to", "in", "is", "it", "that", "was", "for", "on", "are", "with", "they",
    "be", "at", "one", "have", "this", "from", "by", "hot", "word", "but", "what", "some", "we",
    "can", "out", "other", "were", "all", "there", "when", "up", "use", "your", "how", "said",
    "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about", "many",
    "then", "them", "write", "would", "like", "so", "these", "her", "long", "make", "thing", "see",
    "him",
];

/// xorshift64*, as in `gen.js`.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed (the benchmarks use 42).
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        self.0 = s;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A generated post: its text, whether it mentions someone (index into a pool of 16), and
/// which earlier post of the feed it replies to.
#[derive(Clone, Debug, PartialEq)]
pub struct GenPost {
    /// 40–600 characters.
    pub text: String,
    /// Index of the mentioned key in a pool of 16.
    pub mention: Option<usize>,
    /// 0-based index of the parent post in the same feed.
    pub reply_to: Option<u64>,
}

/// The post at `index` (0-based position in its feed).
pub fn gen_post(rng: &mut Rng, index: u64) -> GenPost {
    let (u_len, u_mention, u_target, u_reply, u_parent) =
        (rng.unit(), rng.unit(), rng.unit(), rng.unit(), rng.unit());
    let len = 40 + (560.0 * u_len.powf(2.5)) as usize;
    let mut text = String::with_capacity(len + 8);
    while text.len() < len {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(WORDS[(rng.unit() * 64.0) as usize]);
    }
    text.truncate(len);
    GenPost {
        text,
        mention: (u_mention < 0.1).then_some((u_target * 16.0) as usize),
        reply_to: (u_reply < 0.2 && index > 0).then_some((u_parent * index as f64) as u64),
    }
}

/// Builds an author's feed in bulk: signs posts, builds the index trees in memory and hands
/// out bundles of what is new.
pub struct FeedBuilder {
    key: SecretKey,
    rng: Rng,
    trees: Prolly<MemStore>,
    head: Option<Head>,
    ids: Vec<MessageId>,
    roots_of: Vec<MessageId>,
    pool: Vec<PublicKey>,
    /// One spacing before the first post.
    before_first_ms: u64,
    spacing_ms: u64,
}

impl std::fmt::Debug for FeedBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedBuilder")
            .field("author", &self.key.public())
            .field("posts", &self.ids.len())
            .finish_non_exhaustive()
    }
}

/// The timestamp of a synthetic feed's first post (posts follow one second apart).
pub const START_MS: u64 = 1_700_000_000_000;

impl FeedBuilder {
    /// A new, empty feed of `key`, with posts drawn from `rng`. Generated mentions go to a pool
    /// of 16 keys that belong to nobody.
    pub fn new(key: SecretKey, rng: Rng) -> Self {
        let pool = (0..16u8)
            .map(|k| {
                let seed = blake3::hash(&[b"rookery-bench-mention-".as_slice(), &[k]].concat());
                SecretKey::from_bytes(seed.as_bytes()).public()
            })
            .collect();
        FeedBuilder {
            key,
            rng,
            trees: Prolly::new(MemStore::new()),
            head: None,
            ids: vec![],
            roots_of: vec![],
            pool,
            before_first_ms: START_MS,
            spacing_ms: 1000,
        }
    }

    /// The same feed, its first post at `start_ms` and the next ones `spacing_ms` apart (by
    /// default one second after [`START_MS`], one second apart).
    pub fn timed(mut self, start_ms: u64, spacing_ms: u64) -> Self {
        self.before_first_ms = start_ms.saturating_sub(spacing_ms);
        self.spacing_ms = spacing_ms;
        self
    }

    /// The feed's author.
    pub fn author(&self) -> PublicKey {
        self.key.public()
    }

    /// The head after the posts so far.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// Signs `count` more posts, each [`FeedBuilder::timed`] apart after the last; with `mention = (me,
    /// every)`, every post whose index is a multiple of `every` mentions `me` too. Returns a
    /// bundle with the new head and only the new nodes and bodies.
    pub fn posts(
        &mut self,
        count: u64,
        mention: Option<(&PublicKey, u64)>,
    ) -> Result<Bundle, NodeError> {
        let ts = self
            .head
            .as_ref()
            .map_or(self.before_first_ms, |h| h.timestamp_ms);
        let writer = FeedWriter::new(&self.key, &self.trees);
        let mut batch = writer.begin(self.head.as_ref());
        let mut bodies = Vec::with_capacity(count as usize);
        for i in 0..count {
            let index = self.ids.len() as u64;
            let g = gen_post(&mut self.rng, index);
            let mut mentions: Vec<PublicKey> =
                g.mention.map(|k| self.pool[k]).into_iter().collect();
            if let Some((me, every)) = mention
                && every > 0
                && index.is_multiple_of(every)
            {
                mentions.push(*me);
            }
            let reply = g.reply_to.map(|p| Reply {
                root: self.roots_of[p as usize],
                parent: self.ids[p as usize],
            });
            let draft = Draft {
                content: Content::Post(Post {
                    text: g.text,
                    mentions,
                    reply,
                }),
                timestamp_ms: ts + self.spacing_ms * (i + 1),
            };
            let m = batch.push(draft, |_| Ok(None))?;
            self.ids.push(m.id());
            self.roots_of.push(reply.map_or(m.id(), |r| r.root));
            bodies.push(m.bytes().to_vec());
        }
        let w = batch.finish()?;
        self.trees
            .store()
            .put_many(&w.nodes)
            .map_err(|e| NodeError::Tree(rookery_prolly::Error::Store(e)))?;
        self.head = Some(w.head.head().clone());
        Ok(Bundle {
            head: w.head.bytes().to_vec(),
            nodes: w.nodes.into_iter().map(|n| n.bytes).collect(),
            bodies,
        })
    }
}
