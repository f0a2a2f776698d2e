//! The commands that go online: `ticket`, `serve`, `sync`, `peers`.
//!
//! A running `rookery serve` holds the database (redb is one process at a time), so it writes
//! its ticket and sessions to `serve.json` in the data directory every two seconds; `ticket`
//! and `peers` read that file while it is fresh instead of opening the database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rookery_app::args::{StartDemoArgs, StatusArgs};
use rookery_app::{App, AppOptions, hex};
use rookery_node::{Network, Node, NodeEvent, Ticket, now_ms};
use serde::{Deserialize, Serialize};

const STATUS_FILE: &str = "serve.json";
/// A status file older than this is from a node that is no longer running.
const STATUS_FRESH_MS: u64 = 10_000;

/// The networking flags of the command line.
pub(crate) struct Net {
    pub(crate) offline: bool,
    pub(crate) bind: Option<SocketAddr>,
}

/// What a running `rookery serve` reports.
#[derive(Serialize, Deserialize)]
pub(crate) struct Status {
    pub(crate) pid: u32,
    pub(crate) key: String,
    pub(crate) ticket: String,
    pub(crate) updated_ms: u64,
    pub(crate) peers: Vec<serde_json::Value>,
}

/// The status of a `rookery serve` running on `dir`, if one is.
pub(crate) fn running(dir: &Path) -> Option<Status> {
    let text = std::fs::read_to_string(dir.join(STATUS_FILE)).ok()?;
    let s: Status = serde_json::from_str(&text).ok()?;
    (now_ms().saturating_sub(s.updated_ms) < STATUS_FRESH_MS).then_some(s)
}

