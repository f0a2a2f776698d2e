//! Replication between real nodes: real redb stores in temp dirs, real iroh endpoints on
//! 127.0.0.1 with relays and discovery off.

use std::sync::Arc;
use std::time::Duration;

use rookery_feed::{Content, MessageId, keys};
use rookery_node::{FIRST_SCREEN, Item, Network, Node, NodeEvent, NotificationKind};
use rookery_prolly::{EMPTY_ROOT, KeyRange, NodeStore, Prolly, Query};
use rookery_testkit::{FeedBuilder, Rng};
mod common;

use common::{loopback, until};

struct Peer {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    net: Network,
}

async fn peer(background: bool) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(dir.path()).unwrap());
    let net = node.start(loopback(background)).await.unwrap();
    Peer {
        _dir: dir,
        node,
        net,
    }
}

fn text(v: &Item) -> &str {
    match &v.message.message().content {
        Content::Post(p) => &p.text,
        _ => "",
    }
}

/// `net` follows `other` by ticket.
fn follow(net: &Network, other: &Network) {
    net.follow(other.id(), Some(&other.ticket())).unwrap();
}

/// The unread notifications of `n`.
fn unread(n: &Node) -> Vec<rookery_node::Notification> {
    n.notifications(200)
        .map(|l| l.items.into_iter().filter(|n| !n.read).collect())
        .unwrap_or_default()
}

fn timeline_texts(n: &Node) -> Vec<String> {
    n.timeline(None, 100)
        .map(|p| p.items.iter().map(|m| text(m).to_string()).collect())
        .unwrap_or_default()
}

/// `b` follows `a` by ticket and waits until its timeline's first screen is full.
async fn follow_and_see_first_screen(b: &Peer, a: &Peer) {
    follow(&b.net, &a.net);
    // Shown (Home's first page can show the posts first), and the first screen taken in with
    // the head: counters count what was received, the store what was imported.
    until("the first screen", || {
        b.node
            .timeline(None, FIRST_SCREEN)
            .is_ok_and(|p| p.items.len() == FIRST_SCREEN)
            && b.node.holds_feed(&a.node.id()).unwrap_or(false)
    })
    .await;
}

