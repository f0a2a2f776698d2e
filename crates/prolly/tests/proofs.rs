//! Range proofs verify against a trusted root and fail when a node is removed, altered or
//! added; sparse stores report every missing node of a level at once; bad nodes in a store and
//! trees built wrongly by their author are errors, never panics.

mod common;

use rookery_prolly::{
    Error, Hash, KeyRange, MemStore, Node, NodeBytes, NodeStore, Prolly, Query, RangeProof,
    node::{Entry, Val},
    verify_range,
};

fn tree(n: u64) -> (Prolly<MemStore>, Hash) {
    let p = Prolly::new(MemStore::new());
    let root = p
        .apply(
            &Prolly::<MemStore>::empty_root(),
            (0..n).map(|i| (common::ts_key(i), Some(common::ts_value(i)))),
        )
        .unwrap();
    (p, root)
}

fn queries() -> Vec<Query> {
    vec![
        Query::new(KeyRange::all()).reverse().limit(32),
        Query::new(KeyRange::all()).limit(10),
        Query::new(KeyRange::between(
            common::ts_key(1000),
            common::ts_key(1100),
        )),
        Query::new(KeyRange::between(
            common::ts_key(1000),
            common::ts_key(3000),
        ))
        .reverse()
        .limit(50),
        // Past the end of the tree, and an empty range.
        Query::new(KeyRange::from(common::ts_key(4990)..)).limit(100),
        Query::new(KeyRange::between(common::ts_key(7), common::ts_key(7))),
    ]
}

#[test]
fn honest_proofs_verify() {
    let (p, root) = tree(5_000);
    for q in queries() {
        let (entries, proof) = p.prove_range(&root, &q).unwrap();
        let direct: Vec<_> = p.range(&root, q.clone()).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries, direct);
        assert_eq!(verify_range(&root, &q, &proof).unwrap(), direct, "{q:?}");
        assert!(
            proof.nodes.len() <= 8,
            "{} nodes for {q:?}",
            proof.nodes.len()
        );
    }
    // The empty tree needs no nodes at all.
    let empty = Prolly::<MemStore>::empty_root();
    let q = Query::new(KeyRange::all());
    assert_eq!(
        verify_range(&empty, &q, &RangeProof::default()).unwrap(),
        vec![]
    );
}

#[test]
fn tampered_proofs_fail() {
    let (p, root) = tree(5_000);
    let q = Query::new(KeyRange::all()).reverse().limit(32);
    let (_, proof) = p.prove_range(&root, &q).unwrap();
    assert!(proof.nodes.len() >= 3);

    for i in 0..proof.nodes.len() {
        let mut removed = proof.clone();
        removed.nodes.remove(i);
        assert!(
            matches!(
                verify_range(&root, &q, &removed),
                Err(Error::ProofIncomplete(_))
            ),
            "node {i} removed"
        );

        // Altered so that it still decodes (a value byte in a leaf, a count or hash byte in an
        // inner node): the hash no longer matches the parent, so the node counts as missing.
        let mut altered = proof.clone();
        let last = altered.nodes[i].len() - 1;
        altered.nodes[i][last - 1] ^= 0x01;
        assert!(
            verify_range(&root, &q, &altered).is_err(),
            "node {i} altered"
        );
    }

    // Padding with an unused node, or a node twice.
    let (_, other) = p
        .prove_range(&root, &Query::new(KeyRange::all()).limit(1))
        .unwrap();
    let mut padded = proof.clone();
    padded.nodes.push(other.nodes.last().unwrap().clone());
    assert!(matches!(
        verify_range(&root, &q, &padded),
        Err(Error::ProofExtraNode(_))
    ));
    let mut doubled = proof.clone();
    doubled.nodes.push(proof.nodes[0].clone());
    assert!(matches!(
        verify_range(&root, &q, &doubled),
        Err(Error::ProofExtraNode(_))
    ));

    // Garbage in place of a node.
    let mut junk = proof.clone();
    junk.nodes[0] = b"\x01\x00\x05junk".to_vec();
    assert!(verify_range(&root, &q, &junk).is_err());

    // A correct proof for another root.
    let other_root = p
        .apply(&root, [(common::ts_key(10_000), Some(vec![1]))])
        .unwrap();
    assert!(verify_range(&other_root, &q, &proof).is_err());
    // The right proof with a different query than was proven.
    assert!(
        verify_range(
            &root,
            &Query::new(KeyRange::all()).reverse().limit(500),
            &proof
        )
        .is_err()
    );
}

/// Copies the missing nodes from `full` into `sparse`, as a sync layer would.
fn fetch(full: &MemStore, sparse: &MemStore, ids: &[Hash]) {
    let nodes: Vec<_> = ids
        .iter()
        .map(|id| NodeBytes {
            id: *id,
            bytes: full.get(id).unwrap().unwrap(),
        })
        .collect();
    sparse.put_many(&nodes).unwrap();
}

