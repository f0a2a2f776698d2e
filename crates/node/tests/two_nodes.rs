//! Two nodes in temp dirs exchanging bundles, as the issue describes, and every kind of bad
//! import refused with nothing stored.

use rookery_feed::{Content, FeedError, MessageId, SignedMessage};
use rookery_node::{Bundle, Item, Node, NodeError, NotificationKind};
use rookery_prolly::EMPTY_ROOT;

fn node() -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(dir.path().join("data")).unwrap();
    (dir, node)
}

fn text(v: &Item) -> &str {
    post_text(&v.message)
}

fn post_text(m: &SignedMessage) -> &str {
    match &m.message().content {
        Content::Post(p) => &p.text,
        other => panic!("not a post: {other:?}"),
    }
}

fn id(m: &SignedMessage) -> MessageId {
    m.id()
}

/// The unread notifications, newest first.
fn unread(n: &Node) -> Vec<rookery_node::Notification> {
    n.notifications(200)
        .unwrap()
        .items
        .into_iter()
        .filter(|n| !n.read)
        .collect()
}

fn hex_key(k: &rookery_feed::PublicKey) -> String {
    hex::encode(k.as_bytes())
}

/// Moves `from`'s own feed into `to` through the bytes of a bundle file.
fn sync(from: &Node, to: &Node) -> rookery_node::Imported {
    let bytes = from.export(&from.id()).unwrap().to_bytes();
    to.import(&Bundle::from_bytes(&bytes).unwrap()).unwrap()
}

/// `from`'s head reaches `to` with one node of its trees and no bodies: a first screen that
/// has not arrived yet.
fn take_head_and_one_node(from: &Node, to: &Node) {
    let mut partial = from.export(&from.id()).unwrap();
    partial.nodes.truncate(1);
    partial.bodies.clear();
    to.import(&partial).unwrap();
}

#[test]
fn follow_mentions_notifications_and_deletes() {
    let (_da, a) = node();
    let (_db, b) = node();
    a.set_profile("Ada", "hello", None).unwrap();
    b.set_profile("Bob", "", None).unwrap();
    let a_post = a.post("first post by Ada").unwrap();
    a.follow(b.id()).unwrap();
    sync(&a, &b); // B learns Ada's name and post.
    sync(&b, &a); // A learns Bob's profile...
    a.mark_seen(None).unwrap(); // ...and has seen everything so far.

    let m1 = b.post("hi @Ada").unwrap();
    let m2 = b.reply(&id(&a_post), "a reply to Ada").unwrap();
    let m3 = b
        .post(&format!("and @{} by key", hex_key(&a.id())))
        .unwrap();
    sync(&b, &a);

    // Timeline: B's three posts and A's own, newest first.
    let page = a.timeline(None, 10).unwrap();
    let texts: Vec<_> = page.items.iter().map(text).collect();
    assert_eq!(
        texts,
        vec![
            post_text(&m3),
            "a reply to Ada",
            "hi @Ada",
            "first post by Ada"
        ]
    );
    assert_eq!(page.items[0].author_name.as_deref(), Some("Bob"));
    assert_eq!(page.next, None);
    // Paged by two: the same order across pages.
    let p1 = a.timeline(None, 2).unwrap();
    let p2 = a.timeline(p1.next.as_ref(), 2).unwrap();
    let paged: Vec<_> = p1.items.iter().chain(&p2.items).map(text).collect();
    assert_eq!(paged, texts);

    // Exactly the three, newest first, the reply marked as such.
    let n = unread(&a);
    assert_eq!(
        n.iter().map(|n| n.item.message.id()).collect::<Vec<_>>(),
        vec![m3.id(), m2.id(), m1.id()]
    );
    assert_eq!(n[1].kind, NotificationKind::Reply);
    assert_eq!(n[0].kind, NotificationKind::Mention);
    let counts = a.unread_counts().unwrap();
    assert_eq!((counts.len(), counts[0].count), (1, 3));

    a.mark_seen(None).unwrap();
    assert!(unread(&a).is_empty());
    assert_eq!(a.unread_counts().unwrap()[0].count, 0);

    // Two more mentions: exactly two new.
    let m4 = b.post("@ada again").unwrap();
    b.post("@Ada and again").unwrap();
    b.post("no mention").unwrap();
    sync(&b, &a);
    assert_eq!(unread(&a).len(), 2);
    assert_eq!(a.unread_counts().unwrap()[0].count, 3);

    // The thread on A holds the reply; B deletes it and the mention m4.
    assert_eq!(a.thread(&id(&a_post)).unwrap().replies.len(), 1);
    b.delete(id(&m2)).unwrap();
    b.delete(id(&m4)).unwrap();
    sync(&b, &a);
    assert!(a.thread(&id(&a_post)).unwrap().replies.is_empty());
    let feed = a.author_feed(&b.id(), None, 50).unwrap();
    assert!(
        feed.items
            .iter()
            .all(|m| m.message.id() != m2.id() && m.message.id() != m4.id())
    );
    assert_eq!(feed.items.len(), 4);
    assert_eq!(unread(&a).len(), 1);

    // Profiles and follower counts.
    let pb = a.profile(&b.id()).unwrap();
    assert_eq!(
        (pb.about.map(|a| a.name), pb.followers, pb.followed_by_me),
        (Some("Bob".to_string()), 1, true)
    );
    let pa = a.profile(&a.id()).unwrap();
    assert_eq!(pa.follows, vec![b.id()]);
}

