//! The `rookery` binary end to end: two data directories, a follow, mentions moved by bundle
//! files, notifications and reading; key backups; and errors as one line with a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

fn rookery(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rookery"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ROOKERY_DATA_DIR")
        .output()
        .unwrap()
}

/// Runs and expects success; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = rookery(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and expects one line of error on stderr and a non-zero exit, no panic.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = rookery(dir, args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(dir, &all)).unwrap()
}

#[test]
fn two_nodes_by_bundle_files() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let a_id = ok(&a, &["id"]).trim().to_string();
    let b_id = ok(&b, &["init"]).lines().next().unwrap().to_string();
    assert_eq!(a_id.len(), 64);
    ok(
        &a,
        &["profile", "set", "--name", "Ada", "--bio", "writes things"],
    );
    let a_post = ok(&a, &["post", "hello from Ada"]).trim().to_string();
    ok(&a, &["follow", &b_id]);
    let bundle_a = t.path().join("a.bundle");
    ok(&a, &["bundle", "export", bundle_a.to_str().unwrap()]);
    ok(&b, &["bundle", "import", bundle_a.to_str().unwrap()]);

    ok(&b, &["post", "hi @Ada"]);
    ok(&b, &["reply", &a_post, "replying"]);
    ok(&b, &["post", &format!("and @{a_id}")]);
    let bundle_b = t.path().join("b.bundle");
    ok(&b, &["bundle", "export", bundle_b.to_str().unwrap()]);
    ok(&a, &["bundle", "import", bundle_b.to_str().unwrap()]);

    let feed = json(&a, &["feed"]);
    assert_eq!(feed["items"].as_array().unwrap().len(), 4);
    assert_eq!(feed["items"][3]["content"]["text"], "hello from Ada");
    let n = json(&a, &["notifications"]);
    assert_eq!(n.as_array().unwrap().len(), 3);
    assert_eq!(n[1]["kind"], "reply");
    let thread = json(&a, &["thread", &a_post]);
    assert_eq!(thread["replies"].as_array().unwrap().len(), 1);
    ok(&a, &["read"]);
    assert_eq!(json(&a, &["notifications"]).as_array().unwrap().len(), 0);
    assert!(ok(&a, &["notifications"]).contains("No new mentions"));
    let profile = json(&b, &["profile", "show", &a_id]);
    assert_eq!(profile["name"], "Ada");
    // Ada follows Bea: Bea's node, holding Ada's feed, lists her among Bea's followers.
    let followers = json(&b, &["profile", "followers"]);
    assert_eq!(followers[0]["key"], a_id.as_str());
    assert_eq!(followers.as_array().unwrap().len(), 1);
    assert!(ok(&a, &["profile", "followers"]).contains("No followers"));
    assert!(ok(&a, &["feed", "--limit", "2"]).contains("more: --cursor"));
    // A mute is here only: Bea's posts leave Home, nothing is published, and it is undone.
    let home = |dir: &Path| json(dir, &["feed"])["items"].as_array().unwrap().len();
    let seq = json(&a, &["profile", "show", &a_id])["seq"].clone();
    ok(&a, &["mute", &b_id]);
    assert_eq!(home(&a), 1);
    ok(&a, &["mute-thread", &a_post]);
    let muted = json(&a, &["muted"]);
    assert_eq!(muted["people"][0]["key"], b_id.as_str());
    assert_eq!(muted["threads"][0]["root"], a_post.as_str());
    assert_eq!(json(&a, &["profile", "show", &a_id])["seq"], seq);
    ok(&a, &["unmute", &b_id]);
    ok(&a, &["unmute-thread", &a_post]);
    assert!(ok(&a, &["muted"]).contains("Nothing muted"));
    assert_eq!(home(&a), 4);
    fails(&a, &["mute", &a_id]);
    // Bookmarks, here only too.
    ok(&a, &["bookmark", &a_post]);
    let kept = json(&a, &["bookmarks"]);
    assert_eq!(kept[0]["id"], a_post.as_str());
    assert_eq!(json(&a, &["profile", "show", &a_id])["seq"], seq);
    ok(&a, &["unbookmark", &a_post]);
    assert!(ok(&a, &["bookmarks"]).contains("No bookmarks"));
    fails(&a, &["bookmark", &"ab".repeat(32)]);
    // A block hides Bea's posts from her profile's feed too; unblocking brings them back,
    // and unblocking again says so without publishing anything.
    let theirs = |dir: &Path| {
        json(dir, &["feed", "--author", &b_id])["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(theirs(&a), 3);
    ok(&a, &["block", &b_id]);
    assert_eq!(theirs(&a), 0);
    assert!(ok(&a, &["unblock", &b_id]).contains(&format!("unblocked {b_id}")));
    assert_eq!(theirs(&a), 3);
    let seq = json(&a, &["profile", "show", &a_id])["seq"].clone();
    ok(&a, &["unblock", &b_id]);
    assert_eq!(json(&a, &["profile", "show", &a_id])["seq"], seq);
    fails(&a, &["unblock", "nothex"]);
}

#[test]
fn key_backups_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let id = ok(&a, &["id"]).trim().to_string();
    let words = ok(&a, &["export-key", "--words"]).trim().to_string();
    assert_eq!(words.split_whitespace().count(), 24);
    let restored = t.path().join("restored");
    assert_eq!(ok(&restored, &["import-key", "--words", &words]).trim(), id);
    assert_eq!(ok(&restored, &["id"]).trim(), id);
    // Restored on a new machine, nothing is posted before sync brings the feed back (it would
    // fork the feed followers hold); with no peer to ask, starting over is the way on.
    let err = fails(&restored, &["post", "too soon"]);
    assert!(err.contains("rookery sync --peer"), "{err}");
    ok(&restored, &["repair", "--start-over"]);
    ok(&restored, &["post", "a new beginning"]);
    let file = t.path().join("backup.key");
    ok(&a, &["export-key", "--file", file.to_str().unwrap()]);
    let again = t.path().join("again");
    assert_eq!(
        ok(&again, &["import-key", "--file", file.to_str().unwrap()]).trim(),
        id
    );
    // Never over an existing identity.
    fails(&again, &["import-key", "--file", file.to_str().unwrap()]);
    fails(
        &t.path().join("x"),
        &["import-key", "--words", "not valid words at all"],
    );
}

