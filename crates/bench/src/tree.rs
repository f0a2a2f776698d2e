//! The `tree` scenario. Keys are 16 bytes (timestamp ‖ seq, big-endian) and values 32 bytes,
//! as in a feed's `messages` index.

use rookery_prolly::EMPTY_ROOT;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use prollytree::config::TreeConfig;
use prollytree::storage::InMemoryNodeStorage;
use prollytree::tree::{ProllyTree, Tree};
use redb::TableDefinition;
use rookery_prolly::NodeBytes;
use rookery_prolly::{Change, Hash, KeyRange, MemStore, NodeStore, Prolly, Query};
use rookery_store::Store;
use rookery_sync::wire::Response;
use serde::Serialize;

/// The bytes of the `Nodes` frames that carry `nodes` to a follower, as a diff answer sends
/// them (at most 256 KiB of nodes a frame).
fn frame_bytes(nodes: &[NodeBytes]) -> anyhow::Result<usize> {
    let mut total = 0;
    let mut chunk: Vec<Vec<u8>> = Vec::new();
    let mut size = 0;
    let flush = |chunk: &mut Vec<Vec<u8>>, more: bool| -> anyhow::Result<usize> {
        let f = rookery_sync::wire::encode_frame(&Response::Nodes {
            nodes: std::mem::take(chunk),
            bodies: vec![],
            more,
        })?;
        Ok(f.len())
    };
    for n in nodes {
        if size + n.bytes.len() > 256 << 10 && !chunk.is_empty() {
            total += flush(&mut chunk, true)?;
            size = 0;
        }
        size += n.bytes.len();
        chunk.push(n.bytes.to_vec());
    }
    total += flush(&mut chunk, false)?;
    Ok(total)
}

/// Arguments of `rookery-bench tree`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Entries in the tree.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Entries for the `prollytree` crate's single-insert figure (it is measured at this size, or
    /// at `--entries` if smaller).
    #[arg(long, default_value_t = 100_000)]
    peer_entries: u64,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    json: bool,
}

/// Every figure the scenario measures.
#[derive(Serialize, Default)]
struct Report {
    cores: usize,
    entries: u64,
    depth: u32,
    nodes: u64,
    mean_node_bytes: f64,
    max_node_bytes: u64,
    mean_entries_per_node: f64,
    mean_entries_per_leaf: f64,
    build_entries_per_s: f64,
    build_mem_entries_per_s: f64,
    redb_raw_entries_per_s: f64,
    btreemap_entries_per_s: f64,
    prollytree_entries_per_s: f64,
    prollytree_build_entries: u64,
    insert1_us: f64,
    insert1_redb_us: f64,
    prollytree_insert1_us: f64,
    prollytree_insert1_entries: u64,
    btreemap_insert1_us: f64,
    diff_changes: u64,
    diff_nodes_visited: u64,
    diff_us: f64,
    full_scan_us: f64,
    newest32_proof_nodes: usize,
    newest32_proof_bytes: usize,
    /// The `Proof` frame that carries it (length prefix and postcard framing included).
    newest32_proof_frame_bytes: usize,
    append1_new_node_bytes: usize,
    /// The `Nodes` frame(s) that carry the new nodes to a follower.
    append1_frame_bytes: usize,
    append1000_new_node_bytes: usize,
    append1000_frame_bytes: usize,
    /// The two figures above vary with the tree's tip (the rightmost node of each level is
    /// whatever follows its level's last boundary), so they are also measured at 40 tree sizes
    /// spread over (N/2, N]: median and 95th percentile.
    tips_measured: usize,
    newest32_proof_bytes_p50: usize,
    newest32_proof_bytes_p95: usize,
    append1_new_node_bytes_p50: usize,
    append1_new_node_bytes_p95: usize,
    ratio_build_vs_redb_raw: f64,
    ratio_build_vs_prollytree: f64,
    ratio_build_mem_vs_prollytree: f64,
    ratio_insert1_prollytree_vs_rookery: f64,
    ratio_full_scan_vs_diff: f64,
}

fn key(i: u64) -> Vec<u8> {
    // Posts one second apart, seq from 1; the same shape as the messages index.
    [
        (1_700_000_000_000 + i * 1_000).to_be_bytes(),
        (i + 1).to_be_bytes(),
    ]
    .concat()
}

fn value(i: u64) -> Vec<u8> {
    blake3::hash(&i.to_le_bytes()).as_bytes().to_vec()
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

/// A deterministic spread of positions in `0..n` (an LCG; no RNG dependency needed).
fn scattered(n: u64, count: u64, salt: u64) -> Vec<u64> {
    let mut x = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) % n
        })
        .collect()
}

