//! `rookery-bench`: Rookery's benchmark harness. Each scenario measures Rookery side by side with
//! real peers in one run on this machine and prints ratios (a timing alone says little on a
//! shared, noisy machine). Run by `make bench`; speed is never asserted in tests.
//!
//! Scenarios: `tree` (the Prolly tree against redb, `BTreeMap` and the `prollytree` crate) and
//! `feeds` (a node holding many followed feeds), `sync` (two nodes on loopback against a
//! full-log peer, the real SSB stack and iroh-docs), `onboard` (a newcomer following many
//! people through a pub).

mod feeds;
mod measure;
mod sync;
mod tree;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rookery-bench", about = "Side-by-side benchmarks for Rookery")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// The Prolly tree: build, single inserts, diff, proofs and appends, against redb, BTreeMap
    /// and the `prollytree` crate.
    Tree(tree::Args),
    /// Feeds: notifications by root diffs against scanning every message, the first page
    /// after opening, publishing, importing and signature checking.
    Feeds(feeds::Args),
    /// Sync: first screen, catch-up, notifications and full history, against full-log, SSB and
    /// iroh-docs peers.
    Sync(sync::Args),
    /// Onboarding: a newcomer follows many people at once through a pub and opens Home.
    Onboard(sync::onboard::Args),
}

fn main() -> anyhow::Result<()> {
    // Logs (RUST_LOG) go to stderr, away from the JSON on stdout.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().scenario {
        Scenario::Tree(args) => tree::run(&args),
        Scenario::Feeds(args) => feeds::run(&args),
        Scenario::Sync(args) => sync::run(&args),
        Scenario::Onboard(args) => sync::onboard::run(&args),
    }
}