/// Backup words in any case; a key file written beside an unrelated `X.tmp` leaves it alone;
/// a data directory whose key is gone but whose database is there is refused, never re-keyed,
/// until the key is put back.
#[test]
fn keys_are_never_lost_or_replaced() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let id = ok(&a, &["post", "before the key went missing"]);
    let id = id.trim();
    let me = ok(&a, &["id"]).trim().to_string();
    let words = ok(&a, &["export-key", "--words"]).trim().to_string();
    let upper = t.path().join("upper");
    assert_eq!(
        ok(&upper, &["import-key", "--words", &words.to_uppercase()]).trim(),
        me
    );

    let backups = t.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let file = backups.join("X");
    std::fs::write(backups.join("X.tmp"), "someone else's").unwrap();
    ok(&a, &["export-key", "--file", file.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(backups.join("X.tmp")).unwrap(),
        "someone else's"
    );
    let mut names: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["X", "X.tmp"]);

    std::fs::remove_file(a.join("secret.key")).unwrap();
    let db = std::fs::read(a.join("rookery.redb")).unwrap();
    for args in [&["id"][..], &["feed"], &["post", "as whom?"]] {
        let err = fails(&a, args);
        assert!(
            err.contains("holds a database but no secret.key") && err.contains("import-key"),
            "{err}"
        );
    }
    assert!(!a.join("secret.key").exists());
    assert!(std::fs::read(a.join("rookery.redb")).unwrap() == db);
    // The way out the error names.
    assert_eq!(
        ok(&a, &["import-key", "--file", file.to_str().unwrap()]).trim(),
        me
    );
    assert!(ok(&a, &["feed"]).contains(id));
}