/// An author with `count` generated posts, imported into its own node.
fn grow(
    p: &Peer,
    feed: &mut FeedBuilder,
    count: u64,
    mention: Option<(&rookery_feed::PublicKey, u64)>,
) {
    let bundle = feed.posts(count, mention).unwrap();
    p.node.import(&bundle).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_reach_followers_live() {
    let a = peer(true).await;
    let mut followers = Vec::new();
    for _ in 0..3 {
        followers.push(peer(true).await);
    }
    a.node.set_profile("Ada", "writes a lot", None).unwrap();
    a.node.post("before anyone followed").unwrap();
    for f in &followers {
        follow(&f.net, &a.net);
    }
    for f in &followers {
        until("the first post reaches a follower", || {
            timeline_texts(&f.node).contains(&"before anyone followed".to_string())
        })
        .await;
    }
    let mut events = followers[2].node.subscribe();
    a.node.post("hello, followers").unwrap();
    for f in &followers {
        until("a live post reaches a follower", || {
            timeline_texts(&f.node).first().map(String::as_str) == Some("hello, followers")
        })
        .await;
        let page = f.node.timeline(None, 10).unwrap();
        assert_eq!(page.items[0].author_name.as_deref(), Some("Ada"));
    }
    // The event stream reported the new head and the peer's progress.
    let mut saw_head = false;
    let mut saw_peer = false;
    while let Ok(e) = events.try_recv() {
        saw_head |= matches!(e, NodeEvent::HeadImported { .. });
        saw_peer |= matches!(e, NodeEvent::Peer(_));
    }
    assert!(saw_head && saw_peer);
    // The author sees three sessions; each follower one.
    until("the author sees every follower", || {
        a.net.peers().len() == 3
    })
    .await;
    assert!(a.net.peers().iter().all(|p| p.connected));
    // Followers reply; the author, following them back, sees the thread.
    let root_id: MessageId = a.node.timeline(None, 1).unwrap().items[0].message.id();
    let b = &followers[0];
    a.net.follow(b.node.id(), None).unwrap();
    until("the author's session with the follower", || {
        b.node.message(&root_id).unwrap().is_some()
    })
    .await;
    b.node.reply(&root_id, "welcome!").unwrap();
    until("the reply reaches the author's thread", || {
        a.node
            .thread(&root_id)
            .is_ok_and(|t| t.replies.iter().any(|r| text(r) == "welcome!"))
    })
    .await;
    // The follower followed the author: that is a notification too, beside the reply.
    until("the reply notifies the author", || {
        let kinds: Vec<_> = unread(&a.node).into_iter().map(|n| n.kind).collect();
        kinds == [NotificationKind::Reply, NotificationKind::Follow]
    })
    .await;
    for p in followers.iter().chain([&a]) {
        p.net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_follow_is_one_range_and_catch_up_comes_with_the_head() {
    let a = peer(true).await;
    let b = peer(false).await;
    let mut feed = FeedBuilder::new(a.node.secret_key().clone(), Rng::new(42));
    grow(&a, &mut feed, 10_000, None);
    follow_and_see_first_screen(&b, &a).await;
    // The first page is the author's newest posts, exactly.
    let ids = |n: &Node| -> Vec<MessageId> {
        n.author_feed(&a.node.id(), None, FIRST_SCREEN)
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.message.id())
            .collect()
    };
    assert_eq!(ids(&b.node), ids(&a.node));
    // One subscription, its first answer the head and Home's first page (this author's newest
    // 32: the first screen needs no Range after it); the mentions of me came with one Diff on
    // my key range.
    let c = b.net.counters(&a.node.id()).unwrap();
    assert_eq!(
        (c.subscribe, c.range, c.diff, c.fetch),
        (1, 0, 1, 0),
        "{c:?}"
    );
    // Only the proof nodes (and the path into my mentions range) were fetched.
    let head = a.node.store().head(&a.node.id()).unwrap().unwrap();
    let trees = Prolly::new(a.node.store());
    let q = Query::new(KeyRange::all()).reverse().limit(FIRST_SCREEN);
    let (_, proof) = trees.prove_range(&head.head().roots.messages, &q).unwrap();
    let mentions = trees
        .delta(
            &EMPTY_ROOT,
            &head.head().roots.mentions,
            &keys::mentions_of(&b.node.id()),
        )
        .unwrap();
    let expected = (proof.nodes.len() + mentions.nodes.len()) as u64;
    assert_eq!(c.nodes_in, expected);
    assert_eq!(c.bodies_in, FIRST_SCREEN as u64);
    // B's store holds B's own feed (its follow) and the fetched nodes, nothing else.
    let own = b.node.store().head(&b.node.id()).unwrap().unwrap();
    let own_nodes: usize = rookery_feed::Index::ALL
        .iter()
        .map(|i| {
            Prolly::new(b.node.store())
                .tree_nodes(&own.head().roots.get(*i))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(
        b.node.store().node_count().unwrap(),
        expected + own_nodes as u64
    );
    assert!(expected < 20, "{expected} nodes for a first screen");
    assert!(a.node.store().node_count().unwrap() > 300);

    // Catch-up: ten more posts arrive with the head pushed on the subscription, their bodies
    // and the new nodes of my mentions range with it: no request at all, and they are exactly
    // the ten. B rebuilds the new messages tree from the bodies and its own path.
    let before = b.net.counters(&a.node.id()).unwrap();
    let old = a.node.store().head(&a.node.id()).unwrap().unwrap();
    grow(&a, &mut feed, 10, None);
    let newest = ids(&a.node);
    until("the ten new posts", || ids(&b.node) == newest).await;
    let after = b.net.counters(&a.node.id()).unwrap();
    assert_eq!(after.requests(), before.requests(), "{after:?}");
    assert_eq!(after.bodies_in - before.bodies_in, 10);
    let new = a.node.store().head(&a.node.id()).unwrap().unwrap();
    let (old, new) = (old.head(), new.head());
    let mentions = trees
        .delta(
            &old.roots.mentions,
            &new.roots.mentions,
            &keys::mentions_of(&b.node.id()),
        )
        .unwrap();
    assert_eq!(
        after.nodes_in - before.nodes_in,
        mentions.nodes.len() as u64,
        "no node of the messages tree travelled"
    );
    // Yet B holds every node of the new messages tree that A made.
    let made = trees
        .delta(&old.roots.messages, &new.roots.messages, &KeyRange::all())
        .unwrap();
    assert!(!made.nodes.is_empty());
    for n in &made.nodes {
        assert!(b.node.store().get(&n.id).unwrap().is_some());
    }

    // A deletes its first post, whose body B never fetched: B cannot tell from the bodies
    // pushed what the delete removes, so it asks for the nodes after all (one Diff, not the
    // bodies again; my mentions range came with the head), and ends with A's tree.
    let first = a
        .node
        .export(&a.node.id())
        .unwrap()
        .bodies
        .iter()
        .map(|b| rookery_feed::SignedMessage::decode(b).unwrap())
        .find(|m| m.message().seq == 1)
        .unwrap();
    assert!(b.node.store().body(&first.id()).unwrap().is_none());
    let before = b.net.counters(&a.node.id()).unwrap();
    a.node.delete(first.id()).unwrap();
    let new = a.node.store().head(&a.node.id()).unwrap().unwrap();
    until("the delete", || {
        b.node
            .store()
            .head(&a.node.id())
            .unwrap()
            .is_some_and(|h| h.bytes() == new.bytes())
            && !b.net.busy()
    })
    .await;
    let after = b.net.counters(&a.node.id()).unwrap();
    assert_eq!(after.diff - before.diff, 1, "the nodes");
    assert_eq!(after.requests() - before.requests(), 1);
    assert!(
        after.nodes_in > before.nodes_in,
        "the messages nodes came after all"
    );
    assert_eq!(ids(&b.node), ids(&a.node));
    a.net.shutdown().await;
    b.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_with_mentions_and_deletes_comes_whole_with_the_head() {
    let a = peer(true).await;
    let dir = tempfile::tempdir().unwrap();
    let b_node = Arc::new(Node::open(dir.path()).unwrap());
    let me = b_node.id();
    let at_me = format!("@{}", hex::encode(me.as_bytes()));
    let mut feed = FeedBuilder::new(a.node.secret_key().clone(), Rng::new(11));
    grow(&a, &mut feed, 300, None);
    let old_mention = a.node.post(&format!("hello {at_me}")).unwrap();
    let plain = a.node.post("nothing for B here").unwrap();
    let b_net = b_node.start(loopback(false)).await.unwrap();
    follow(&b_net, &a.net);
    until("B has A's first screen", || {
        b_node.holds_feed(&a.node.id()).unwrap_or(false) && unread(&b_node).len() == 1
    })
    .await;
    b_node.mark_seen(None).unwrap();
    b_net.shutdown().await;
    let old = a.node.store().head(&a.node.id()).unwrap().unwrap();

    // Offline, A mentions B twice, deletes the old mention (held by B), posts and deletes a
    // post within the gap, and deletes a post without mentions.
    let new_mention = a.node.post(&format!("again {at_me}")).unwrap();
    a.node.delete(old_mention.id()).unwrap();
    let gone = a.node.post(&format!("oops {at_me}")).unwrap();
    a.node.delete(gone.id()).unwrap();
    a.node.delete(plain.id()).unwrap();
    a.node.post("the last one").unwrap();
    let new = a.node.store().head(&a.node.id()).unwrap().unwrap();
    assert_eq!(new.head().seq - old.head().seq, 6);

    // Online again: the head comes with the six bodies and my mentions range's new nodes,
    // and nothing more is asked for.
    let b_net = b_node.start(loopback(false)).await.unwrap();
    b_net.connect(&a.net.ticket()).await.unwrap();
    until("the new head", || {
        b_node
            .store()
            .head(&a.node.id())
            .unwrap()
            .is_some_and(|h| h.bytes() == new.bytes())
            && !b_net.busy()
    })
    .await;
    let c = b_net.counters(&a.node.id()).unwrap();
    assert_eq!((c.subscribe, c.requests()), (1, 1), "{c:?}");
    // Exactly the bodies still in the tree since then (the six less the post deleted among
    // them, whose body stays with A), and exactly the nodes a Diff of my range would bring.
    assert_eq!(c.bodies_in, 5, "{c:?}");
    assert!(b_node.store().body(&gone.id()).unwrap().is_none());
    let trees = Prolly::new(a.node.store());
    let delta = trees
        .delta(
            &old.head().roots.mentions,
            &new.head().roots.mentions,
            &keys::mentions_of(&me),
        )
        .unwrap();
    assert_eq!(c.nodes_in, delta.nodes.len() as u64);
    // B reads what A reads: the feed, and my mentions range (the new mention, the deleted
    // ones gone), with one unread notification.
    let feed_of = |n: &Node| {
        n.author_feed(&a.node.id(), None, FIRST_SCREEN)
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.message.id())
            .collect::<Vec<_>>()
    };
    assert_eq!(feed_of(&b_node), feed_of(&a.node));
    let mine = |n: &Node| {
        Prolly::new(n.store())
            .range(
                &new.head().roots.mentions,
                Query::new(keys::mentions_of(&me)),
            )
            .map(|e| e.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(mine(&b_node), mine(&a.node));
    assert_eq!(mine(&b_node).len(), 1);
    let n = unread(&b_node);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].item.message.id(), new_mention.id());
    b_net.shutdown().await;
    a.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_made_while_offline_is_found_by_the_mentions_diff() {
    let a = peer(true).await;
    let dir = tempfile::tempdir().unwrap();
    let b_node = Arc::new(Node::open(dir.path()).unwrap());
    let b_net = b_node.start(loopback(true)).await.unwrap();
    let mut feed = FeedBuilder::new(a.node.secret_key().clone(), Rng::new(7));
    grow(&a, &mut feed, 500, None);
    follow(&b_net, &a.net);
    // The whole feed taken in (not only its head shown: going offline then would leave the
    // head alone, and the first screen is asked for again).
    until("B has A's feed", || {
        b_node.profile(&a.node.id()).unwrap().seq == Some(500)
            && b_node.is_complete(&a.node.id()).unwrap_or(false)
    })
    .await;
    b_net.shutdown().await;
    // While B is offline, A posts 300 more, one of which mentions B.
    let me = b_node.id();
    grow(&a, &mut feed, 150, None);
    let mention = feed.posts(1, Some((&me, 1))).unwrap();
    let mention_id = rookery_feed::SignedMessage::decode(&mention.bodies[0])
        .unwrap()
        .id();
    a.node.import(&mention).unwrap();
    grow(&a, &mut feed, 150, None);
    assert!(unread(&b_node).is_empty());
    // B comes back and dials the authors it follows.
    let mut events = b_node.subscribe();
    let b_net = b_node.start(loopback(false)).await.unwrap();
    until("the notification", || !unread(&b_node).is_empty()).await;
    let n = unread(&b_node);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].item.message.id(), mention_id);
    let c = b_net.counters(&a.node.id()).unwrap();
    assert_eq!((c.range, c.fetch), (0, 0), "{c:?}");
    // The event follows the import that the list reads (it may come a moment later), once.
    let told = async {
        loop {
            if let Ok(NodeEvent::Notification(n)) = events.recv().await {
                return n;
            }
        }
    };
    let told = tokio::time::timeout(Duration::from_secs(10), told)
        .await
        .expect("the notification event");
    assert_eq!(told.item.message.id(), mention_id);
    b_net.shutdown().await;
    let mut again = 0;
    while let Ok(e) = events.try_recv() {
        again += usize::from(matches!(e, NodeEvent::Notification(_)));
    }
    assert_eq!(again, 0, "notified once");
    a.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_author_offline_is_replicated_through_another_peer() {
    let a = peer(true).await;
    let b = peer(true).await;
    let c = peer(true).await;
    let mut feed = FeedBuilder::new(a.node.secret_key().clone(), Rng::new(9));
    grow(&a, &mut feed, 300, None);
    a.node.post("posted by A").unwrap();
    follow(&b.net, &a.net);
    until("B completes A's feed", || {
        b.node
            .export(&a.node.id())
            .is_ok_and(|x| x.bodies.len() == 301)
    })
    .await;
    a.net.shutdown().await;
    // C knows B (a pub, say) and follows A by key alone.
    c.net.connect(&b.net.ticket()).await.unwrap();
    c.net.follow(a.node.id(), None).unwrap();
    until("C has A's newest post from B", || {
        timeline_texts(&c.node).first().map(String::as_str) == Some("posted by A")
    })
    .await;
    until("C completes A's feed from B", || {
        c.node
            .export(&a.node.id())
            .is_ok_and(|x| x.bodies.len() == 301)
    })
    .await;
    // On-demand reads: an old page C scrolls to is there.
    let old = c.node.author_feed(&a.node.id(), None, 301).unwrap();
    assert_eq!(old.items.len(), 301);
    b.net.shutdown().await;
    c.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_fetch_missing_nodes_on_demand() {
    let a = peer(true).await;
    let b = peer(false).await;
    let mut feed = FeedBuilder::new(a.node.secret_key().clone(), Rng::new(11));
    grow(&a, &mut feed, 3_000, None);
    follow_and_see_first_screen(&b, &a).await;
    // Scrolling past the first screen meets nodes that are not here; the network read
    // fetches them (a batch per level) instead of failing.
    let cursor = b.node.timeline(None, FIRST_SCREEN).unwrap().next;
    assert!(b.node.timeline(cursor.as_ref(), 200).is_err());
    let page = b
        .net
        .read(|n| n.timeline(cursor.as_ref(), 200))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 200);
    let want = a.node.timeline(cursor.as_ref(), 200).unwrap();
    assert_eq!(page, want);
    let c = b.net.counters(&a.node.id()).unwrap();
    assert!(c.fetch <= 6, "{c:?}");
    a.net.shutdown().await;
    b.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_catch_up_resumes_and_loses_nothing() {
    // A's first session has a tiny byte budget: A's server cuts the connection in the middle
    // of B's catch-up.
    let dir = tempfile::tempdir().unwrap();
    let a_node = Arc::new(Node::open(dir.path()).unwrap());
    let mut tight = loopback(true);
    tight.limits.max_bytes_per_minute = 200 * 1024;
    let a_net = a_node.start(tight).await.unwrap();
    let b = peer(true).await;
    let mut feed = FeedBuilder::new(a_node.secret_key().clone(), Rng::new(5));
    let bundle = feed.posts(6_000, None).unwrap();
    a_node.import(&bundle).unwrap();
    follow(&b.net, &a_net);
    until("the first screen", || {
        b.node.timeline(None, 1).is_ok_and(|p| !p.items.is_empty())
    })
    .await;
    until("A cuts B off", || b.net.peers().is_empty()).await;
    until("B stores what it got", || !b.net.busy()).await;
    let partial = b.node.export(&a_node.id());
    assert!(
        partial.map_or(true, |x| x.bodies.len() < 6_000),
        "the feed is not complete yet"
    );
    assert!(b.node.store().node_count().unwrap() > 10);
    // A comes back with normal limits; B reconnects and finishes from where it was.
    a_net.shutdown().await;
    let a_net = a_node.start(loopback(true)).await.unwrap();
    b.net.connect(&a_net.ticket()).await.unwrap();
    until("B completes A's feed", || {
        b.node
            .export(&a_node.id())
            .is_ok_and(|x| x.bodies.len() == 6_000)
    })
    .await;
    let mine = b.node.export(&a_node.id()).unwrap();
    let theirs = a_node.export(&a_node.id()).unwrap();
    let set = |v: &Vec<Vec<u8>>| v.iter().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(set(&mine.nodes), set(&theirs.nodes));
    assert_eq!(set(&mine.bodies), set(&theirs.bodies));
    // Resumed: the second session did not fetch everything again.
    let c = b.net.counters(&a_node.id()).unwrap();
    assert!(c.bodies_in < 6_000, "{c:?}");
    a_net.shutdown().await;
    b.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_feed_comes_in_one_stream_per_index_each_body_once() {
    // 3,000 posts, some mentioning or replying (the testkit's mix), every 7th mentioning B:
    // the four indexes are completed side by side, and a body comes with the first screen
    // (newest posts, mentions of B) and once with the messages stream, never again for the
    // indexes that name it.
    let a = peer(true).await;
    let b = peer(true).await;
    let mut feed = FeedBuilder::new(a.node.secret_key().clone(), Rng::new(11));
    grow(&a, &mut feed, 3_000, Some((&b.node.id(), 7)));
    follow(&b.net, &a.net);
    until("A's feed in full", || {
        b.node.is_complete(&a.node.id()).unwrap_or(false)
    })
    .await;
    let mine = b.node.export(&a.node.id()).unwrap();
    let theirs = a.node.export(&a.node.id()).unwrap();
    let set = |v: &Vec<Vec<u8>>| v.iter().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(set(&mine.nodes), set(&theirs.nodes));
    assert_eq!(mine.bodies.len(), 3_000);
    let c = b.net.counters(&a.node.id()).unwrap();
    assert!(
        c.bodies_in <= 3_000 + FIRST_SCREEN as u64 + 3_000u64.div_ceil(7),
        "bodies came twice: {c:?}"
    );
    assert_eq!(c.fetch, 0, "{c:?}");
    a.net.shutdown().await;
    b.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_travel_as_blobs() {
    let a = peer(true).await;
    let b = peer(true).await;
    // A photo with EXIF-like trailing data would not survive; what is stored is pixels only,
    // scaled to the avatar's size.
    let photo = image::RgbImage::from_fn(900, 600, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    photo.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    a.net
        .set_profile("Ada", "", Some(jpeg.get_ref()))
        .await
        .unwrap();
    let avatar = a.node.profile(&a.node.id()).unwrap().about.unwrap().avatar;
    let hash = rookery_prolly::Hash(avatar.unwrap());
    let stored = a.net.blob(&hash).await.unwrap().unwrap();
    assert_eq!(hash.0, *blake3::hash(&stored).as_bytes());
    let shown = image::load_from_memory(&stored).unwrap();
    assert_eq!((shown.width(), shown.height()), (400, 267));
    // What is not an image is refused before anything is published.
    let seq = a.node.profile(&a.node.id()).unwrap().seq;
    let err = a
        .net
        .set_profile("Ada", "", Some(b"<svg/>"))
        .await
        .unwrap_err();
    assert!(matches!(err, rookery_node::NetError::Image(_)), "{err}");
    assert_eq!(a.node.profile(&a.node.id()).unwrap().seq, seq);
    follow(&b.net, &a.net);
    let mut got = None;
    for _ in 0..1500 {
        got = b.net.blob(&hash).await.unwrap();
        if got.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got.as_deref(), Some(stored.as_slice()));
    assert_eq!(
        b.node.name_of(&a.node.id()).unwrap().as_deref(),
        Some("Ada")
    );
    a.net.shutdown().await;
    b.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_many_people_in_one_session_keeps_one_subscription() {
    // A hub holds twelve feeds; a node connected to it follows them one after another. Each
    // follow replaces the session's subscription; the hub ends the oldest beyond 8 rather
    // than the connection.
    let hub = peer(true).await;
    let me = peer(false).await;
    let mut authors = Vec::new();
    for i in 0..12u64 {
        let mut f = FeedBuilder::new(rookery_feed::SecretKey::generate(), Rng::new(i));
        hub.node.import(&f.posts(5, None).unwrap()).unwrap();
        authors.push(f.author());
    }
    me.net.connect(&hub.net.ticket()).await.unwrap();
    for a in &authors {
        me.net.follow(*a, None).unwrap();
    }
    until("every followed feed", || {
        authors
            .iter()
            .all(|a| me.node.profile(a).is_ok_and(|p| p.seq == Some(5)))
    })
    .await;
    assert_eq!(
        me.net.peers().len(),
        1,
        "the session with the hub is still up"
    );
    // Someone not followed is not taken in, even if the hub offers it.
    let mut stranger = FeedBuilder::new(rookery_feed::SecretKey::generate(), Rng::new(99));
    hub.node.import(&stranger.posts(3, None).unwrap()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(me.node.store().head(&stranger.author()).unwrap().is_none());
    hub.net.shutdown().await;
    me.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_following_many_has_home_with_their_heads() {
    // Forty people with forty posts each, at different paces, all on a hub a newcomer follows
    // them through. Home's first page is complete the moment their heads are here: heads and
    // the first page's ranges are taken in one transaction, before any first screen.
    let hub = peer(true).await;
    let dir = tempfile::tempdir().unwrap();
    let me = Arc::new(Node::open(dir.path()).unwrap());
    let mut people = Vec::new();
    for i in 0..40u64 {
        let spacing = 60_000 * (1 + (i * 7919) % 50);
        let last = 1_800_000_000_000 - (i * 104_729_000) % 86_400_000;
        let mut f = FeedBuilder::new(rookery_feed::SecretKey::generate(), Rng::new(500 + i))
            .timed(last - spacing * 39, spacing);
        hub.node.import(&f.posts(40, None).unwrap()).unwrap();
        me.follow(f.author()).unwrap();
        people.push(f.author());
    }
    // What Home must show, read where everything is held.
    let all_dir = tempfile::tempdir().unwrap();
    let all = Node::open(all_dir.path()).unwrap();
    for p in &people {
        all.import(&hub.node.export(p).unwrap()).unwrap();
        all.follow(*p).unwrap();
    }
    let ids = |p: rookery_node::Page| p.items.iter().map(|i| i.message.id()).collect::<Vec<_>>();
    let want = ids(all.timeline(None, FIRST_SCREEN).unwrap());
    let net = me.start(loopback(false)).await.unwrap();
    net.connect(&hub.net.ticket()).await.unwrap();
    until("every head", || {
        people
            .iter()
            .all(|p| me.store().head(p).is_ok_and(|h| h.is_some()))
    })
    .await;
    // Read here alone, no network: the page is already whole.
    assert_eq!(ids(me.timeline(None, FIRST_SCREEN).unwrap()), want);
    assert_eq!(net.counters(&hub.node.id()).unwrap().subscribe, 1);
    // Then every person's own first screen, and their mentions and profiles, as before.
    until("every first screen", || {
        people.iter().all(|p| {
            me.author_feed(p, None, FIRST_SCREEN)
                .is_ok_and(|f| ids(f) == ids(all.author_feed(p, None, FIRST_SCREEN).unwrap()))
                && !me.store().head_alone(p).unwrap()
        })
    })
    .await;
    net.shutdown().await;
    hub.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_author_is_not_served_until_unblocked() {
    let a = peer(true).await;
    let d = peer(true).await;
    let b = peer(true).await;
    let c = peer(true).await;
    a.node.post("by A").unwrap();
    d.node.post("by D").unwrap();
    follow(&b.net, &a.net);
    follow(&b.net, &d.net);
    until("B holds A and D", || {
        [&a, &d].iter().all(|p| {
            b.node
                .export(&p.node.id())
                .is_ok_and(|x| x.bodies.len() == 1)
        })
    })
    .await;
    b.node.block(a.node.id()).unwrap();
    a.net.shutdown().await;
    d.net.shutdown().await;
    // C reaches A and D only through B, which holds both and blocked A.
    c.net.connect(&b.net.ticket()).await.unwrap();
    c.net.follow(a.node.id(), None).unwrap();
    c.net.follow(d.node.id(), None).unwrap();
    until("C has D's post from B", || {
        timeline_texts(&c.node).contains(&"by D".to_string())
    })
    .await;
    // A's head would have come in the same subscription answer as D's: it was left out.
    assert!(c.node.store().head(&a.node.id()).unwrap().is_none());
    assert!(
        b.node.store().head(&a.node.id()).unwrap().is_some(),
        "B still holds A"
    );
    // Unblocked, A's head is pushed to the subscription that asked about A.
    b.node
        .unblock(a.node.id())
        .unwrap()
        .expect("the block in force");
    until("C has A's post from B", || {
        timeline_texts(&c.node).contains(&"by A".to_string())
    })
    .await;
    b.net.shutdown().await;
    c.net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_identity_continues_its_feed_without_a_fork() {
    let a = peer(true).await;
    let b = peer(true).await;
    a.node.set_profile("Ada", "", None).unwrap();
    for t in ["one", "two", "three"] {
        a.node.post(t).unwrap();
    }
    follow(&b.net, &a.net);
    until("B holds all of A's feed", || {
        b.node
            .export(&a.node.id())
            .is_ok_and(|x| x.bodies.len() == 4)
    })
    .await;
    // A's machine is lost; the key was backed up.
    let key = a.node.secret_key().clone();
    a.net.shutdown().await;
    let dir = tempfile::tempdir().unwrap();
    let restored = Arc::new(Node::restore(dir.path(), &key).unwrap());
    assert_eq!(restored.id(), a.node.id());
    assert!(matches!(
        Node::restore(dir.path(), &key),
        Err(rookery_node::NodeError::NotAllowed(_))
    ));
    // Nothing is published before the feed is back: a post now would fork it.
    assert!(matches!(
        restored.post("too soon"),
        Err(rookery_node::NodeError::OwnFeedLost)
    ));
    let net = restored.start(loopback(true)).await.unwrap();
    net.connect(&b.net.ticket()).await.unwrap();
    until("the restored node has its whole feed back", || {
        !restored.own_feed_lost().unwrap_or(true)
    })
    .await;
    let four = restored.post("four, after the restore").unwrap();
    assert_eq!(four.message().seq, 5);
    assert_eq!(
        restored
            .profile(&restored.id())
            .unwrap()
            .about
            .map(|a| a.name),
        Some("Ada".into())
    );
    // The follower sees one continuous person: the new post follows the old ones, no fork.
    until("B has the post made after the restore", || {
        b.node
            .store()
            .head(&a.node.id())
            .is_ok_and(|h| h.is_some_and(|h| h.head().seq == 5))
    })
    .await;
    assert!(
        b.node
            .store()
            .fork_evidence(&a.node.id())
            .unwrap()
            .is_none()
    );
    let texts: Vec<String> = b
        .node
        .author_feed(&a.node.id(), None, 10)
        .unwrap()
        .items
        .iter()
        .map(|m| text(m).to_string())
        .collect();
    assert_eq!(texts, ["four, after the restore", "three", "two", "one"]);
    net.shutdown().await;
    b.net.shutdown().await;
}
