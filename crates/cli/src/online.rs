//! The commands that go online: `ticket`, `serve`, `sync`, `peers`.
//!
//! A running `rookery serve` holds the database (redb is one process at a time), so it writes
//! its ticket and sessions to `serve.json` in the data directory every two seconds; `ticket`
//! and `peers` read that file while it is fresh instead of opening the database.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rookery_node::api::Event;
use rookery_node::{NetConfig, NetOptions, Network, Node, Ticket};
use serde::{Deserialize, Serialize};

/// The setting that turns relays and discovery off ("off") or on.
pub(crate) const RELAYS_SETTING: &str = "relays";
/// The UDP port used last time, so a ticket stays valid across restarts.
const PORT_SETTING: &str = "net.port";
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The status of a `rookery serve` running on `dir`, if one is.
pub(crate) fn running(dir: &Path) -> Option<Status> {
    let text = std::fs::read_to_string(dir.join(STATUS_FILE)).ok()?;
    let s: Status = serde_json::from_str(&text).ok()?;
    (now_ms().saturating_sub(s.updated_ms) < STATUS_FRESH_MS).then_some(s)
}

fn config(node: &Node, net: &Net, peers: &[String]) -> anyhow::Result<NetConfig> {
    let relays_off = node.store().setting(RELAYS_SETTING)?.as_deref() == Some(b"off");
    let port = node
        .store()
        .setting(PORT_SETTING)?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    let pubs = peers
        .iter()
        .map(|t| {
            t.parse::<Ticket>().map_err(|_| {
                anyhow::anyhow!("not a ticket: {}", t.chars().take(40).collect::<String>())
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bind = net
        .bind
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], port)));
    Ok(NetConfig {
        net: NetOptions {
            online: !(net.offline || relays_off),
            mdns: !bind.ip().is_loopback(),
            bind: Some(bind),
        },
        pubs,
        ..NetConfig::default()
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Starts the node online; remembers the port for next time.
async fn start(node: &Arc<Node>, config: NetConfig) -> anyhow::Result<Network> {
    let online = config.net.online;
    let net = node.start(config).await?;
    if let Some(port) = net.endpoint().bound_sockets().first().map(SocketAddr::port) {
        node.store()
            .set_setting(PORT_SETTING, port.to_string().as_bytes())?;
    }
    if online {
        // Wait a little for a relay, so the ticket carries one.
        let _ = tokio::time::timeout(Duration::from_secs(5), net.endpoint().online()).await;
    }
    Ok(net)
}

pub(crate) fn ticket(node: Node, net: &Net) -> anyhow::Result<()> {
    let config = config(&node, net, &[])?;
    let node = Arc::new(node);
    runtime()?.block_on(async {
        let n = start(&node, config).await?;
        say!("{}", n.ticket());
        n.shutdown().await;
        Ok(())
    })
}

fn write_status(dir: &Path, net: &Network) -> anyhow::Result<()> {
    let status = Status {
        pid: std::process::id(),
        key: rookery_feed::format_key(&net.id()),
        ticket: net.ticket().to_string(),
        updated_ms: now_ms(),
        peers: net
            .peers()
            .iter()
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect(),
    };
    let tmp = dir.join(format!("{STATUS_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&status)?)?;
    std::fs::rename(&tmp, dir.join(STATUS_FILE))?;
    Ok(())
}

pub(crate) fn serve(node: Node, net: &Net, dir: &Path, peers: &[String]) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rookery=info,rookery_node=info,rookery_sync=info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let config = config(&node, net, peers)?;
    let node = Arc::new(node);
    runtime()?.block_on(async {
        let n = start(&node, config).await?;
        say!("serving {}", rookery_feed::format_key(&node.id()));
        say!("ticket: {}", n.ticket());
        let mut events = node.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                e = events.recv() => {
                    if let Ok(Event::Peer { .. }) = e {
                        write_status(dir, &n)?;
                    }
                }
                _ = tick.tick() => write_status(dir, &n)?,
            }
        }
        let _ = std::fs::remove_file(dir.join(STATUS_FILE));
        n.shutdown().await;
        Ok(())
    })
}

pub(crate) fn sync(node: Node, net: &Net, peers: &[String], seconds: u64) -> anyhow::Result<()> {
    let config = config(&node, net, peers)?;
    let node = Arc::new(node);
    runtime()?.block_on(async {
        let n = start(&node, config).await?;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let mut quiet = 0;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let followed = node.followed()?;
            let held = followed
                .iter()
                .filter(|a| node.store().head(a).ok().flatten().is_some())
                .count();
            let settled =
                started.elapsed() > Duration::from_secs(2) && !n.busy() && held == followed.len();
            quiet = if settled { quiet + 1 } else { 0 };
            if quiet >= 4 {
                break;
            }
        }
        let followed = node.followed()?;
        let held = followed
            .iter()
            .filter(|a| node.store().head(a).ok().flatten().is_some())
            .count();
        say!(
            "synced with {} peer(s); {held} of {} followed feeds here",
            n.peers().len(),
            followed.len()
        );
        n.shutdown().await;
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
            .map(|(k, t)| serde_json::json!({"key": rookery_feed::format_key(k), "ticket": t.to_string(), "connected": false}))
            .collect();
        say!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    say!("No `rookery serve` is running here, so there are no sessions. Known peers:");
    if known.is_empty() {
        say!("  none yet (follow someone by ticket)");
    }
    for (k, _) in &known {
        say!("  {}", rookery_feed::format_key(k));
    }
    Ok(())
}
