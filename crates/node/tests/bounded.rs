//! Answers are bounded by what was asked: a peer that repeats what it sent, drips empty frames,
//! pushes the same head again or never answers is dropped; the honest node's memory stays
//! flat, its reads answer within their deadline, and its store is what it was.

use std::sync::Arc;
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use rookery_feed::PublicKey;
use rookery_node::{NetConfig, NetOptions, Network, Node, NodeError, Ticket};
use rookery_prolly::{KeyRange, NodeStore, Prolly, Query};
use rookery_sync::ALPN;
use rookery_sync::wire::{self, Hello, PROTOCOL_VERSION, Request, Response};
use rookery_testkit::{FeedBuilder, Rng};

mod common;

use common::until;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Diffs and fetches answered with one node over and over, in full frames.
    Repeat,
    /// Diffs and fetches answered with empty frames that say more follow, forever.
    Drip,
    /// The subscription pushes the same head again and again.
    PushSame,
    /// Diffs and fetches get a hello and then nothing.
    Silent,
}

#[derive(Debug)]
struct Script {
    mode: Mode,
    holder: Arc<Node>,
    author: PublicKey,
}

#[derive(Debug, Clone)]
struct Hostile(Arc<Script>);

impl ProtocolHandler for Hostile {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        loop {
            let (send, recv) = conn.accept_bi().await?;
            let s = self.0.clone();
            tokio::spawn(async move {
                let _ = answer(&s, send, recv).await;
            });
        }
    }
}

async fn frame(send: &mut SendStream, r: &impl serde::Serialize) -> anyhow::Result<()> {
    send.write_all(&wire::encode_frame(r)?).await?;
    Ok(())
}

