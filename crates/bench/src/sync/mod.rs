//! `sync`: an author with 100,000 posts of realistic length, five cases, each measured for
//! Rookery and three other peers in the same run, at no delay and at a real round-trip delay:
//!
//! - **full_log**: the SSB cost model at Rust speed (`full_log.rs`).
//! - **ssb**: the real Secure Scuttlebutt stack Manyverse runs (`bench/ssb`, Node.js, installed
//!   by `make bench`), its bytes counted and delayed by a TCP proxy.
//! - **iroh_docs**: the same entries in an iroh-docs document synced by range-based set
//!   reconciliation, content downloads off (`bench/iroh-docs`, built by `make bench`).
//!
//! Every peer reaches the other through a delay: `rookery-netsim`'s UDP relay for the three on
//! iroh (which also counts their bytes, UDP payload, the same way for all three), the TCP proxy
//! for SSB. Each timing is the median of `--runs` runs, with min and max; bytes are given with
//! and without the connection's handshake; round trips are measured: the median at the delay
//! less the median at none, over the delay.

mod full_log;
pub(crate) mod onboard;
mod rookery;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rookery_testkit::{FeedBuilder, Rng};

use crate::measure::{self, Disk, Figure};

/// Options of the `sync` scenario.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Posts in the author's feed.
    #[arg(long, default_value_t = 100_000)]
    posts: u64,
    /// Followed authors in the notification case.
    #[arg(long, default_value_t = 200)]
    authors: u64,
    /// Posts in each of those authors' feeds.
    #[arg(long, default_value_t = 20)]
    author_posts: u64,
    /// The round trip every connection is delayed by (0: none); every case is also measured
    /// at none, for the round trips.
    #[arg(long, default_value_t = 50)]
    rtt_ms: u64,
    /// Runs of each timing (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Leave out the Node.js SSB peer.
    #[arg(long)]
    no_ssb: bool,
    /// Leave out the iroh-docs peer.
    #[arg(long)]
    no_iroh_docs: bool,
}

pub(crate) const CASES: [&str; 5] = [
    "cold_first_screen",
    "catch_up_10",
    "catch_up_10_reconnect",
    "notify_200",
    "full_sync",
];

const PEERS: [&str; 4] = ["rookery", "full_log", "ssb", "iroh_docs"];

/// One peer's figures at one delay, by case; and its disk bytes per message held.
#[derive(Default)]
struct Side {
    figures: BTreeMap<String, Figure>,
    disk_per_message: Option<Disk>,
}

