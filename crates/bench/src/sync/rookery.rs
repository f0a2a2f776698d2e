//! Rookery's side of `sync`: real nodes on loopback, each follower reaching the serving node
//! through a delaying relay, every case measured `runs` times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rookery_feed::{MessageId, PublicKey, SecretKey};
use rookery_node::{Bundle, FIRST_SCREEN, NetConfig, NetOptions, Network, Node, Ticket};
use rookery_testkit::{FeedBuilder, Rng};

use crate::measure::{Disk, Figure, Run, delayed, disk_bytes, until};

/// Loopback networking, relays and discovery off: 127.0.0.1 for the serving nodes.
pub(crate) fn loopback(background: bool) -> NetConfig {
    NetConfig {
        net: NetOptions::loopback(),
        background,
        ..NetConfig::default()
    }
}

/// The same on `[::1]`, for the nodes that reach a serving node through a delaying relay: on
/// the other address family, they reach it only through the relay (see `rookery-netsim`).
pub(crate) fn behind_relay(background: bool) -> NetConfig {
    let mut c = loopback(background);
    c.net.bind = Some(std::net::SocketAddr::from((
        std::net::Ipv6Addr::LOCALHOST,
        0,
    )));
    c
}

/// A node in a temporary directory, online.
pub(crate) struct Peer {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) node: Arc<Node>,
    pub(crate) net: Network,
}

pub(crate) async fn peer(config: NetConfig) -> anyhow::Result<Peer> {
    let dir = tempfile::tempdir()?;
    let node = Arc::new(Node::open(dir.path())?);
    let net = node.start(config).await?;
    Ok(Peer { dir, node, net })
}

/// The newest posts of `author` as `node` shows them.
fn newest(node: &Node, author: &PublicKey) -> Vec<MessageId> {
    node.author_feed(author, None, FIRST_SCREEN)
        .map(|p| p.items.into_iter().map(|m| m.message.id()).collect())
        .unwrap_or_default()
}

/// The author everyone follows, online, and what it posts later.
pub(crate) struct World {
    pub(crate) author: Peer,
    /// Ten more posts at a time, imported in order by the catch-up cases.
    more: std::sync::Mutex<std::vec::IntoIter<Bundle>>,
}

impl World {
    pub(crate) fn new(author: Peer, more: Vec<Bundle>) -> Self {
        World {
            author,
            more: std::sync::Mutex::new(more.into_iter()),
        }
    }

    fn id(&self) -> PublicKey {
        self.author.node.id()
    }

    /// The author posts ten more.
    fn post_ten(&self) -> anyhow::Result<()> {
        let b = self
            .more
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next()
            .context("no more posts prepared")?;
        self.author.node.import(&b)?;
        Ok(())
    }
}

/// A new follower's first screen: follow by ticket, until the author's newest 32 show.
pub(crate) async fn cold_first_screen(
    w: &World,
    rtt: Duration,
    runs: usize,
) -> anyhow::Result<Figure> {
    let a = w.id();
    let want = newest(&w.author.node, &a);
    let mut out = Vec::new();
    let mut note = String::new();
    for _ in 0..runs {
        let (relay, through) = delayed(&w.author.net.ticket(), rtt).await?;
        let b = peer(behind_relay(false)).await?;
        let t = Instant::now();
        b.net.follow(a, Some(&through))?;
        until("the first screen", Duration::from_secs(60), || {
            newest(&b.node, &a) == want
        })
        .await?;
        out.push(Run::since(
            t,
            relay.bytes(),
            b.net.setup_bytes(&a).unwrap_or(0),
        ));
        let c = b.net.counters(&a).context("no session")?;
        note = format!(
            "follow by ticket: the QUIC handshake, one subscription (its answer the head and, merged by the peer, the newest {FIRST_SCREEN} posts), then a diff of my mentions: {} requests, {} nodes, {} bodies; frames {} B sent, {} B received",
            c.requests(),
            c.nodes_in,
            c.bodies_in,
            c.bytes_out,
            c.bytes_in
        );
        b.net.shutdown().await;
    }
    Ok(Figure::of(&out, note))
}

/// A follower holding the author's first screen, online through a relay.
async fn synced_follower(
    w: &World,
    rtt: Duration,
) -> anyhow::Result<(Peer, rookery_netsim::DelayRelay, Ticket)> {
    let a = w.id();
    let (relay, through) = delayed(&w.author.net.ticket(), rtt).await?;
    let b = peer(behind_relay(false)).await?;
    b.net.follow(a, Some(&through))?;
    let want = newest(&w.author.node, &a);
    // Shown, and the first screen done (Home's first page can show the posts while the head
    // is still held alone, and a node that goes offline then asks for them again).
    until("the first screen", Duration::from_secs(60), || {
        newest(&b.node, &a) == want && b.node.holds_feed(&a).unwrap_or(false)
    })
    .await?;
    Ok((b, relay, through))
}

