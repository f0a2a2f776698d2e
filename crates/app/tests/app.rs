//! The app facade the UI calls (through Tauri or HTTP): two real nodes on loopback, real redb.
//! Notifications read and unread, the people list, argument checking with readable errors and
//! nothing stored on a refusal, and the demo network.

use std::time::Duration;

use rookery_app::args::*;
use rookery_app::view::ContentView;
use rookery_app::view::NotificationKind::{Follow, Mention, Reply};
use rookery_app::{App, AppOptions, ErrorCode};
use rookery_node::Node;

/// Waits (up to 30 s) until `f` holds.
async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..1500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn profile(name: &str, bio: &str) -> SetProfileArgs {
    SetProfileArgs {
        name: name.into(),
        bio: Some(bio.into()),
    }
}

fn post(text: &str) -> PostArgs {
    PostArgs { text: text.into() }
}

fn follow(address: &str) -> FollowArgs {
    FollowArgs {
        address: address.into(),
    }
}

async fn app(dir: &std::path::Path) -> App {
    let node = Node::open(dir).unwrap();
    let options = AppOptions {
        offline: true,
        bind: Some("127.0.0.1:0".parse().unwrap()),
        pubs: vec![],
        wait_for_relay: false,
    };
    App::start(node, options).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_marked_read_one_by_one_or_all_at_once() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (app(da.path()).await, app(db.path()).await);
    a.set_profile(profile("Ada", "writes")).await.unwrap();
    b.set_profile(profile("Bob", "")).await.unwrap();
    let bob = b.me(MeArgs {}).await.unwrap();
    let followed = a.follow(follow(&bob.ticket)).await.unwrap();
    assert_eq!(followed.key, bob.key);
    b.follow(follow(&a.me(MeArgs {}).await.unwrap().ticket))
        .await
        .unwrap();
    let ada = a.me(MeArgs {}).await.unwrap().key;
    for i in 0..3 {
        b.post(post(&format!("hello @{ada} number {i}")))
            .await
            .unwrap();
    }
    until("three mentions and Bob's follow", || {
        a.node()
            .notifications(10)
            .is_ok_and(|n| n.unread == 4 && n.items.len() == 4)
    })
    .await;
    let n = a
        .notifications(NotificationsArgs { limit: None })
        .await
        .unwrap();
    assert!(n.items.iter().all(|i| !i.read));
    // Bob followed Ada before he mentioned her: the oldest, found by a root diff on her key.
    let follow = n.items.last().unwrap();
    assert_eq!(follow.kind, Follow);
    assert_eq!(follow.message.author, bob.key);
    assert!(n.items[..3].iter().all(|i| i.kind == Mention));
    // Everyone's mentions are in: no one is still pending.
    assert_eq!(n.pending, 0);
    // One marked read: it stays in the list, read, and the count drops.
    let one = n.items[1].message.id.clone();
    let after = a
        .mark_notification_read(MarkNotificationReadArgs {
            id: one.clone(),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(after.unread, 3);
    assert!(
        after
            .items
            .iter()
            .find(|i| i.message.id == one)
            .unwrap()
            .read
    );
    // All read.
    let after = a
        .mark_all_read(MarkAllReadArgs { limit: None })
        .await
        .unwrap();
    assert_eq!(after.unread, 0);
    assert_eq!(after.items.len(), 4);
    assert!(after.items.iter().all(|i| i.read));
    // A new one is unread again.
    b.post(post(&format!("@{ada} one more"))).await.unwrap();
    until("a fourth, unread", || {
        a.node().notifications(10).is_ok_and(|n| n.unread == 1)
    })
    .await;
    // People: Bob, followed, named, for autocomplete.
    let people = a.people(PeopleArgs {}).await.unwrap();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0].name.as_deref(), Some("Bob"));
    assert!(people[0].followed);
    // Desktop notifications per kind: follows off, the rest on; all off with the switch.
    let s = a
        .set_settings(SetSettingsArgs {
            relays: None,
            notifications: None,
            notify_mentions: None,
            notify_replies: None,
            notify_follows: Some(false),
        })
        .await
        .unwrap();
    assert!(s.notifications && s.notify_mentions && s.notify_replies && !s.notify_follows);
    assert!(a.notifies(Mention) && a.notifies(Reply) && !a.notifies(Follow));
    a.set_settings(SetSettingsArgs {
        relays: None,
        notifications: Some(false),
        notify_mentions: None,
        notify_replies: None,
        notify_follows: None,
    })
    .await
    .unwrap();
    assert!(!a.notifies(Mention));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_get_readable_errors_and_change_nothing() {
    let d = tempfile::tempdir().unwrap();
    let a = app(d.path()).await;
    a.post(post("first")).await.unwrap();
    let digest = a.node().store().digest().unwrap();
    let me = a.me(MeArgs {}).await.unwrap().key;
    let key = |k: &str| UnfollowArgs { key: k.into() };
    let reply = |parent: &str| ReplyArgs {
        parent: parent.into(),
        text: "hi".into(),
    };
    let huge = [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; 9 << 20]].concat();
    let liar = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7; 64]].concat();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    let cases = [
        (a.post(post("   ")).await.map(drop), ErrorCode::BadRequest),
        (
            a.post(post(&"x".repeat(4001))).await.map(drop),
            ErrorCode::TooLarge,
        ),
        (
            a.reply(reply("nothex")).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.reply(reply(&"ab".repeat(32))).await.map(drop),
            ErrorCode::UnknownMessage,
        ),
        (
            a.follow(follow("not a ticket")).await.map(drop),
            ErrorCode::BadAddress,
        ),
        (
            a.unfollow(key("123")).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.block(BlockArgs { key: me.clone() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.bookmark(BookmarkArgs { id: "zz".into() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.bookmark(BookmarkArgs {
                id: "cd".repeat(32),
            })
            .await
            .map(drop),
            ErrorCode::UnknownMessage,
        ),
        (
            a.mute(MuteArgs { key: me.clone() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.mute(MuteArgs { key: "zz".into() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.mute_thread(MuteThreadArgs { id: "zz".into() })
                .await
                .map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.mute_thread(MuteThreadArgs {
                id: "ab".repeat(32),
            })
            .await
            .map(drop),
            ErrorCode::UnknownMessage,
        ),
        (
            a.followers(FollowersArgs { key: "12".into() })
                .await
                .map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.unblock(UnblockArgs {
                key: "nothex".into(),
            })
            .await
            .map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.thread(ThreadArgs { id: "zz".into() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.profile(ProfileArgs { key: "".into() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.timeline(TimelineArgs {
                cursor: Some("garbage".into()),
                limit: None,
            })
            .await
            .map(drop),
            ErrorCode::BadCursor,
        ),
        (
            a.mark_notification_read(MarkNotificationReadArgs {
                id: "nope".into(),
                limit: None,
            })
            .await
            .map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.delete_message(DeleteMessageArgs {
                id: "cd".repeat(32),
            })
            .await
            .map(drop),
            ErrorCode::UnknownMessage,
        ),
        (
            a.set_avatar(SetAvatarArgs {}, b"not an image".to_vec())
                .await
                .map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.set_avatar(SetAvatarArgs {}, huge).await.map(drop),
            ErrorCode::TooLarge,
        ),
        (
            a.set_avatar(SetAvatarArgs {}, liar).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.set_avatar(SetAvatarArgs {}, svg.to_vec()).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.blob(BlobArgs { hash: "00".into() }).await.map(drop),
            ErrorCode::BadRequest,
        ),
        (
            a.blob(BlobArgs {
                hash: "00".repeat(32),
            })
            .await
            .map(drop),
            ErrorCode::NotFound,
        ),
        (
            a.set_profile(profile(&"n".repeat(65), "")).await.map(drop),
            ErrorCode::TooLarge,
        ),
    ];
    for (i, (r, code)) in cases.into_iter().enumerate() {
        let e = r.expect_err(&format!("case {i} should fail (code {code:?})"));
        assert_eq!(e.code, code, "case {i}: {e}");
        assert!(!e.to_string().is_empty());
    }
    // Unblocking someone not blocked publishes nothing.
    let p = a.unblock(UnblockArgs { key: me }).await.unwrap();
    assert!(!p.blocked_by_me);
    assert_eq!(a.node().store().digest().unwrap(), digest);
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_network_fills_the_timeline_and_mentions_me() {
    let d = tempfile::tempdir().unwrap();
    let a = app(d.path()).await;
    a.set_profile(profile("Ada", "")).await.unwrap();
    a.start_demo(StartDemoArgs {}).await.unwrap();
    until("five named people with avatars", || {
        a.node().people().is_ok_and(|p| {
            p.len() == 5
                && p.iter()
                    .all(|p| p.followed && p.about.as_ref().is_some_and(|a| a.avatar.is_some()))
        })
    })
    .await;
    until("the demo's first screens", || {
        a.node()
            .timeline(None, 50)
            .is_ok_and(|p| p.items.len() == 50)
            && a.node().notifications(50).is_ok_and(|n| n.unread >= 3)
    })
    .await;
    let page = a
        .timeline(TimelineArgs {
            cursor: None,
            limit: Some(50),
        })
        .await
        .unwrap();
    let authors: std::collections::HashSet<_> =
        page.items.iter().map(|m| m.author_name.clone()).collect();
    assert!(authors.len() >= 3, "several people post: {authors:?}");
    let people = a.people(PeopleArgs {}).await.unwrap();
    assert_eq!(people.iter().filter(|p| p.followed).count(), 5);
    assert!(
        people
            .iter()
            .all(|p| p.name.is_some() && p.avatar.is_some())
    );
    // Avatars come over as blobs, and are images.
    let avatar = people[0].avatar.clone().unwrap();
    let mut got = None;
    for _ in 0..100 {
        if let Ok(b) = a
            .blob(BlobArgs {
                hash: avatar.clone(),
            })
            .await
        {
            got = Some(b);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = got.expect("the avatar arrives");
    assert_eq!(got.mime, "image/png");
    assert!(got.bytes.starts_with(b"\x89PNG"));
    // Mentions of me address me by name, and there are threads across people.
    let n = a
        .notifications(NotificationsArgs { limit: Some(50) })
        .await
        .unwrap();
    let text = |m: &rookery_app::view::MessageView| match &m.content {
        ContentView::Post { text, .. } => text.clone(),
        _ => String::new(),
    };
    assert!(n.items.iter().any(|i| text(&i.message).contains("@Ada")));
    let reply = page.items.iter().find_map(|m| match &m.content {
        ContentView::Post { root: Some(r), .. } => Some(r.clone()),
        _ => None,
    });
    if let Some(root) = reply {
        let t = a.thread(ThreadArgs { id: root }).await.unwrap();
        assert!(!t.replies.is_empty());
    }
    // Starting it again is a no-op.
    a.start_demo(StartDemoArgs {}).await.unwrap();
    a.shutdown().await;
}