#[test]
fn sparse_reads_name_missing_nodes_level_by_level() {
    let (full, root) = tree(30_000);
    let depth = full.stats(&root).unwrap().depth as usize;
    let sparse = Prolly::new(MemStore::new());
    let q = Query::new(KeyRange::all()).reverse().limit(200);
    let want: Vec<_> = full
        .range(&root, q.clone())
        .collect::<Result<_, _>>()
        .unwrap();

    let mut rounds = vec![];
    let got = loop {
        match sparse
            .range(&root, q.clone())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(v) => break v,
            Err(Error::MissingNodes(ids)) => {
                rounds.push(ids.len());
                fetch(full.store(), sparse.store(), &ids);
            }
            Err(e) => panic!("{e}"),
        }
        assert!(
            rounds.len() <= depth,
            "more fetch rounds than levels: {rounds:?}"
        );
    };
    assert_eq!(got, want);
    // 200 entries span several leaves: they were asked for in one batch.
    assert!(rounds.iter().any(|&n| n > 1), "{rounds:?}");
    assert!(sparse.store().len() < full.store().len() / 20);

    // count and get over the sparse store: count along the two edge paths, get along one.
    let range = KeyRange::between(common::ts_key(100), common::ts_key(20_000));
    let count = loop {
        match sparse.count(&root, &range) {
            Ok(c) => break c,
            Err(Error::MissingNodes(ids)) => fetch(full.store(), sparse.store(), &ids),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(count, 19_900);

    // A diff over a sparse store names missing nodes of both trees.
    let newer = full
        .apply(&root, (0..50).map(|i| (common::ts_key(i * 577), None)))
        .unwrap();
    let mut rounds = 0;
    let changes = loop {
        match sparse
            .diff(&root, &newer, KeyRange::all())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(c) => break c,
            Err(Error::MissingNodes(ids)) => {
                rounds += 1;
                fetch(full.store(), sparse.store(), &ids);
            }
            Err(e) => panic!("{e}"),
        }
        assert!(
            rounds <= depth + 1,
            "{rounds} rounds for a depth of {depth}"
        );
    };
    assert_eq!(changes.len(), 50);
}

#[test]
fn corrupt_stored_node_is_an_error() {
    let (p, root) = tree(3_000);
    // Swap a leaf's bytes for another leaf's under the same id.
    let (leaf_a, leaf_b) = {
        let levels = common::levels(p.store(), &root);
        let leaves = levels.last().unwrap();
        (leaves[0].0, leaves[1].0)
    };
    let wrong = p.store().get(&leaf_b).unwrap().unwrap();
    p.store().insert_raw(leaf_a, wrong);
    let all: Result<Vec<_>, _> = p.range(&root, Query::new(KeyRange::all())).collect();
    assert!(matches!(all, Err(Error::HashMismatch { expected, .. }) if expected == leaf_a));
    assert!(matches!(
        p.get(&root, &common::ts_key(0)),
        Err(Error::HashMismatch { .. })
    ));
    assert!(matches!(
        p.mutate(&root, [(common::ts_key(0), None)]),
        Err(Error::HashMismatch { .. })
    ));
}

#[test]
fn trees_built_wrongly_are_errors() {
    // An author hand-builds a root whose entry claims the wrong count or key for a leaf.
    let p = Prolly::new(MemStore::new());
    let leaf = Node {
        level: 0,
        entries: vec![
            Entry {
                key: b"a".to_vec(),
                val: Val::Leaf(vec![1]),
            },
            Entry {
                key: b"b".to_vec(),
                val: Val::Leaf(vec![2]),
            },
        ],
    };
    let bytes = leaf.encode();
    let leaf_id = Hash::of_node(&bytes);
    let mut nodes = vec![NodeBytes { id: leaf_id, bytes }];
    let mut root_with = |key: &[u8], count: u64, level: u8| {
        let root = Node {
            level,
            entries: vec![Entry {
                key: key.to_vec(),
                val: Val::Child { id: leaf_id, count },
            }],
        };
        let bytes = root.encode();
        let id = Hash::of_node(&bytes);
        nodes.push(NodeBytes { id, bytes });
        id
    };
    let bad_count = root_with(b"b", 5, 1);
    let bad_key = root_with(b"c", 2, 1);
    let bad_level = root_with(b"b", 2, 2);
    p.store().put_many(&nodes).unwrap();
    for root in [bad_count, bad_key, bad_level] {
        let r: Result<Vec<_>, _> = p.range(&root, Query::new(KeyRange::all())).collect();
        assert!(
            matches!(r, Err(Error::Inconsistent { id, .. }) if id == leaf_id),
            "{r:?}"
        );
    }
}