#[test]
fn bad_input_is_one_line_of_error() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    fails(&a, &["follow", "not-a-key"]);
    fails(&a, &["reply", &"0".repeat(64), "text"]);
    fails(&a, &["thread", "zz"]);
    fails(&a, &["feed", "--cursor", "bogus"]);
    fails(&a, &["post", &"x".repeat(7000)]);
    // The same rules as the UI's, in the same words (tests/http.rs checks the UI's side), in
    // the unit that was broken.
    let err = fails(&a, &["post", ""]);
    assert_eq!(err.trim(), "error: a post needs some text");
    let err = fails(&a, &["post", &"語".repeat(2100)]);
    assert_eq!(
        err.trim(),
        "error: the post is over the limit of 6144 bytes"
    );
    let err = fails(&a, &["profile", "set", "--name", &"n".repeat(10_000)]);
    assert_eq!(
        err.trim(),
        "error: the name is over the limit of 64 characters"
    );
    let junk = t.path().join("junk.bundle");
    std::fs::write(&junk, b"junk").unwrap();
    fails(&a, &["bundle", "import", junk.to_str().unwrap()]);
    fails(
        &a,
        &[
            "bundle",
            "import",
            t.path().join("missing").to_str().unwrap(),
        ],
    );
    // A corrupt database file is refused and left as it was.
    let c = t.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("rookery.redb"), vec![7u8; 4096]).unwrap();
    fails(&c, &["id"]);
    assert_eq!(
        std::fs::read(c.join("rookery.redb")).unwrap(),
        vec![7u8; 4096]
    );
    assert!(ok(&a, &["feed"]).contains("Nothing here yet"));
    // Usage mistakes are one line too.
    fails(&a, &["follow"]);
    fails(&a, &["no-such-command"]);
}

#[test]
fn hostile_text_cannot_drive_the_terminal() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    ok(&a, &["post", "before\u{1b}[2Jafter"]);
    ok(&a, &["post", "bell\u{7} and\ttab"]);
    let out = ok(&a, &["feed"]);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("before\u{FFFD}[2Jafter") && out.contains("\ttab"));
    // The JSON keeps the text as it is (escaped by JSON).
    assert_eq!(
        json(&a, &["feed"])["items"][1]["content"]["text"],
        "before\u{1b}[2Jafter"
    );
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    use std::io::Read;
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    for i in 0..30 {
        ok(
            &a,
            &["post", &format!("post {i}\n{}", "line\n".repeat(400))],
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_rookery"))
        .arg("--data-dir")
        .arg(&a)
        .args(["feed", "--limit", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
}

/// `serve` on one side; `follow <ticket>` and `sync` on the other, all on loopback with relays
/// and discovery off; `ticket` and `peers` answer from the running server.
#[test]
fn serve_ticket_follow_and_sync() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let net = ["--offline", "--bind", "127.0.0.1:0"];
    ok(a.path(), &["profile", "set", "--name", "Ada"]);
    ok(a.path(), &["post", "served from a headless node"]);
    let mut serve = Command::new(env!("CARGO_BIN_EXE_rookery"))
        .arg("--data-dir")
        .arg(a.path())
        .args(net)
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Ready when `peers` answers from the running server.
    for _ in 0..600 {
        if a.path().join("serve.json").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let peers = ok(a.path(), &["peers"]);
    assert!(peers.contains("is running as"), "{peers}");
    let ticket = ok(a.path(), &["ticket"]).trim().to_string();
    assert!(ticket.starts_with("endpoint"), "{ticket}");
    // While serve holds the database, other commands say so in one line.
    let err = fails(a.path(), &["post", "x"]);
    assert!(err.contains("rookery serve"), "{err}");
    ok(b.path(), &["follow", &ticket]);
    let mut args = net.to_vec();
    args.extend(["sync", "--seconds", "20"]);
    let out = ok(b.path(), &args);
    assert!(out.contains("1 of 1 followed feeds"), "{out}");
    let feed = ok(b.path(), &["feed"]);
    assert!(
        feed.contains("Ada") && feed.contains("served from a headless node"),
        "{feed}"
    );
    let peers = ok(a.path(), &["--json", "peers"]);
    assert!(peers.trim_start().starts_with('['), "{peers}");
    // A bad ticket is one line of error.
    let err = fails(b.path(), &["follow", "endpointnotaticket"]);
    assert!(err.contains("not a key or a ticket"), "{err}");
    serve.kill().unwrap();
    serve.wait().unwrap();
    let known = ok(b.path(), &["peers"]);
    assert!(known.contains("Known peers"), "{known}");
    // A bad --peer ticket is one line of error; a damaged status file reads as no server.
    let mut args = net.to_vec();
    args.extend(["sync", "--peer", "endpointgarbage"]);
    let err = fails(b.path(), &args);
    assert!(err.contains("not a ticket"), "{err}");
    std::fs::write(b.path().join("serve.json"), b"{not json").unwrap();
    let known = ok(b.path(), &["peers"]);
    assert!(known.contains("Known peers"), "{known}");
}