async fn answer(s: &Script, mut send: SendStream, mut recv: RecvStream) -> anyhow::Result<()> {
    let _: Hello = wire::read_frame(&mut recv).await?;
    let req: Request = wire::read_frame(&mut recv).await?;
    let hello = Hello {
        version: PROTOCOL_VERSION,
    };
    frame(&mut send, &hello).await?;
    let held = s.holder.store().head(&s.author)?.unwrap();
    let trees = Prolly::new(s.holder.store());
    match &req {
        Request::Subscribe { authors, page, .. } => {
            let heads = vec![held.bytes().to_vec()];
            frame(&mut send, &Response::Heads { heads }).await?;
            if *page > 0
                && authors
                    .iter()
                    .any(|(a, seq)| *a == wire::key_prefix(&s.author) && *seq == 0)
            {
                // A peer that does not merge a first page: the first screens do the work.
                let refusal = Response::Error {
                    code: wire::ErrorCode::NotFound,
                    message: "no pages here".into(),
                };
                frame(&mut send, &refusal).await?;
            }
            if s.mode == Mode::PushSame {
                for _ in 0..1000 {
                    let head = Response::Head {
                        head: held.bytes().to_vec(),
                        bodies: vec![],
                        mentions: vec![],
                    };
                    frame(&mut send, &head).await?;
                }
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Request::Range {
            root,
            range,
            limit,
            reverse,
            ..
        } => {
            let mut q = Query::new(KeyRange::from(range.clone())).limit(*limit as usize);
            if *reverse {
                q = q.reverse();
            }
            let (_, proof) = trees.prove_range(root, &q)?;
            let nodes = proof.nodes;
            frame(
                &mut send,
                &Response::Proof {
                    nodes,
                    bodies: vec![],
                },
            )
            .await?;
        }
        Request::Diff { to, .. } if s.mode == Mode::Repeat => {
            let node = s.holder.store().get(to).unwrap().unwrap();
            // Full frames, so only the repeat gives it away: 300 MiB if taken.
            let copies = (300 << 10) / node.len() + 1;
            for _ in 0..1000 {
                let nodes = vec![node.clone(); copies];
                let more = true;
                frame(
                    &mut send,
                    &Response::Nodes {
                        nodes,
                        bodies: vec![],
                        more,
                    },
                )
                .await?;
            }
        }
        Request::Fetch { nodes: ids, .. } if s.mode == Mode::Repeat => {
            // The nodes asked for, honestly, with the bodies their leaves name; then those
            // bodies again in every frame, as if more were coming.
            let mut nodes = Vec::new();
            let mut bodies = Vec::new();
            for id in ids {
                let Some(bytes) = s.holder.store().get(id).unwrap() else {
                    continue;
                };
                let node = rookery_prolly::Node::decode(&bytes)?;
                for e in &node.entries {
                    if let rookery_prolly::node::Val::Leaf(v) = &e.val {
                        let mid = rookery_feed::MessageId(v.as_slice().try_into()?);
                        if let Some(b) = s.holder.store().body(&mid)? {
                            bodies.push(b.bytes().to_vec());
                        }
                    }
                }
                nodes.push(bytes);
            }
            let more = true;
            frame(
                &mut send,
                &Response::Nodes {
                    nodes,
                    bodies: bodies.clone(),
                    more,
                },
            )
            .await?;
            let mut again = bodies.clone();
            while again.iter().map(Vec::len).sum::<usize>() < 300 << 10 {
                again.extend(bodies.iter().cloned());
            }
            for _ in 0..1000 {
                let (nodes, bodies) = (vec![], again.clone());
                frame(
                    &mut send,
                    &Response::Nodes {
                        nodes,
                        bodies,
                        more,
                    },
                )
                .await?;
            }
        }
        Request::Diff { .. } | Request::Fetch { .. } if s.mode == Mode::Drip => {
            for _ in 0..10_000 {
                let (nodes, bodies, more) = (vec![], vec![], true);
                frame(
                    &mut send,
                    &Response::Nodes {
                        nodes,
                        bodies,
                        more,
                    },
                )
                .await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Request::Diff { .. } | Request::Fetch { .. } => {
            // Silent (and PushSame, which has nothing else to say).
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
    let _ = send.finish();
    Ok(())
}

async fn hostile(mode: Mode, holder: &Arc<Node>, author: PublicKey) -> (Router, Ticket) {
    let ep = rookery_sync::bind_endpoint(
        rookery_feed::SecretKey::generate(),
        &NetOptions::loopback(),
        iroh::address_lookup::memory::MemoryLookup::new(),
    )
    .await
    .unwrap();
    let ticket = Ticket::of(&ep);
    let script = Script {
        mode,
        holder: holder.clone(),
        author,
    };
    let router = Router::builder(ep)
        .accept(ALPN, Hostile(Arc::new(script)))
        .spawn();
    (router, ticket)
}

/// This process's resident memory, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    author: PublicKey,
    holder: Arc<Node>,
    honest: Network,
}

async fn world() -> World {
    let mut feed = FeedBuilder::new(rookery_feed::SecretKey::generate(), Rng::new(4));
    let dir = tempfile::tempdir().unwrap();
    let holder = Arc::new(Node::open(dir.path()).unwrap());
    holder.import(&feed.posts(3_000, None).unwrap()).unwrap();
    let honest = holder.start(common::loopback(false)).await.unwrap();
    World {
        _dirs: vec![dir],
        author: feed.author(),
        holder,
        honest,
    }
}

async fn follower(w: &World, config: NetConfig) -> (tempfile::TempDir, Arc<Node>, Network) {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(dir.path()).unwrap());
    node.follow(w.author).unwrap();
    let net = node.start(config).await.unwrap();
    (dir, node, net)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_repeats_drips_or_pushes_again_is_dropped() {
    let w = world().await;
    for mode in [Mode::Repeat, Mode::Drip, Mode::PushSame] {
        let (_dir, node, net) = follower(&w, common::loopback(false)).await;
        let (router, ticket) = hostile(mode, &w.holder, w.author).await;
        node.remember_peer(&ticket).unwrap();
        let bodies = |n: &Node| {
            let mut all = Vec::new();
            n.store().scan_bodies(|b| all.push(b.to_vec())).unwrap();
            all
        };
        let memory = rss();
        net.connect(&ticket).await.unwrap();
        let liar = ticket.0.id;
        until(&format!("{mode:?}: the liar is dropped"), || {
            net.peers().iter().all(|p| p.key != liar)
        })
        .await;
        let grew = rss().saturating_sub(memory);
        assert!(grew < 64 << 20, "{mode:?}: memory grew by {grew} bytes");
        // What was kept before the liar gave itself away is the author's own (the signed
        // head, hash-checked nodes, signed bodies): every body of theirs is one the holder
        // holds.
        for b in bodies(&node) {
            let b = rookery_feed::SignedMessage::from_stored(&b).unwrap();
            if b.message().author == w.author {
                assert!(
                    w.holder.store().body(&b.id()).unwrap().is_some(),
                    "{mode:?}"
                );
            }
        }
        // Sync goes on with an honest peer.
        net.connect(&w.honest.ticket()).await.unwrap();
        until(&format!("{mode:?}: the honest first screen"), || {
            node.author_feed(&w.author, None, 32)
                .is_ok_and(|p| p.items.len() == 32)
        })
        .await;
        net.shutdown().await;
        router.shutdown().await.unwrap();
    }
    w.honest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_answers_within_its_deadline_whatever_the_peers_do() {
    let w = world().await;
    let mut config = common::loopback(false);
    config.read_timeout = Duration::from_secs(2);
    let (_dir, node, net) = follower(&w, config).await;
    net.connect(&w.honest.ticket()).await.unwrap();
    until("the first screen", || {
        node.author_feed(&w.author, None, 32)
            .is_ok_and(|p| p.items.len() == 32)
    })
    .await;
    let cursor = node.author_feed(&w.author, None, 32).unwrap().next;
    let older = |n: &Node| n.author_feed(&w.author, cursor.as_ref(), 200);
    assert!(older(&node).is_err(), "the older page is not here yet");
    // The honest peer goes; a silent one comes: the read answers "not here yet", in time, and
    // the staller is dropped.
    w.honest.shutdown().await;
    until("the honest session ends", || net.peers().is_empty()).await;
    let (router, ticket) = hostile(Mode::Silent, &w.holder, w.author).await;
    net.connect(&ticket).await.unwrap();
    let r = net.read(older).await;
    assert!(
        matches!(
            r,
            Err(NodeError::MissingNodes(_) | NodeError::MissingBodies(_))
        ),
        "{r:?}"
    );
    until("the staller is dropped", || net.peers().is_empty()).await;
    router.shutdown().await.unwrap();
    // A peer that answers the read and then sends the same bodies again, frame after frame:
    // each body is taken once, the peer is dropped, and memory stays flat.
    let (router, ticket) = hostile(Mode::Repeat, &w.holder, w.author).await;
    let memory = rss();
    net.connect(&ticket).await.unwrap();
    let _ = net.read(older).await;
    until("the repeater is dropped", || net.peers().is_empty()).await;
    let grew = rss().saturating_sub(memory);
    assert!(grew < 64 << 20, "memory grew by {grew} bytes");
    router.shutdown().await.unwrap();
    // With a silent peer and an honest one, the read is answered from the honest one.
    let honest = w.holder.start(common::loopback(false)).await.unwrap();
    let (router, ticket) = hostile(Mode::Silent, &w.holder, w.author).await;
    net.connect(&ticket).await.unwrap();
    net.connect(&honest.ticket()).await.unwrap();
    let page = net.read(older).await.unwrap();
    assert_eq!(page.items.len(), 200);
    net.shutdown().await;
    honest.shutdown().await;
    router.shutdown().await.unwrap();
}