/// Ten new posts reach a follower on an open connection (the head is pushed).
pub(crate) async fn catch_up_live(w: &World, rtt: Duration, runs: usize) -> anyhow::Result<Figure> {
    let a = w.id();
    let (b, relay, _) = synced_follower(w, rtt).await?;
    let mut out = Vec::new();
    let mut note = String::new();
    for _ in 0..runs {
        let (bytes, c0) = (relay.bytes(), b.net.counters(&a).context("no session")?);
        let t = Instant::now();
        w.post_ten()?;
        let want = newest(&w.author.node, &a);
        until("the ten new posts", Duration::from_secs(60), || {
            newest(&b.node, &a) == want
        })
        .await?;
        out.push(Run::since(t, relay.bytes() - bytes, 0));
        let c = b.net.counters(&a).context("no session")?;
        note = format!(
            "live: the new head is pushed with its catch-up (the new bodies and my mentions range's new nodes), nothing asked: {} requests, {} nodes, {} bodies",
            c.requests() - c0.requests(),
            c.nodes_in - c0.nodes_in,
            c.bodies_in - c0.bodies_in
        );
    }
    b.net.shutdown().await;
    Ok(Figure::of(&out, note))
}

/// Ten new posts reach a follower that was offline: from going online (the handshake
/// included) until they show.
pub(crate) async fn catch_up_reconnect(
    w: &World,
    rtt: Duration,
    runs: usize,
) -> anyhow::Result<Figure> {
    let a = w.id();
    let (b, relay, through) = synced_follower(w, rtt).await?;
    b.net.shutdown().await;
    let mut out = Vec::new();
    let mut note = String::new();
    for _ in 0..runs {
        w.post_ten()?;
        let want = newest(&w.author.node, &a);
        let bytes = relay.bytes();
        let t = Instant::now();
        let net = b.node.start(behind_relay(false)).await?;
        net.connect(&through).await?;
        until("the ten new posts", Duration::from_secs(60), || {
            newest(&b.node, &a) == want
        })
        .await?;
        out.push(Run::since(
            t,
            relay.bytes() - bytes,
            net.setup_bytes(&a).unwrap_or(0),
        ));
        let c = net.counters(&a).context("no session")?;
        note = format!(
            "online again (from the node's start): the QUIC handshake, the subscription (its answer the newer head with its catch-up): {} requests, {} nodes, {} bodies; frames {} B sent, {} B received",
            c.requests(),
            c.nodes_in,
            c.bodies_in,
            c.bytes_out,
            c.bytes_in
        );
        net.shutdown().await;
    }
    Ok(Figure::of(&out, note))
}

/// A new follower completes the whole history.
pub(crate) async fn full_sync(
    w: &World,
    rtt: Duration,
    runs: usize,
) -> anyhow::Result<(Figure, Disk)> {
    let a = w.id();
    let mut out = Vec::new();
    let (mut note, mut disk) = (String::new(), Disk::default());
    for _ in 0..runs {
        let (relay, through) = delayed(&w.author.net.ticket(), rtt).await?;
        let b = peer(behind_relay(true)).await?;
        let t = Instant::now();
        b.net.follow(a, Some(&through))?;
        until("the whole feed", Duration::from_secs(600), || {
            b.node.is_complete(&a).unwrap_or(false)
        })
        .await?;
        out.push(Run::since(
            t,
            relay.bytes(),
            b.net.setup_bytes(&a).unwrap_or(0),
        ));
        let c = b.net.counters(&a).context("no session")?;
        note = format!(
            "first screen, then one diff stream per index: {} requests, {} nodes, {} bodies verified and stored",
            c.requests(),
            c.nodes_in,
            c.bodies_in
        );
        b.net.shutdown().await;
        let held = b.node.store().head(&a)?.map_or(0, |h| h.head().seq).max(1);
        disk = disk_bytes(b.dir.path()).per(held);
        let s = b.node.store().space()?;
        let per = |t: &rookery_store::TableSpace| {
            format!(
                "{} entries, {} B stored + {} B structure + {} B empty per message",
                t.entries,
                t.stored / held,
                t.metadata / held,
                t.fragmented / held
            )
        };
        note = format!(
            "{note}; on disk {} B per message held ({} B the file's length): nodes {}; bodies {}; other tables {} B, unused {} B per message",
            disk.allocated,
            s.file / held,
            per(&s.nodes),
            per(&s.bodies),
            s.other / held,
            s.unused / held
        );
    }
    Ok((Figure::of(&out, note), disk))
}

