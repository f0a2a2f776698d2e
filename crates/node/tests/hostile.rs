//! A peer that speaks `rookery/sync/2` wrongly on purpose. Each time the honest node drops it,
//! goes on syncing with an honest peer, and its store is what it was before the bad data.

use std::sync::Arc;
use std::time::Duration;

use iroh::endpoint::{Connection, ConnectionError, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use rookery_feed::{MessageId, PublicKey, SignedHead};
use rookery_node::{Bundle, NetConfig, Network, Node};
use rookery_prolly::{Hash, KeyRange, Prolly, Query};
use rookery_sync::wire::{
    self, CLOSE_OVER_BUDGET, CLOSE_PROTOCOL, Hello, PROTOCOL_VERSION, Request, Response,
};
use rookery_sync::{ALPN, NetOptions, Ticket};
use rookery_testkit::{FeedBuilder, Rng};
use tokio::io::AsyncWriteExt;

mod common;

use common::until;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A range proof with one byte changed.
    WrongNodeBytes,
    /// A head whose signature does not verify.
    ForgedHead,
    /// An older head than the one held, as an answer to "what is newer".
    Rollback,
    /// A second head with the same seq, validly signed by the author.
    Fork,
    /// A frame header announcing 5 MiB.
    Oversized,
    /// Half a frame, then silence.
    Stall,
    /// Home's first page without the one feed that is on it.
    PageOmits,
    /// Home's first page cut at the newest post (a lowest key too high: fewer posts than asked).
    PageTooShort,
    /// Home's first page, honest proofs, no bodies.
    PageNoBodies,
    /// A newer head pushed with a catch-up whose first body's signature is broken.
    CatchUpForged,
    /// A newer head pushed with a catch-up whose node is not under the head's `mentions` root.
    CatchUpStrayNode,
}

