//! `onboard`: the figure a newcomer feels. A pub holds `--follows` people's feeds of
//! `--posts-each` posts (never synced by the newcomer; people post at their own pace and
//! stopped at different times, so their feeds interleave); the newcomer follows them all,
//! connects to the pub through a delaying relay and opens Home. Measured: time and bytes until
//! the first page of the merged home timeline (the newest 32 across everyone) is complete and
//! verified, and until every followed person's first screen is held — for Rookery, the
//! full-log peer and the real SSB stack, at no delay and at `--rtt-ms`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rookery_feed::{MessageId, PublicKey};
use rookery_node::{FIRST_SCREEN, Node};
use rookery_testkit::{FeedBuilder, Rng, START_MS};
use serde::Serialize;

use super::full_log::{FullLog, LogClient};
use super::rookery::{Peer, behind_relay, loopback, peer};
use crate::measure::{self, Figure, Run, delayed, delayed_addr, until};

/// Options of `onboard`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// People followed.
    #[arg(long, default_value_t = 150)]
    follows: u64,
    /// Posts in each one's feed.
    #[arg(long, default_value_t = 2000)]
    posts_each: u64,
    /// The round trip every connection is delayed by; also measured at none.
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
}

/// The people: their feeds on the pub, and what the newcomer's Home must show.
struct World {
    pub_peer: Peer,
    people: Vec<PublicKey>,
    /// The newest `FIRST_SCREEN` across everyone, newest first.
    first_page: Vec<MessageId>,
    /// Each person's newest `FIRST_SCREEN`.
    screens: Vec<(PublicKey, Vec<MessageId>)>,
    log: FullLog,
}

/// Person `i`'s pace: one post every 1 to 50 minutes, the last one up to a day ago.
fn pace(i: u64, posts: u64) -> (u64, u64) {
    let spacing = 60_000 * (1 + (i * 7919) % 50);
    let last = START_MS + 400 * 86_400_000 - (i * 104_729_000) % 86_400_000;
    (last - spacing * (posts - 1), spacing)
}

async fn world(args: &Args) -> anyhow::Result<World> {
    let t = Instant::now();
    let pub_peer = peer(loopback(false)).await?;
    let mut people = Vec::new();
    let mut logs = Vec::new();
    for i in 0..args.follows {
        let (start, spacing) = pace(i, args.posts_each);
        let key = super::rookery::author_key(10_000 + i);
        let mut f = FeedBuilder::new(key, Rng::new(7000 + i)).timed(start, spacing);
        let b = f.posts(args.posts_each, None)?;
        pub_peer.node.import(&b)?;
        people.push(f.author());
        logs.push((*f.author().as_bytes(), b.bodies));
    }
    // What Home must show: read where everything is held (a node following everyone).
    let dir = tempfile::tempdir()?;
    let all = Node::open(dir.path())?;
    for p in &people {
        all.import(&pub_peer.node.export(p)?)?;
        all.follow(*p)?;
    }
    let ids = |page: rookery_node::Page| -> Vec<MessageId> {
        page.items.iter().map(|i| i.message.id()).collect()
    };
    let first_page = ids(all.timeline(None, FIRST_SCREEN)?);
    let mut screens = Vec::new();
    for p in &people {
        screens.push((*p, ids(all.author_feed(p, None, FIRST_SCREEN)?)));
    }
    let log = FullLog::new([0; 32], &[], Vec::new()).await?;
    for (a, bodies) in logs {
        log.add_log(a, bodies);
    }
    eprintln!(
        "setup: {} people × {} posts on the pub in {:.1} s",
        args.follows,
        args.posts_each,
        t.elapsed().as_secs_f64()
    );
    Ok(World {
        pub_peer,
        people,
        first_page,
        screens,
        log,
    })
}

/// A figure pair for one measure: the first home page, and every first screen.
struct Onboarded {
    first_page: Figure,
    all_screens: Option<Figure>,
}

