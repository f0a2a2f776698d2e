//! Values under their blake3 id, kept log-structured: the values in a table keyed by arrival
//! number (`n → bytes`, n counting up), and a small index `id → n`. Prolly nodes and message
//! bodies are stored this way.
//!
//! Why not `id → bytes` directly: ids are hashes, so every insert lands on a random page of a
//! B-tree of large values; pages split in half and fill to about two thirds, and each commit
//! copies a random page per value. Keyed by arrival, every insert lands on the tree's rightmost
//! page, which redb packs full before starting the next; only the index, 40 bytes an entry,
//! takes random inserts. Measured with 100,000 bodies of 300–350 bytes in commits of 800: 581
//! bytes on disk per body keyed by id, 443 log-structured. Values of one feed arrive together,
//! so they also sit together on disk.
//!
//! The id is a function of the value (the blake3 hash of the node, the id of the signed
//! message), so the index can always be rebuilt from the values: the values are the truth, and
//! a repair derives the index from those that still verify.

use redb::{
    ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction,
};

use crate::Error;

/// One log: its value table and its index.
#[derive(Clone, Copy)]
pub(crate) struct Log {
    /// `id → arrival number`.
    pub(crate) ids: TableDefinition<'static, &'static [u8; 32], u64>,
    /// `arrival number → bytes`.
    pub(crate) values: TableDefinition<'static, u64, &'static [u8]>,
}

/// Prolly nodes: `blake3 id → canonical node bytes`.
pub(crate) const NODES: Log = Log {
    ids: TableDefinition::new("node_ids"),
    values: TableDefinition::new("node_values"),
};

/// Message bodies: `message id → signed message bytes`.
pub(crate) const BODIES: Log = Log {
    ids: TableDefinition::new("body_ids"),
    values: TableDefinition::new("body_values"),
};

/// A dangling index entry: the file was changed outside Rookery (redb's own report of that
/// kind, so that [`crate::guard`] names the file and `rookery repair`).
fn dangling() -> Error {
    Error::Storage(redb::StorageError::Corrupted(
        "an index entry names a value that is not stored".into(),
    ))
}

impl Log {
    /// Creates both tables.
    pub(crate) fn create(&self, txn: &WriteTransaction) -> Result<(), Error> {
        txn.open_table(self.ids)?;
        txn.open_table(self.values)?;
        Ok(())
    }

    /// The log inside a write transaction.
    pub(crate) fn write<'t>(&self, txn: &'t WriteTransaction) -> Result<LogWriter<'t>, Error> {
        let values = txn.open_table(self.values)?;
        let next = values.last()?.map_or(0, |(k, _)| k.value() + 1);
        Ok(LogWriter {
            ids: txn.open_table(self.ids)?,
            values,
            next,
        })
    }

    /// The log inside a read transaction.
    pub(crate) fn read(&self, txn: &ReadTransaction) -> Result<LogReader, Error> {
        Ok(LogReader {
            ids: txn.open_table(self.ids)?,
            values: txn.open_table(self.values)?,
        })
    }
}

/// A log open for writing.
pub(crate) struct LogWriter<'t> {
    ids: Table<'t, &'static [u8; 32], u64>,
    values: Table<'t, u64, &'static [u8]>,
    next: u64,
}

impl LogWriter<'_> {
    /// Appends `bytes` under `id`, unless they are stored under `id` already. Different bytes
    /// under `id` (damage: the id is a hash of the bytes, and what is put was verified) are
    /// replaced where they are. Whether the value was new.
    pub(crate) fn put(&mut self, id: &[u8; 32], bytes: &[u8]) -> Result<bool, Error> {
        let held = self.ids.get(id)?.map(|n| n.value());
        if let Some(n) = held {
            let same = self.values.get(n)?.is_some_and(|v| v.value() == bytes);
            if !same {
                self.values.insert(n, bytes)?;
            }
            return Ok(false);
        }
        self.values.insert(self.next, bytes)?;
        self.ids.insert(id, self.next)?;
        self.next += 1;
        Ok(true)
    }
}

/// A log open for reading.
pub(crate) struct LogReader {
    ids: ReadOnlyTable<&'static [u8; 32], u64>,
    values: ReadOnlyTable<u64, &'static [u8]>,
}

impl LogReader {
    /// The bytes stored under `id`.
    pub(crate) fn get(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>, Error> {
        let Some(n) = self.ids.get(id)? else {
            return Ok(None);
        };
        match self.values.get(n.value())? {
            Some(v) => Ok(Some(v.value().to_vec())),
            None => Err(dangling()),
        }
    }

    /// Whether something is stored under `id`.
    pub(crate) fn contains(&self, id: &[u8; 32]) -> Result<bool, Error> {
        Ok(self.ids.get(id)?.is_some())
    }

    /// Values stored.
    pub(crate) fn len(&self) -> Result<u64, Error> {
        use redb::ReadableTableMetadata;
        Ok(self.ids.len()?)
    }

    /// Every value, in arrival order.
    pub(crate) fn each_value(&self, mut f: impl FnMut(&[u8])) -> Result<(), Error> {
        for row in self.values.iter()? {
            let (_, v) = row?;
            f(v.value());
        }
        Ok(())
    }

    /// Every `(id, value)`, in id order.
    pub(crate) fn each_by_id(&self, mut f: impl FnMut(&[u8; 32], &[u8])) -> Result<(), Error> {
        for row in self.ids.iter()? {
            let (id, n) = row?;
            let v = self.values.get(n.value())?.ok_or_else(dangling)?;
            f(id.value(), v.value());
        }
        Ok(())
    }
}

/// Migration 3 → 4: the tables keyed by id (`nodes`, `bodies`) become logs, their rows moved
/// in id order, and the old tables are dropped.
pub(crate) fn migrate_3_to_4(txn: &WriteTransaction) -> Result<(), Error> {
    const OLD_NODES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("nodes");
    const OLD_BODIES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("bodies");
    for (old, log) in [(OLD_NODES, NODES), (OLD_BODIES, BODIES)] {
        {
            let rows = txn.open_table(old)?;
            let mut w = log.write(txn)?;
            for row in rows.iter()? {
                let (k, v) = row?;
                w.put(k.value(), v.value())?;
            }
        }
        txn.delete_table(old)?;
    }
    Ok(())
}