/// A key between entries `i` and `i + 1`: same timestamp as `i`, a seq no entry has.
fn between(i: u64, salt: u64) -> Vec<u8> {
    [
        (1_700_000_000_000 + i * 1_000).to_be_bytes(),
        (u64::MAX - salt).to_be_bytes(),
    ]
    .concat()
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let n = args.entries.max(1);
    let mut r = Report {
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
        entries: n,
        ..Report::default()
    };
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..n).map(|i| (key(i), value(i))).collect();
    let dir = tempfile::tempdir()?;
    let empty = EMPTY_ROOT;

    // Bulk build into the redb NodeStore: one mutation, one write transaction.
    let store = Store::open(dir.path().join("rookery.redb"))?;
    let p = Prolly::new(store);
    // The input batch is made before the clock starts, as the raw redb insert's input is.
    let batch: Vec<_> = entries
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    let t = Instant::now();
    let m = p.mutate(&empty, batch)?;
    p.store()
        .put_many(&m.nodes)
        .map_err(anyhow::Error::from_boxed)?;
    r.build_entries_per_s = per_s(n, t.elapsed());
    let root = m.root;
    drop(m);

    // The same entries into a plain redb table, one transaction.
    let raw_table: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("raw");
    let raw = redb::Database::create(dir.path().join("raw.redb"))?;
    let t = Instant::now();
    let txn = raw.begin_write()?;
    {
        let mut table = txn.open_table(raw_table)?;
        for (k, v) in &entries {
            table.insert(k.as_slice(), v.as_slice())?;
        }
    }
    txn.commit()?;
    r.redb_raw_entries_per_s = per_s(n, t.elapsed());
    drop(raw);

    let t = Instant::now();
    let mut map = BTreeMap::new();
    for (k, v) in &entries {
        map.insert(k.clone(), v.clone());
    }
    r.btreemap_entries_per_s = per_s(n, t.elapsed());

    // The prollytree crate, configured for the same mean fan-out (32).
    let config = || TreeConfig::<32> {
        pattern: 0b1_1111,
        ..TreeConfig::default()
    };
    let keys: Vec<Vec<u8>> = entries.iter().map(|e| e.0.clone()).collect();
    let values: Vec<Vec<u8>> = entries.iter().map(|e| e.1.clone()).collect();
    let t = Instant::now();
    let mut peer = ProllyTree::new(InMemoryNodeStorage::<32>::new(), config());
    peer.insert_batch(&keys, &values);
    r.prollytree_entries_per_s = per_s(n, t.elapsed());
    r.prollytree_build_entries = n;
    drop(peer);

    // Shape.
    let stats = p.stats(&root)?;
    r.depth = stats.depth;
    r.nodes = stats.nodes;
    r.mean_node_bytes = stats.total_bytes as f64 / stats.nodes as f64;
    r.max_node_bytes = stats.max_node_bytes;
    r.mean_entries_per_node = (stats.entries + stats.nodes - 1) as f64 / stats.nodes as f64;
    r.mean_entries_per_leaf = stats.entries as f64 / stats.leaves as f64;

    // Single inserts at scattered positions, each on top of the last, in memory...
    // The same bulk build on the in-memory store: the like-for-like figure for `prollytree`,
    // which builds in memory too.
    let mem = Prolly::new(MemStore::new());
    let batch: Vec<_> = entries
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    let t = Instant::now();
    let mut mroot = mem.apply(&empty, batch)?;
    r.build_mem_entries_per_s = per_s(n, t.elapsed());
    let samples: Vec<Duration> = scattered(n, 1000, 1)
        .into_iter()
        .enumerate()
        .map(|(s, i)| {
            let t = Instant::now();
            mroot = mem.apply(&mroot, [(between(i, s as u64), Some(value(i)))])?;
            Ok(t.elapsed())
        })
        .collect::<anyhow::Result<_>>()?;
    r.insert1_us = median_us(samples);
    // ...and on redb, each with its own durable commit.
    let mut rroot = root;
    let samples: Vec<Duration> = scattered(n, 200, 2)
        .into_iter()
        .enumerate()
        .map(|(s, i)| {
            let t = Instant::now();
            rroot = p.apply(&rroot, [(between(i, 10_000 + s as u64), Some(value(i)))])?;
            Ok(t.elapsed())
        })
        .collect::<anyhow::Result<_>>()?;
    r.insert1_redb_us = median_us(samples);
    let samples: Vec<Duration> = scattered(n, 1000, 3)
        .into_iter()
        .enumerate()
        .map(|(s, i)| {
            let t = Instant::now();
            map.insert(between(i, 20_000 + s as u64), value(i));
            t.elapsed()
        })
        .collect();
    r.btreemap_insert1_us = median_us(samples);
    drop(map);

    // The prollytree crate's single inserts, on a tree of at most `peer_entries`.
    let pn = n.min(args.peer_entries.max(1));
    let mut peer = ProllyTree::new(InMemoryNodeStorage::<32>::new(), config());
    peer.insert_batch(&keys[..pn as usize], &values[..pn as usize]);
    let samples: Vec<Duration> = scattered(pn, 200, 4)
        .into_iter()
        .enumerate()
        .map(|(s, i)| {
            let (k, v) = (between(i, 30_000 + s as u64), value(i));
            let t = Instant::now();
            peer.insert(k, v);
            t.elapsed()
        })
        .collect();
    r.prollytree_insert1_us = median_us(samples);
    r.prollytree_insert1_entries = pn;
    drop(peer);
    drop((keys, values));

    // Diff: 100 scattered changes, against scanning both trees in full and comparing.
    let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = scattered(n, 100, 5)
        .into_iter()
        .map(|i| (key(i), Some(b"changed".to_vec())))
        .collect();
    let changed = mem.apply(&mroot, changes)?;
    // Each timed five times: the median.
    let (spread, (found, visited)) = crate::measure::Spread::time_us(5, || {
        let mut diff = mem.diff(&mroot, &changed, KeyRange::all());
        let found = diff.by_ref().collect::<Result<Vec<Change>, _>>()?;
        Ok((found, diff.nodes_loaded()))
    })?;
    r.diff_us = spread.median;
    r.diff_nodes_visited = visited;
    r.diff_changes = found.len() as u64;
    let (spread, naive) =
        crate::measure::Spread::time_us(5, || full_scan_diff(&mem, &mroot, &changed))?;
    r.full_scan_us = spread.median;
    anyhow::ensure!(
        naive == r.diff_changes,
        "full scan found {naive} changes, diff {}",
        r.diff_changes
    );

    // What a new follower fetches for the first screen: the newest 32, as a range proof.
    let (newest, proof) = p.prove_range(&root, &Query::new(KeyRange::all()).reverse().limit(32))?;
    anyhow::ensure!(newest.len() == 32.min(n as usize));
    r.newest32_proof_nodes = proof.nodes.len();
    r.newest32_proof_bytes = proof.byte_len();
    r.newest32_proof_frame_bytes = rookery_sync::wire::encode_frame(&Response::Proof {
        nodes: proof.nodes.clone(),
        bodies: vec![],
    })?
    .len();

    // What an existing follower fetches after one and after a thousand new posts.
    let append1 = p.mutate(&root, [(key(n), Some(value(n)))])?;
    r.append1_new_node_bytes = append1.new_bytes();
    r.append1_frame_bytes = frame_bytes(&append1.nodes)?;
    let append1000 = p.mutate(&root, (n..n + 1000).map(|i| (key(i), Some(value(i)))))?;
    r.append1000_new_node_bytes = append1000.new_bytes();
    r.append1000_frame_bytes = frame_bytes(&append1000.nodes)?;

    // The same two figures at 40 tree sizes spread over (N/2, N]: the rightmost node of each
    // level holds whatever follows that level's last boundary, so one size says little. The
    // prefix trees are grown by appending batches (the root depends only on the entry set).
    let (mut proofs, mut appends) = (Vec::new(), Vec::new());
    let tips = Prolly::new(MemStore::new());
    let half = (n / 2) as usize;
    let mut tip = tips.apply(
        &empty,
        entries[..half]
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone()))),
    )?;
    let mut have = half;
    for s in 1..=40usize {
        let upto = half + (entries.len() - half) * s / 40;
        tip = tips.apply(
            &tip,
            entries[have..upto]
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone()))),
        )?;
        have = upto;
        let next = upto as u64;
        appends.push(
            tips.mutate(&tip, [(key(next), Some(value(next)))])?
                .new_bytes(),
        );
        let newest = Query::new(KeyRange::all()).reverse().limit(32);
        proofs.push(tips.prove_range(&tip, &newest)?.1.byte_len());
    }
    anyhow::ensure!(
        tip == root,
        "the in-memory build differs from the redb build"
    );
    proofs.sort_unstable();
    appends.sort_unstable();
    r.tips_measured = proofs.len();
    r.newest32_proof_bytes_p50 = proofs[proofs.len() / 2];
    r.newest32_proof_bytes_p95 = proofs[proofs.len() * 95 / 100];
    r.append1_new_node_bytes_p50 = appends[appends.len() / 2];
    r.append1_new_node_bytes_p95 = appends[appends.len() * 95 / 100];

    r.ratio_build_vs_redb_raw = r.build_entries_per_s / r.redb_raw_entries_per_s;
    r.ratio_build_vs_prollytree = r.build_entries_per_s / r.prollytree_entries_per_s;
    r.ratio_build_mem_vs_prollytree = r.build_mem_entries_per_s / r.prollytree_entries_per_s;
    r.ratio_insert1_prollytree_vs_rookery = r.prollytree_insert1_us / r.insert1_us;
    r.ratio_full_scan_vs_diff = r.full_scan_us / r.diff_us;

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).context("serializing the report")?
        );
    } else {
        print_report(&r);
    }
    Ok(())
}

