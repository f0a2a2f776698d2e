//! The `NodeStore` trait (get and put-many by id), the in-memory store, and the loader every
//! tree operation reads nodes through.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::{Error, StoreError};
use crate::hash::Hash;
use crate::node::{EMPTY_ROOT, Node};

/// A node and its id, as written to a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeBytes {
    /// `Hash::of_node(&bytes)`.
    pub id: Hash,
    /// The canonical encoding.
    pub bytes: Vec<u8>,
}

/// Where nodes live, by id. Implementations are plain key-value maps. Every read goes through a
/// loader that checks the bytes against the id, decodes them strictly and checks each node
/// against its parent. What goes in must come from this crate's mutations or have passed
/// [`crate::verify_node`] (which also checks the chunking inside the node): mutations rely on
/// stored nodes being canonical.
pub trait NodeStore {
    /// The bytes stored under `id`, if any.
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a batch of nodes at once (one transaction where the store has them). Storing a node
    /// that is already there is not an error.
    fn put_many(&self, nodes: &[NodeBytes]) -> Result<(), StoreError>;

    /// Whether `id` is stored.
    fn contains(&self, id: &Hash) -> Result<bool, StoreError> {
        Ok(self.get(id)?.is_some())
    }

    /// The bytes stored under each of `ids`, in order (one read, where the store has them).
    fn get_many(&self, ids: &[Hash]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        ids.iter().map(|id| self.get(id)).collect()
    }
}

impl<T: NodeStore + ?Sized> NodeStore for &T {
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(id)
    }
    fn put_many(&self, nodes: &[NodeBytes]) -> Result<(), StoreError> {
        (**self).put_many(nodes)
    }
    fn get_many(&self, ids: &[Hash]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(ids)
    }
    fn contains(&self, id: &Hash) -> Result<bool, StoreError> {
        (**self).contains(id)
    }
}

impl<T: NodeStore + ?Sized> NodeStore for Arc<T> {
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(id)
    }
    fn put_many(&self, nodes: &[NodeBytes]) -> Result<(), StoreError> {
        (**self).put_many(nodes)
    }
    fn get_many(&self, ids: &[Hash]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(ids)
    }
    fn contains(&self, id: &Hash) -> Result<bool, StoreError> {
        (**self).contains(id)
    }
}

/// A `NodeStore` in memory, for tests, proofs and scratch work.
#[derive(Debug, Default)]
pub struct MemStore {
    nodes: RwLock<HashMap<Hash, Arc<[u8]>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of nodes held.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when no node is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes a node (to simulate a sparse store in tests). Returns whether it was there.
    pub fn remove(&self, id: &Hash) -> bool {
        self.nodes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
            .is_some()
    }

    /// Stores bytes under an id of the caller's choosing, unchecked (to simulate corruption).
    pub fn insert_raw(&self, id: Hash, bytes: Vec<u8>) {
        self.nodes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, bytes.into());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Hash, Arc<[u8]>>> {
        // A panic while holding the lock cannot leave the map half-written (every write is a
        // single insert or remove), so a poisoned lock is safe to use.
        self.nodes.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl NodeStore for MemStore {
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().get(id).map(|b| b.to_vec()))
    }

    fn put_many(&self, nodes: &[NodeBytes]) -> Result<(), StoreError> {
        let mut map = self.nodes.write().unwrap_or_else(|e| e.into_inner());
        for n in nodes {
            map.entry(n.id).or_insert_with(|| n.bytes.as_slice().into());
        }
        Ok(())
    }

    fn contains(&self, id: &Hash) -> Result<bool, StoreError> {
        Ok(self.read().contains_key(id))
    }
}

/// A store seen with some nodes on top that are not written to it: a mutation's new nodes, or
/// nodes received and not yet taken in, read as if they were stored (to walk a tree rebuilt
/// in memory, or to check that what arrived completes a tree). Writes go to the overlay only.
#[derive(Debug)]
pub struct Overlay<S> {
    base: S,
    extra: RwLock<HashMap<Hash, Arc<[u8]>>>,
}

impl<S: NodeStore> Overlay<S> {
    /// `base` with `nodes` on top.
    pub fn new(base: S, nodes: &[NodeBytes]) -> Self {
        let o = Overlay {
            base,
            extra: RwLock::default(),
        };
        // Infallible: an overlay's writes stay in memory.
        let _ = o.put_many(nodes);
        o
    }
}

impl<S: NodeStore> NodeStore for Overlay<S> {
    fn get(&self, id: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let extra = self.extra.read().unwrap_or_else(|e| e.into_inner());
        match extra.get(id) {
            Some(b) => Ok(Some(b.to_vec())),
            None => self.base.get(id),
        }
    }

    fn put_many(&self, nodes: &[NodeBytes]) -> Result<(), StoreError> {
        let mut map = self.extra.write().unwrap_or_else(|e| e.into_inner());
        for n in nodes {
            map.entry(n.id).or_insert_with(|| n.bytes.as_slice().into());
        }
        Ok(())
    }

    fn contains(&self, id: &Hash) -> Result<bool, StoreError> {
        let held = self
            .extra
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(id);
        Ok(held || self.base.contains(id)?)
    }
}

/// A node as loaded: decoded, with the bytes it was decoded from.
pub(crate) type Loaded = (Arc<Node>, Vec<u8>);

/// Reads nodes for one operation: checks each node's bytes against its id and decodes them
/// strictly, counts loads, and optionally caches decoded nodes (mutations revisit paths) or
/// records the bytes it read (range proofs).
pub(crate) struct Loader<'s, S: ?Sized> {
    store: &'s S,
    cache: Option<RefCell<HashMap<Hash, Arc<Node>>>>,
    record: Option<RefCell<Vec<NodeBytes>>>,
    loads: Cell<u64>,
}