/// Rookery and the full-log peer at each delay, measured in this process.
/// Also returns the catch-up bound: 2 × (the new entries and bodies of one 10-post catch-up)
/// + one root-to-leaf path of the author's `messages` tree, in bytes.
async fn in_process(args: &Args, delays: &[Duration]) -> anyhow::Result<(Vec<(Side, Side)>, u64)> {
    let author = rookery::peer(rookery::loopback(true)).await?;
    let mut feed = FeedBuilder::new(author.node.secret_key().clone(), Rng::new(42));
    let t = Instant::now();
    let bundle = feed.posts(args.posts, None)?;
    author.node.import(&bundle)?;
    eprintln!(
        "setup: {} posts signed and imported in {:.1} s",
        args.posts,
        t.elapsed().as_secs_f64()
    );
    // One path: the proof of the newest entry (root to the rightmost leaf).
    let head = author
        .node
        .store()
        .head(&author.node.id())?
        .ok_or_else(|| anyhow::anyhow!("the author's head"))?;
    let newest = rookery_prolly::Query::new(rookery_prolly::KeyRange::all())
        .reverse()
        .limit(1);
    let path = rookery_prolly::Prolly::new(author.node.store())
        .prove_range(&head.head().roots.messages, &newest)?
        .1
        .byte_len();
    // Two catch-up cases per delay, `runs` times ten posts each.
    let mut more = Vec::new();
    for _ in 0..2 * args.runs * delays.len() {
        more.push(feed.posts(10, None)?);
    }
    // An entry: a 16-byte key and a 32-byte id.
    let new: usize = more[0].bodies.iter().map(|b| b.len() + 48).sum();
    let bound = (2 * new + path) as u64;
    let world = rookery::World::new(author, more.clone());
    let mut log = full_log::FullLog::new(*feed.author().as_bytes(), &bundle.bodies, more).await?;
    let mut notify = rookery::Notify::new(args.authors, args.author_posts).await?;
    let mut out: Vec<(Side, Side)> = delays.iter().map(|_| Default::default()).collect();
    // The whole-history cases first, at every delay, so every run syncs the same feed.
    for (i, rtt) in delays.iter().enumerate() {
        let (rk, fl) = &mut out[i];
        eprintln!(
            "rtt {} ms: cold first screen and full sync",
            rtt.as_millis()
        );
        rk.figures.insert(
            "cold_first_screen".into(),
            rookery::cold_first_screen(&world, *rtt, args.runs).await?,
        );
        let (full, disk) = rookery::full_sync(&world, *rtt, args.runs).await?;
        rk.figures.insert("full_sync".into(), full);
        rk.disk_per_message = Some(disk);
        let cold = log.cold(*rtt, args.runs).await?;
        fl.figures.insert("cold_first_screen".into(), cold.clone());
        fl.figures.insert("full_sync".into(), cold);
    }
    for (i, rtt) in delays.iter().enumerate() {
        let (rk, fl) = &mut out[i];
        eprintln!("rtt {} ms: catch-ups and notifications", rtt.as_millis());
        rk.figures.insert(
            "catch_up_10".into(),
            rookery::catch_up_live(&world, *rtt, args.runs).await?,
        );
        rk.figures.insert(
            "catch_up_10_reconnect".into(),
            rookery::catch_up_reconnect(&world, *rtt, args.runs).await?,
        );
        rk.figures
            .insert("notify_200".into(), notify.measure(*rtt, args.runs).await?);
        fl.figures.insert(
            "catch_up_10".into(),
            log.catch_up_live(*rtt, args.runs).await?,
        );
        fl.figures.insert(
            "catch_up_10_reconnect".into(),
            log.catch_up_reconnect(*rtt, args.runs).await?,
        );
        fl.figures.insert(
            "notify_200".into(),
            log.notify(args.authors, args.author_posts, *rtt, args.runs)
                .await?,
        );
    }
    world.author.net.shutdown().await;
    log.shutdown().await?;
    Ok((out, bound))
}

/// An external peer at one delay.
fn external(name: &str, args: &Args, rtt: Duration) -> Result<Side, String> {
    let mut a: Vec<String> = vec![
        "--posts".into(),
        args.posts.to_string(),
        "--authors".into(),
        args.authors.to_string(),
        "--per-author".into(),
        args.author_posts.to_string(),
        "--rtt-ms".into(),
        rtt.as_millis().to_string(),
        "--runs".into(),
        args.runs.to_string(),
        "--json".into(),
    ];
    let v = match name {
        "ssb" if args.no_ssb => return Err("left out (--no-ssb)".into()),
        "ssb" => {
            let dir = measure::ssb_dir()?;
            a.insert(0, "run.js".into());
            measure::external("node", &a, &dir)?
        }
        _ if args.no_iroh_docs => return Err("left out (--no-iroh-docs)".into()),
        _ => {
            let bin = measure::iroh_docs_bin()?;
            measure::external(&bin.to_string_lossy(), &a, &measure::repo_root())?
        }
    };
    let mut side = Side {
        disk_per_message: v["disk_bytes_per_message"]
            .as_u64()
            .zip(v["disk_file_bytes_per_message"].as_u64())
            .map(|(allocated, files)| Disk { allocated, files }),
        ..Side::default()
    };
    for case in CASES {
        if let Some(f) = v.get(case).and_then(Figure::from_json) {
            side.figures.insert(case.into(), f);
        }
    }
    Ok(side)
}

