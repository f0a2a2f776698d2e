//! A hostile peer for the UI's end-to-end test: a node whose profile names an SVG avatar with
//! script in it, put in its blob store as is (bypassing the checks a Rookery node makes on its
//! own avatars, as a hostile build would), served over sync and iroh-blobs on loopback.
//!
//!   rookery-hostile-avatar --data-dir DIR
//!
//! Prints `ticket: …` once online, then serves until SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use iroh_blobs::store::fs::FsStore;
use rookery_node::{NetConfig, NetOptions, Node};

/// Script that marks the app's origin if it ever runs there: an `onload`, a `<script>`, and a
/// `<foreignObject>` with an image whose error handler runs.
const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96" onload="localStorage.setItem('pwned','onload');window.pwned=1">
<script>localStorage.setItem('pwned','script');window.pwned=1;</script>
<rect width="96" height="96" fill="#c00"/>
<foreignObject width="96" height="96"><img xmlns="http://www.w3.org/1999/xhtml" src="x" onerror="localStorage.setItem('pwned','img')"/></foreignObject>
</svg>"##;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--data-dir")
        .and_then(|i| args.get(i + 1))
        .context("usage: rookery-hostile-avatar --data-dir DIR")?;
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let blobs = FsStore::load(dir.join("blobs")).await?;
    let tag = blobs.add_slice(SVG.as_bytes()).await?;
    blobs.shutdown().await?;
    let node = Arc::new(Node::open(&dir)?);
    node.set_profile(
        "Mallory",
        "my avatar has script in it",
        Some(*tag.hash.as_bytes()),
    )?;
    node.post("hello from a peer with a scripted avatar")?;
    let net = node
        .start(NetConfig {
            net: NetOptions::loopback(),
            ..NetConfig::default()
        })
        .await?;
    println!("key: {}", hex::encode(node.id().as_bytes()));
    println!("ticket: {}", net.ticket());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    net.shutdown().await;
    Ok(())
}