#[test]
fn blocked_authors_leave_the_views() {
    let (_da, a) = node();
    let (_db, b) = node();
    a.follow(b.id()).unwrap();
    b.post("@{} hello").unwrap();
    b.post(&format!("hey @{}", hex_key(&a.id()))).unwrap();
    sync(&b, &a);
    assert_eq!(a.timeline(None, 10).unwrap().items.len(), 2);
    assert_eq!(unread(&a).len(), 1);
    a.block(b.id()).unwrap();
    assert!(a.timeline(None, 10).unwrap().items.is_empty());
    assert!(unread(&a).is_empty());
    assert!(a.profile(&b.id()).unwrap().blocked_by_me);
}

#[test]
fn unblock_deletes_the_block_in_force_and_the_posts_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::open(dir.path().join("data")).unwrap();
    let (_db, b) = node();
    a.follow(b.id()).unwrap();
    b.post("still here").unwrap();
    sync(&b, &a);
    let shown = |n: &Node| {
        let home = n.timeline(None, 10).unwrap().items.len();
        let profile = n.author_feed(&b.id(), None, 10).unwrap().items.len();
        (home, profile)
    };
    assert_eq!(shown(&a), (1, 1));
    // Not blocked: nothing to undo, nothing published.
    let seq = |n: &Node| n.store().head(&n.id()).unwrap().unwrap().head().seq;
    let before = seq(&a);
    assert!(a.unblock(b.id()).unwrap().is_none());
    assert_eq!(seq(&a), before);
    // Blocked twice: the later block is the one in force; the posts leave Home and the
    // profile alike, and the block survives a restart.
    a.block(b.id()).unwrap();
    a.post("between").unwrap();
    let second = a.block(b.id()).unwrap();
    assert_eq!(
        shown(&a),
        (1, 0),
        "only my own post on Home, none on theirs"
    );
    drop(a);
    let a = Node::open(dir.path().join("data")).unwrap();
    assert!(a.profile(&b.id()).unwrap().blocked_by_me);
    assert_eq!(shown(&a), (1, 0));
    let blocked: Vec<_> = a
        .blocked_people()
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(blocked, [b.id()]);
    assert!(a.people().unwrap().iter().all(|p| p.key != b.id()));
    let undo = a.unblock(b.id()).unwrap().expect("a block in force");
    assert!(matches!(undo.message().content, Content::Delete { target } if target == id(&second)));
    assert!(!a.profile(&b.id()).unwrap().blocked_by_me);
    assert_eq!(shown(&a), (2, 1));
    assert!(a.unblock(b.id()).unwrap().is_none(), "undone once");
    assert!(a.blocked_people().unwrap().is_empty());
    // Blocking again works as the first time.
    a.block(b.id()).unwrap();
    assert!(a.profile(&b.id()).unwrap().blocked_by_me);
}

