//! `sync`: two nodes on loopback, an author with 100,000 posts of realistic length, and four
//! cases, each measured for Rookery and three other peers in the same run:
//!
//! - **full_log**: the SSB cost model at Rust speed. Every message of the author is sent over one
//!   iroh stream from seq 1 (or from the seq the asker holds), signature-checked, chain-checked
//!   and written to a redb store, as SSB's replication does.
//! - **ssb**: the real Secure Scuttlebutt stack Manyverse runs (`bench/ssb`, Node.js, installed
//!   by `make bench`), with its bytes counted by a TCP proxy.
//! - **iroh_docs**: the same entries in an iroh-docs document synced by range-based set
//!   reconciliation, content downloads off (`bench/iroh-docs`, built by `make bench`).
//!
//! Bytes are what crossed the connection: UDP payload bytes of the QUIC connection for Rookery,
//! full_log and iroh-docs (headers, encryption and retransmissions included); TCP payload bytes
//! for SSB. Round trips count the request/answer exchanges on the critical path after the
//! connection is up (the QUIC handshake is one more for all three iroh peers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use rookery_feed::{PublicKey, SecretKey, SignedMessage};
use rookery_node::{Bundle, FIRST_SCREEN, NetConfig, NetOptions, Network, Node};
use rookery_testkit::{FeedBuilder, Rng};
use serde::Serialize;
use tokio::io::AsyncReadExt;

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

/// One peer's figures for one case.
#[derive(Clone, Debug, Serialize)]
struct Figure {
    bytes: u64,
    round_trips: Option<u64>,
    ms: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
}

type Report = BTreeMap<String, BTreeMap<String, Option<Figure>>>;

const CASES: [&str; 4] = [
    "cold_first_screen",
    "catch_up_10",
    "notify_200",
    "full_sync",
];

fn loopback(background: bool) -> NetConfig {
    NetConfig {
        net: NetOptions::loopback(),
        background,
        ..NetConfig::default()
    }
}

struct Peer {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    net: Network,
}

async fn peer(background: bool) -> anyhow::Result<Peer> {
    let dir = tempfile::tempdir()?;
    let node = Arc::new(Node::open(dir.path())?);
    let net = node.start(loopback(background)).await?;
    Ok(Peer {
        _dir: dir,
        node,
        net,
    })
}

