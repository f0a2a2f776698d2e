//! Helpers shared by the networked node tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use rookery_node::{NetConfig, NetOptions};

/// Loopback only, relays and discovery off; `background` completes followed feeds.
pub fn loopback(background: bool) -> NetConfig {
    NetConfig {
        net: NetOptions::loopback(),
        background,
        ..NetConfig::default()
    }
}

/// Waits (up to 30 s) until `f` holds.
pub async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..1500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}
