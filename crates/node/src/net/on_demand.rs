//! Reads that fetch what they meet missing: a read runs against the store; when it names
//! missing tree nodes or bodies, they are fetched from the sessions (one batch per tree level,
//! the leaves with their bodies) through the node's one door in, and the read runs again.

use rookery_feed::MessageId;
use rookery_prolly::Hash;
use rookery_sync::wire::MAX_HASHES;
use rookery_sync::{Client, ClientError};
use tokio::sync::{mpsc, oneshot};

use super::engine::Input;
use super::error::rejection;
use super::{NetError, Network, Shared};
use crate::{Node, NodeError};

/// Rounds of on-demand fetching before a read gives up. A read stops earlier when a round
/// fetches nothing; each round fetches one level of one tree, and a read across many authors
/// (a thread, notifications) may walk a few levels of each of their trees.
const READ_ROUNDS: usize = 64;

impl Network {
    /// Runs a read, fetching what it meets missing from the sessions (one batch per tree
    /// level), until it completes or nothing more can be fetched.
    pub async fn read<T>(&self, f: impl Fn(&Node) -> Result<T, NodeError>) -> Result<T, NodeError> {
        let mut rounds = 0;
        loop {
            let (nodes, bodies) = match f(self.node()) {
                Err(NodeError::MissingNodes(h)) if rounds < READ_ROUNDS => (h, vec![]),
                Err(NodeError::MissingBodies(ids)) if rounds < READ_ROUNDS => (vec![], ids),
                r => return r,
            };
            rounds += 1;
            let (reply, got) = oneshot::channel();
            let asked = self.send(Input::Read {
                nodes,
                bodies,
                reply,
            });
            if !asked || !got.await.unwrap_or(false) {
                return f(self.node());
            }
        }
    }
}

/// Fetches `nodes` and `bodies` from the first of `clients` that has any of them; stores what
/// verifies. Returns whether anything came.
pub(crate) async fn fetch(
    shared: &Shared,
    clients: Vec<Client>,
    nodes: &[Hash],
    bodies: &[MessageId],
    inputs: &mpsc::UnboundedSender<Input>,
) -> bool {
    let node = &shared.node;
    for client in clients {
        let mut got = 0;
        let mut r = Ok(());
        let mut take = |b: rookery_sync::Batch| {
            got += b.nodes.len() + b.bodies.len();
            node.take_parts(&b.nodes, &b.bodies).map_err(rejection)
        };
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
                let _ = inputs.send(Input::Misbehaved { peer, conn, error });
            }
            Err(ClientError::Local(e)) => {
                tracing::warn!("storing fetched data failed: {e}");
                return false;
            }
            _ => {}
        }
        if got > 0 {
            return true;
        }
    }
    false
}