async fn until(what: &str, limit: Duration, f: impl Fn() -> bool) -> anyhow::Result<()> {
    let t = Instant::now();
    while !f() {
        if t.elapsed() > limit {
            anyhow::bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

fn bytes_with(net: &Network, peer: &PublicKey) -> u64 {
    net.connection_bytes(peer).map_or(0, |(tx, rx)| tx + rx)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rookery's four cases.
async fn rookery(
    args: &Args,
    author: &Peer,
    extra: &Bundle,
) -> anyhow::Result<BTreeMap<&'static str, Figure>> {
    let mut out = BTreeMap::new();
    let a = author.node.id();
    let newest = |n: &Node| -> Vec<rookery_feed::MessageId> {
        n.author_feed(&a, None, FIRST_SCREEN)
            .map(|p| p.items.into_iter().map(|m| m.message.id()).collect())
            .unwrap_or_default()
    };
    let want = newest(&author.node);

    // cold_first_screen: a new follower, background completion off.
    let b = peer(false).await?;
    let t = Instant::now();
    b.net.follow(author.net.id(), Some(&author.net.ticket()))?;
    until("the first screen", Duration::from_secs(60), || {
        newest(&b.node) == want
    })
    .await?;
    let took = t.elapsed();
    let c = b.net.counters(&a).context("no session")?;
    let setup = b.net.setup_bytes(&a).unwrap_or(0);
    out.insert(
        "cold_first_screen",
        Figure {
            bytes: bytes_with(&b.net, &a) - setup,
            round_trips: Some(u64::from(c.subscribe > 0) + u64::from(c.range + c.diff + c.fetch > 0)),
            ms: ms(took),
            note: format!(
                "after the QUIC handshake ({setup} B, not counted, as for full_log): subscribe (answers the head), then range + mentions diff together: {} nodes, {} bodies fetched; the timeline's first page equals the author's",
                c.nodes_in, c.bodies_in
            ),
        },
    );

    eprintln!("  rookery: catch-up");
    // catch_up_10: ten more posts reach the synced follower live.
    let before = (
        bytes_with(&b.net, &a),
        b.net.counters(&a).context("no session")?,
    );
    author.node.import(extra)?;
    let t = Instant::now();
    let want = newest(&author.node);
    until("the ten new posts", Duration::from_secs(60), || {
        newest(&b.node) == want
    })
    .await?;
    let took = t.elapsed();
    let c = b.net.counters(&a).context("no session")?;
    out.insert(
        "catch_up_10",
        Figure {
            bytes: bytes_with(&b.net, &a) - before.0,
            round_trips: Some(u64::from(c.diff > before.1.diff) + (c.fetch - before.1.fetch)),
            ms: ms(took),
            note: format!(
                "the head is pushed; one diff of messages and one of my mentions range, together: {} nodes, {} bodies",
                c.nodes_in - before.1.nodes_in,
                c.bodies_in - before.1.bodies_in
            ),
        },
    );
    b.net.shutdown().await;

    eprintln!("  rookery: full sync");
    // full_sync: a new follower completes the whole history.
    let b = peer(true).await?;
    let t = Instant::now();
    b.net.follow(author.net.id(), Some(&author.net.ticket()))?;
    until("the whole feed", Duration::from_secs(600), || {
        b.node.is_complete(&a).unwrap_or(false)
    })
    .await?;
    let took = t.elapsed();
    let c = b.net.counters(&a).context("no session")?;
    out.insert(
        "full_sync",
        Figure {
            bytes: bytes_with(&b.net, &a),
            round_trips: Some(c.subscribe + c.range.min(1) + c.diff.saturating_sub(1) + c.fetch),
            ms: ms(took),
            note: format!(
                "first screen, then one diff stream per index: {} requests, {} nodes, {} bodies verified and stored",
                c.subscribe + c.range + c.diff + c.fetch,
                c.nodes_in,
                c.bodies_in
            ),
        },
    );
    b.net.shutdown().await;

    // notify_200: a pub holds 200 followed feeds; the follower was offline while 5 of them
    // mentioned it; it reconnects.
    eprintln!("  rookery: notify");
    out.insert("notify_200", notify(args).await?);
    Ok(out)
}

/// The notification case for Rookery. The follower is synced with all authors through a hub,
/// goes offline, `changed` authors mention it, it reconnects: time and bytes until the
/// notifications are there. Measured with 0 changes too, to show what grows with changes.
async fn notify(args: &Args) -> anyhow::Result<Figure> {
    let hub = peer(true).await?;
    let dir = tempfile::tempdir()?;
    let me = Arc::new(Node::open(dir.path())?);
    let mut feeds = Vec::new();
    for i in 0..args.authors {
        let mut f = FeedBuilder::new(SecretKey::from_bytes(&seed(i)), Rng::new(1000 + i));
        hub.node.import(&f.posts(args.author_posts, None)?)?;
        me.follow(f.author())?;
        feeds.push(f);
    }
    let net = me.start(loopback(false)).await?;
    net.connect(&hub.net.ticket()).await?;
    let all = feeds.len();
    until("every followed head", Duration::from_secs(120), || {
        me.followed()
            .unwrap_or_default()
            .iter()
            .filter(|a| me.store().head(a).ok().flatten().is_some())
            .count()
            == all
    })
    .await?;
    me.mark_seen(None)?;
    net.shutdown().await;

    let mut runs = Vec::new();
    for changed in [0usize, 5] {
        for f in feeds.iter_mut().take(changed) {
            let b: Bundle = f.posts(1, Some((&me.id(), 1)))?;
            hub.node.import(&b)?;
        }
        let net = me.start(loopback(false)).await?;
        let t = Instant::now();
        net.connect(&hub.net.ticket()).await?;
        until("the notifications", Duration::from_secs(60), || {
            me.notifications(200)
                .map(|n| n.unread as usize)
                .unwrap_or(0)
                == changed
        })
        .await?;
        // With no change, wait for the answer to the subscription itself.
        until("the subscription", Duration::from_secs(60), || {
            net.counters(&hub.node.id()).is_some_and(|c| c.bytes_in > 0) && !net.busy()
        })
        .await?;
        let took = t.elapsed();
        let c = net.counters(&hub.node.id()).context("no session")?;
        runs.push((bytes_with(&net, &hub.node.id()), took, c));
        me.mark_seen(None)?;
        net.shutdown().await;
    }
    let (base, _, _) = runs[0];
    let (bytes, took, c) = runs[1];
    Ok(Figure {
        bytes,
        round_trips: Some(u64::from(c.subscribe > 0) + u64::from(c.diff > 0)),
        ms: ms(took),
        note: format!(
            "reconnect + subscribe naming {} authors with their seqs: {base} B with no change; {} B more with 5 changed = {} B per changed author; {} diffs",
            args.authors,
            bytes.saturating_sub(base),
            bytes.saturating_sub(base) / 5,
            c.diff
        ),
    })
}

fn seed(i: u64) -> [u8; 32] {
    let mut b = [9u8; 32];
    b[..8].copy_from_slice(&i.to_be_bytes());
    b
}

// ----- full-log: every message over one stream, checked and stored -----

const FULL_LOG_ALPN: &[u8] = b"rookery-bench/full-log/1";

/// The log server: each author's signed messages in seq order.
#[derive(Debug, Clone)]
struct LogServer(Arc<std::sync::RwLock<Logs>>);

/// Each author's signed messages, in seq order.
type Logs = BTreeMap<[u8; 32], Vec<Vec<u8>>>;

impl ProtocolHandler for LogServer {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        loop {
            let (mut send, mut recv) = conn.accept_bi().await?;
            // Request: postcard Vec<(author, seq held)>; answer: every later message, each
            // length-prefixed, then the stream ends.
            let req = recv
                .read_to_end(1 << 20)
                .await
                .map_err(AcceptError::from_err)?;
            let wanted: Vec<([u8; 32], u64)> =
                postcard::from_bytes(&req).map_err(AcceptError::from_err)?;
            let logs = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
            for (author, since) in wanted {
                if let Some(log) = logs.get(&author) {
                    for m in log.iter().skip(since as usize) {
                        send.write_all(&(m.len() as u32).to_be_bytes())
                            .await
                            .map_err(AcceptError::from_err)?;
                        send.write_all(m).await.map_err(AcceptError::from_err)?;
                    }
                }
            }
            send.finish().map_err(AcceptError::from_err)?;
        }
    }
}

struct LogClient {
    conn: Connection,
    store: rookery_store::Store,
    _dir: tempfile::TempDir,
    held: BTreeMap<[u8; 32], u64>,
}

impl LogClient {
    /// One request for everything after what is held; every message signature-checked,
    /// chain-checked (seq follows seq) and written to redb in batches.
    async fn fetch(&mut self, authors: &[[u8; 32]]) -> anyhow::Result<Vec<SignedMessage>> {
        let req: Vec<([u8; 32], u64)> = authors
            .iter()
            .map(|a| (*a, self.held.get(a).copied().unwrap_or(0)))
            .collect();
        let (mut send, mut recv) = self.conn.open_bi().await?;
        send.write_all(&postcard::to_allocvec(&req)?).await?;
        send.finish()?;
        let mut got = Vec::new();
        let mut batch = Vec::new();
        let mut len = [0u8; 4];
        loop {
            match AsyncReadExt::read_exact(&mut recv, &mut len).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
            AsyncReadExt::read_exact(&mut recv, &mut buf).await?;
            let m = SignedMessage::decode(&buf)?;
            let author = *m.message().author.as_bytes();
            let held = self.held.entry(author).or_insert(0);
            anyhow::ensure!(m.message().seq == *held + 1, "chain broken");
            *held += 1;
            batch.push(m);
            if batch.len() == 1000 {
                self.store.import_bodies(&batch)?;
                got.append(&mut batch);
            }
        }
        self.store.import_bodies(&batch)?;
        got.append(&mut batch);
        Ok(got)
    }
}

async fn full_log(
    args: &Args,
    author_bodies: &[Vec<u8>],
    author: [u8; 32],
    extra: &Bundle,
) -> anyhow::Result<BTreeMap<&'static str, Figure>> {
    let mut out = BTreeMap::new();
    let logs = Arc::new(std::sync::RwLock::new(BTreeMap::from([(
        author,
        author_bodies.to_vec(),
    )])));
    let lo = NetOptions::loopback();
    let bind = || {
        rookery_sync::bind_endpoint(
            SecretKey::generate(),
            &lo,
            iroh::address_lookup::memory::MemoryLookup::new(),
        )
    };
    let server_ep = bind().await?;
    let addr = server_ep.addr();
    let router = Router::builder(server_ep)
        .accept(FULL_LOG_ALPN, LogServer(logs.clone()))
        .spawn();
    let client_ep = bind().await?;
    let conn = client_ep.connect(addr.clone(), FULL_LOG_ALPN).await?;
    let dir = tempfile::tempdir()?;
    let mut client = LogClient {
        conn: conn.clone(),
        store: rookery_store::Store::open(dir.path().join("log.redb"))?,
        _dir: dir,
        held: BTreeMap::new(),
    };
    let total = |c: &Connection| {
        let s = c.stats();
        s.udp_tx.bytes + s.udp_rx.bytes
    };

    let b0 = total(&conn);
    let t = Instant::now();
    eprintln!("  full log: cold");
    let got = client.fetch(&[author]).await?;
    let took = t.elapsed();
    anyhow::ensure!(got.len() == author_bodies.len(), "full log incomplete");
    let fig = Figure {
        bytes: total(&conn) - b0,
        round_trips: Some(1),
        ms: ms(took),
        note: format!(
            "after the QUIC handshake ({b0} B, not counted): the whole log ({} messages) before the newest {FIRST_SCREEN} can show",
            got.len()
        ),
    };
    out.insert("cold_first_screen", fig.clone());
    out.insert(
        "full_sync",
        Figure {
            note: format!(
                "{} messages sent, signature- and chain-checked, stored",
                got.len()
            ),
            ..fig
        },
    );

    // catch_up_10
    logs.write()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&author)
        .context("log")?
        .extend(extra.bodies.iter().cloned());
    let b0 = total(&conn);
    let t = Instant::now();
    let got = client.fetch(&[author]).await?;
    anyhow::ensure!(got.len() == 10);
    out.insert("catch_up_10", Figure { bytes: total(&conn) - b0, round_trips: Some(1), ms: ms(t.elapsed()), note: "asks from the seq held; no push (polling), so the time excludes the wait for a poll".into() });

    // notify_200: the asker names every author with its seq, gets the 5 new messages.
    let mut feeds = Vec::new();
    let me = SecretKey::generate().public();
    for i in 0..args.authors {
        let mut f = FeedBuilder::new(SecretKey::from_bytes(&seed(i)), Rng::new(1000 + i));
        let b = f.posts(args.author_posts, None)?;
        logs.write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(*f.author().as_bytes(), b.bodies);
        feeds.push(f);
    }
    let keys: Vec<[u8; 32]> = feeds.iter().map(|f| *f.author().as_bytes()).collect();
    client.fetch(&keys).await?;
    for f in feeds.iter_mut().take(5) {
        let b = f.posts(1, Some((&me, 1)))?;
        logs.write()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(f.author().as_bytes())
            .context("log")?
            .extend(b.bodies);
    }
    // Like Rookery's follower, the asker was offline: a new connection, then the request.
    conn.close(0u32.into(), b"offline");
    let t = Instant::now();
    client.conn = client_ep.connect(addr.clone(), FULL_LOG_ALPN).await?;
    let conn = client.conn.clone();
    let got = client.fetch(&keys).await?;
    let mentions = got.iter().filter(|m| matches!(&m.message().content, rookery_feed::Content::Post(p) if p.mentions.contains(&me))).count();
    anyhow::ensure!(mentions == 5, "{mentions} mentions");
    out.insert("notify_200", Figure { bytes: total(&conn), round_trips: Some(1), ms: ms(t.elapsed()), note: format!("reconnect (QUIC handshake included), one request naming {} authors with their seqs (SSB's EBT clock), the 5 new messages back", args.authors) });
    conn.close(0u32.into(), b"done");
    router.shutdown().await?;
    Ok(out)
}

