//! The redb store: trees survive a close and reopen, imports are verified all-or-nothing, and
//! bad files are refused with a clear error.

use rookery_prolly::EMPTY_ROOT;
use rookery_prolly::{Hash, KeyRange, MemStore, Node, NodeBytes, NodeStore, Prolly, Query};
use rookery_store::{Error, SCHEMA_VERSION, Store};

fn key(i: u64) -> Vec<u8> {
    [i.to_be_bytes(), (i * 3).to_be_bytes()].concat()
}

#[test]
fn tree_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rookery.redb");
    let entries: Vec<_> = (0..20_000u64)
        .map(|i| (key(i), i.to_le_bytes().to_vec()))
        .collect();
    let root = {
        let p = Prolly::new(Store::open(&path).unwrap());
        let root = p
            .apply(
                &EMPTY_ROOT,
                entries.iter().map(|(k, v)| (k.clone(), Some(v.clone()))),
            )
            .unwrap();
        // One more small batch on top, as a later session would.
        p.apply(&root, [(key(5), Some(b"five".to_vec())), (key(6), None)])
            .unwrap()
    };
    let p = Prolly::new(Store::open(&path).unwrap());
    assert_eq!(p.store().schema_version().unwrap(), SCHEMA_VERSION);
    let got: Vec<_> = p
        .range(&root, Query::new(KeyRange::all()))
        .collect::<Result<_, _>>()
        .unwrap();
    let mut want = entries.clone();
    want[5].1 = b"five".to_vec();
    want.remove(6);
    assert_eq!(got, want);
    assert_eq!(p.get(&root, &key(5)).unwrap(), Some(b"five".to_vec()));
    // The same set built in memory gives the same root: the store does not change the tree.
    let mem = Prolly::new(MemStore::new());
    assert_eq!(
        mem.apply(&EMPTY_ROOT, want.into_iter().map(|(k, v)| (k, Some(v))))
            .unwrap(),
        root
    );
}

#[test]
fn import_is_verified_and_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let src = Prolly::new(MemStore::new());
    let m = src
        .mutate(
            &EMPTY_ROOT,
            (0..2_000u64).map(|i| (key(i), Some(vec![1; 8]))),
        )
        .unwrap();
    assert!(m.nodes.len() > 3);

    // One node's bytes altered: the batch is refused, nothing lands.
    let mut bad = m.nodes.clone();
    let last = bad.len() - 1;
    bad[last].bytes[5] ^= 1;
    assert!(matches!(
        store.import_nodes(&bad),
        Err(Error::BadNode(rookery_prolly::Error::HashMismatch { .. }))
    ));
    assert_eq!(store.node_count().unwrap(), 0);

    // Bytes that hash right but are not a node.
    let junk = b"not a node".to_vec();
    let junk = NodeBytes {
        id: Hash::of_node(&junk),
        bytes: junk,
    };
    assert!(matches!(
        store.import_nodes(&[m.nodes[0].clone(), junk]),
        Err(Error::BadNode(rookery_prolly::Error::Decode { .. }))
    ));
    assert_eq!(store.node_count().unwrap(), 0);

    // A hand-made node that decodes but was not chunked canonically (two leaves glued).
    let leaves: Vec<Node> = m
        .nodes
        .iter()
        .map(|n| Node::decode(&n.bytes).unwrap())
        .filter(|n| n.is_leaf())
        .collect();
    let glued = Node {
        level: 0,
        entries: [leaves[0].entries.clone(), leaves[1].entries.clone()].concat(),
    };
    let bytes = glued.encode();
    let glued = NodeBytes {
        id: Hash::of_node(&bytes),
        bytes,
    };
    assert!(matches!(
        store.import_nodes(&[glued]),
        Err(Error::BadNode(rookery_prolly::Error::Decode {
            source: rookery_prolly::DecodeError::InteriorBoundary { .. },
            ..
        }))
    ));

    store.import_nodes(&m.nodes).unwrap();
    assert_eq!(store.node_count().unwrap(), m.nodes.len() as u64);
    let p = Prolly::new(store);
    assert_eq!(p.count(&m.root, &KeyRange::all()).unwrap(), 2_000);
}