#[test]
fn followers_are_listed_from_the_follows_trees_held() {
    let (_da, a) = node();
    let (_db, b) = node();
    let (_dc, c) = node();
    b.set_profile("Bea", "", None).unwrap();
    c.set_profile("Cy", "", None).unwrap();
    b.follow(a.id()).unwrap();
    c.follow(a.id()).unwrap();
    a.follow(c.id()).unwrap();
    sync(&b, &a);
    sync(&c, &a);
    let keys = |v: Vec<rookery_node::Person>| v.into_iter().map(|p| p.key).collect::<Vec<_>>();
    // Who follows me: the one I follow back first, then by name.
    assert_eq!(keys(a.followers(&a.id()).unwrap()), [c.id(), b.id()]);
    assert_eq!(a.profile(&a.id()).unwrap().followers, 2);
    // Who follows Cy: me, listed first.
    assert_eq!(keys(a.followers(&c.id()).unwrap()), [a.id()]);
    assert!(a.profile(&c.id()).unwrap().followed_by_me);
    // A follow undone, and a follower blocked, leave the list.
    b.unfollow(a.id()).unwrap();
    sync(&b, &a);
    assert_eq!(keys(a.followers(&a.id()).unwrap()), [c.id()]);
    a.block(c.id()).unwrap();
    assert!(a.followers(&a.id()).unwrap().is_empty());
}

#[test]
fn mutes_are_local_and_hide_people_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::open(dir.path().join("data")).unwrap();
    let (_db, b) = node();
    let (_dc, c) = node();
    a.follow(b.id()).unwrap();
    a.follow(c.id()).unwrap();
    let at_a = format!("@{}", hex_key(&a.id()));
    b.post("plain from B").unwrap();
    b.post(&format!("hi {at_a} from B")).unwrap();
    let root = c.post(&format!("a thread for {at_a}")).unwrap();
    b.import(&c.export(&c.id()).unwrap()).unwrap();
    let reply = b
        .reply(&id(&root), &format!("in the thread, {at_a}"))
        .unwrap();
    c.post(&format!("elsewhere, {at_a}")).unwrap();
    sync(&b, &a);
    sync(&c, &a);
    let seq = |n: &Node| n.store().head(&n.id()).unwrap().unwrap().head().seq;
    let before = seq(&a);
    let home = |n: &Node| n.timeline(None, 20).unwrap().items.len();
    let notified = |n: &Node| {
        let l = n.notifications(20).unwrap();
        (l.items.len(), l.unread)
    };
    assert_eq!(home(&a), 5);
    assert_eq!(notified(&a), (4, 4));
    assert!(matches!(a.mute(a.id()), Err(NodeError::NotAllowed(_))));

    // A muted person leaves Home, the notifications and the unread counts, not their profile.
    assert!(a.mute(b.id()).unwrap());
    assert!(!a.mute(b.id()).unwrap(), "muted already");
    assert_eq!(home(&a), 2);
    assert_eq!(notified(&a), (2, 2));
    assert!(
        a.unread_counts()
            .unwrap()
            .iter()
            .all(|u| u.author != b.id())
    );
    assert!(a.profile(&b.id()).unwrap().muted_by_me);
    assert_eq!(a.author_feed(&b.id(), None, 10).unwrap().items.len(), 3);

    // A muted thread, named by any of its messages, leaves the notifications.
    assert_eq!(a.mute_thread(&id(&reply)).unwrap(), id(&root));
    assert_eq!(notified(&a), (1, 1), "only the mention elsewhere");
    assert!(matches!(
        a.mute_thread(&MessageId([3; 32])),
        Err(NodeError::UnknownMessage(_))
    ));

    // Local and private: nothing published; kept across a restart; undone by unmuting.
    assert_eq!(seq(&a), before);
    drop(a);
    let a = Node::open(dir.path().join("data")).unwrap();
    assert_eq!(a.muted().unwrap().len(), 2);
    assert!(a.unmute(b.id()).unwrap());
    assert_eq!(a.unmute_thread(&id(&root)).unwrap(), id(&root));
    assert!(a.muted().unwrap().is_empty());
    assert_eq!(home(&a), 5);
    assert_eq!(notified(&a).0, 4);
}

