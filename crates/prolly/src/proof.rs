//! Range proofs: the nodes that answer "the first N entries of range R, forward or reverse",
//! and their verification against a trusted root.
//!
//! The proof is exactly the set of nodes the query reads. The verifier hashes each node itself,
//! puts them in a scratch store and runs the same query from the trusted root: every node the
//! query needs must be there (a missing or altered node is an error), every node in the proof
//! must be used (no padding), and the answer is what the query returns. Since the walk is the
//! same deterministic algorithm on both sides, an honest proof always verifies.

use std::collections::HashSet;

use crate::cursor::{KeyValue, Query, Range};
use crate::error::Error;
use crate::hash::Hash;
use crate::node::verify_node;
use crate::store::{Loader, MemStore, NodeBytes, NodeStore};

/// The nodes that answer one [`Query`], in the order the query read them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeProof {
    /// Encoded nodes.
    pub nodes: Vec<Vec<u8>>,
}

impl RangeProof {
    /// Total encoded size.
    pub fn byte_len(&self) -> usize {
        self.nodes.iter().map(Vec::len).sum()
    }
}

pub(crate) fn prove<S: NodeStore + ?Sized>(
    store: &S,
    root: &Hash,
    query: &Query,
) -> Result<(Vec<KeyValue>, RangeProof), Error> {
    let mut range = Range::new(Loader::recording(store), *root, query.clone());
    let entries = range.by_ref().collect::<Result<Vec<_>, _>>()?;
    let nodes = range
        .loader()
        .take_recorded()
        .into_iter()
        .map(|n| n.bytes)
        .collect();
    Ok((entries, RangeProof { nodes }))
}

/// Checks `proof` against the trusted `root` and returns the query's answer.
pub fn verify_range(
    root: &Hash,
    query: &Query,
    proof: &RangeProof,
) -> Result<Vec<KeyValue>, Error> {
    let store = MemStore::new();
    let mut given = Vec::with_capacity(proof.nodes.len());
    for bytes in &proof.nodes {
        let id = Hash::of_node(bytes);
        verify_node(&id, bytes)?;
        given.push(NodeBytes {
            id,
            bytes: bytes.clone(),
        });
    }
    store.put_many(&given).map_err(Error::Store)?;
    let mut range = Range::new(Loader::recording(&store), *root, query.clone());
    let entries = range
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            Error::MissingNodes(ids) => Error::ProofIncomplete(ids),
            e => e,
        })?;
    let used: HashSet<Hash> = range
        .loader()
        .take_recorded()
        .into_iter()
        .map(|n| n.id)
        .collect();
    let mut seen = HashSet::new();
    for n in &given {
        if !used.contains(&n.id) || !seen.insert(n.id) {
            return Err(Error::ProofExtraNode(n.id));
        }
    }
    Ok(entries)
}