#[test]
fn wrong_bytes_under_an_id_are_caught_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let p = Prolly::new(MemStore::new());
    let root = p
        .apply(&EMPTY_ROOT, [(b"a".to_vec(), Some(b"1".to_vec()))])
        .unwrap();
    let other = Node::empty().encode();
    // Written unchecked, as a disk corruption would.
    store
        .put_many(&[NodeBytes {
            id: root,
            bytes: other,
        }])
        .unwrap();
    let p = Prolly::new(store);
    assert!(matches!(
        p.get(&root, b"a"),
        Err(rookery_prolly::Error::HashMismatch { .. })
    ));
    // The right node, fetched again, replaces the wrong bytes.
    let right = Prolly::new(MemStore::new());
    let m = right
        .mutate(&EMPTY_ROOT, [(b"a".to_vec(), Some(b"1".to_vec()))])
        .unwrap();
    p.store().import_nodes(&m.nodes).unwrap();
    assert_eq!(p.store().node_count().unwrap(), 1);
    assert_eq!(p.get(&root, b"a").unwrap(), Some(b"1".to_vec()));
}

/// A signed post by `key` at `seq`.
fn post(key: &rookery_feed::SecretKey, seq: u64, text: String) -> rookery_feed::SignedMessage {
    use rookery_feed::{Content, Message, Post, SignedMessage};
    let m = Message {
        author: key.public(),
        seq,
        timestamp_ms: seq,
        content: Content::Post(Post {
            text,
            mentions: vec![],
            reply: None,
        }),
    };
    SignedMessage::sign(m, key).unwrap()
}

#[test]
fn a_version_3_database_moves_its_nodes_and_bodies_into_logs() {
    use redb::{ReadableDatabase, TableHandle};
    // Written as schema 3 left them: nodes and bodies keyed by id.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let author = rookery_feed::SecretKey::from_bytes(&[4; 32]);
    let bodies: Vec<_> = (1..=50)
        .map(|s| post(&author, s, format!("post {s}")))
        .collect();
    let p = Prolly::new(MemStore::new());
    let m = p
        .mutate(
            &EMPTY_ROOT,
            (0..3_000u64).map(|i| (key(i), Some(vec![6; 8]))),
        )
        .unwrap();
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", 3)
            .unwrap();
        {
            let keyed = |name| redb::TableDefinition::<&[u8; 32], &[u8]>::new(name);
            let mut nodes = txn.open_table(keyed("nodes")).unwrap();
            for n in &m.nodes {
                nodes.insert(n.id.as_bytes(), n.bytes.as_slice()).unwrap();
            }
            let mut t = txn.open_table(keyed("bodies")).unwrap();
            for b in &bodies {
                t.insert(b.id().as_bytes(), b.bytes()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // Through 4 → 5 too: the mutes table is there, empty, and takes a mute.
    assert!(store.muted().unwrap().is_empty());
    let thread = rookery_store::Muted::Thread(bodies[0].id());
    assert!(store.set_muted(thread, true).unwrap());
    assert_eq!(store.muted().unwrap(), [thread]);
    assert!(store.set_muted(thread, false).unwrap());
    assert!(store.bookmarks().unwrap().is_empty());
    assert!(store.set_bookmark(&bodies[1].id(), Some(7)).unwrap());
    assert!(
        !store.set_bookmark(&bodies[1].id(), Some(9)).unwrap(),
        "kept, with its time"
    );
    assert!(store.set_bookmark(&bodies[2].id(), Some(8)).unwrap());
    assert_eq!(
        store.bookmarks().unwrap(),
        [(bodies[2].id(), 8), (bodies[1].id(), 7)]
    );
    assert_eq!(store.node_count().unwrap(), m.nodes.len() as u64);
    let ids: Vec<_> = bodies.iter().map(|b| b.id()).collect();
    let got = store.bodies(&ids).unwrap();
    assert!(got.iter().zip(&bodies).all(|(g, b)| g.as_ref() == Some(b)));
    let space = store.space().unwrap();
    assert_eq!(
        (space.nodes.entries, space.bodies.entries),
        (m.nodes.len() as u64, 50)
    );
    drop(store);
    // The old tables are gone.
    let db = redb::Database::create(&path).unwrap();
    let names: Vec<String> = db
        .begin_read()
        .unwrap()
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    assert!(
        !names.iter().any(|n| n == "nodes" || n == "bodies"),
        "{names:?}"
    );
    drop(db);
    let p = Prolly::new(Store::open(&path).unwrap());
    assert_eq!(p.count(&m.root, &KeyRange::all()).unwrap(), 3_000);
}

#[test]
fn bodies_taken_in_many_imports_fill_their_pages() {
    // Keyed by arrival, bodies land on the rightmost page: taken in 20 transactions, the
    // pages of the log and its index are mostly full (keyed by id they were a third empty).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let key = rookery_feed::SecretKey::from_bytes(&[8; 32]);
    let all: Vec<_> = (1..=4_000)
        .map(|s| {
            post(
                &key,
                s,
                format!("post number {s} ").repeat(1 + (s % 20) as usize),
            )
        })
        .collect();
    for chunk in all.chunks(200) {
        store.import_bodies(chunk).unwrap();
    }
    // Taking the same bodies again adds nothing.
    store.import_bodies(&all[..100]).unwrap();
    let b = store.space().unwrap().bodies;
    assert_eq!(b.entries, 4_000);
    assert!(
        b.fragmented * 10 < b.total(),
        "{} of {} bytes empty",
        b.fragmented,
        b.total()
    );
}

#[test]
fn corrupt_or_foreign_files_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let garbage = vec![0x5a; 8192];
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    assert!(err.to_string().contains("could not open the database"));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);

    let err = Store::open(dir.path().join("no/such/dir/db")).unwrap_err();
    assert!(matches!(err, Error::Open { .. }));
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", SCHEMA_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    assert!(
        matches!(Store::open(&path), Err(Error::SchemaTooNew { found, .. }) if found == SCHEMA_VERSION + 1)
    );
}