#[test]
fn a_follow_of_me_is_a_notification_found_by_a_root_diff() {
    let (_da, a) = node();
    let (_db, b) = node();
    b.set_profile("Bea", "", None).unwrap();
    let follows = |n: &Node| {
        let l = n.notifications(10).unwrap();
        let f: Vec<_> = l
            .items
            .into_iter()
            .filter(|n| n.kind == NotificationKind::Follow)
            .map(|n| (n.item.message.message().author, n.read))
            .collect();
        (f, l.unread)
    };
    let mut events = a.subscribe();
    let first = b.follow(a.id()).unwrap();
    sync(&b, &a);
    assert_eq!(follows(&a), (vec![(b.id(), false)], 1));
    // The import told of it, as it tells of a mention.
    let told = std::iter::from_fn(|| events.try_recv().ok()).any(|e| {
        matches!(e, rookery_node::NodeEvent::Notification(n)
            if n.kind == NotificationKind::Follow && n.item.message.id() == id(&first))
    });
    assert!(told, "no notification event for the follow");
    a.mark_all_notifications_read().unwrap();
    assert_eq!(follows(&a), (vec![(b.id(), true)], 0));
    // A follow of someone else is no notification; an unfollow takes it away; following
    // again is news again.
    let (_dc, c) = node();
    b.follow(c.id()).unwrap();
    sync(&b, &a);
    assert_eq!(follows(&a).1, 0);
    b.unfollow(a.id()).unwrap();
    sync(&b, &a);
    assert_eq!(follows(&a), (vec![], 0));
    b.follow(a.id()).unwrap();
    sync(&b, &a);
    assert_eq!(follows(&a), (vec![(b.id(), false)], 1));
    // Muted, they are not notified.
    a.mute(b.id()).unwrap();
    assert_eq!(follows(&a), (vec![], 0));
}

#[test]
fn bookmarks_are_local_and_follow_deletes_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::open(dir.path().join("data")).unwrap();
    let (_db, b) = node();
    a.follow(b.id()).unwrap();
    let theirs = b.post("worth keeping").unwrap();
    sync(&b, &a);
    let mine = a.post("mine to keep").unwrap();
    let seq = |n: &Node| n.store().head(&n.id()).unwrap().unwrap().head().seq;
    let before = seq(&a);
    let kept = |n: &Node| -> Vec<MessageId> {
        n.bookmarks(10)
            .unwrap()
            .into_iter()
            .map(|i| i.message.id())
            .collect()
    };
    assert!(a.bookmark(&id(&theirs)).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(3));
    assert!(a.bookmark(&id(&mine)).unwrap());
    assert!(!a.bookmark(&id(&theirs)).unwrap(), "bookmarked already");
    assert!(matches!(
        a.bookmark(&MessageId([5; 32])),
        Err(NodeError::UnknownMessage(_))
    ));
    // The latest bookmarked first; local: nothing published; kept across a restart.
    assert_eq!(kept(&a), [id(&mine), id(&theirs)]);
    assert_eq!(a.bookmarks(1).unwrap().len(), 1);
    assert_eq!(seq(&a), before);
    drop(a);
    let a = Node::open(dir.path().join("data")).unwrap();
    assert_eq!(kept(&a), [id(&mine), id(&theirs)]);
    // A deleted post leaves the list; a blocked author's too, until unblocked.
    a.delete(id(&mine)).unwrap();
    assert_eq!(kept(&a), [id(&theirs)]);
    a.block(b.id()).unwrap();
    assert!(kept(&a).is_empty());
    a.unblock(b.id()).unwrap();
    assert_eq!(kept(&a), [id(&theirs)]);
    assert!(a.unbookmark(&id(&theirs)).unwrap());
    assert!(!a.unbookmark(&id(&theirs)).unwrap());
    assert!(kept(&a).is_empty());
}

