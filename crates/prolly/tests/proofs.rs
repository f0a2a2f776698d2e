//! Range proofs verify against a trusted root and fail when a node is removed, altered or
//! added; sparse stores report every missing node of a level at once; bad nodes in a store and
//! trees built wrongly by their author are errors, never panics.

mod common;

use rookery_prolly::EMPTY_ROOT;
use rookery_prolly::{
    Error, Hash, KeyRange, MemStore, Node, NodeBytes, NodeStore, Prolly, Query, RangeProof,
    node::{Entry, Val},
    verify_range,
};

fn tree(n: u64) -> (Prolly<MemStore>, Hash) {
    let p = Prolly::new(MemStore::new());
    let root = p
        .apply(
            &EMPTY_ROOT,
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
    let empty = EMPTY_ROOT;
    let q = Query::new(KeyRange::all());
    assert_eq!(
        verify_range(&empty, &q, &RangeProof::default()).unwrap(),
        vec![]
    );
}

/// A range wholly after every key is answered from the root alone, in either direction: the
/// root's entries (each child's largest key) already show it is empty. A reverse scan used to
/// descend into the last child anyway, so it needed nodes that a diff over the same range
/// (which stops at the root) never fetched. Before every key, both directions need the path
/// to the first key (a child's smallest key is not in its parent), and the same one.
#[test]
fn empty_ranges_need_the_same_nodes_either_way() {
    let (p, root) = tree(5_000);
    let after = common::ts_key(6_000);
    let before = vec![0u8; 4];
    let ranges = [
        (KeyRange::from(after.clone()..), 1),
        (KeyRange::between(after, common::ts_key(7_000)), 1),
        (KeyRange::between(vec![], before.clone()), 3),
        (KeyRange::from(..=before), 3),
    ];
    for (range, nodes) in ranges {
        for q in [
            Query::new(range.clone()),
            Query::new(range.clone()).reverse(),
            Query::new(range.clone()).reverse().limit(1),
        ] {
            let (entries, proof) = p.prove_range(&root, &q).unwrap();
            assert!(entries.is_empty());
            assert_eq!(proof.nodes.len(), nodes, "{q:?}");
            assert_eq!(verify_range(&root, &q, &proof).unwrap(), vec![]);
        }
        let diff = p.diff(&EMPTY_ROOT, &root, range.clone());
        assert_eq!(diff.count(), 0);
    }
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

/// Runs `read` against the sparse store until it succeeds, fetching what each failure names
/// from the full store; returns the answer and how many nodes each fetch round asked for.
fn until_complete<T>(
    full: &MemStore,
    sparse: &MemStore,
    mut read: impl FnMut() -> Result<T, Error>,
) -> (T, Vec<usize>) {
    let mut rounds = vec![];
    loop {
        match read() {
            Ok(v) => return (v, rounds),
            Err(Error::MissingNodes(ids)) => {
                rounds.push(ids.len());
                fetch(full, sparse, &ids);
            }
            Err(e) => panic!("{e}"),
        }
        assert!(rounds.len() < 64, "no progress");
    }
}

#[test]
fn sparse_reads_name_missing_nodes_level_by_level() {
    let (full, root) = tree(30_000);
    let depth = full.stats(&root).unwrap().depth as usize;
    let sparse = Prolly::new(MemStore::new());
    let (f, s) = (full.store(), sparse.store());
    let q = Query::new(KeyRange::all()).reverse().limit(200);
    let scan = |p: &Prolly<MemStore>| p.range(&root, q.clone()).collect::<Result<Vec<_>, _>>();

    let (got, rounds) = until_complete(f, s, || scan(&sparse));
    assert_eq!(got, scan(&full).unwrap());
    assert!(
        rounds.len() <= depth,
        "more fetch rounds than levels: {rounds:?}"
    );
    // 200 entries span several leaves: they were asked for in one batch.
    assert!(rounds.iter().any(|&n| n > 1), "{rounds:?}");
    assert!(s.len() < f.len() / 20);

    // count over the sparse store reads the two edge paths of the range.
    let range = KeyRange::between(common::ts_key(100), common::ts_key(20_000));
    let (count, _) = until_complete(f, s, || sparse.count(&root, &range));
    assert_eq!(count, 19_900);

    // A diff over a sparse store names the missing nodes of both trees, a level at a time.
    let newer = full
        .apply(&root, (0..50).map(|i| (common::ts_key(i * 577), None)))
        .unwrap();
    let diff = |p: &Prolly<MemStore>| {
        p.diff(&root, &newer, KeyRange::all())
            .collect::<Result<Vec<_>, _>>()
    };
    let (changes, rounds) = until_complete(f, s, || diff(&sparse));
    assert!(
        rounds.len() <= depth + 1,
        "{rounds:?} for a depth of {depth}"
    );
    assert_eq!(changes.len(), 50);
}

#[test]
fn sparse_diff_between_trees_of_different_heights() {
    let (full, big) = tree(30_000);
    let small = full
        .apply(
            &EMPTY_ROOT,
            (0..500).map(|i| (common::ts_key(i * 60), Some(common::ts_value(i)))),
        )
        .unwrap();
    let depth = |r| full.stats(r).unwrap().depth as usize;
    assert!(depth(&big) > depth(&small));
    let sparse = Prolly::new(MemStore::new());
    let diff = |p: &Prolly<MemStore>| {
        p.diff(&small, &big, KeyRange::all())
            .collect::<Result<Vec<_>, _>>()
    };
    let (got, rounds) = until_complete(full.store(), sparse.store(), || diff(&sparse));
    assert!(rounds.len() <= depth(&big) + 1, "{rounds:?}");
    assert_eq!(got, diff(&full).unwrap());
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

/// A key that the chunking rule makes a boundary at `level` (and so at every level below).
fn boundary_key(prefix: &str, level: u32) -> Vec<u8> {
    (0u32..)
        .map(|n| format!("{prefix}{n}").into_bytes())
        .find(|k| {
            let mut h = blake3::Hasher::new();
            h.update(b"rookery/prolly/key/v1\0").update(k);
            let first = u64::from_be_bytes(h.finalize().as_bytes()[..8].try_into().unwrap());
            first.leading_zeros() >= 5 * (level + 1)
        })
        .unwrap()
}

/// Encodes nodes by hand, as a hostile author could, and stores them unchecked.
struct Author {
    nodes: Vec<NodeBytes>,
}

impl Author {
    fn leaf(&mut self, keys: &[&[u8]]) -> (Hash, Entry) {
        let entries = keys
            .iter()
            .map(|k| Entry {
                key: k.to_vec(),
                val: Val::Leaf(vec![1]),
            })
            .collect();
        self.node(Node { level: 0, entries })
    }

    fn inner(&mut self, level: u8, children: &[(Hash, Entry)]) -> (Hash, Entry) {
        let entries = children.iter().map(|(_, e)| e.clone()).collect();
        self.node(Node { level, entries })
    }

    fn node(&mut self, node: Node) -> (Hash, Entry) {
        let bytes = node.encode();
        let id = Hash::of_node(&bytes);
        let entry = Entry {
            key: node.last_key().unwrap().to_vec(),
            val: Val::Child {
                id,
                count: node.checked_count().unwrap(),
            },
        };
        self.nodes.push(NodeBytes { id, bytes });
        (id, entry)
    }
}

fn scan(p: &Prolly<MemStore>, root: &Hash) -> Result<Vec<rookery_prolly::KeyValue>, Error> {
    p.range(root, Query::new(KeyRange::all())).collect()
}

#[test]
fn trees_built_wrongly_are_errors() {
    let p = Prolly::new(MemStore::new());
    let mut a = Author { nodes: vec![] };
    let b0 = boundary_key("b", 0);
    let (leaf_id, leaf) = a.leaf(&[b"a", &b0]);
    let (_, tail) = a.leaf(&[b"e"]);

    // A root whose entry for a leaf claims the wrong count, largest key or level.
    let lie = |count: u64, key: &[u8]| {
        (
            leaf_id,
            Entry {
                key: key.to_vec(),
                val: Val::Child { id: leaf_id, count },
            },
        )
    };
    let (bad_count, _) = a.inner(1, &[lie(5, &b0), (Hash([0; 32]), tail.clone())]);
    let (bad_key, _) = a.inner(1, &[lie(2, b"c"), (Hash([0; 32]), tail.clone())]);
    let (bad_level, _) = a.inner(2, &[lie(2, &b0), (Hash([0; 32]), tail.clone())]);
    // A leaf that ends on a key the chunking rule does not end a node at, not at the tree's end.
    let (early_id, early) = a.leaf(&[b"a", b"b"]);
    let (early_root, _) = a.inner(1, &[(early_id, early), (Hash([0; 32]), tail.clone())]);
    // An inner root with one child: the child should have been the root.
    let (lonely_root, _) = a.inner(1, &[(leaf_id, leaf.clone())]);
    // Subtrees that overlap across parents: the second parent's first leaf starts below the
    // first parent's largest key. Every node is well formed on its own.
    let m = boundary_key("m", 1);
    let a_leaf = a.leaf(&[&m]);
    let a_parent = a.inner(1, &[a_leaf]);
    let o = boundary_key("o", 0);
    let (overlap_id, overlap) = a.leaf(&[b"a", &o]);
    let z = a.leaf(&[b"z"]);
    let b_parent = a.inner(1, &[(overlap_id, overlap), z]);
    let (overlap_root, _) = a.inner(2, &[a_parent, b_parent]);
    p.store().put_many(&a.nodes).unwrap();

    let cases = [
        (bad_count, leaf_id, b"a".as_slice()),
        (bad_key, leaf_id, b"a"),
        (bad_level, leaf_id, b"a"),
        (early_root, early_id, b"a"),
        (lonely_root, lonely_root, b"a"),
        (overlap_root, overlap_id, b"n"),
    ];
    for (root, culprit, probe) in cases {
        let r = scan(&p, &root);
        assert!(
            matches!(&r, Err(Error::Inconsistent { id, .. }) if *id == culprit),
            "{r:?}"
        );
        // Reads and mutations that pass through the bad node meet the same error; none panics.
        assert!(matches!(
            p.get(&root, probe),
            Err(Error::Inconsistent { .. })
        ));
        assert!(matches!(
            p.mutate(&root, [(probe.to_vec(), None)]),
            Err(Error::Inconsistent { .. })
        ));
    }
}

#[test]
fn subtree_counts_that_overflow_are_errors() {
    // A hostile root whose counts sum to exactly u64::MAX decodes; adding one entry under it
    // must fail cleanly rather than overflow.
    let p = Prolly::new(MemStore::new());
    let mut a = Author { nodes: vec![] };
    let b0 = boundary_key("b", 0);
    let (lid, l) = a.leaf(&[&b0]);
    let (rid, r) = a.leaf(&[b"z"]);
    let big = (
        lid,
        Entry {
            key: l.key.clone(),
            val: Val::Child {
                id: lid,
                count: u64::MAX - 1,
            },
        },
    );
    let (root, _) = a.inner(1, &[big, (rid, r)]);
    p.store().put_many(&a.nodes).unwrap();
    assert!(matches!(
        p.mutate(&root, [(b"zz".to_vec(), Some(vec![]))]),
        Err(Error::Inconsistent { .. })
    ));
}

#[test]
fn missing_nodes_error_displays() {
    assert_eq!(
        Error::MissingNodes(vec![]).to_string(),
        "0 tree node(s) missing"
    );
}

/// A store whose reads or writes fail on demand, like a disk that errors.
struct Faulty {
    inner: MemStore,
    fail_get_after: std::cell::Cell<Option<usize>>,
    fail_put: bool,
}

impl NodeStore for Faulty {
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, rookery_prolly::StoreError> {
        match self.fail_get_after.get() {
            Some(0) => Err(std::io::Error::other("disk read failed").into()),
            Some(n) => {
                self.fail_get_after.set(Some(n - 1));
                self.inner.get(id)
            }
            None => self.inner.get(id),
        }
    }

    fn put_many(&self, nodes: &[NodeBytes]) -> Result<(), rookery_prolly::StoreError> {
        if self.fail_put {
            return Err(std::io::Error::other("disk full").into());
        }
        self.inner.put_many(nodes)
    }
}

#[test]
fn store_failures_are_errors_and_change_nothing() {
    let (p, root) = tree(5_000);
    let inner = MemStore::new();
    let nodes: Vec<_> = common::levels(p.store(), &root)
        .into_iter()
        .flatten()
        .map(|(id, n)| NodeBytes {
            id,
            bytes: n.encode(),
        })
        .collect();
    inner.put_many(&nodes).unwrap();
    let before = inner.len();

    // A write that fails: the error carries its source, and nothing was stored.
    let f = Prolly::new(Faulty {
        inner,
        fail_get_after: Default::default(),
        fail_put: true,
    });
    let err = f
        .apply(&root, [(b"new".to_vec(), Some(vec![1]))])
        .unwrap_err();
    assert!(matches!(err, Error::Store(_)));
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "disk full"
    );
    assert_eq!(f.store().inner.len(), before);

    // Reads that fail part-way, at every depth: an error, never a panic or a wrong answer.
    let depth = p.stats(&root).unwrap().depth as usize;
    for n in 0..6 {
        f.store().fail_get_after.set(Some(n));
        let r: Result<Vec<_>, _> = f
            .range(&root, Query::new(KeyRange::all()).reverse().limit(100))
            .collect();
        assert!(matches!(r, Err(Error::Store(_))), "after {n} reads: {r:?}");
        // A mutation reads one path of `depth` nodes (then works from its cache).
        f.store().fail_get_after.set(Some(n));
        let m = f.mutate(&root, [(b"x".to_vec(), None)]);
        assert_eq!(
            matches!(m, Err(Error::Store(_))),
            n < depth,
            "after {n} reads: {m:?}"
        );
    }
    f.store().fail_get_after.set(None);
    assert_eq!(f.count(&root, &KeyRange::all()).unwrap(), 5_000);
}

#[test]
fn tree_nodes_copies_a_whole_tree() {
    let (p, root) = tree(3_000);
    let nodes = p.tree_nodes(&root).unwrap();
    assert_eq!(nodes.len() as u64, p.stats(&root).unwrap().nodes);
    let copy = Prolly::new(MemStore::new());
    copy.store().put_many(&nodes).unwrap();
    assert_eq!(copy.count(&root, &KeyRange::all()).unwrap(), 3_000);
    assert!(p.tree_nodes(&EMPTY_ROOT).unwrap().is_empty());
}