async fn rookery(w: &World, rtt: Duration, runs: usize) -> anyhow::Result<Onboarded> {
    let (mut pages, mut screens) = (Vec::new(), Vec::new());
    let mut note = String::new();
    for _ in 0..runs {
        let (relay, through) = delayed(&w.pub_peer.net.ticket(), rtt).await?;
        let dir = tempfile::tempdir()?;
        let node = std::sync::Arc::new(Node::open(dir.path())?);
        for p in &w.people {
            node.follow(*p)?;
        }
        let t = Instant::now();
        let net = node.start(behind_relay(false)).await?;
        net.connect(&through).await?;
        let hub = w.pub_peer.node.id();
        // Home, as the UI reads it: through the network, fetching what it needs.
        loop {
            let page = net.read(|n| n.timeline(None, FIRST_SCREEN)).await;
            if let Ok(p) = page
                && p.items
                    .iter()
                    .map(|i| i.message.id())
                    .eq(w.first_page.iter().copied())
            {
                break;
            }
            anyhow::ensure!(t.elapsed() < Duration::from_secs(120), "no first page");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        pages.push(Run::since(
            t,
            relay.bytes(),
            net.setup_bytes(&hub).unwrap_or(0),
        ));
        let c = net.counters(&hub).unwrap_or_default();
        note = format!(
            "follows {} people, connects to the pub, reads Home through the network: {} requests by then ({} subscribe — its answer the heads, then the first page across them —, {} range, {} diff, {} fetch), {} nodes, {} bodies",
            w.people.len(),
            c.requests(),
            c.subscribe,
            c.range,
            c.diff,
            c.fetch,
            c.nodes_in,
            c.bodies_in
        );
        until("every first screen", Duration::from_secs(300), || {
            w.screens.iter().all(|(p, want)| {
                node.author_feed(p, None, FIRST_SCREEN).is_ok_and(|page| {
                    page.items
                        .iter()
                        .map(|i| i.message.id())
                        .eq(want.iter().copied())
                })
            })
        })
        .await?;
        screens.push(Run::since(
            t,
            relay.bytes(),
            net.setup_bytes(&hub).unwrap_or(0),
        ));
        net.shutdown().await;
    }
    Ok(Onboarded {
        first_page: Figure::of(&pages, note),
        all_screens: Some(Figure::of(
            &screens,
            "until every followed person's newest 32 are held",
        )),
    })
}

async fn full_log(w: &World, rtt: Duration, runs: usize) -> anyhow::Result<Onboarded> {
    let authors: Vec<[u8; 32]> = w.people.iter().map(|p| *p.as_bytes()).collect();
    let want: HashSet<MessageId> = w.first_page.iter().copied().collect();
    let mut pages = Vec::new();
    for _ in 0..runs {
        let (relay, through) = delayed_addr(&w.log.addr, rtt).await?;
        let mut c = LogClient::new().await?;
        let t = Instant::now();
        c.connect(through).await?;
        let handshake = relay.bytes();
        let mut seen = HashSet::new();
        let mut done = None;
        c.fetch_with(&authors, |batch| {
            if done.is_none() {
                seen.extend(batch.iter().map(|m| m.id()).filter(|id| want.contains(id)));
                if seen.len() == want.len() {
                    done = Some(Run::since(t, relay.bytes(), handshake));
                }
            }
        })
        .await?;
        pages.push(done.ok_or_else(|| anyhow::anyhow!("the first page never arrived"))?);
        c.disconnect();
    }
    Ok(Onboarded {
        first_page: Figure::of(
            &pages,
            "one request naming every person from seq 1: each log in full, until the newest 32 across them have arrived",
        ),
        all_screens: None,
    })
}

/// The SSB peer at one delay.
fn ssb(args: &Args, rtt: Duration) -> Result<Onboarded, String> {
    if args.no_ssb {
        return Err("left out (--no-ssb)".into());
    }
    let dir = measure::ssb_dir()?;
    let a: Vec<String> = [
        "run.js",
        "onboard",
        "--follows",
        &args.follows.to_string(),
        "--posts-each",
        &args.posts_each.to_string(),
        "--rtt-ms",
        &rtt.as_millis().to_string(),
        "--runs",
        &args.runs.to_string(),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = measure::external("node", &a, &dir)?;
    let ms = v["first_page_ms"].as_f64().ok_or("no first_page_ms")?;
    let bytes = v["first_page_bytes"]
        .as_u64()
        .ok_or("no first_page_bytes")?;
    let first_page = Figure {
        bytes: v["first_page_bytes_without_handshake"]
            .as_u64()
            .unwrap_or(bytes),
        bytes_with_handshake: bytes,
        round_trips: None,
        ms,
        ms_min: v["first_page_ms_min"].as_f64().unwrap_or(ms),
        ms_max: v["first_page_ms_max"].as_f64().unwrap_or(ms),
        ms_at_0: None,
        runs: v["runs"].as_u64().unwrap_or(1) as usize,
        note: v["note"].as_str().unwrap_or("").to_string(),
    };
    Ok(Onboarded {
        first_page,
        all_screens: None,
    })
}

#[derive(Serialize)]
struct SideJson {
    first_page_ms: f64,
    first_page_ms_min: f64,
    first_page_ms_max: f64,
    first_page_ms_at_0: Option<f64>,
    first_page_bytes: u64,
    first_page_bytes_without_handshake: u64,
    first_page_round_trips: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    all_first_screens_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    all_first_screens_bytes: Option<u64>,
    note: String,
}

impl SideJson {
    fn of(at: &Onboarded, zero: &Onboarded, rtt: Duration) -> SideJson {
        let f = at.first_page.clone().against(&zero.first_page, rtt);
        SideJson {
            first_page_ms: f.ms,
            first_page_ms_min: f.ms_min,
            first_page_ms_max: f.ms_max,
            first_page_ms_at_0: f.ms_at_0,
            first_page_bytes: f.bytes_with_handshake,
            first_page_bytes_without_handshake: f.bytes,
            first_page_round_trips: f.round_trips,
            all_first_screens_ms: at.all_screens.as_ref().map(|s| s.ms),
            all_first_screens_bytes: at.all_screens.as_ref().map(|s| s.bytes_with_handshake),
            note: f.note,
        }
    }
}

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
    let (rk, fl) = rt.block_on(async {
        let w = world(args).await?;
        let (mut rk, mut fl) = (Vec::new(), Vec::new());
        for d in &delays {
            eprintln!("rtt {} ms: rookery, full log", d.as_millis());
            rk.push(rookery(&w, *d, args.runs).await?);
            fl.push(full_log(&w, *d, args.runs).await?);
        }
        w.pub_peer.net.shutdown().await;
        w.log.shutdown().await?;
        anyhow::Ok((rk, fl))
    })?;
    let ssb: Result<Vec<Onboarded>, String> = delays
        .iter()
        .map(|d| {
            eprintln!("ssb at rtt {} ms…", d.as_millis());
            ssb(args, *d)
        })
        .collect();
    let side = |v: &[Onboarded]| SideJson::of(&v[v.len() - 1], &v[0], rtt);
    let mut out = serde_json::json!({
        "rtt_ms": args.rtt_ms,
        "runs": args.runs,
        "follows": args.follows,
        "posts_each": args.posts_each,
        "rookery": side(&rk),
        "full_log": side(&fl),
    });
    match &ssb {
        Ok(s) => out["ssb"] = serde_json::to_value(side(s))?,
        Err(e) => out["ssb_note"] = e.clone().into(),
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "onboard: a newcomer follows {} people of {} posts each, all on one pub; {} ms round trips; medians of {} runs",
        args.follows, args.posts_each, args.rtt_ms, args.runs
    );
    let r = side(&rk);
    let page = |v: &[Onboarded]| {
        Some(
            v[v.len() - 1]
                .first_page
                .clone()
                .against(&v[0].first_page, rtt),
        )
    };
    let mut row = std::collections::BTreeMap::new();
    row.insert("rookery".to_string(), page(&rk));
    row.insert("full_log".to_string(), page(&fl));
    if let Ok(s) = &ssb {
        row.insert("ssb".to_string(), page(s));
    }
    measure::print_case(
        &format!("first home page (the newest {FIRST_SCREEN} across everyone, verified)"),
        &row,
    );
    if let (Some(ms), Some(b)) = (r.all_first_screens_ms, r.all_first_screens_bytes) {
        println!("\nevery followed person's first screen held: rookery {ms:.1} ms, {b} bytes");
    }
    if let Err(e) = &ssb {
        println!("note: ssb: {e}");
    }
    println!("\ngoals (on medians):");
    measure::verdict(
        "first home page in ≤ 4 round trips",
        r.first_page_round_trips.map(|n| n <= 4),
    );
    measure::verdict(
        "first home page in ≤ 256 KiB",
        Some(r.first_page_bytes <= 256 << 10),
    );
    measure::verdict(
        "first home page ≥ 100× sooner than the real SSB stack",
        ssb.as_ref()
            .ok()
            .map(|s| side(s).first_page_ms >= 100.0 * r.first_page_ms),
    );
    Ok(())
}
