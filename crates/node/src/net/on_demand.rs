//! Reads that fetch what they meet missing: a read runs against the store; when it names
//! missing tree nodes or bodies, they are fetched from the sessions (one batch per tree level,
//! the leaves with their bodies) through the node's one door in, and the read runs again.
//!
//! A read the UI waits for answers within [`NetConfig::read_timeout`](super::NetConfig)
//! whatever the peers do: each round asks the best few sessions at once and takes the first
//! that brings anything; a session that stalls (no frame within [`READ_FRAME_TIMEOUT`]) or
//! drips (see `rookery_sync::verify`) is dropped; when time is up the read returns what it
//! meets missing (`not_synced`), and the UI shows its retry state.

use std::time::{Duration, Instant};

use rookery_feed::MessageId;
use rookery_prolly::Hash;
use rookery_sync::wire::MAX_HASHES;
use rookery_sync::{Client, ClientError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::engine::Input;
use super::error::rejection;
use super::{NetError, Network, Shared};
use crate::{Node, NodeError};

/// Rounds of on-demand fetching before a read gives up. A read stops earlier when a round
/// fetches nothing; each round fetches one level of one tree, and a read across many authors
/// (a thread, notifications) may walk a few levels of each of their trees.
const READ_ROUNDS: usize = 64;
/// Sessions asked at once in one round.
const ASK_AT_ONCE: usize = 3;
/// The longest a read waits for each frame from a session before it counts as stalling.
pub(crate) const READ_FRAME_TIMEOUT: Duration = Duration::from_secs(3);

impl Network {
    /// Runs a read, fetching what it meets missing from the sessions (one batch per tree
    /// level), until it completes, nothing more can be fetched, or the read's time is up.
    pub async fn read<T>(&self, f: impl Fn(&Node) -> Result<T, NodeError>) -> Result<T, NodeError> {
        let deadline = Instant::now() + self.shared.config.read_timeout;
        let mut rounds = 0;
        loop {
            let (nodes, bodies) = match f(self.node()) {
                Err(NodeError::MissingNodes(h)) if rounds < READ_ROUNDS => (h, vec![]),
                Err(NodeError::MissingBodies(ids)) if rounds < READ_ROUNDS => (vec![], ids),
                r => return r,
            };
            rounds += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return f(self.node());
            }
            let (reply, got) = oneshot::channel();
            let input = Input::Read {
                nodes,
                bodies,
                reply,
            };
            let fetched = self.send(input).await
                && matches!(tokio::time::timeout(left, got).await, Ok(Ok(true)));
            if !fetched {
                return f(self.node());
            }
        }
    }
}

/// Fetches `nodes` and `bodies` from `clients`, best first, a few at once; the first that
/// brings anything ends the round (the others are cancelled). Stores what verifies. Returns
/// whether anything came.
pub(crate) async fn fetch(
    shared: &std::sync::Arc<Shared>,
    clients: Vec<Client>,
    nodes: Vec<Hash>,
    bodies: Vec<MessageId>,
    inputs: &mpsc::Sender<Input>,
) -> bool {
    for group in clients.chunks(ASK_AT_ONCE) {
        let mut asking = JoinSet::new();
        for client in group {
            let (shared, inputs) = (shared.clone(), inputs.clone());
            let (nodes, bodies) = (nodes.clone(), bodies.clone());
            let client = client.with_timeout(READ_FRAME_TIMEOUT);
            asking.spawn(async move { ask(&shared, &client, &nodes, &bodies, &inputs).await });
        }
        while let Some(r) = asking.join_next().await {
            if r.unwrap_or(false) {
                return true;
            }
        }
    }
    false
}

/// Asks one session; reports it if it misbehaves. Returns whether anything came.
async fn ask(
    shared: &Shared,
    client: &Client,
    nodes: &[Hash],
    bodies: &[MessageId],
    inputs: &mpsc::Sender<Input>,
) -> bool {
    let node = &shared.node;
    let mut got = 0;
    let mut take = |b: rookery_sync::Batch| {
        got += b.nodes.len() + b.bodies.len();
        node.take_parts(&b.nodes, &b.bodies).map_err(rejection)
    };
    let mut r = Ok(());
    for chunk in nodes.chunks(MAX_HASHES) {
        r = client.fetch(None, chunk, &[], true, &mut take).await;
        if r.is_err() {
            break;
        }
    }
    if r.is_ok() {
        for chunk in bodies.chunks(MAX_HASHES) {
            r = client.fetch(None, &[], chunk, false, &mut take).await;
            if r.is_err() {
                break;
            }
        }
    }
    match r {
        Err(e) if e.is_misbehaviour() => {
            let peer = client.peer();
            let conn = client.connection().stable_id();
            let error = NetError::client(peer, e);
            let _ = inputs.send(Input::Misbehaved { peer, conn, error }).await;
        }
        Err(ClientError::Local(e)) => tracing::warn!("storing fetched data failed: {e}"),
        _ => {}
    }
    got > 0
}