#[test]
fn a_version_1_database_is_migrated_and_keeps_its_nodes() {
    // Write a database exactly as schema version 1 left it: `meta` and `nodes` only.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let p = Prolly::new(MemStore::new());
    let m = p
        .mutate(&EMPTY_ROOT, (0..500u64).map(|i| (key(i), Some(vec![2; 4]))))
        .unwrap();
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", 1)
            .unwrap();
        {
            let mut nodes = txn
                .open_table(redb::TableDefinition::<&[u8; 32], &[u8]>::new("nodes"))
                .unwrap();
            for n in &m.nodes {
                nodes.insert(n.id.as_bytes(), n.bytes.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // The tables of version 2 exist and answer.
    let someone = rookery_feed::SecretKey::from_bytes(&[5; 32]).public();
    assert_eq!(store.head(&someone).unwrap(), None);
    assert!(store.blocked().unwrap().is_empty());
    let p = Prolly::new(store);
    assert_eq!(p.count(&m.root, &KeyRange::all()).unwrap(), 500);
}

#[test]
fn a_version_2_database_is_migrated_into_typed_tables() {
    use rookery_feed::{Index, MessageId, SecretKey};
    // Write a database as schema 2 left it: the feed tables and the untyped `settings`, with one
    // row of every kind a build of that schema wrote.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let author = SecretKey::from_bytes(&[9; 32]).public();
    let read = MessageId([3; 32]);
    let root = [4u8; 32];
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", 2)
            .unwrap();
        {
            let mut t = txn
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("settings"))
                .unwrap();
            t.insert("relays", b"off".as_slice()).unwrap();
            t.insert("notifications", b"off".as_slice()).unwrap();
            t.insert("net.port", b"40123".as_slice()).unwrap();
            t.insert("demo.ready", b"1".as_slice()).unwrap();
            t.insert(format!("read/{read}").as_str(), b"1".as_slice())
                .unwrap();
            let done = format!("complete/{author}/mentions");
            t.insert(done.as_str(), root.as_slice()).unwrap();
            t.insert("read/not-hex", b"1".as_slice()).unwrap();
        }
        for name in ["nodes", "bodies", "heads", "peers", "forks"] {
            txn.open_table(redb::TableDefinition::<&[u8; 32], &[u8]>::new(name))
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let s = store.settings().unwrap();
    assert_eq!(
        (s.relays, s.notifications, s.udp_port),
        (false, false, Some(40123))
    );
    assert_eq!(s.notify, rookery_store::NotifyKinds::default());
    assert!(store.demo_state().unwrap().ready);
    assert_eq!(
        store.are_read(&[read, MessageId([5; 32])]).unwrap(),
        vec![true, false]
    );
    assert_eq!(
        store.backfilled(&author, Index::Mentions).unwrap(),
        Some(Hash(root))
    );
    assert_eq!(store.backfilled(&author, Index::Messages).unwrap(), None);
    // Opening again runs nothing more and changes nothing.
    let digest = store.digest().unwrap();
    drop(store);
    assert_eq!(Store::open(&path).unwrap().digest().unwrap(), digest);
}

#[test]
fn a_version_4_database_keeps_its_settings_and_gains_the_notification_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap()
            .insert("schema_version", 4)
            .unwrap();
        // Schema 4's row: relays off, notifications on, a port (postcard, field by field).
        let row = postcard::to_allocvec(&(false, true, Some(40123u16))).unwrap();
        txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("local_settings"))
            .unwrap()
            .insert("settings", row.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let s = store.settings().unwrap();
    assert_eq!(
        (s.relays, s.notifications, s.udp_port),
        (false, true, Some(40123))
    );
    assert_eq!(s.notify, rookery_store::NotifyKinds::default());
    let s = store.update_settings(|s| s.notify.follows = false).unwrap();
    drop(store);
    assert_eq!(Store::open(&path).unwrap().settings().unwrap(), s);
}

#[test]
fn publish_refuses_a_seq_gap_and_stores_nothing() {
    use rookery_feed::{Content, Head, Message, Post, Roots, SecretKey, SignedHead, SignedMessage};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let key = SecretKey::from_bytes(&[9; 32]);
    let signed = |seq: u64| {
        let m = Message {
            author: key.public(),
            seq,
            timestamp_ms: seq,
            content: Content::Post(Post {
                text: format!("{seq}"),
                mentions: vec![],
                reply: None,
            }),
        };
        let m = SignedMessage::sign(m, &key).unwrap();
        let h = Head {
            author: key.public(),
            seq,
            timestamp_ms: seq,
            roots: Roots::empty(),
            about: None,
        };
        (m, SignedHead::sign(h, &key).unwrap())
    };
    let (m1, h1) = signed(1);
    store
        .publish(&rookery_store::Published {
            nodes: &[],
            message: &m1,
            head: &h1,
            deleted_block: None,
        })
        .unwrap();
    let (m3, h3) = signed(3);
    let err = store
        .publish(&rookery_store::Published {
            nodes: &[],
            message: &m3,
            head: &h3,
            deleted_block: None,
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Feed(rookery_feed::FeedError::SeqGap {
                expected: 2,
                got: 3
            })
        ),
        "{err}"
    );
    assert_eq!(store.head(&key.public()).unwrap(), Some(h1));
    assert_eq!(store.body(&m3.id()).unwrap(), None);
}

#[test]
fn truncated_files_give_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let p = Prolly::new(Store::open(&path).unwrap());
        p.apply(
            &EMPTY_ROOT,
            (0..5_000u64).map(|i| (key(i), Some(vec![3; 16]))),
        )
        .unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    for keep in [
        0,
        1,
        16,
        512,
        4096,
        full.len() / 3,
        full.len() / 2,
        full.len() - 1,
    ] {
        std::fs::write(&path, &full[..keep]).unwrap();
        // Whatever redb makes of a cut file, opening it is an error or a usable store, never a
        // panic; an error names the file.
        let opened = std::panic::catch_unwind(|| Store::open(&path));
        match opened {
            Err(_) => panic!("opening a file cut to {keep} bytes panicked"),
            Ok(Err(e)) => assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
            Ok(Ok(store)) => {
                let _ = store.node_count();
            }
        }
    }
}

#[test]
fn held_seqs_and_heads_by_prefix_read_in_one_go() {
    use rookery_feed::{Head, Roots, SecretKey, SignedHead};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let signed = |k: &SecretKey, seq: u64| {
        let h = Head {
            author: k.public(),
            seq,
            timestamp_ms: seq,
            roots: Roots::empty(),
            about: None,
        };
        SignedHead::sign(h, k).unwrap()
    };
    let (a, b, c) = (
        SecretKey::from_bytes(&[1; 32]),
        SecretKey::from_bytes(&[2; 32]),
        SecretKey::from_bytes(&[3; 32]),
    );
    store.import(&signed(&a, 7), &[], &[]).unwrap();
    // B's head taken alone (its trees not fetched): named as nothing held.
    store.import_new_heads(&[signed(&b, 4)], &[], &[]).unwrap();
    let keys = [a.public(), b.public(), c.public()];
    assert_eq!(store.held_seqs(&keys).unwrap(), vec![7, 0, 0]);
    let prefix = |k: &SecretKey| -> [u8; 16] { k.public().as_bytes()[..16].try_into().unwrap() };
    let found = store
        .heads_by_prefix(&[prefix(&a), prefix(&c), prefix(&b)], 4)
        .unwrap();
    let seqs: Vec<Vec<u64>> = found
        .iter()
        .map(|hs| hs.iter().map(|h| h.head().seq).collect())
        .collect();
    assert_eq!(seqs, vec![vec![7], vec![], vec![4]]);
    assert!(store.heads_by_prefix(&[prefix(&a)], 0).unwrap()[0].is_empty());
}
