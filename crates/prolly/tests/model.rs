//! The tree against a `BTreeMap` model: contents, history independence, get, range, count, diff
//! and merge, on random trees including empty ones, single entries and ranges that end exactly
//! on node edges.

mod common;

use rookery_prolly::EMPTY_ROOT;
use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;
use rookery_prolly::{Change, Edit, Hash, KeyRange, MemStore, NodeStore, Prolly, Query};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Keys from a space small enough that batches collide with earlier ones, of varying lengths
/// (so prefix compression sees shared and unshared prefixes).
fn key() -> impl Strategy<Value = Vec<u8>> {
    (0u32..4000).prop_map(|n| format!("k{}", n * 7919 % 4000).into_bytes())
}

/// Values are usually small; with `big`, some are near the value cap, so nodes hit the 16 KiB
/// hard cap and forced boundaries get exercised.
fn value(big: bool) -> BoxedStrategy<Vec<u8>> {
    if big {
        prop_oneof![3 => prop::collection::vec(any::<u8>(), 0..8), 1 => prop::collection::vec(any::<u8>(), 900..1024)].boxed()
    } else {
        prop::collection::vec(any::<u8>(), 0..8).boxed()
    }
}

fn batches(big: bool) -> impl Strategy<Value = Vec<Vec<Edit>>> {
    let edit = (key(), prop::option::weighted(0.8, value(big)));
    prop::collection::vec(prop::collection::vec(edit, 0..1500), 1..5)
}