impl<'s, S: NodeStore + ?Sized> Loader<'s, S> {
    pub(crate) fn new(store: &'s S) -> Self {
        Loader {
            store,
            cache: None,
            record: None,
            loads: Cell::new(0),
        }
    }

    pub(crate) fn cached(store: &'s S) -> Self {
        Loader {
            cache: Some(RefCell::default()),
            ..Self::new(store)
        }
    }

    pub(crate) fn recording(store: &'s S) -> Self {
        Loader {
            record: Some(RefCell::default()),
            ..Self::new(store)
        }
    }

    pub(crate) fn store(&self) -> &'s S {
        self.store
    }

    /// Nodes read from the store so far (cache hits and the empty root not counted).
    pub(crate) fn loads(&self) -> u64 {
        self.loads.get()
    }

    pub(crate) fn take_recorded(&self) -> Vec<NodeBytes> {
        self.record
            .as_ref()
            .map(|r| std::mem::take(&mut *r.borrow_mut()))
            .unwrap_or_default()
    }

    pub(crate) fn load(&self, id: &Hash) -> Result<Arc<Node>, Error> {
        if *id == EMPTY_ROOT {
            return Ok(Node::empty_arc());
        }
        if let Some(cache) = &self.cache
            && let Some(n) = cache.borrow().get(id)
        {
            return Ok(n.clone());
        }
        let bytes = self
            .store
            .get(id)
            .map_err(Error::Store)?
            .ok_or(Error::MissingNodes(vec![*id]))?;
        Ok(self.check(id, bytes)?.0)
    }

    /// Loads `ids` in one read of the store, each with the bytes it was decoded from; `None`
    /// for those the store lacks. Not cached, not recorded.
    pub(crate) fn load_many(&self, ids: &[Hash]) -> Result<Vec<Option<Loaded>>, Error> {
        let found = self.store.get_many(ids).map_err(Error::Store)?;
        ids.iter()
            .zip(found)
            .map(|(id, bytes)| match bytes {
                _ if *id == EMPTY_ROOT => {
                    let empty = Node::empty_arc();
                    let bytes = empty.encode();
                    Ok(Some((empty, bytes)))
                }
                Some(b) => self.check(id, b).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// Bytes read under `id`, checked against it and decoded strictly (then cached and
    /// recorded, if this loader does).
    fn check(&self, id: &Hash, bytes: Vec<u8>) -> Result<Loaded, Error> {
        self.loads.set(self.loads.get() + 1);
        let actual = Hash::of_node(&bytes);
        if actual != *id {
            return Err(Error::HashMismatch {
                expected: *id,
                actual,
            });
        }
        let node =
            Arc::new(Node::decode(&bytes).map_err(|source| Error::Decode { id: *id, source })?);
        if let Some(cache) = &self.cache {
            cache.borrow_mut().insert(*id, node.clone());
        }
        if let Some(rec) = &self.record {
            rec.borrow_mut().push(NodeBytes {
                id: *id,
                bytes: bytes.clone(),
            });
        }
        Ok((node, bytes))
    }

    /// Loads a tree's root: an inner root with a single child is refused (that child is the
    /// root of the canonical tree, so such a root gives the same entries a second hash).
    pub(crate) fn load_root(&self, id: &Hash) -> Result<Arc<Node>, Error> {
        let node = self.load(id)?;
        if node.level > 0 && node.entries.len() == 1 {
            return Err(Error::Inconsistent {
                id: *id,
                reason: "inner root with a single child",
            });
        }
        Ok(node)
    }

    /// Loads the child behind `parent.entries[idx]` and checks that it fits there: one level
    /// down, ending at the entry's key, holding the entry's count, starting after every key
    /// before it (`lower`: the largest key before the parent's subtree), and ending on a chunk
    /// boundary unless it is the last node of its level (`parent_rightmost`: the parent is).
    /// With these, a tree that decodes is a sorted, canonically chunked tree, whoever built it.
    pub(crate) fn load_child(
        &self,
        parent: &Node,
        idx: usize,
        lower: Option<&[u8]>,
        parent_rightmost: bool,
    ) -> Result<Arc<Node>, Error> {
        let entry = &parent.entries[idx];
        let Some(id) = entry.child_id() else {
            return Err(Error::Inconsistent {
                id: EMPTY_ROOT,
                reason: "leaf has no children",
            });
        };
        let child = self.load(&id)?;
        let fail = |reason| Err(Error::Inconsistent { id, reason });
        if child.level + 1 != parent.level {
            return fail("child level is not one below its parent");
        }
        if child.last_key() != Some(entry.key.as_slice()) {
            return fail("child's largest key differs from its parent entry");
        }
        if child.checked_count() != Some(entry.count()) {
            return fail("child's entry count differs from its parent entry");
        }
        let lower = if idx > 0 {
            Some(parent.entries[idx - 1].key.as_slice())
        } else {
            lower
        };
        if lower.is_some_and(|l| child.entries[0].key.as_slice() <= l) {
            return fail("child overlaps the keys before it");
        }
        let rightmost = parent_rightmost && idx + 1 == parent.entries.len();
        if !rightmost && !child.ends_chunk() {
            return fail("child ends where the chunking rule does not end a node");
        }
        Ok(child)
    }

    /// The ids among `ids` that the store lacks; `first` is known missing and always listed.
    pub(crate) fn missing_among(
        &self,
        first: Hash,
        ids: impl Iterator<Item = Hash>,
    ) -> Result<Vec<Hash>, Error> {
        let mut out = vec![first];
        for id in ids {
            if id != first && id != EMPTY_ROOT && !self.store.contains(&id).map_err(Error::Store)? {
                out.push(id);
            }
        }
        Ok(out)
    }
}