#[test]
fn bad_imports_are_refused_and_change_nothing() {
    let (_da, a) = node();
    let (_db, b) = node();
    b.post("one").unwrap();
    let old = b.export(&b.id()).unwrap();
    b.post("two").unwrap();
    let new = b.export(&b.id()).unwrap();
    a.import(&new).unwrap();
    let before = a.store().head(&b.id()).unwrap();

    // An older head: a rollback.
    assert!(matches!(
        a.import(&old),
        Err(NodeError::Store(rookery_store::Error::Feed(
            FeedError::Rollback { .. }
        )))
    ));
    // A head whose signature does not verify.
    let mut forged = new.clone();
    let n = forged.head.len();
    forged.head[n - 3] ^= 1;
    assert!(matches!(
        a.import(&forged),
        Err(NodeError::Feed(FeedError::BadSignature { .. }))
    ));
    // A body altered in flight.
    let mut bad_body = new.clone();
    bad_body.bodies[0][40] ^= 1;
    assert!(a.import(&bad_body).is_err());
    // A node that is not a node.
    let mut bad_node = new.clone();
    bad_node.nodes.push(b"\x01\x00\x01junk".to_vec());
    assert!(matches!(
        a.import(&bad_node),
        Err(NodeError::Store(rookery_store::Error::BadNode(_)))
    ));
    // A fork: the same key, on another machine that holds only message 1, signs a different
    // message 2.
    let twin_dir = tempfile::tempdir().unwrap();
    let key_file = rookery_node::identity::KEY_FILE;
    std::fs::copy(b.data_dir().join(key_file), twin_dir.path().join(key_file)).unwrap();
    let twin = Node::open(twin_dir.path()).unwrap();
    assert_eq!(twin.id(), b.id());
    twin.import(&old).unwrap();
    twin.post("a different two").unwrap();
    let fork = twin.export(&twin.id()).unwrap();
    assert!(matches!(
        a.import(&fork),
        Err(NodeError::Store(rookery_store::Error::Feed(
            FeedError::Fork { seq: 2 }
        )))
    ));
    assert!(a.store().fork_evidence(&b.id()).unwrap().is_some());

    // Through all of it the first head stays, and the feed reads as before.
    assert_eq!(a.store().head(&b.id()).unwrap(), before);
    let texts: Vec<_> = a
        .author_feed(&b.id(), None, 10)
        .unwrap()
        .items
        .iter()
        .map(|m| text(m).to_string())
        .collect();
    assert_eq!(texts, vec!["two", "one"]);
    // Not a bundle at all.
    assert!(matches!(
        Bundle::from_bytes(b"hello"),
        Err(NodeError::BadBundle(_))
    ));
}

#[test]
fn partial_data_says_what_is_missing() {
    let (_da, a) = node();
    let (_db, b) = node();
    for i in 0..300 {
        b.post(&format!("post {i}")).unwrap();
    }
    a.follow(b.id()).unwrap();
    take_head_and_one_node(&b, &a);
    let err = a.timeline(None, 20).unwrap_err();
    assert!(matches!(err, NodeError::MissingNodes(_)), "{err}");
    assert!(err.is_not_synced());
    // The rest arrives for the same head: now it reads.
    let full = b.export(&b.id()).unwrap();
    assert_eq!(
        a.import(&full).unwrap().update,
        rookery_feed::HeadUpdate::Same
    );
    assert_eq!(a.timeline(None, 20).unwrap().items.len(), 20);
}