/// The naive diff: read both trees in full, side by side, and count differing keys.
fn full_scan_diff(p: &Prolly<MemStore>, a: &Hash, b: &Hash) -> anyhow::Result<u64> {
    let mut x = p.range(a, Query::new(KeyRange::all())).peekable();
    let mut y = p.range(b, Query::new(KeyRange::all())).peekable();
    let mut diffs = 0;
    loop {
        match (x.peek(), y.peek()) {
            (None, None) => return Ok(diffs),
            (Some(Err(_)), _) | (_, Some(Err(_))) => {
                x.next().transpose()?;
                y.next().transpose()?;
            }
            (Some(Ok(l)), Some(Ok(r))) => match l.0.cmp(&r.0) {
                std::cmp::Ordering::Less => {
                    diffs += 1;
                    x.next();
                }
                std::cmp::Ordering::Greater => {
                    diffs += 1;
                    y.next();
                }
                std::cmp::Ordering::Equal => {
                    diffs += u64::from(l.1 != r.1);
                    x.next();
                    y.next();
                }
            },
            (Some(_), None) => {
                diffs += 1;
                x.next();
            }
            (None, Some(_)) => {
                diffs += 1;
                y.next();
            }
        }
    }
}

fn check(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn print_report(r: &Report) {
    println!(
        "rookery-bench tree: {} entries, {} cores",
        r.entries, r.cores
    );
    println!(
        "shape     depth {} ({} target ≤ 4), {} nodes, mean {:.0} B / max {} B, {:.1} entries per node, {:.1} per leaf",
        r.depth,
        check(r.depth <= 4),
        r.nodes,
        r.mean_node_bytes,
        r.max_node_bytes,
        r.mean_entries_per_node,
        r.mean_entries_per_leaf
    );
    println!(
        "build     rookery→redb {:>10.0}/s | rookery in memory {:>10.0}/s | redb raw {:>10.0}/s | BTreeMap {:>10.0}/s | prollytree (memory) {:>10.0}/s",
        r.build_entries_per_s,
        r.build_mem_entries_per_s,
        r.redb_raw_entries_per_s,
        r.btreemap_entries_per_s,
        r.prollytree_entries_per_s
    );
    println!(
        "          rookery→redb / redb raw ×{:.2} ({} target ≥ 1), rookery→redb / prollytree ×{:.2}, in memory / prollytree ×{:.2}",
        r.ratio_build_vs_redb_raw,
        check(r.ratio_build_vs_redb_raw >= 1.0),
        r.ratio_build_vs_prollytree,
        r.ratio_build_mem_vs_prollytree
    );
    println!(
        "insert1   rookery mem {:.1} µs ({} target ≤ 100), rookery redb+commit {:.1} µs, BTreeMap {:.2} µs, prollytree@{} {:.1} µs (×{:.1} rookery's)",
        r.insert1_us,
        check(r.insert1_us <= 100.0),
        r.insert1_redb_us,
        r.btreemap_insert1_us,
        r.prollytree_insert1_entries,
        r.prollytree_insert1_us,
        r.ratio_insert1_prollytree_vs_rookery
    );
    println!(
        "diff      {} changes: {} nodes visited ({} target ≤ {}), {:.0} µs vs full scan {:.0} µs (×{:.0})",
        r.diff_changes,
        r.diff_nodes_visited,
        check(r.diff_nodes_visited <= 2 * 100 * u64::from(r.depth)),
        2 * 100 * r.depth,
        r.diff_us,
        r.full_scan_us,
        r.ratio_full_scan_vs_diff
    );
    println!(
        "proof     newest 32: {} nodes, {} B, {} B as its wire frame ({} target ≤ 8192); over {} tree sizes: median {} B, p95 {} B",
        r.newest32_proof_nodes,
        r.newest32_proof_bytes,
        r.newest32_proof_frame_bytes,
        check(r.newest32_proof_bytes <= 8192),
        r.tips_measured,
        r.newest32_proof_bytes_p50,
        r.newest32_proof_bytes_p95
    );
    println!(
        "append    1 entry: {} B of new nodes, {} B as wire frames ({} target ≤ 5120), over {} tree sizes: median {} B, p95 {} B; 1000 entries: {} B, {} B as frames",
        r.append1_new_node_bytes,
        r.append1_frame_bytes,
        check(r.append1_new_node_bytes <= 5120),
        r.tips_measured,
        r.append1_new_node_bytes_p50,
        r.append1_new_node_bytes_p95,
        r.append1000_new_node_bytes,
        r.append1000_frame_bytes
    );
}