fn apply_model(model: &mut Model, batch: &[(Vec<u8>, Option<Vec<u8>>)]) {
    for (k, v) in batch {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

fn contents(p: &Prolly<MemStore>, root: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
    p.range(root, Query::new(KeyRange::all()))
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Builds the model's set in one batch on a fresh store.
fn build(model: &Model) -> (Prolly<MemStore>, Hash) {
    let p = Prolly::new(MemStore::new());
    let root = p
        .apply(
            &EMPTY_ROOT,
            model.iter().map(|(k, v)| (k.clone(), Some(v.clone()))),
        )
        .unwrap();
    (p, root)
}

fn bound(keys: &[Vec<u8>], pick: (u8, usize)) -> Bound<Vec<u8>> {
    if keys.is_empty() {
        return Bound::Unbounded;
    }
    let k = keys[pick.1 % keys.len()].clone();
    match pick.0 % 4 {
        0 => Bound::Unbounded,
        1 => Bound::Included(k),
        2 => Bound::Excluded(k),
        // A key that is not in the tree: just after an existing one.
        _ => Bound::Included([k, vec![0]].concat()),
    }
}

fn in_range(r: &KeyRange, k: &[u8]) -> bool {
    r.contains(k)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any sequence of batches gives the model's contents, and the root depends only on the set.
    #[test]
    fn batches_match_model_and_are_history_independent(batches in batches(false), seed in any::<u64>()) {
        let p = Prolly::new(MemStore::new());
        let mut root = EMPTY_ROOT;
        let mut model = Model::new();
        for batch in &batches {
            root = p.apply(&root, batch.clone()).unwrap();
            apply_model(&mut model, batch);
            prop_assert_eq!(contents(&p, &root), model.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
        }
        // Same set, one batch, fresh store.
        let (_, fresh) = build(&model);
        prop_assert_eq!(root, fresh);
        // Same set, entries one small batch at a time in a scrambled order.
        let mut entries: Vec<_> = model.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        let n = entries.len().max(1);
        for i in 0..entries.len() {
            let j = (seed as usize).wrapping_mul(i + 1).wrapping_add(i * 31) % n;
            entries.swap(i, j);
        }
        let q = Prolly::new(MemStore::new());
        let mut r2 = EMPTY_ROOT;
        for chunk in entries.chunks(97) {
            r2 = q.apply(&r2, chunk.to_vec()).unwrap();
        }
        prop_assert_eq!(r2, root);
        // Deleting everything gives the empty tree.
        let gone = p.apply(&root, model.keys().map(|k| (k.clone(), None))).unwrap();
        prop_assert_eq!(gone, EMPTY_ROOT);
    }

    /// The same, with values near the cap so nodes end at the hard cap (forced boundaries).
    #[test]
    fn forced_boundaries_are_history_independent(batches in batches(true)) {
        let p = Prolly::new(MemStore::new());
        let mut root = EMPTY_ROOT;
        let mut model = Model::new();
        for batch in &batches {
            root = p.apply(&root, batch.clone()).unwrap();
            apply_model(&mut model, batch);
        }
        prop_assert_eq!(contents(&p, &root), model.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
        prop_assert_eq!(root, build(&model).1);
    }

    /// Keys of about 1000 bytes: inner nodes reach the 16 KiB cap too, so forced boundaries
    /// happen at every level. Contents, history independence and reads still hold.
    #[test]
    fn long_keys_cap_every_level(batches in prop::collection::vec(prop::collection::vec(((0u32..3000), prop::option::weighted(0.8, value(false))), 0..800), 1..4)) {
        let long = |n: u32| [vec![b'x'; 1000], format!("{:05}", n * 7919 % 3000).into_bytes()].concat();
        let p = Prolly::new(MemStore::new());
        let mut root = EMPTY_ROOT;
        let mut model = Model::new();
        for batch in &batches {
            let batch: Vec<Edit> = batch.iter().map(|(n, v)| (long(*n), v.clone())).collect();
            root = p.apply(&root, batch.clone()).unwrap();
            apply_model(&mut model, &batch);
        }
        prop_assert_eq!(contents(&p, &root), model.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
        prop_assert_eq!(root, build(&model).1);
        let rev: Vec<_> = p.range(&root, Query::new(KeyRange::all()).reverse().limit(40)).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(rev, model.iter().rev().take(40).map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
    }

    /// A mutation returns exactly the nodes the new tree has and the old one lacks.
    #[test]
    fn mutation_returns_exactly_the_new_nodes(a in batches(false), b in prop::collection::vec((key(), prop::option::weighted(0.7, value(false))), 0..300)) {
        let mut model = Model::new();
        for batch in &a { apply_model(&mut model, batch); }
        let (p, root) = build(&model);
        let m = p.mutate(&root, b).unwrap();
        p.store().put_many(&m.nodes).unwrap();
        let ids = |r: &Hash| -> std::collections::BTreeSet<Hash> {
            common::levels(p.store(), r).into_iter().flatten().map(|(id, _)| id).filter(|id| *id != EMPTY_ROOT).collect()
        };
        let want: std::collections::BTreeSet<Hash> = ids(&m.root).difference(&ids(&root)).copied().collect();
        let got: std::collections::BTreeSet<Hash> = m.nodes.iter().map(|n| n.id).collect();
        prop_assert_eq!(got.len(), m.nodes.len(), "a node returned twice");
        prop_assert_eq!(got, want);
    }

    /// get, range (both directions, limits), count and diff agree with the model.
    #[test]
    fn reads_match_model(
        a in batches(false),
        b in prop::collection::vec((key(), prop::option::weighted(0.7, value(false))), 0..200),
        picks in prop::collection::vec(((any::<u8>(), any::<usize>()), (any::<u8>(), any::<usize>()), any::<bool>(), prop::option::of(0usize..80)), 12),
        probes in prop::collection::vec(key(), 20),
    ) {
        let mut model = Model::new();
        for batch in &a { apply_model(&mut model, batch); }
        let (p, root) = build(&model);
        let mut model2 = model.clone();
        apply_model(&mut model2, &b);
        let root2 = p.apply(&root, b.clone()).unwrap();

        for k in &probes {
            prop_assert_eq!(p.get(&root, k).unwrap(), model.get(k).cloned());
        }
        // Bounds from existing keys, from keys where leaves end, and from absent keys.
        let mut keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        keys.extend(common::leaf_edges(p.store(), &root));
        for ((s, e, reverse, limit), i) in picks.iter().zip(0..) {
            let range = KeyRange { start: bound(&keys, *s), end: bound(&keys, *e) };
            let mut expect: Vec<_> = model.iter().filter(|(k, _)| in_range(&range, k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            if *reverse { expect.reverse(); }
            if let Some(l) = limit { expect.truncate(*l); }
            let mut q = Query::new(range.clone());
            if *reverse { q = q.reverse(); }
            if let Some(l) = limit { q = q.limit(*l); }
            let got: Vec<_> = p.range(&root, q).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&got, &expect, "range {:?} rev {} limit {:?} (case {})", range, reverse, limit, i);

            let n = model.keys().filter(|k| in_range(&range, k)).count() as u64;
            prop_assert_eq!(p.count(&root, &range).unwrap(), n);

            let mut want = Vec::new();
            let keys2: std::collections::BTreeSet<_> = model.keys().chain(model2.keys()).filter(|k| in_range(&range, k)).collect();
            for k in keys2 {
                match (model.get(k), model2.get(k)) {
                    (Some(v), None) => want.push(Change::Removed { key: k.clone(), value: v.clone() }),
                    (None, Some(v)) => want.push(Change::Added { key: k.clone(), value: v.clone() }),
                    (Some(o), Some(n)) if o != n => want.push(Change::Changed { key: k.clone(), old: o.clone(), new: n.clone() }),
                    _ => {}
                }
            }
            let got: Vec<_> = p.diff(&root, &root2, range.clone()).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(&got, &want);
            // And the other way round.
            let back: Vec<_> = p.diff(&root2, &root, range).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(back.len(), want.len());
        }
    }

    /// Merge is the union; the resolver decides keys present in both with different values.
    #[test]
    fn merge_is_union(a in batches(false), b in batches(false)) {
        let (mut ma, mut mb) = (Model::new(), Model::new());
        for x in &a { apply_model(&mut ma, x); }
        for x in &b { apply_model(&mut mb, x); }
        let p = Prolly::new(MemStore::new());
        let empty = EMPTY_ROOT;
        let ra = p.apply(&empty, ma.iter().map(|(k, v)| (k.clone(), Some(v.clone())))).unwrap();
        let rb = p.apply(&empty, mb.iter().map(|(k, v)| (k.clone(), Some(v.clone())))).unwrap();
        let m = p.merge(&ra, &rb, |_, ours, theirs| ours.max(theirs).to_vec()).unwrap();
        p.store().put_many(&m.nodes).unwrap();
        let mut want = ma.clone();
        for (k, v) in &mb {
            want.entry(k.clone()).and_modify(|o| if v > o { *o = v.clone() }).or_insert(v.clone());
        }
        prop_assert_eq!(m.root, build(&want).1);
    }
}

#[test]
fn empty_and_single_entry_trees() {
    let p = Prolly::new(MemStore::new());
    let empty = EMPTY_ROOT;
    assert_eq!(p.get(&empty, b"x").unwrap(), None);
    assert_eq!(p.count(&empty, &KeyRange::all()).unwrap(), 0);
    assert_eq!(
        p.range(&empty, Query::new(KeyRange::all()).reverse())
            .count(),
        0
    );
    assert_eq!(p.stats(&empty).unwrap().depth, 0);
    // Deleting from the empty tree changes nothing and makes no nodes.
    let m = p.mutate(&empty, [(b"x".to_vec(), None)]).unwrap();
    assert_eq!((m.root, m.nodes.len()), (empty, 0));

    let one = p
        .apply(&empty, [(b"k".to_vec(), Some(b"v".to_vec()))])
        .unwrap();
    assert_eq!(p.get(&one, b"k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(p.count(&one, &KeyRange::all()).unwrap(), 1);
    let d: Vec<_> = p
        .diff(&empty, &one, KeyRange::all())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        d,
        vec![Change::Added {
            key: b"k".to_vec(),
            value: b"v".to_vec()
        }]
    );
    // Re-setting a key to its value is a no-op that writes nothing.
    let m = p
        .mutate(&one, [(b"k".to_vec(), Some(b"v".to_vec()))])
        .unwrap();
    assert_eq!((m.root, m.nodes.len()), (one, 0));
    assert_eq!(p.apply(&one, [(b"k".to_vec(), None)]).unwrap(), empty);
}

#[test]
fn later_edits_of_a_key_win() {
    let p = Prolly::new(MemStore::new());
    let root = p
        .apply(
            &EMPTY_ROOT,
            [
                (b"b".to_vec(), Some(b"1".to_vec())),
                (b"a".to_vec(), Some(b"x".to_vec())),
                (b"b".to_vec(), None),
                (b"b".to_vec(), Some(b"2".to_vec())),
            ],
        )
        .unwrap();
    assert_eq!(p.get(&root, b"b").unwrap(), Some(b"2".to_vec()));
    assert_eq!(p.count(&root, &KeyRange::all()).unwrap(), 2);
}

#[test]
fn oversized_keys_and_values_are_refused() {
    let p = Prolly::new(MemStore::new());
    let empty = EMPTY_ROOT;
    let big = vec![0u8; rookery_prolly::MAX_KEY_LEN + 1];
    assert!(matches!(
        p.mutate(&empty, [(big.clone(), None)]),
        Err(rookery_prolly::Error::KeyTooLong { .. })
    ));
    assert!(matches!(
        p.mutate(&empty, [(b"k".to_vec(), Some(big))]),
        Err(rookery_prolly::Error::ValueTooLong { .. })
    ));
    assert!(p.store().is_empty());
}

#[test]
fn diff_skips_equal_subtrees() {
    // 100 scattered changes in a 50,000-entry tree: the diff loads at most 2 × changes × depth
    // nodes, far fewer than the tree has.
    let p = Prolly::new(MemStore::new());
    let n = 50_000u64;
    let root = p
        .apply(
            &EMPTY_ROOT,
            (0..n).map(|i| (common::ts_key(i), Some(common::ts_value(i)))),
        )
        .unwrap();
    let changed = p
        .apply(
            &root,
            (0..100).map(|i| (common::ts_key(i * 499 + 7), Some(b"changed".to_vec()))),
        )
        .unwrap();
    let stats = p.stats(&root).unwrap();
    let mut d = p.diff(&root, &changed, KeyRange::all());
    let changes = d.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(changes.len(), 100);
    assert!(
        d.nodes_loaded() <= 2 * 100 * u64::from(stats.depth),
        "{} loads",
        d.nodes_loaded()
    );
    assert!(d.nodes_loaded() < stats.nodes / 4);
}

#[test]
fn size_edges() {
    // The empty key, the longest key and the longest value all round-trip through the tree.
    let p = Prolly::new(MemStore::new());
    let max_key = |i: u8| {
        let mut k = vec![i; rookery_prolly::MAX_KEY_LEN];
        k[0] = 1;
        k
    };
    let mut edits: Vec<Edit> = vec![(vec![], Some(b"empty".to_vec()))];
    edits.extend((0..200u8).map(|i| (max_key(i), Some(vec![i; rookery_prolly::MAX_VALUE_LEN]))));
    let root = p.apply(&EMPTY_ROOT, edits.clone()).unwrap();
    assert_eq!(p.get(&root, b"").unwrap(), Some(b"empty".to_vec()));
    assert_eq!(
        p.get(&root, &max_key(7)).unwrap(),
        Some(vec![7; rookery_prolly::MAX_VALUE_LEN])
    );
    assert_eq!(p.count(&root, &KeyRange::all()).unwrap(), 201);
    let stats = p.stats(&root).unwrap();
    assert!(stats.max_node_bytes > rookery_prolly::MAX_NODE_SIZE as u64 / 2);
    let mut model: Model = Model::new();
    apply_model(&mut model, &edits);
    assert_eq!(contents(&p, &root), model.into_iter().collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A delta from `a` to `b` is exactly the nodes of `b` not in `a` (on the whole key
    /// range), and a store holding `a` plus the delta reads all of `b`.
    #[test]
    fn delta_is_what_a_holder_of_the_old_tree_lacks(a in batches(false), b in prop::collection::vec((key(), prop::option::weighted(0.7, value(false))), 0..300)) {
        let mut model = Model::new();
        for batch in &a { apply_model(&mut model, batch); }
        let (p, root) = build(&model);
        let new_root = p.apply(&root, b).unwrap();
        let d = p.delta(&root, &new_root, &KeyRange::all()).unwrap();
        prop_assert!(d.is_complete());
        let ids = |r: &Hash| -> std::collections::BTreeSet<Hash> {
            common::levels(p.store(), r).into_iter().flatten().map(|(id, _)| id).filter(|id| *id != EMPTY_ROOT).collect()
        };
        let old = ids(&root);
        let got: std::collections::BTreeSet<Hash> = d.nodes.iter().map(|n| n.id).collect();
        prop_assert_eq!(got.len(), d.nodes.len(), "a node sent twice");
        // Never a node the holder has; every node it lacks (a shared subtree may sit at
        // another position of the new tree, so "lacks" is judged per level).
        prop_assert!(got.is_disjoint(&old));
        let holder = Prolly::new(MemStore::new());
        for level in common::levels(p.store(), &root) {
            for (id, _) in level.into_iter().filter(|(id, _)| *id != EMPTY_ROOT) {
                holder.store().insert_raw(id, p.store().get(&id).unwrap().unwrap());
            }
        }
        holder.store().put_many(&d.nodes).unwrap();
        prop_assert_eq!(contents(&holder, &new_root), contents(&p, &new_root));
    }
}

#[test]
fn delta_on_a_range_and_on_a_sparse_store() {
    let p = Prolly::new(MemStore::new());
    let n = 20_000u64;
    let root = p
        .apply(
            &EMPTY_ROOT,
            (0..n).map(|i| (common::ts_key(i), Some(common::ts_value(i)))),
        )
        .unwrap();
    // Ten appended entries: the delta is the right edge, a handful of nodes, and its values
    // include the ten new ones.
    let grown = p
        .apply(
            &root,
            (n..n + 10).map(|i| (common::ts_key(i), Some(common::ts_value(i)))),
        )
        .unwrap();
    let depth = u64::from(p.stats(&grown).unwrap().depth);
    let d = p.delta(&root, &grown, &KeyRange::all()).unwrap();
    assert!(d.nodes.len() as u64 <= depth + 1, "{} nodes", d.nodes.len());
    for i in n..n + 10 {
        assert!(d.values.contains(&common::ts_value(i)));
    }
    // Restricted to a range that holds none of the change: only the new root.
    let early = KeyRange::between(common::ts_key(0), common::ts_key(100));
    let d = p.delta(&root, &grown, &early).unwrap();
    assert_eq!(d.nodes.iter().map(|n| n.id).collect::<Vec<_>>(), [grown]);
    // From the empty tree on a range: only the paths into the range.
    let d = p.delta(&EMPTY_ROOT, &grown, &early).unwrap();
    assert_eq!(d.values.len(), 100);
    assert!(d.nodes.len() as u64 <= depth + 8);
    // A store that lacks part of the new tree names the missing nodes, one level at a time.
    let sparse = Prolly::new(MemStore::new());
    let top = p.store().get(&grown).unwrap().unwrap();
    sparse.store().insert_raw(grown, top);
    let d = sparse.delta(&EMPTY_ROOT, &grown, &KeyRange::all()).unwrap();
    assert!(!d.is_complete());
    assert_eq!(d.nodes.len(), 1);
    let top_node = common::load(p.store(), &grown);
    assert_eq!(d.missing.len(), top_node.entries.len());
    // A holder of a tree the peer lacks entirely gets the whole new tree, not an error.
    let unknown = Hash([7; 32]);
    let whole = p.delta(&unknown, &grown, &KeyRange::all()).unwrap();
    assert_eq!(whole.nodes.len() as u64, p.stats(&grown).unwrap().nodes);
}

/// A store that counts the nodes read from it.
struct Counting {
    inner: MemStore,
    reads: std::cell::Cell<usize>,
}

impl NodeStore for Counting {
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, rookery_prolly::StoreError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(id)
    }
    fn put_many(
        &self,
        nodes: &[rookery_prolly::NodeBytes],
    ) -> Result<(), rookery_prolly::StoreError> {
        self.inner.put_many(nodes)
    }
    fn get_many(&self, ids: &[Hash]) -> Result<Vec<Option<Vec<u8>>>, rookery_prolly::StoreError> {
        self.reads.set(self.reads.get() + ids.len());
        ids.iter().map(|id| self.inner.get(id)).collect()
    }
}

/// A delta walked lazily gives its first nodes after reading a few (a server's answer starts
/// at once, not after a walk of the whole tree), and in all gives what `delta` collects.
#[test]
fn a_delta_walk_reads_as_it_gives() {
    let p = Prolly::new(Counting {
        inner: MemStore::new(),
        reads: Default::default(),
    });
    let n = 50_000u64;
    let root = p
        .apply(
            &EMPTY_ROOT,
            (0..n).map(|i| (common::ts_key(i), Some(common::ts_value(i)))),
        )
        .unwrap();
    let nodes = p.stats(&root).unwrap().nodes;
    assert!(nodes > 1_000, "{nodes} nodes");
    p.store().reads.set(0);
    let mut walk = p.delta_walk(&EMPTY_ROOT, &root, &KeyRange::all()).unwrap();
    let first = walk.next().unwrap().unwrap();
    assert_eq!(
        first.node.id, root,
        "parents before children: the root first"
    );
    assert!(first.values.is_empty());
    let read = p.store().reads.get();
    assert!(read <= 2, "{read} nodes read before the first was given");
    let rest: Vec<_> = walk.map(Result::unwrap).collect();
    assert!(p.store().reads.get() <= 2 * nodes as usize);
    let whole = p.delta(&EMPTY_ROOT, &root, &KeyRange::all()).unwrap();
    let walked: Vec<_> = std::iter::once(first).chain(rest).collect();
    assert_eq!(
        walked.iter().map(|d| d.node.clone()).collect::<Vec<_>>(),
        whole.nodes
    );
    let values: Vec<Vec<u8>> = walked.into_iter().flat_map(|d| d.values).collect();
    assert_eq!(values.len() as u64, n);
    assert_eq!(values, whole.values);
}