fn options(net: &Net, peers: &[String]) -> anyhow::Result<AppOptions> {
    let pubs = peers
        .iter()
        .map(|t| {
            t.parse::<Ticket>().map_err(|_| {
                anyhow::anyhow!("not a ticket: {}", t.chars().take(40).collect::<String>())
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(AppOptions {
        offline: net.offline,
        bind: net.bind,
        pubs,
        wait_for_relay: true,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) fn ticket(node: Node, net: &Net) -> anyhow::Result<()> {
    let options = options(net, &[])?;
    runtime()?.block_on(async {
        let app = App::start(node, options).await?;
        say!("{}", online(&app)?.ticket());
        app.shutdown().await;
        Ok(())
    })
}

/// The network of an app started online.
fn online(app: &App) -> anyhow::Result<&Network> {
    app.network().context("the node is not online")
}

async fn write_status(dir: &Path, app: &App) -> anyhow::Result<()> {
    let net = online(app)?;
    let peers = app.status(StatusArgs {}).await?.peers;
    let status = Status {
        pid: std::process::id(),
        key: hex::format_key(&net.id()),
        ticket: net.ticket().to_string(),
        updated_ms: now_ms(),
        peers: peers
            .iter()
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect(),
    };
    let tmp = dir.join(format!("{STATUS_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&status)?)?;
    std::fs::rename(&tmp, dir.join(STATUS_FILE))?;
    Ok(())
}

/// Writes the status file; a failure (a full disk, no descriptors left) is logged, and the
/// node goes on serving: the file is a convenience for other commands, not the server's job.
async fn status(dir: &Path, app: &App) {
    if let Err(e) = write_status(dir, app).await {
        tracing::warn!("the status file was not written: {e:#}");
    }
}

/// What `serve` and `demo` do besides syncing.
pub(crate) struct Serve {
    /// Peers to keep a session with, by ticket.
    pub(crate) peers: Vec<String>,
    /// Serve the UI and its API here.
    pub(crate) http: Option<SocketAddr>,
    /// The built UI.
    pub(crate) ui: PathBuf,
    /// Start the demo network too.
    pub(crate) demo: bool,
}

pub(crate) fn serve(node: Node, net: &Net, dir: &Path, what: Serve) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rookery=info,rookery_node=info,rookery_sync=info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let options = options(net, &what.peers)?;
    runtime()?.block_on(async {
        let app = Arc::new(App::start(node, options).await?);
        let n = online(&app)?.clone();
        say!("serving {}", hex::format_key(&n.id()));
        say!("ticket: {}", n.ticket());
        if what.demo {
            app.start_demo(StartDemoArgs {}).await?;
            say!("the demo network is running: 5 peers on loopback, followed");
        }
        let mut http = None;
        if let Some(addr) = what.http {
            let token = crate::http::new_token()?;
            let (bound, server) = crate::http::bind(app.clone(), addr, what.ui, &token).await?;
            say!("open http://{bound}/#token={token}");
            http = Some(tokio::spawn(server));
        }
        let mut events = app.node().subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        // Made once, before the loop: a signal that arrives while the loop body runs is kept.
        let interrupted = tokio::signal::ctrl_c();
        let stopped = terminated();
        tokio::pin!(interrupted, stopped);
        loop {
            tokio::select! {
                _ = &mut interrupted => break,
                _ = &mut stopped => break,
                e = events.recv() => {
                    if let Ok(NodeEvent::Peer(_)) = e {
                        status(dir, &app).await;
                    }
                }
                _ = tick.tick() => status(dir, &app).await,
            }
        }
        if let Some(h) = http {
            h.abort();
        }
        let _ = std::fs::remove_file(dir.join(STATUS_FILE));
        app.shutdown().await;
        Ok(())
    })
}

/// SIGTERM (how test harnesses and service managers stop a server).
async fn terminated() {
    #[cfg(unix)]
    {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

pub(crate) fn sync(node: Node, net: &Net, peers: &[String], seconds: u64) -> anyhow::Result<()> {
    let options = options(net, peers)?;
    runtime()?.block_on(async {
        let app = App::start(node, options).await?;
        let (node, n) = (app.node().clone(), online(&app)?.clone());
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let mut quiet = 0;
        let restoring = node.own_feed_lost()?;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let followed = node.followed()?;
            let held = followed
                .iter()
                .filter(|a| node.holds_feed(a).unwrap_or(false))
                .count();
            let settled = started.elapsed() > Duration::from_secs(2)
                && !n.busy()
                && held == followed.len()
                && !node.own_feed_lost()?;
            quiet = if settled { quiet + 1 } else { 0 };
            if quiet >= 4 {
                break;
            }
        }
        let followed = node.followed()?;
        let held = followed
            .iter()
            .filter(|a| node.holds_feed(a).unwrap_or(false))
            .count();
        say!(
            "synced with {} peer(s); {held} of {} followed feeds here",
            n.peers().len(),
            followed.len()
        );
        match (restoring, node.own_feed_lost()?) {
            (true, false) => say!("your own feed is whole again: posting goes on"),
            (_, true) => say!(
                "your own feed is still not whole here: no peer reached had the rest (`rookery repair --start-over` gives up on it)"
            ),
            _ => {}
        }
        app.shutdown().await;
        Ok(())
    })
}

pub(crate) fn print_peers(status: &Status, json: bool) -> anyhow::Result<()> {
    if json {
        say!("{}", serde_json::to_string_pretty(&status.peers)?);
        return Ok(());
    }
    say!(
        "rookery serve (pid {}) is running as {}",
        status.pid,
        status.key
    );
    if status.peers.is_empty() {
        say!("No sessions right now.");
    }
    for p in &status.peers {
        let key = p["key"].as_str().unwrap_or("?");
        let name = p["name"].as_str().unwrap_or(&key[..key.len().min(12)]);
        let fetching = p["fetching"].as_str().unwrap_or("idle");
        say!(
            "{}  {}  in {} B, out {} B, {} requests, {}",
            crate::safe(name),
            key,
            p["bytes_in"],
            p["bytes_out"],
            p["requests"],
            crate::safe(fetching)
        );
    }
    Ok(())
}

pub(crate) fn print_known(node: &Node, json: bool) -> anyhow::Result<()> {
    let known = node.known_peers()?;
    if json {
        let list: Vec<_> = known
            .iter()
            .map(|(k, t)| serde_json::json!({"key": hex::format_key(k), "ticket": t.to_string(), "connected": false}))
            .collect();
        say!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    say!("No `rookery serve` is running here, so there are no sessions. Known peers:");
    if known.is_empty() {
        say!("  none yet (follow someone by ticket)");
    }
    for (k, _) in &known {
        say!("  {}", hex::format_key(k));
    }
    Ok(())
}