/// What the hostile peer serves, besides its lies.
#[derive(Debug)]
struct Script {
    mode: Mode,
    /// A real node holding the author's newest feed (for the parts that are honest).
    holder: Arc<Node>,
    author: PublicKey,
    older: Vec<u8>,
    fork: Vec<u8>,
    /// The newer head and the bodies since `older`.
    newer: Bundle,
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
    frame(
        &mut send,
        &Hello {
            version: PROTOCOL_VERSION,
        },
    )
    .await?;
    let held = s.holder.store().head(&s.author)?.unwrap();
    match &req {
        Request::Subscribe { .. } => match s.mode {
            Mode::ForgedHead => {
                let mut bytes = held.bytes().to_vec();
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                frame(&mut send, &Response::Heads { heads: vec![bytes] }).await?;
            }
            Mode::Fork => {
                frame(
                    &mut send,
                    &Response::Heads {
                        heads: vec![s.fork.clone()],
                    },
                )
                .await?;
            }
            Mode::Oversized => {
                send.write_all(&(5u32 << 20).to_be_bytes()).await?;
                send.write_all(&[0u8; 1000]).await?;
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Mode::Stall => {
                let whole = wire::encode_frame(&Response::Heads {
                    heads: vec![held.bytes().to_vec()],
                })?;
                send.write_all(&whole[..whole.len() / 2]).await?;
                send.flush().await?;
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Mode::Rollback => {
                // An old head replayed as if it were news.
                frame(
                    &mut send,
                    &Response::Heads {
                        heads: vec![s.older.clone()],
                    },
                )
                .await?;
            }
            Mode::CatchUpForged | Mode::CatchUpStrayNode => {
                // Nothing in the first frame; then the newer head, as if it came with its
                // catch-up.
                frame(&mut send, &Response::Heads { heads: vec![] }).await?;
                let mut bodies = s.newer.bodies.clone();
                let mut mentions = vec![];
                if s.mode == Mode::CatchUpForged {
                    let last = bodies[0].len() - 1;
                    bodies[0][last] ^= 1;
                } else {
                    let root = SignedHead::decode(&s.newer.head)?.head().roots.mentions;
                    let stray = s.newer.nodes.iter().find(|n| Hash::of_node(n) != root);
                    mentions.extend(stray.cloned());
                }
                let head = Response::Head {
                    head: s.newer.head.clone(),
                    bodies: bodies[..10].to_vec(),
                    mentions,
                };
                frame(&mut send, &head).await?;
            }
            Mode::WrongNodeBytes | Mode::PageOmits | Mode::PageTooShort | Mode::PageNoBodies => {
                frame(
                    &mut send,
                    &Response::Heads {
                        heads: vec![held.bytes().to_vec()],
                    },
                )
                .await?;
                let root = held.head().roots.messages;
                frame(&mut send, &first_page(s, &root)).await?;
            }
        },
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
            let (_, mut proof) = Prolly::new(s.holder.store()).prove_range(root, &q).unwrap();
            if s.mode == Mode::WrongNodeBytes {
                let n = &mut proof.nodes[0];
                let mid = n.len() / 2;
                n[mid] ^= 0x40;
            }
            frame(
                &mut send,
                &Response::Proof {
                    nodes: proof.nodes,
                    bodies: vec![],
                },
            )
            .await?;
        }
        Request::Diff { .. } | Request::Fetch { .. } => {
            frame(
                &mut send,
                &Response::Nodes {
                    nodes: vec![],
                    bodies: vec![],
                    more: false,
                },
            )
            .await?;
        }
    }
    if matches!(req, Request::Subscribe { .. }) {
        // A subscription stays open.
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let _ = send.finish();
    Ok(())
}

/// What the hostile peer sends as a subscription's first page, over the feed whose messages
/// root is `root`: in WrongNodeBytes, the whole feed with a node altered; the Page modes' lies;
/// otherwise a refusal (a peer that does not merge).
fn first_page(s: &Script, root: &Hash) -> Response {
    let trees = Prolly::new(s.holder.store());
    // The honest proof of the newest `limit` entries, from the last of them up, and bodies.
    let newest = |limit: usize| {
        let q = Query::new(KeyRange::all()).reverse().limit(limit);
        let (entries, _) = trees.prove_range(root, &q).unwrap();
        let lowest = entries.last().unwrap().0.clone();
        let q = Query::new(KeyRange {
            start: std::ops::Bound::Included(lowest.clone()),
            end: std::ops::Bound::Unbounded,
        })
        .reverse();
        let (entries, proof) = trees.prove_range(root, &q).unwrap();
        let ids: Vec<MessageId> = entries
            .iter()
            .map(|(_, v)| MessageId(v.as_slice().try_into().unwrap()))
            .collect();
        let bodies: Vec<Vec<u8>> = s
            .holder
            .store()
            .bodies(&ids)
            .unwrap()
            .into_iter()
            .flatten()
            .map(|b| b.bytes().to_vec())
            .collect();
        (lowest, proof.nodes, bodies)
    };
    let page = |lowest: Option<Vec<u8>>, proofs, bodies| Response::Page {
        lowest,
        proofs,
        bodies,
        not_held: vec![],
    };
    match s.mode {
        Mode::PageOmits => page(None, vec![], vec![]),
        Mode::PageTooShort => {
            let (lowest, nodes, bodies) = newest(1);
            page(Some(lowest.clone()), vec![(0, Some(lowest), nodes)], bodies)
        }
        Mode::PageNoBodies => {
            let (lowest, nodes, _) = newest(32);
            page(Some(lowest.clone()), vec![(0, Some(lowest), nodes)], vec![])
        }
        Mode::WrongNodeBytes => {
            let q = Query::new(KeyRange::all()).reverse();
            let (_, mut proof) = trees.prove_range(root, &q).unwrap();
            let n = &mut proof.nodes[0];
            let mid = n.len() / 2;
            n[mid] ^= 0x40;
            page(None, vec![(0, None, proof.nodes)], vec![])
        }
        _ => Response::Error {
            code: wire::ErrorCode::NotFound,
            message: "no pages here".into(),
        },
    }
}

/// Loopback, and a one-second wait for each frame (the staller is found quickly).
fn loopback(background: bool) -> NetConfig {
    let mut c = common::loopback(background);
    c.limits.response_timeout = Duration::from_secs(1);
    c
}

async fn hostile_endpoint(script: Script) -> (Router, Ticket) {
    let ep = rookery_sync::bind_endpoint(
        rookery_feed::SecretKey::generate(),
        &NetOptions::loopback(),
        iroh::address_lookup::memory::MemoryLookup::new(),
    )
    .await
    .unwrap();
    let ticket = Ticket::of(&ep);
    let router = Router::builder(ep)
        .accept(ALPN, Hostile(Arc::new(script)))
        .spawn();
    (router, ticket)
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    author: PublicKey,
    other: PublicKey,
    older: Bundle,
    newer: Bundle,
    fork: Bundle,
    holder: Arc<Node>,
    honest: Network,
}

async fn world() -> World {
    let key = rookery_feed::SecretKey::generate();
    let mut feed = FeedBuilder::new(key.clone(), Rng::new(1));
    let older = feed.posts(200, None).unwrap();
    let newer = feed.posts(50, None).unwrap();
    let fork = FeedBuilder::new(key.clone(), Rng::new(2))
        .posts(250, None)
        .unwrap();
    let mut other = FeedBuilder::new(rookery_feed::SecretKey::generate(), Rng::new(3));
    let other_feed = other.posts(40, None).unwrap();
    // An honest peer holding both authors, online.
    let dir = tempfile::tempdir().unwrap();
    let holder = Arc::new(Node::open(dir.path()).unwrap());
    for b in [&older, &newer, &other_feed] {
        holder.import(b).unwrap();
    }
    let honest = holder.start(loopback(true)).await.unwrap();
    World {
        _dirs: vec![dir],
        author: key.public(),
        other: other.author(),
        older,
        newer,
        fork,
        holder,
        honest,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_peer_is_dropped_and_changes_nothing() {
    let w = world().await;
    for mode in [
        Mode::WrongNodeBytes,
        Mode::ForgedHead,
        Mode::Rollback,
        Mode::Fork,
        Mode::Oversized,
        Mode::Stall,
        Mode::PageOmits,
        Mode::PageTooShort,
        Mode::PageNoBodies,
        Mode::CatchUpForged,
        Mode::CatchUpStrayNode,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let node = Arc::new(Node::open(dir.path()).unwrap());
        node.follow(w.author).unwrap();
        node.follow(w.other).unwrap();
        if matches!(mode, Mode::Rollback | Mode::Fork) {
            node.import(&w.older).unwrap();
            node.import(&w.newer).unwrap();
        }
        if matches!(mode, Mode::CatchUpForged | Mode::CatchUpStrayNode) {
            node.import(&w.older).unwrap();
        }
        let net = node.start(loopback(false)).await.unwrap();
        let (router, ticket) = hostile_endpoint(Script {
            mode,
            holder: w.holder.clone(),
            author: w.author,
            older: w.older.head.clone(),
            fork: w.fork.head.clone(),
            newer: w.newer.clone(),
        })
        .await;
        // Dialling caches the peer's address; that is the only write before its data.
        node.remember_peer(&ticket).unwrap();
        let before = node.store().digest().unwrap();
        let export_before = node.export(&w.author).ok();
        let mut events = node.subscribe();
        net.connect(&ticket).await.unwrap();
        let liar = ticket.0.id;
        // Dropped: its session closed (the list of peers alone may be read before the session
        // is in it).
        let closed = async {
            loop {
                if let Ok(rookery_node::NodeEvent::Peer(p)) = events.recv().await
                    && p.key == liar
                    && !p.connected
                {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), closed)
            .await
            .unwrap_or_else(|_| panic!("{mode:?}: the liar is dropped"));
        until(&format!("{mode:?}: the liar is gone"), || {
            net.peers().iter().all(|p| p.key != liar)
        })
        .await;
        if mode == Mode::Fork {
            // The one thing kept: the evidence of the fork. The feed held is untouched.
            assert!(node.store().fork_evidence(&w.author).unwrap().is_some());
            assert_eq!(node.export(&w.author).ok(), export_before);
            assert_ne!(node.store().digest().unwrap(), before);
        } else {
            assert_eq!(node.store().digest().unwrap(), before, "{mode:?}");
        }
        // The node keeps working with an honest peer.
        net.connect(&w.honest.ticket()).await.unwrap();
        until(
            &format!("{mode:?}: sync goes on with an honest peer"),
            || {
                node.author_feed(&w.other, None, 10)
                    .is_ok_and(|p| p.items.len() == 10)
            },
        )
        .await;
        if mode != Mode::Fork {
            until(
                &format!("{mode:?}: the author's feed from the honest peer"),
                || node.profile(&w.author).unwrap().seq == Some(250),
            )
            .await;
        }
        net.shutdown().await;
        router.shutdown().await.unwrap();
    }
    let _ = SignedHead::decode(&w.newer.head).unwrap();
    w.honest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greedy_or_malformed_asker_is_disconnected() {
    let w = world().await;
    let ep = rookery_sync::bind_endpoint(
        rookery_feed::SecretKey::generate(),
        &NetOptions::loopback(),
        iroh::address_lookup::memory::MemoryLookup::new(),
    )
    .await
    .unwrap();
    let before = w.holder.store().digest().unwrap();
    let ask = |bytes: Vec<u8>| {
        let ep = ep.clone();
        let addr = w.honest.ticket().0;
        async move {
            let conn = ep.connect(addr, ALPN).await.unwrap();
            let (mut send, _recv) = conn.open_bi().await.unwrap();
            send.write_all(&bytes).await.unwrap();
            let _ = send.finish();
            match tokio::time::timeout(Duration::from_secs(10), conn.closed()).await {
                Ok(ConnectionError::ApplicationClosed(c)) => u64::from(c.error_code),
                other => panic!("not closed by the server: {other:?}"),
            }
        }
    };
    let hello = wire::encode_frame(&Hello {
        version: PROTOCOL_VERSION,
    })
    .unwrap();
    // 10,000 hashes in one request.
    let mut greedy = hello.clone();
    greedy.extend(
        wire::encode_frame(&Request::Fetch {
            nodes: vec![Hash([1; 32]); 10_000],
            bodies: vec![],
            leaf_bodies: false,
        })
        .unwrap(),
    );
    assert_eq!(ask(greedy).await, u64::from(CLOSE_PROTOCOL));
    // An oversized frame.
    let mut oversized = hello.clone();
    oversized.extend((6u32 << 20).to_be_bytes());
    oversized.extend([0u8; 64]);
    assert_eq!(ask(oversized).await, u64::from(CLOSE_PROTOCOL));
    // A request frame just over its own cap (64 KiB), though under the cap of an answer's.
    let mut long_request = hello.clone();
    long_request.extend(((wire::MAX_REQUEST_FRAME + 1) as u32).to_be_bytes());
    long_request.extend(vec![0u8; wire::MAX_REQUEST_FRAME + 1]);
    assert_eq!(ask(long_request).await, u64::from(CLOSE_PROTOCOL));
    // Garbage where a request should be.
    let mut garbage = hello.clone();
    garbage.extend(3u32.to_be_bytes());
    garbage.extend([0xff, 0xff, 0xff]);
    assert_eq!(ask(garbage).await, u64::from(CLOSE_PROTOCOL));
    // The server kept its store and still serves others.
    assert_eq!(w.holder.store().digest().unwrap(), before);
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(dir.path()).unwrap());
    node.follow(w.other).unwrap();
    let net = node.start(loopback(false)).await.unwrap();
    net.connect(&w.honest.ticket()).await.unwrap();
    until("an honest asker is served", || {
        node.author_feed(&w.other, None, 10)
            .is_ok_and(|p| p.items.len() == 10)
    })
    .await;
    net.shutdown().await;
    w.honest.shutdown().await;
}

/// Connections beyond the cap are closed at once, and those within it are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(dir.path()).unwrap());
    let mut c = loopback(false);
    c.limits.max_connections = 2;
    let net = node.start(c).await.unwrap();
    let mut conns = Vec::new();
    for _ in 0..3 {
        let ep = rookery_sync::bind_endpoint(
            rookery_feed::SecretKey::generate(),
            &NetOptions::loopback(),
            iroh::address_lookup::memory::MemoryLookup::new(),
        )
        .await
        .unwrap();
        let conn = ep.connect(net.ticket().0, ALPN).await.unwrap();
        // Asked once, so the server has taken up the connection before the next one comes.
        let client = rookery_sync::Client::new(conn.clone(), Duration::from_secs(5));
        let asked = client
            .fetch(None, &[Hash([1; 32])], &[], false, |_| Ok(()))
            .await;
        conns.push((ep, conn, asked.is_ok()));
    }
    assert!(conns[0].2 && conns[1].2, "the first two are served");
    match tokio::time::timeout(Duration::from_secs(5), conns[2].1.closed()).await {
        Ok(ConnectionError::ApplicationClosed(c)) => {
            assert_eq!(u64::from(c.error_code), u64::from(CLOSE_OVER_BUDGET))
        }
        other => panic!("the third was not refused: {other:?}"),
    }
    // One leaves; a new one is served.
    conns[0].1.close(0u32.into(), b"bye");
    let ep = conns[0].0.clone();
    let mut served = false;
    for _ in 0..50 {
        let conn = ep.connect(net.ticket().0, ALPN).await.unwrap();
        let client = rookery_sync::Client::new(conn.clone(), Duration::from_secs(5));
        if client
            .fetch(None, &[Hash([1; 32])], &[], false, |_| Ok(()))
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a place freed is given to the next");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_its_share_of_requests_is_a_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(dir.path()).unwrap());
    let mut c = loopback(false);
    c.limits.max_in_flight = 4;
    c.limits.max_requests_per_minute = 50;
    let net = node.start(c).await.unwrap();
    let ep = rookery_sync::bind_endpoint(
        rookery_feed::SecretKey::generate(),
        &NetOptions::loopback(),
        iroh::address_lookup::memory::MemoryLookup::new(),
    )
    .await
    .unwrap();
    let conn = ep.connect(net.ticket().0, ALPN).await.unwrap();
    let client = rookery_sync::Client::new(conn.clone(), Duration::from_secs(5));
    let mut asked = 0;
    loop {
        asked += 1;
        let missing = [Hash([1; 32])];
        let r = client.fetch(None, &missing, &[], false, |_| Ok(())).await;
        if r.is_err() || asked > 100 {
            break;
        }
    }
    assert!(asked <= 52, "{asked} requests before the cut");
    match tokio::time::timeout(Duration::from_secs(5), conn.closed()).await {
        Ok(ConnectionError::ApplicationClosed(c)) => {
            assert_eq!(u64::from(c.error_code), u64::from(CLOSE_OVER_BUDGET))
        }
        other => panic!("not closed by the server: {other:?}"),
    }
    net.shutdown().await;
}
