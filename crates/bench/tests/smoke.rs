//! A tiny run of every bench scenario (sizes that take seconds), so the benches never rot: each
//! scenario checks its own results as it runs (the first page is the right 32 posts, every
//! mention is found, every peer held the whole feed) and fails if they are wrong; this checks
//! that it ran, that every peer it names reported, and that its figures are whole. Never their
//! speed.
//!
//! The real SSB stack takes part when `bench/ssb` is installed (`make test` installs it and sets
//! `ROOKERY_BENCH_SSB=1`, which makes it required). The iroh-docs peer is its own cargo project,
//! minutes to build: `make bench` builds and runs it, the smoke runs leave it out.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Whether the SSB peer takes part; required under `make test`.
fn with_ssb() -> bool {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/ssb/node_modules")
        .exists();
    if std::env::var_os("ROOKERY_BENCH_SSB").is_some_and(|v| v == "1") {
        assert!(
            installed,
            "ROOKERY_BENCH_SSB=1 but bench/ssb is not installed"
        );
    }
    installed
}

/// Runs `rookery-bench ARGS --json` and returns its one JSON object.
fn bench(args: &[&str]) -> Value {
    let mut args: Vec<&str> = args.to_vec();
    if !with_ssb() && args[0] != "tree" {
        args.push("--no-ssb");
    }
    args.push("--json");
    let out = Command::new(env!("CARGO_BIN_EXE_rookery-bench"))
        .args(&args)
        .output()
        .expect("rookery-bench runs");
    assert!(
        out.status.success(),
        "rookery-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

/// A figure with its runs, bytes and spread.
fn whole(f: &Value, what: &str) {
    let ms = f["ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no ms in {f}"));
    let (lo, hi) = (f["ms_min"].as_f64().unwrap(), f["ms_max"].as_f64().unwrap());
    assert!(
        lo <= ms && ms <= hi,
        "{what}: median outside [min, max]: {f}"
    );
    let bytes = f["bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no bytes"));
    assert!(bytes > 0, "{what}: nothing crossed the wire");
    assert!(
        f["bytes_with_handshake"].as_u64().unwrap() >= bytes,
        "{what}"
    );
}

#[test]
fn tree() {
    let r = bench(&["tree", "--entries", "3000", "--peer-entries", "500"]);
    assert_eq!(r["entries"], 3000);
    let (proof, frame) = (
        r["newest32_proof_bytes"].as_u64().unwrap(),
        r["newest32_proof_frame_bytes"].as_u64().unwrap(),
    );
    // Frames are compressed where that pays (node keys share prefixes, hashes do not
    // compress): a frame is never more than its contents and a little framing.
    let framed = |contents: u64, frame: u64| contents > 0 && frame > 0 && frame <= contents + 64;
    assert!(
        framed(proof, frame),
        "a frame carries its proof: {proof} / {frame}"
    );
    for n in ["append1", "append1000"] {
        let nodes = r[format!("{n}_new_node_bytes")].as_u64().unwrap();
        let frame = r[format!("{n}_frame_bytes")].as_u64().unwrap();
        assert!(framed(nodes, frame), "{n}: {nodes} / {frame}");
    }
}

#[test]
fn feeds() {
    let r = bench(&[
        "feeds",
        "--authors",
        "20",
        "--messages",
        "50",
        "--mentioners",
        "2",
        "--runs",
        "2",
    ]);
    assert_eq!(
        r["new_mentions"], 6,
        "three new mentions from each of two authors"
    );
    assert!(r["scan_found"].as_u64().unwrap() > 0);
    assert!(r["open_to_first_page_ms"]["median"].as_f64().unwrap() > 0.0);
    if with_ssb() {
        assert!(r["ssb_notify_found"].as_u64().unwrap() > 0, "{r}");
        assert!(r["notify_vs_ssb"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["ssb_disk_bytes"].as_u64().unwrap() > 0);
    }
}

#[test]
fn sync() {
    let r = bench(&[
        "sync",
        "--posts",
        "300",
        "--authors",
        "5",
        "--author-posts",
        "5",
        "--rtt-ms",
        "5",
        "--runs",
        "1",
        "--no-iroh-docs",
    ]);
    for case in [
        "cold_first_screen",
        "catch_up_10",
        "catch_up_10_reconnect",
        "notify_200",
        "full_sync",
    ] {
        let mut peers = vec!["rookery", "full_log"];
        if with_ssb() {
            peers.push("ssb");
        }
        for peer in peers {
            let f = &r[case][peer];
            whole(f, &format!("{case}/{peer}"));
            assert!(
                f["round_trips"].is_u64() && f["ms_at_0"].is_f64(),
                "{case}/{peer}: measured at 0 and at 5 ms: {f}"
            );
        }
    }
    assert!(r["disk_bytes_per_message"]["rookery"].as_u64().unwrap() > 0);
    assert!(r["catch_up_10_bound_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn onboard() {
    let r = bench(&[
        "onboard",
        "--follows",
        "40",
        "--posts-each",
        "40",
        "--rtt-ms",
        "5",
        "--runs",
        "1",
    ]);
    let mut peers = vec!["rookery", "full_log"];
    if with_ssb() {
        peers.push("ssb");
    }
    for peer in peers {
        let f = &r[peer];
        assert!(f["first_page_ms"].as_f64().unwrap() > 0.0, "{peer}: {f}");
        assert!(f["first_page_bytes"].as_u64().unwrap() > 0, "{peer}: {f}");
        assert!(f["first_page_round_trips"].is_u64(), "{peer}: {f}");
    }
    assert!(r["rookery"]["all_first_screens_ms"].as_f64().unwrap() > 0.0);
}
