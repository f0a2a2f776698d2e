//! A damaged database file — bytes flipped, pages zeroed, the file cut short — gives a clear
//! error naming the file and `rookery repair` (never a panic), and `Store::repair` leaves a
//! store that opens, whose every row verifies, and that a second repair finds clean.

use std::path::Path;

use rookery_prolly::{EMPTY_ROOT, Hash, KeyRange, Prolly, Query};
use rookery_store::{Error, Store};

fn key(i: u64) -> Vec<u8> {
    [i.to_be_bytes(), (i * 7).to_be_bytes()].concat()
}

/// A database holding one tree of many pages; its root.
fn build(path: &Path) -> Hash {
    let p = Prolly::new(Store::open(path).unwrap());
    p.apply(
        &EMPTY_ROOT,
        (0..20_000u64).map(|i| (key(i), Some(i.to_le_bytes().repeat(4)))),
    )
    .unwrap()
}

/// Every kind of damage, as (name, the file's bytes afterwards).
fn damages(full: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for tenth in 1..10 {
        let at = full.len() * tenth / 10;
        let mut flipped = full.to_vec();
        for b in &mut flipped[at..at + 64] {
            *b ^= 0xa5;
        }
        out.push((format!("64 bytes flipped at {tenth}/10"), flipped));
        let page = at / 4096 * 4096;
        let mut zeroed = full.to_vec();
        zeroed[page..page + 4096].fill(0);
        out.push((format!("page zeroed at {tenth}/10"), zeroed));
    }
    // The header and the first pages, where redb keeps its roots.
    for at in [0, 64, 512, 4096] {
        let mut flipped = full.to_vec();
        for b in &mut flipped[at..at + 32] {
            *b ^= 0xff;
        }
        out.push((format!("32 bytes flipped at byte {at}"), flipped));
    }
    out.push(("cut in half".into(), full[..full.len() / 2].to_vec()));
    out
}

/// An error with its causes, as the CLI prints it.
fn said(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}

/// What a command would do with the store: each is Ok or a clear error.
fn use_store(path: &Path, root: &Hash) -> Vec<Result<(), String>> {
    let open = match Store::open(path) {
        Ok(s) => s,
        Err(e) => return vec![Err(said(&e))],
    };
    let p = Prolly::new(open);
    let mut results = vec![
        p.store().node_count().map(drop).map_err(|e| said(&e)),
        p.store().schema_version().map(drop).map_err(|e| said(&e)),
        p.store().settings().map(drop).map_err(|e| said(&e)),
        p.store().heads().map(drop).map_err(|e| said(&e)),
    ];
    let all: Result<Vec<_>, _> = p.range(root, Query::new(KeyRange::all())).collect();
    results.push(all.map(drop).map_err(|e| said(&e)));
    results.push(
        p.apply(root, [(key(1), Some(b"new".to_vec()))])
            .map(drop)
            .map_err(|e| said(&e)),
    );
    results
}

#[test]
fn damaged_files_give_a_clear_error_and_repair_leaves_a_store_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rookery.redb");
    let root = build(&path);
    let full = std::fs::read(&path).unwrap();
    let mut detected = 0;
    for (what, bytes) in damages(&full) {
        let _ = std::fs::remove_dir_all(dir.path().join("case"));
        std::fs::create_dir(dir.path().join("case")).unwrap();
        let case = dir.path().join("case/rookery.redb");
        std::fs::write(&case, &bytes).unwrap();
        let used = std::panic::catch_unwind(|| use_store(&case, &root))
            .unwrap_or_else(|_| panic!("{what}: a store operation panicked"));
        for r in &used {
            if let Err(e) = r {
                // redb's own report, or a node that no longer hashes to its id, or (an entry
                // of the index by id damaged) a node not found, which sync fetches again and
                // a repair finds by deriving the index from the values: either way the
                // message says what is wrong; redb's names the file and the way out.
                assert!(
                    (e.contains(&case.display().to_string()) && e.contains("rookery repair"))
                        || e.contains("could not open the database")
                        || e.contains("hash")
                        || e.contains("missing"),
                    "{what}: {e}"
                );
            }
        }
        if used.iter().any(Result::is_err) {
            detected += 1;
        }
        let before = std::fs::read(&case).unwrap();
        let report = std::panic::catch_unwind(|| Store::repair(&case))
            .unwrap_or_else(|_| panic!("{what}: repair panicked"))
            .unwrap_or_else(|e| panic!("{what}: repair failed: {e}"));
        // The repaired store opens and every operation works; the tree reads whole or names
        // the nodes to fetch again, never bytes that do not verify.
        let store = Store::open(&case).unwrap_or_else(|e| panic!("{what}: {e}"));
        store.node_count().unwrap();
        store.settings().unwrap();
        store.heads().unwrap();
        let p = Prolly::new(store);
        let read: Result<Vec<_>, _> = p.range(&root, Query::new(KeyRange::all())).collect();
        match read {
            Ok(rows) => assert_eq!(rows.len(), 20_000, "{what}"),
            Err(rookery_prolly::Error::MissingNodes(_)) => {
                assert!(
                    report.found_damage(),
                    "{what}: nodes went missing unreported"
                )
            }
            Err(e) => panic!("{what}: after repair: {e}"),
        }
        drop(p);
        let again = Store::repair(&case).unwrap();
        assert!(
            !again.found_damage(),
            "{what}: a second repair found {again:?}"
        );
        assert_eq!(
            report.original_kept.is_some(),
            report.found_damage(),
            "{what}"
        );
        if let Some(aside) = &report.original_kept {
            // The file as it was is kept beside, byte for byte.
            assert!(
                std::fs::read(aside).unwrap() == before,
                "{what}: not kept as it was"
            );
        }
    }
    // Most of these damages are seen by the first operation that meets them.
    assert!(detected >= 10, "only {detected} damages were noticed");
}