/// A first screen in flight: a head whose mentions have not all arrived. The notifications and
/// the unread counts still read (that person pending), "mark all seen" does not take a root it
/// cannot read, and when the rest arrives its mentions of me count as new.
#[test]
fn notifications_read_while_a_first_screen_is_in_flight() {
    let (_da, a) = node();
    let (_db, b) = node();
    let mention = format!("hello @{}", hex_key(&a.id()));
    let mut mentions = Vec::new();
    for i in 0..300 {
        if i % 100 == 7 {
            mentions.push(b.post(&mention).unwrap().id());
        } else {
            b.post(&format!("post {i}")).unwrap();
        }
    }
    a.follow(b.id()).unwrap();
    take_head_and_one_node(&b, &a);
    let n = a.notifications(200).unwrap();
    assert_eq!((n.items.len(), n.unread, n.pending), (0, 0, 1));
    // Counted from the root's subtree counts alone.
    assert_eq!(a.unread_counts().unwrap()[0].count, 300);
    a.mark_seen(None).unwrap();
    a.mark_all_notifications_read().unwrap();
    sync(&b, &a);
    let n = a.notifications(200).unwrap();
    assert_eq!((n.unread, n.pending), (3, 0));
    mentions.reverse();
    let ids: Vec<_> = n.items.iter().map(|n| n.item.message.id()).collect();
    assert_eq!(ids, mentions);
    assert_eq!(a.unread_counts().unwrap()[0].count, 300);
    // Now that it reads, it is taken.
    a.mark_seen(None).unwrap();
    assert_eq!(a.notifications(200).unwrap().unread, 0);
    assert_eq!(a.unread_counts().unwrap()[0].count, 0);
}

#[test]
fn identity_persists_and_events_flow() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let n = Node::open(dir.path()).unwrap();
        let mut rx = n.subscribe();
        n.post("x").unwrap();
        assert!(matches!(
            rx.try_recv().unwrap(),
            rookery_node::NodeEvent::Published(_)
        ));
        n.id()
    };
    let n = Node::open(dir.path()).unwrap();
    assert_eq!(n.id(), id);
    assert_eq!(n.author_feed(&id, None, 5).unwrap().items.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(rookery_node::identity::KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(dir.path().join(rookery_node::identity::KEY_FILE), "garbage").unwrap();
    drop(n);
    assert!(matches!(
        Node::open(dir.path()),
        Err(NodeError::BadKeyFile { .. })
    ));
}

#[test]
fn hostile_index_entries_are_skipped() {
    use rookery_feed::{Head, Roots, SecretKey, SignedHead, keys};
    use rookery_prolly::{MemStore, Prolly};
    let (_da, a) = node();
    let (_db, b) = node();
    let b_post = b.post(&format!("hello @{}", hex_key(&a.id()))).unwrap();
    sync(&b, &a);
    // E signs a head whose messages, mentions and replies trees name B's post as E's own.
    let e = SecretKey::from_bytes(&[42; 32]);
    let scratch = Prolly::new(MemStore::new());
    let empty = EMPTY_ROOT;
    let value = Some(id(&b_post).0.to_vec());
    let mut roots = Roots::empty();
    let mut nodes = vec![];
    for (index, key) in [
        (rookery_feed::Index::Messages, keys::message(1, 1)),
        (rookery_feed::Index::Mentions, keys::mention(&a.id(), 1, 1)),
        (
            rookery_feed::Index::Replies,
            keys::reply(&id(&b_post), 1, 1),
        ),
    ] {
        let m = scratch.mutate(&empty, [(key, value.clone())]).unwrap();
        roots.set(index, m.root);
        nodes.extend(m.nodes.into_iter().map(|n| n.bytes));
    }
    let head = SignedHead::sign(
        Head {
            author: e.public(),
            seq: 1,
            timestamp_ms: 1,
            roots,
            about: None,
        },
        &e,
    )
    .unwrap();
    a.import(&Bundle {
        head: head.bytes().to_vec(),
        nodes,
        bodies: vec![],
    })
    .unwrap();
    a.follow(e.public()).unwrap();
    a.follow(b.id()).unwrap();
    let items = a.timeline(None, 10).unwrap().items;
    assert_eq!(
        items
            .iter()
            .filter(|m| m.message.id() == b_post.id())
            .count(),
        1,
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .all(|m| m.message.message().author != e.public())
    );
    let n = unread(&a);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].item.message.message().author, b.id());
    assert!(a.thread(&id(&b_post)).unwrap().replies.is_empty());
}

