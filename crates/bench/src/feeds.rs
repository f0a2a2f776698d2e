//! The `feeds` scenario: a node holding `--authors` followed feeds of `--messages` messages each
//! (posts of realistic length, 10% mentioning the local user), taken in through the node's
//! import door as bundles. Then a few authors mention the local user, and the notifications
//! found by root diffs are timed against the SSB way (scan every message held and filter).

use std::time::{Duration, Instant};

use anyhow::Context;
use rookery_feed::{Content, Head, Index, Post, PublicKey, SecretKey, SignedMessage};
use rookery_node::publish::{Draft, FeedWriter};
use rookery_node::{Bundle, Node};
use rookery_prolly::{EMPTY_ROOT, MemStore, NodeStore, Prolly};
use serde::Serialize;

/// Arguments of `rookery-bench feeds`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Followed authors.
    #[arg(long, default_value_t = 1_000)]
    authors: u64,
    /// Messages per author.
    #[arg(long, default_value_t = 1_000)]
    messages: u64,
    /// Authors who then mention the local user.
    #[arg(long, default_value_t = 5)]
    mentioners: u64,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Default)]
struct Report {
    cores: usize,
    authors: u64,
    messages: u64,
    store_bytes: u64,
    new_mentions: usize,
    notify_us: f64,
    notify_nodes_read: u64,
    scan_us: f64,
    scan_found: usize,
    notify_speedup: f64,
    open_to_first_page_ms: f64,
    publish_per_s: f64,
    import_msgs_per_s: f64,
    verify_msgs_per_s: f64,
    setup_s: f64,
}

/// A deterministic generator (no RNG dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

const WORDS: &[&str] = &[
    "the", "a", "garden", "rain", "today", "reading", "bike", "coffee", "river", "code", "peer",
    "sync", "walk", "friends", "music", "late", "morning", "train", "book", "city", "quiet",
    "bread", "harbor", "light", "tree",
];

