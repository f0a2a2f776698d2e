//! Crash safety: a child process publishing in a loop is killed with SIGKILL at random moments;
//! after each kill the store opens, every head's trees are complete, every message its head
//! counts has its body, and nothing is half-published.
//!
//! The child is this same test binary, started with `ROOKERY_CRASH_CHILD` set so that the
//! ignored test `publish_forever` runs its loop.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rookery_feed::Index;
use rookery_node::Node;
use rookery_prolly::{KeyRange, Prolly, Query};

const CHILD_ENV: &str = "ROOKERY_CRASH_CHILD";

#[test]
#[ignore = "run by `killed_publishers_leave_a_consistent_store` as a child process"]
fn publish_forever() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let node = Node::open(&dir).unwrap();
    let me = node.id();
    for i in 0u64.. {
        // A mix of message kinds, so every index is written in some transactions.
        match i % 4 {
            0 => node
                .post(&format!(
                    "post {i} mentioning @{}",
                    hex::encode(me.as_bytes())
                ))
                .map(drop),
            1 => node
                .follow(rookery_feed::SecretKey::from_bytes(&[(i % 200) as u8; 32]).public())
                .map(drop),
            2 => node.post(&"long text ".repeat(50)).map(drop),
            _ => node
                .set_profile(&format!("name {i}"), "bio", None)
                .map(drop),
        }
        .unwrap();
    }
}

/// A small deterministic spread of kill delays (no RNG needed).
fn delay(round: u64) -> Duration {
    Duration::from_millis(40 + (round * 7919 % 23) * 13)
}

#[test]
fn killed_publishers_leave_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let exe = std::env::current_exe().unwrap();
    let mut last_seq = 0;
    let mut grew = 0;
    for round in 0..24 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "publish_forever",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        std::thread::sleep(delay(round));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        assert!(started.elapsed() < Duration::from_secs(30));

        let node = Node::open(&data)
            .unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
        let Some(head) = node.store().head(&node.id()).unwrap() else {
            continue;
        };
        let head = head.head().clone();
        let trees = Prolly::new(node.store());
        for index in Index::ALL {
            trees
                .tree_nodes(&head.roots.get(index))
                .unwrap_or_else(|e| panic!("round {round}: {index:?} incomplete: {e}"));
        }
        // Every message the head counts is in `messages` with its body (nothing here deletes).
        let mut n = 0;
        for entry in trees.range(&head.roots.messages, Query::new(KeyRange::all())) {
            let (_, id) = entry.unwrap();
            let id = rookery_feed::MessageId(id.try_into().unwrap());
            let body = node
                .store()
                .body(&id)
                .unwrap()
                .expect("a message without its body");
            n += 1;
            assert_eq!(
                body.message().seq,
                n,
                "round {round}: messages out of seq order"
            );
        }
        assert_eq!(
            n, head.seq,
            "round {round}: the head counts {} messages, the index holds {n}",
            head.seq
        );
        assert!(
            head.seq >= last_seq,
            "round {round}: the feed went backwards"
        );
        grew += u32::from(head.seq > last_seq);
        last_seq = head.seq;
        // And it goes on: the next publish after the crash is accepted.
        node.post("after the crash").unwrap();
        last_seq += 1;
    }
    assert!(grew >= 5, "the child published in only {grew} rounds");
}