#[test]
fn deletes_of_follows_roots_and_forks_after_forks() {
    let (_da, a) = node();
    let (_db, b) = node();
    // Follow, unfollow, follow again, then delete the first Follow: still following.
    let f1 = a.follow(b.id()).unwrap();
    a.unfollow(b.id()).unwrap();
    a.follow(b.id()).unwrap();
    a.delete(id(&f1)).unwrap();
    assert_eq!(a.profile(&a.id()).unwrap().follows, vec![b.id()]);

    // A deleted thread root is no longer shown, and cannot be replied to.
    let root = a.post("root").unwrap();
    a.reply(&id(&root), "self reply").unwrap();
    a.delete(id(&root)).unwrap();
    let t = a.thread(&id(&root)).unwrap();
    assert!(t.root.is_none());
    assert_eq!(t.replies.len(), 1);
    assert!(matches!(
        a.reply(&id(&root), "late"),
        Err(NodeError::UnknownMessage(_))
    ));
    assert!(a.message(&id(&root)).unwrap().is_none());

    // After a fork, a later head on the other branch is refused too: the first history stays.
    b.post("one").unwrap();
    let old = b.export(&b.id()).unwrap();
    b.post("two").unwrap();
    sync(&b, &a);
    let twin_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        b.data_dir().join(rookery_node::identity::KEY_FILE),
        twin_dir.path().join(rookery_node::identity::KEY_FILE),
    )
    .unwrap();
    let twin = Node::open(twin_dir.path()).unwrap();
    twin.import(&old).unwrap();
    twin.post("other two").unwrap();
    assert!(a.import(&twin.export(&twin.id()).unwrap()).is_err());
    twin.post("other three").unwrap();
    assert!(matches!(
        a.import(&twin.export(&twin.id()).unwrap()),
        Err(NodeError::Store(rookery_store::Error::Feed(
            FeedError::Fork { .. }
        )))
    ));
    assert_eq!(a.store().head(&b.id()).unwrap().unwrap().head().seq, 2);
}

#[test]
fn shared_names_resolve_only_when_it_is_clear_who() {
    let (_da, a) = node();
    let (_db, b) = node();
    let (_dc, c) = node();
    b.set_profile("Sam", "", None).unwrap();
    c.set_profile("sam", "", None).unwrap();
    sync(&b, &a);
    sync(&c, &a);
    let mentions = |m: &SignedMessage| match &m.message().content {
        Content::Post(p) => p.mentions.clone(),
        _ => vec![],
    };
    // Two strangers share the name: it mentions nobody.
    assert!(mentions(&a.post("hi @Sam").unwrap()).is_empty());
    // Following one of them settles it.
    a.follow(c.id()).unwrap();
    assert_eq!(mentions(&a.post("hi @Sam").unwrap()), vec![c.id()]);
}

#[test]
fn deleting_a_profile_or_a_block_undoes_it() {
    let (_da, a) = node();
    let (_db, b) = node();
    a.set_profile("First", "", None).unwrap();
    let second = a.set_profile("Second", "", None).unwrap();
    let name = |n: &Node| n.profile(&n.id()).unwrap().about.map(|a| a.name);
    assert_eq!(name(&a).as_deref(), Some("Second"));
    a.delete(id(&second)).unwrap();
    assert_eq!(name(&a).as_deref(), Some("First"));

    a.follow(b.id()).unwrap();
    b.post("visible").unwrap();
    sync(&b, &a);
    let block = a.block(b.id()).unwrap();
    assert!(
        a.timeline(None, 10)
            .unwrap()
            .items
            .iter()
            .all(|m| m.message.message().author != b.id())
    );
    a.delete(id(&block)).unwrap();
    assert!(!a.profile(&b.id()).unwrap().blocked_by_me);
    assert!(
        a.timeline(None, 10)
            .unwrap()
            .items
            .iter()
            .any(|m| m.message.message().author == b.id())
    );
}