/// Case → peer → figure (at the report's delay, against no delay), and the notes.
type Report = BTreeMap<String, BTreeMap<String, Option<Figure>>>;

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let rtt = Duration::from_millis(args.rtt_ms);
    let delays: Vec<Duration> = if rtt.is_zero() {
        vec![rtt]
    } else {
        vec![Duration::ZERO, rtt]
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut sides: BTreeMap<&str, Vec<Result<Side, String>>> = BTreeMap::new();
    let (pairs, bound) = rt.block_on(in_process(args, &delays))?;
    for (rk, fl) in pairs {
        sides.entry("rookery").or_default().push(Ok(rk));
        sides.entry("full_log").or_default().push(Ok(fl));
    }
    for name in ["ssb", "iroh_docs"] {
        for d in &delays {
            eprintln!("{name} at rtt {} ms…", d.as_millis());
            sides
                .entry(name)
                .or_default()
                .push(external(name, args, *d));
        }
    }
    let mut report: Report = BTreeMap::new();
    let mut notes = Vec::new();
    let (mut disk, mut disk_files) = (BTreeMap::new(), BTreeMap::new());
    for name in PEERS {
        let runs = &sides[name];
        let (at_0, at_rtt) = (&runs[0], &runs[runs.len() - 1]);
        match (at_0, at_rtt) {
            (Ok(zero), Ok(side)) => {
                for case in CASES {
                    let f = side
                        .figures
                        .get(case)
                        .zip(zero.figures.get(case))
                        .map(|(f, z)| f.clone().against(z, rtt));
                    report
                        .entry(case.into())
                        .or_default()
                        .insert(name.into(), f);
                }
                if let Some(d) = side.disk_per_message {
                    disk.insert(name.to_string(), d.allocated);
                    disk_files.insert(name.to_string(), d.files);
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                notes.push(format!("{name}: {e}"));
                for case in CASES {
                    report
                        .entry(case.into())
                        .or_default()
                        .insert(name.into(), None);
                }
            }
        }
    }
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["rtt_ms"] = args.rtt_ms.into();
        v["runs"] = args.runs.into();
        v["posts"] = args.posts.into();
        v["disk_bytes_per_message"] = serde_json::to_value(&disk)?;
        v["disk_file_bytes_per_message"] = serde_json::to_value(&disk_files)?;
        v["catch_up_10_bound_bytes"] = bound.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "sync: an author with {} posts; {} followed authors for notify_200; loopback with {} ms round trips; medians of {} runs",
        args.posts, args.authors, args.rtt_ms, args.runs
    );
    for case in CASES {
        measure::print_case(case, &report[case]);
    }
    println!(
        "\n(× = that peer's figure divided by Rookery's: above 1, Rookery is ahead; bytes × compares bytes with handshakes)"
    );
    println!(
        "disk bytes per message held: {disk:?} (allocated blocks, as du counts); the files' lengths: {disk_files:?}"
    );
    println!("catch_up_10 bound: 2 × (10 new entries and bodies) + one path = {bound} bytes");
    goals(&report, &disk, bound);
    for n in notes {
        println!("note: {n}");
    }
    Ok(())
}

/// The rungs of issue 12, judged on the medians.
fn goals(report: &Report, disk: &BTreeMap<String, u64>, catch_up_bound: u64) {
    let fig = |case: &str, peer: &str| {
        report
            .get(case)
            .and_then(|r| r.get(peer))
            .cloned()
            .flatten()
    };
    println!("\ngoals (on medians):");
    measure::verdict(
        "full_sync ≥ 5× faster than the real SSB stack",
        fig("full_sync", "rookery")
            .zip(fig("full_sync", "ssb"))
            .map(|(r, s)| s.ms >= 5.0 * r.ms),
    );
    measure::verdict(
        "cold_first_screen ≤ 24 KiB with the handshake",
        fig("cold_first_screen", "rookery").map(|r| r.bytes_with_handshake <= 24 << 10),
    );
    measure::verdict(
        "catch_up_10 (live) bytes ≤ 2 × (new entries + bodies) + one path",
        fig("catch_up_10", "rookery").map(|r| r.bytes <= catch_up_bound),
    );
    measure::verdict(
        "notify_200: fewer bytes and less time than full-log",
        fig("notify_200", "rookery")
            .zip(fig("notify_200", "full_log"))
            .map(|(r, f)| r.bytes_with_handshake < f.bytes_with_handshake && r.ms < f.ms),
    );
    measure::verdict(
        "disk per message ≤ 0.75 × the real SSB stack's",
        disk.get("rookery")
            .zip(disk.get("ssb"))
            .map(|(r, s)| (*r as f64) <= 0.75 * *s as f64),
    );
}
