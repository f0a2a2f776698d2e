//! The `feeds` scenario: a node holding `--authors` followed feeds of `--messages` messages each
//! (posts of realistic length, 10% mentioning the local user), taken in through the node's
//! import door as bundles. Then a few authors mention the local user, and the notifications
//! found by root diffs are timed against what SSB really does — ssb-db2's own mentions query
//! over its mentions index, run by the real JS stack (`bench/ssb/mentions.js`) over as many
//! feeds, messages and mentions of me — with a scan of every message held kept as a labelled
//! floor. Every timing is the median of `--runs`, with min and max.

use std::time::{Duration, Instant};

use anyhow::Context;
use rookery_feed::{Content, Head, Index, Post, PublicKey, SecretKey, SignedMessage};
use rookery_node::publish::{Draft, FeedWriter};
use rookery_node::{Bundle, Node};
use rookery_prolly::{EMPTY_ROOT, MemStore, NodeStore, Prolly};
use serde::Serialize;

use crate::measure::{self, Spread};

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
    /// Runs of each timing (the median is reported, with min and max).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Leave the real SSB stack out.
    #[arg(long)]
    no_ssb: bool,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Default)]
struct Report {
    cores: usize,
    runs: usize,
    authors: u64,
    messages: u64,
    store_bytes: u64,
    new_mentions: usize,
    /// Rookery: new mentions of me by root diffs (µs).
    notify_us: Spread,
    notify_nodes_read: u64,
    /// The real SSB stack's notification query (mentions of me newer than a last-read mark,
    /// over ssb-db2's mentions index), µs; `None` when not run.
    ssb_notify_us: Option<Spread>,
    ssb_notify_found: Option<u64>,
    /// The real SSB stack's query for every mention of me, µs.
    ssb_all_mentions_us: Option<Spread>,
    ssb_disk_bytes: Option<u64>,
    ssb_note: String,
    /// How many times sooner Rookery finds new mentions than SSB's own query (medians).
    notify_vs_ssb: Option<f64>,
    /// A floor, not what SSB does: read every message held and keep those mentioning me.
    scan_us: Spread,
    scan_found: usize,
    notify_vs_scan: f64,
    /// A warm file cache (the app started again soon after), no key checked yet (a new process).
    open_to_first_page_ms: Spread,
    /// The same with the store's file evicted from the page cache first (the first start after
    /// a reboot, or after long enough for the system to have dropped it).
    open_to_first_page_cold_ms: Spread,
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
    let runs = args.runs.max(1);
    let mut r = Report {
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
        runs,
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
    let (spread, found) = Spread::time_us(runs, || Ok(node.notifications(200)?))?;
    r.notify_us = spread;
    r.new_mentions = found.unread as usize;
    anyhow::ensure!(
        r.new_mentions as u64 == 3 * mentioners,
        "{} new mentions found, {} made",
        r.new_mentions,
        3 * mentioners
    );
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

    // The floor: read every message held and keep those that mention me.
    let (spread, hits) = Spread::time_us(runs, || {
        let mut hits = 0usize;
        node.store().scan_bodies(|bytes| {
            if let Ok(m) = SignedMessage::from_stored(bytes)
                && let Content::Post(p) = &m.message().content
                && p.mentions.contains(&me)
            {
                hits += 1;
            }
        })?;
        Ok(hits)
    })?;
    r.scan_us = spread;
    r.scan_found = hits;
    r.notify_vs_scan = r.scan_us.median / r.notify_us.median;

    // What SSB does: the real stack's mentions query, over as many feeds, messages and
    // mentions of me.
    if args.no_ssb {
        r.ssb_note = "left out (--no-ssb)".into();
    } else {
        match ssb_mentions(args, hits, runs) {
            Ok(v) => {
                let us = |k: &str| -> Option<Spread> {
                    Some(Spread {
                        median: v[k].as_f64()? * 1e3,
                        min: v[format!("{k}_min")].as_f64()? * 1e3,
                        max: v[format!("{k}_max")].as_f64()? * 1e3,
                    })
                };
                r.ssb_notify_us = us("since_query_ms");
                r.ssb_all_mentions_us = us("query_ms");
                r.ssb_notify_found = v["since_found"].as_u64();
                r.ssb_disk_bytes = v["disk_bytes"].as_u64();
                r.ssb_note = v["note"].as_str().unwrap_or("").to_string();
                anyhow::ensure!(
                    v["found"].as_u64() == Some(hits as u64),
                    "the SSB peer found {} mentions of me, {hits} were made",
                    v["found"]
                );
                r.notify_vs_ssb = r.ssb_notify_us.map(|s| s.median / r.notify_us.median);
            }
            Err(e) => r.ssb_note = format!("not run: {e}"),
        }
    }

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
    let db = data.join(rookery_node::DB_FILE);
    r.store_bytes = std::fs::metadata(&db)?.len();
    let open = |cold: bool| -> anyhow::Result<Spread> {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            if cold {
                evict(&db)?;
            }
            // As a new process: no key checked yet.
            rookery_feed::forget_checked_keys();
            let t = Instant::now();
            let node = Node::open(&data)?;
            let page = node.timeline(None, 32)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(
                page.items.len() == 32,
                "the first page has {} posts",
                page.items.len()
            );
        }
        Ok(Spread::of(&times))
    };
    r.open_to_first_page_ms = open(false)?;
    r.open_to_first_page_cold_ms = open(true)?;

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
            "notify    rookery, {} new mentions by root diffs: {} µs, {} nodes read (medians of {} runs, [min–max])",
            r.new_mentions, r.notify_us, r.notify_nodes_read, r.runs
        );
        match (r.ssb_notify_us, r.ssb_all_mentions_us) {
            (Some(n), Some(a)) => println!(
                "          ssb-db2's own mentions index: new since last read ({} found) {} µs, every mention {} µs → rookery ×{:.1} sooner ({} goal ≥ 100)",
                r.ssb_notify_found.unwrap_or(0),
                n,
                a,
                r.notify_vs_ssb.unwrap_or(0.0),
                check(r.notify_vs_ssb.unwrap_or(0.0) >= 100.0)
            ),
            _ => println!("          ssb: {}", r.ssb_note),
        }
        println!(
            "          floor, not what SSB does — scan every message held: {} µs ({} mentions of me held) → ×{:.0}",
            r.scan_us, r.scan_found, r.notify_vs_scan
        );
        if let Some(d) = r.ssb_disk_bytes {
            println!(
                "disk      rookery {:.1} MB, ssb {:.1} MB → ×{:.2}",
                r.store_bytes as f64 / 1e6,
                d as f64 / 1e6,
                r.store_bytes as f64 / d.max(1) as f64
            );
        }
        println!(
            "open      open the store + first page of 32: {} ms ({} goal ≤ 30 ms)",
            r.open_to_first_page_ms,
            check(r.open_to_first_page_ms.median <= 30.0)
        );
        println!(
            "          the same from a cold file cache (the file evicted first): {} ms",
            r.open_to_first_page_cold_ms
        );
        if !r.ssb_note.is_empty() && r.ssb_notify_us.is_some() {
            println!("note: ssb: {}", r.ssb_note);
        }
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

/// The real SSB stack's mentions queries over `args.authors` × `args.messages` posts of which
/// `mentions` mention its own id.
fn ssb_mentions(args: &Args, mentions: usize, runs: usize) -> Result<serde_json::Value, String> {
    let dir = measure::ssb_dir()?;
    let a: Vec<String> = [
        "mentions.js".to_string(),
        "--authors".into(),
        args.authors.to_string(),
        "--per-author".into(),
        args.messages.to_string(),
        "--mentions".into(),
        mentions.max(1).to_string(),
        "--runs".into(),
        runs.to_string(),
        "--json".into(),
    ]
    .into();
    measure::external("node", &a, &dir)
}

/// Drops `path`'s pages from the kernel's page cache (written back first), so the next read
/// comes from the disk: `posix_fadvise(DONTNEED)`, which needs no privilege.
fn evict(path: &std::path::Path) -> anyhow::Result<()> {
    let f = std::fs::File::open(path)?;
    f.sync_all()?;
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed)?;
    Ok(())
}
