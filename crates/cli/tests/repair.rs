//! A damaged database end to end: every command says so in one line naming the file and
//! `rookery repair`; the repair keeps what verifies and the original beside it; posting waits
//! while my own feed is not whole; a sync with a follower brings it back, and the next post
//! follows on, so the follower sees one history.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const NET: [&str; 3] = ["--offline", "--bind", "127.0.0.1:0"];

fn rookery(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rookery"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ROOKERY_DATA_DIR")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = rookery(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One line of error, no panic.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = rookery(dir, args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && !err.contains("panicked"),
        "{err}"
    );
    err
}

/// `rookery serve` on `dir`, ready; its ticket.
fn serve(dir: &Path) -> (Child, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_rookery"))
        .arg("--data-dir")
        .arg(dir)
        .args(NET)
        .arg("serve")
        .env_remove("ROOKERY_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if dir.join("serve.json").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, ok(dir, &["ticket"]).trim().to_string())
}

/// Stops a server as Ctrl-C would.
fn stop(mut child: Child) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    child.wait().unwrap();
}

fn sync(dir: &Path, peer: Option<&str>) -> String {
    let mut args = NET.to_vec();
    args.extend(["sync", "--seconds", "20"]);
    if let Some(p) = peer {
        args.extend(["--peer", p]);
    }
    ok(dir, &args)
}

/// The texts of one author's posts, newest first.
fn posts(dir: &Path, author: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["--json", "feed", "--author", author, "--limit", "100"],
    ))
    .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_damaged_store_is_repaired_and_my_feed_comes_back_from_a_follower() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    ok(&a, &["profile", "set", "--name", "Ada"]);
    for i in 1..=30 {
        ok(&a, &["post", &format!("post {i}")]);
    }
    let ada = ok(&a, &["id"]).trim().to_string();
    // b follows a and holds a's whole feed.
    let (served, ticket) = serve(&a);
    ok(&b, &["follow", &ticket]);
    let out = sync(&b, None);
    assert!(out.contains("1 of 1 followed feeds"), "{out}");
    stop(served);
    let held = posts(&b, &ada);
    assert_eq!(held.len(), 30, "{held:?}");

    // The disk fails: half the file is gone.
    let db = a.join("rookery.redb");
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let damaged = std::fs::read(&db).unwrap();
    for args in [&["feed"][..], &["post", "x"], &["notifications"]] {
        let err = fails(&a, args);
        assert!(
            err.contains(&db.display().to_string()) && err.contains("rookery repair"),
            "{err}"
        );
    }

    let out = ok(&a, &["repair"]);
    assert!(out.contains("is a new one"), "{out}");
    assert!(out.contains("your own feed is not whole here"), "{out}");
    let kept = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("before-repair"))
        .expect("the original is kept");
    assert!(std::fs::read(kept).unwrap() == damaged);
    // Every command works again; posting waits for the feed, in words that say why.
    ok(&a, &["feed"]);
    let err = fails(&a, &["post", "too early"]);
    assert!(err.contains("your own feed was damaged"), "{err}");

    // A follower gives it back; a repair while a server runs is refused.
    let (served, ticket) = serve(&b);
    let err = fails(&b, &["repair"]);
    assert!(err.contains("rookery serve"), "{err}");
    let out = sync(&a, Some(&ticket));
    assert!(out.contains("your own feed is whole again"), "{out}");
    stop(served);
    assert_eq!(posts(&a, &ada), held);
    ok(&a, &["post", "back again"]);

    // The follower takes the new post as the next of one history: no fork.
    let (served, ticket) = serve(&a);
    let out = sync(&b, Some(&ticket));
    assert!(out.contains("1 of 1 followed feeds"), "{out}");
    stop(served);
    let now = posts(&b, &ada);
    assert_eq!(now.len(), 31, "{now:?}");
    assert_eq!(now[0], "back again");
    // A second repair finds nothing wrong and leaves no copy.
    let out = ok(&a, &["repair"]);
    assert!(out.contains("nothing was damaged"), "{out}");
}

#[test]
fn flipped_bytes_are_dropped_and_a_fresh_start_is_possible() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    for i in 1..=40 {
        ok(
            &a,
            &[
                "post",
                &format!("post {i} with enough words to fill a page or so"),
            ],
        );
    }
    // Bytes flipped where a stored post is (a page of message rows: where damage to data
    // lands; the middle of the file may instead be a table's root, which leaves nothing to
    // salvage — that case is `damage.rs`'s).
    let db = a.join("rookery.redb");
    let mut bytes = std::fs::read(&db).unwrap();
    // Every copy of it (redb writes pages anew and may leave the old ones free, unread).
    let text = b"post 20 with enough words";
    let found: Vec<usize> = bytes
        .windows(text.len())
        .enumerate()
        .filter(|(_, w)| *w == text)
        .map(|(at, _)| at)
        .collect();
    assert!(!found.is_empty(), "a post's text in the file");
    let len = bytes.len();
    for at in found {
        for b in &mut bytes[at..(at + 64).min(len)] {
            *b ^= 0x5a;
        }
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = rookery(&a, &["feed", "--limit", "100"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let out = ok(&a, &["--json", "repair"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["rows_checked"].as_u64().unwrap() > 0, "{report}");
    // The post whose bytes changed no longer verifies and is dropped; the rest is kept.
    assert!(report["bodies_dropped"].as_u64().unwrap() >= 1, "{report}");
    // The feed reads, or says which part is not here yet.
    let out = rookery(&a, &["feed", "--limit", "100"]);
    assert!(
        out.status.success() || String::from_utf8_lossy(&out.stderr).contains("not here yet"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if report["own_feed_whole"] == false {
        // Nobody follows this node: starting over is the user's call, and then posting works.
        fails(&a, &["post", "waiting"]);
        let out = ok(&a, &["repair", "--start-over"]);
        assert!(out.contains("starting over"), "{out}");
    } else {
        fails(&a, &["repair", "--start-over"]);
    }
    ok(&a, &["post", "after the repair"]);
    assert!(ok(&a, &["feed"]).contains("after the repair"));
}