/// Notifications after being offline: a hub holds `authors` followed feeds; the follower,
/// synced with all of them, goes offline while five mention it, and comes back.
pub(crate) struct Notify {
    hub: Peer,
    me: Arc<Node>,
    _dir: tempfile::TempDir,
    feeds: Vec<FeedBuilder>,
    turn: usize,
}

/// The secret key of the `i`th author of the notification case (the same for every peer).
pub(crate) fn author_key(i: u64) -> SecretKey {
    let mut b = [9u8; 32];
    b[..8].copy_from_slice(&i.to_be_bytes());
    SecretKey::from_bytes(&b)
}

impl Notify {
    pub(crate) async fn new(authors: u64, posts: u64) -> anyhow::Result<Notify> {
        let hub = peer(loopback(true)).await?;
        let dir = tempfile::tempdir()?;
        let me = Arc::new(Node::open(dir.path())?);
        let mut feeds = Vec::new();
        for i in 0..authors {
            let mut f = FeedBuilder::new(author_key(i), Rng::new(1000 + i));
            hub.node.import(&f.posts(posts, None)?)?;
            me.follow(f.author())?;
            feeds.push(f);
        }
        let net = me.start(loopback(false)).await?;
        net.connect(&hub.net.ticket()).await?;
        let all = feeds.len();
        // Caught up: every followed head held with its trees (not just the head, as a
        // subscription first takes it), and its mentions of me.
        let held = || {
            me.followed()
                .unwrap_or_default()
                .iter()
                .filter(|a| me.holds_feed(a).unwrap_or(false))
                .count()
        };
        let pending = || me.notifications(0).map_or(u64::MAX, |n| n.pending);
        until(
            "every followed first screen",
            Duration::from_secs(120),
            || held() == all && pending() == 0,
        )
        .await
        .with_context(|| {
            format!(
                "{} of {all} held, {} pending, {} followed",
                held(),
                pending(),
                me.followed().map_or(0, |f| f.len())
            )
        })?;
        me.mark_seen(None)?;
        net.shutdown().await;
        Ok(Notify {
            hub,
            me,
            _dir: dir,
            feeds,
            turn: 0,
        })
    }

    pub(crate) async fn measure(&mut self, rtt: Duration, runs: usize) -> anyhow::Result<Figure> {
        let (relay, through) = delayed(&self.hub.net.ticket(), rtt).await?;
        let hub = self.hub.node.id();
        let mut out = Vec::new();
        let mut note = String::new();
        for _ in 0..runs {
            // Five authors (the next five in turn) mention me while I am offline.
            let me = self.me.id();
            for _ in 0..5 {
                let i = self.turn % self.feeds.len();
                self.turn += 1;
                let b = self.feeds[i].posts(1, Some((&me, 1)))?;
                self.hub.node.import(&b)?;
            }
            // Online, and the clock starts as the peer is dialled (full-log's endpoint is bound
            // before its clock starts too). The node dials no one on its own here: the hub is
            // not followed.
            let net = self.me.start(behind_relay(false)).await?;
            // The notifications as the node tells the UI of them (events, as full-log counts
            // the mentions as they arrive), not by reading the list every millisecond.
            let mut events = self.me.subscribe();
            let bytes = relay.bytes();
            let t = Instant::now();
            net.connect(&through).await?;
            let mut told = 0;
            let five = async {
                while told < 5 {
                    match events.recv().await {
                        Ok(rookery_node::NodeEvent::Notification(_)) => told += 1,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(e) => return Err(anyhow::anyhow!("node events: {e}")),
                    }
                }
                Ok(())
            };
            tokio::time::timeout(Duration::from_secs(60), five)
                .await
                .context("timed out waiting for the notifications")??;
            out.push(Run::since(
                t,
                relay.bytes() - bytes,
                net.setup_bytes(&hub).unwrap_or(0),
            ));
            // And the list says so: the five are there to read, unread.
            let n = self.me.notifications(0)?;
            anyhow::ensure!(
                n.unread == 5,
                "{} unread of 5, {} pending",
                n.unread,
                n.pending
            );
            let c = net.counters(&hub).context("no session")?;
            note = format!(
                "online again (from the dial, the node started): the QUIC handshake, one subscription naming {} authors with their seqs, its answer the 5 newer heads each with its catch-up: {} requests, {} nodes, {} bodies; frames {} B sent, {} B received",
                self.feeds.len(),
                c.requests(),
                c.nodes_in,
                c.bodies_in,
                c.bytes_out,
                c.bytes_in
            );
            self.me.mark_seen(None)?;
            net.shutdown().await;
        }
        Ok(Figure::of(&out, note))
    }
}
