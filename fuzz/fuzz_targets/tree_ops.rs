//! Batches of inserts and deletes against a `BTreeMap` model: contents and root agree with a
//! one-batch build of the same set (history independence).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use rookery_prolly::{KeyRange, MemStore, Prolly, Query};

fuzz_target!(|data: &[u8]| {
    let p = Prolly::new(MemStore::new());
    let mut root = rookery_prolly::EMPTY_ROOT;
    let mut model = BTreeMap::new();
    for batch in data.split(|&b| b == 0xff) {
        let edits: Vec<_> = batch
            .chunks(3)
            .map(|c| {
                let key = vec![c[0] % 64, c.get(1).copied().unwrap_or(0) % 8];
                let value = c.get(2).filter(|v| **v % 4 != 0).map(|v| vec![*v; usize::from(*v)]);
                (key, value)
            })
            .collect();
        for (k, v) in &edits {
            match v {
                Some(v) => model.insert(k.clone(), v.clone()),
                None => model.remove(k),
            };
        }
        root = p.apply(&root, edits).expect("in-memory mutation");
    }
    let got: Vec<_> = p.range(&root, Query::new(KeyRange::all())).map(|r| r.expect("read")).collect();
    let want: Vec<_> = model.clone().into_iter().collect();
    assert_eq!(got, want);
    let fresh = Prolly::new(MemStore::new());
    let again = fresh.apply(&rookery_prolly::EMPTY_ROOT, model.into_iter().map(|(k, v)| (k, Some(v)))).expect("build");
    assert_eq!(again, root);
});