/// Post text of 40–600 characters, mean about 200.
fn text(rng: &mut Lcg) -> String {
    let len = 40 + (560.0 * rng.unit().powf(2.0)) as usize;
    let mut s = String::with_capacity(len + 8);
    while s.len() < len {
        s.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    s.truncate(len);
    s
}

fn author_key(i: u64) -> SecretKey {
    let mut b = [7u8; 32];
    b[..8].copy_from_slice(&i.to_be_bytes());
    SecretKey::from_bytes(&b)
}

/// Signs `count` posts of `key` after `prev` (seq, timestamp, roots), builds the index trees
/// over `trees`, and returns the bundle that brings them to a node (new nodes and bodies only).
fn extend_feed<S: NodeStore>(
    trees: &Prolly<S>,
    key: &SecretKey,
    prev: Option<&Head>,
    count: u64,
    mention_every: u64,
    me: &PublicKey,
    rng: &mut Lcg,
) -> anyhow::Result<Bundle> {
    let mut ts = prev.map_or(1_700_000_000_000, |h| h.timestamp_ms);
    let writer = FeedWriter::new(key, trees);
    let mut batch = writer.begin(prev);
    let mut bodies = Vec::with_capacity(count as usize);
    for _ in 0..count {
        ts += 1 + rng.next() % 600_000;
        let mentions = if mention_every > 0 && rng.next().is_multiple_of(mention_every) {
            vec![*me]
        } else {
            vec![]
        };
        let draft = Draft {
            content: Content::Post(Post {
                text: text(rng),
                mentions,
                reply: None,
            }),
            timestamp_ms: ts,
        };
        bodies.push(batch.push(draft, |_| Ok(None))?.bytes().to_vec());
    }
    let w = batch.finish()?;
    Ok(Bundle {
        head: w.head.bytes().to_vec(),
        nodes: w.nodes.into_iter().map(|n| n.bytes).collect(),
        bodies,
    })
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let mut r = Report {
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
        authors: args.authors,
        messages: args.authors * args.messages,
        ..Report::default()
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let setup = Instant::now();
    let node = Node::open(&data)?;
    let me = node.id();
    let mut rng = Lcg(42);

    // The followed feeds, each built in memory and taken in through the import door (which
    // verifies every signature and node).
    let mut import_time = Duration::ZERO;
    for i in 0..args.authors {
        let bundle = extend_feed(
            &Prolly::new(MemStore::new()),
            &author_key(i),
            None,
            args.messages,
            10,
            &me,
            &mut rng,
        )?;
        let t = Instant::now();
        node.import(&bundle)?;
        import_time += t.elapsed();
    }
    r.import_msgs_per_s = r.messages as f64 / import_time.as_secs_f64();

    // Following them all: one durable transaction per message.
    let t = Instant::now();
    for i in 0..args.authors {
        node.follow(author_key(i).public())?;
    }
    r.publish_per_s = args.authors as f64 / t.elapsed().as_secs_f64();
    node.mark_seen(None)?;

    // A few authors mention me: new heads with only their new nodes and bodies, as sync brings them.
    let mentioners = args.mentioners.min(args.authors);
    for i in 0..mentioners {
        let key = author_key(i * (args.authors / mentioners.max(1)));
        let head = node
            .store()
            .head(&key.public())?
            .context("head of a followed author")?;
        let bundle = extend_feed(
            &Prolly::new(node.store()),
            &key,
            Some(head.head()),
            3,
            1,
            &me,
            &mut rng,
        )?;
        node.import(&bundle)?;
    }
    r.setup_s = setup.elapsed().as_secs_f64();

    // Rookery: notifications by diffing each author's last-seen mentions root with the current.
    let t = Instant::now();
    let found = node.notifications(200)?;
    r.notify_us = t.elapsed().as_secs_f64() * 1e6;
    r.new_mentions = found.unread as usize;
    let trees = Prolly::new(node.store());
    for h in node.store().heads()? {
        let h = h.head();
        let seen = node
            .store()
            .last_seen(&h.author, Index::Mentions)?
            .unwrap_or(EMPTY_ROOT);
        let mut d = trees.diff(
            &seen,
            &h.roots.mentions,
            rookery_feed::keys::mentions_of(&me),
        );
        d.by_ref().for_each(drop);
        r.notify_nodes_read += d.nodes_loaded();
    }

    // The SSB way: read every message held and keep those that mention me and are unread.
    let t = Instant::now();
    let mut hits = 0usize;
    node.store().scan_bodies(|bytes| {
        if let Ok(m) = SignedMessage::from_stored(bytes)
            && let Content::Post(p) = &m.message().content
            && p.mentions.contains(&me)
        {
            hits += 1;
        }
    })?;
    r.scan_us = t.elapsed().as_secs_f64() * 1e6;
    r.scan_found = hits;
    r.notify_speedup = r.scan_us / r.notify_us;

    // Signature checks alone: the floor of any log replay.
    let mut sample = Vec::new();
    node.store().scan_bodies(|b| {
        if sample.len() < 20_000 {
            sample.push(b.to_vec());
        }
    })?;
    let t = Instant::now();
    for b in &sample {
        SignedMessage::decode(b)?;
    }
    r.verify_msgs_per_s = sample.len() as f64 / t.elapsed().as_secs_f64();

    // Open the store and show the first page of the timeline: no index is rebuilt at open.
    drop(node);
    r.store_bytes = std::fs::metadata(data.join(rookery_node::DB_FILE))?.len();
    let t = Instant::now();
    let node = Node::open(&data)?;
    let page = node.timeline(None, 32)?;
    r.open_to_first_page_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        page.items.len() == 32,
        "the first page has {} posts",
        page.items.len()
    );

    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let check = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "rookery-bench feeds: {} authors × {} messages = {} messages, {} cores, store {:.0} MB, setup {:.0} s",
            r.authors,
            args.messages,
            r.messages,
            r.cores,
            r.store_bytes as f64 / 1e6,
            r.setup_s
        );
        println!(
            "notify    {} new mentions: {:.0} µs, {} nodes read | scan every message: {:.0} µs ({} mentions of me held) → ×{:.0} ({} goal ≥ 100)",
            r.new_mentions,
            r.notify_us,
            r.notify_nodes_read,
            r.scan_us,
            r.scan_found,
            r.notify_speedup,
            check(r.notify_speedup >= 100.0)
        );
        println!(
            "open      open the store + first page of 32: {:.1} ms ({} goal ≤ 100 ms)",
            r.open_to_first_page_ms,
            check(r.open_to_first_page_ms <= 100.0)
        );
        println!(
            "write     publish {:.0}/s (durable, one transaction each) | import {:.0} messages/s (verified)",
            r.publish_per_s, r.import_msgs_per_s
        );
        println!(
            "verify    {:.0} signatures/s (SSB's JS stack: ~1,660/s per core)",
            r.verify_msgs_per_s
        );
    }
    Ok(())
}