#[test]
fn a_damaged_index_is_derived_again_from_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rookery.redb");
    let root = build(&path);
    // Entries of the index by id lost, and one pointing elsewhere; the values are intact.
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut ids = txn
                .open_table(redb::TableDefinition::<&[u8; 32], u64>::new("node_ids"))
                .unwrap();
            let keys: Vec<[u8; 32]> = {
                use redb::ReadableTable;
                ids.iter().unwrap().map(|r| *r.unwrap().0.value()).collect()
            };
            for k in keys.iter().step_by(7) {
                ids.remove(k).unwrap();
            }
            ids.insert(&keys[1], 0).unwrap();
        }
        txn.commit().unwrap();
    }
    let p = Prolly::new(Store::open(&path).unwrap());
    let read: Result<Vec<_>, _> = p.range(&root, Query::new(KeyRange::all())).collect();
    assert!(read.is_err());
    drop(p);
    let report = Store::repair(&path).unwrap();
    assert_eq!(report.indexes_rebuilt, 1, "{report:?}");
    assert_eq!(report.nodes_dropped, 0, "{report:?}");
    // Every node is found again: nothing was lost.
    let p = Prolly::new(Store::open(&path).unwrap());
    let rows: Vec<_> = p
        .range(&root, Query::new(KeyRange::all()))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 20_000);
    drop(p);
    assert!(!Store::repair(&path).unwrap().found_damage());
}

#[test]
fn repair_of_a_sound_store_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rookery.redb");
    let root = build(&path);
    let report = Store::repair(&path).unwrap();
    assert!(!report.found_damage(), "{report:?}");
    assert!(report.rows_checked > 0);
    // No copy is left behind when nothing was wrong.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let p = Prolly::new(Store::open(&path).unwrap());
    let rows: Vec<_> = p
        .range(&root, Query::new(KeyRange::all()))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 20_000);
}

#[test]
fn a_file_that_is_not_a_database_is_kept_beside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rookery.redb");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    let report = Store::repair(&path).unwrap();
    assert!(report.rebuilt);
    let aside = report.original_kept.expect("kept beside");
    assert!(std::fs::read(aside).unwrap() == vec![0x5a; 8192]);
    Store::open(&path).unwrap();
}

#[test]
fn a_body_under_another_id_is_never_handed_out() {
    use rookery_feed::{Content, Message, Post, SecretKey, SignedMessage};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rookery.redb");
    let k = SecretKey::from_bytes(&[3; 32]);
    let post = |seq: u64| {
        let m = Message {
            author: k.public(),
            seq,
            timestamp_ms: seq,
            content: Content::Post(Post {
                text: format!("post {seq}"),
                mentions: vec![],
                reply: None,
            }),
        };
        SignedMessage::sign(m, &k).unwrap()
    };
    let (a, b) = (post(1), post(2));
    let store = Store::open(&path).unwrap();
    store.import_bodies(&[a.clone(), b.clone()]).unwrap();
    // As stored, and checked against their ids: the very signed bytes.
    let ids = [a.id(), b.id(), post(3).id()];
    let got = store.body_bytes(&ids).unwrap();
    assert_eq!(got[0].as_deref(), Some(a.bytes()));
    assert_eq!(got[1].as_deref(), Some(b.bytes()));
    assert_eq!(got[2], None);
    drop(store);
    // A's entry in the index by id now points at B's bytes.
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut ids = txn
                .open_table(redb::TableDefinition::<&[u8; 32], u64>::new("body_ids"))
                .unwrap();
            let at_b = {
                use redb::ReadableTable;
                ids.get(b.id().as_bytes()).unwrap().unwrap().value()
            };
            ids.insert(a.id().as_bytes(), at_b).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let err = store.body_bytes(&[a.id()]).unwrap_err();
    assert!(said(&err).contains("not under its id"), "{}", said(&err));
    assert!(store.bodies(&[a.id()]).is_err());
    // B itself is still handed out as it is.
    assert_eq!(
        store.body_bytes(&[b.id()]).unwrap()[0].as_deref(),
        Some(b.bytes())
    );
}