// ----- the external peers -----

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn external(program: &str, args: &[&str], cwd: &Path) -> Result<serde_json::Value, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} failed ({})", out.status));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{program} printed no JSON: {e}"))
}

fn figures(v: &serde_json::Value) -> BTreeMap<String, Figure> {
    let mut out = BTreeMap::new();
    for case in CASES {
        if let Some(c) = v.get(case) {
            out.insert(
                case.to_string(),
                Figure {
                    bytes: c["bytes"].as_u64().unwrap_or(0),
                    round_trips: c["round_trips"].as_u64(),
                    ms: c["ms"].as_f64().unwrap_or(0.0),
                    note: c["note"].as_str().unwrap_or("").to_string(),
                },
            );
        }
    }
    out
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report: Report = BTreeMap::new();
    let mut notes: Vec<String> = Vec::new();
    let (rk, fl) = rt.block_on(async {
        let author = peer(true).await?;
        let mut feed = FeedBuilder::new(author.node.secret_key().clone(), Rng::new(42));
        let t = Instant::now();
        let bundle = feed.posts(args.posts, None)?;
        author.node.import(&bundle)?;
        eprintln!(
            "setup: {} posts signed and imported in {:.1} s",
            args.posts,
            t.elapsed().as_secs_f64()
        );
        let extra = feed.posts(10, None)?;
        eprintln!("full-log peer…");
        let fl = full_log(args, &bundle.bodies, *feed.author().as_bytes(), &extra).await?;
        eprintln!("rookery…");
        let rk = rookery(args, &author, &extra).await?;
        author.net.shutdown().await;
        anyhow::Ok((rk, fl))
    })?;
    for case in CASES {
        let row = report.entry(case.to_string()).or_default();
        row.insert("rookery".into(), rk.get(case).cloned());
        row.insert("full_log".into(), fl.get(case).cloned());
    }
    let posts = args.posts.to_string();
    let ssb_dir = repo_root().join("bench/ssb");
    let ssb = if args.no_ssb {
        Err("left out (--no-ssb)".to_string())
    } else if !ssb_dir.join("node_modules").exists() {
        Err("bench/ssb/node_modules is missing: `make bench` installs it".to_string())
    } else {
        external("node", &["run.js", "--posts", &posts, "--json"], &ssb_dir).map(|v| figures(&v))
    };
    let docs_bin = repo_root().join("bench/iroh-docs/target/release/iroh-docs-peer");
    let docs = if args.no_iroh_docs {
        Err("left out (--no-iroh-docs)".to_string())
    } else if !docs_bin.exists() {
        Err("bench/iroh-docs is not built: `make bench` builds it".to_string())
    } else {
        external(
            &docs_bin.to_string_lossy(),
            &["--posts", &posts, "--json"],
            &repo_root(),
        )
        .map(|v| figures(&v))
    };
    for (name, r) in [("ssb", ssb), ("iroh_docs", docs)] {
        match r {
            Ok(f) => {
                for case in CASES {
                    report
                        .entry(case.to_string())
                        .or_default()
                        .insert(name.into(), f.get(case).cloned());
                }
            }
            Err(e) => {
                notes.push(format!("{name}: {e}"));
                for case in CASES {
                    report
                        .entry(case.to_string())
                        .or_default()
                        .insert(name.into(), None);
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_text(args, &report, &notes);
    Ok(())
}

fn print_text(args: &Args, report: &Report, notes: &[String]) {
    println!(
        "sync: an author with {} posts; {} followed authors for notify_200; loopback",
        args.posts, args.authors
    );
    for case in CASES {
        let row = &report[case];
        let Some(Some(r)) = row.get("rookery") else {
            continue;
        };
        println!("\n{case}");
        println!(
            "  {:<10} {:>12} {:>6} {:>10}   {:>9} {:>9}",
            "peer", "bytes", "rtts", "ms", "bytes ×", "time ×"
        );
        for (name, f) in row {
            match f {
                Some(f) => println!(
                    "  {:<10} {:>12} {:>6} {:>10.1}   {:>9.1} {:>9.1}",
                    name,
                    f.bytes,
                    f.round_trips.map_or("-".to_string(), |r| r.to_string()),
                    f.ms,
                    f.bytes as f64 / r.bytes.max(1) as f64,
                    f.ms / r.ms.max(0.001),
                ),
                None => println!("  {:<10} (not run)", name),
            }
        }
        for (name, f) in row {
            if let Some(f) = f.as_ref().filter(|f| !f.note.is_empty()) {
                println!("    {name}: {}", f.note);
            }
        }
    }
    println!("\n(× = that peer's figure divided by Rookery's: above 1, Rookery is ahead)");
    for n in notes {
        println!("note: {n}");
    }
}
