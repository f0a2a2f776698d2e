//! Repairing a damaged database (`rookery repair`). The file is first copied beside itself, as
//! it is; then redb's own integrity check and repair run, and every row of Rookery's tables is
//! checked as if it came from outside — nodes against their ids and the strict decoder, bodies
//! and heads against their signatures — and what fails is dropped. The indexes of the logs
//! (nodes and bodies by id) are derived again from the values that verify, and rewritten if
//! they differ. A table that cannot be read through is emptied. A file redb cannot repair in
//! place is rebuilt: a new file holding every row of the copy that can still be read and
//! verifies. What was dropped is fetched again by sync (the catch-up bookkeeping is reset so
//! it looks). The copy is deleted if nothing was wrong, and kept otherwise.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use rookery_feed::{SignedHead, SignedMessage};
use rookery_prolly::{Hash, verify_node};

use crate::{Error, Store, guard};

/// What a repair found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepairReport {
    /// redb found its own structures damaged and rebuilt them.
    pub redb_repaired: bool,
    /// The file as it was before the repair, kept beside it because damage was found.
    pub original_kept: Option<PathBuf>,
    /// redb could not repair the file in place: it is a new one, made of what verified.
    pub rebuilt: bool,
    /// Tree nodes dropped (bytes that no longer hash to their id or decode).
    pub nodes_dropped: u64,
    /// Message bodies dropped (no longer decode, or their signature fails).
    pub bodies_dropped: u64,
    /// Heads dropped.
    pub heads_dropped: u64,
    /// Indexes by id (of nodes, of bodies) that did not match their values and were derived
    /// again from them.
    pub indexes_rebuilt: u64,
    /// Tables that could not be read through: what could not be read of them is gone.
    pub tables_unreadable: Vec<String>,
    /// Rows checked in all.
    pub rows_checked: u64,
    /// Rows copied out of a file redb could not repair into a new one.
    pub rows_salvaged: u64,
}

impl RepairReport {
    /// Whether anything was found wrong.
    pub fn found_damage(&self) -> bool {
        self.redb_repaired
            || self.rebuilt
            || self.nodes_dropped + self.bodies_dropped + self.heads_dropped > 0
            || self.indexes_rebuilt > 0
            || !self.tables_unreadable.is_empty()
    }
}

type Keyed = TableDefinition<'static, &'static [u8; 32], &'static [u8]>;
use crate::feeds::HEADS;
use crate::log::{BODIES, Log, NODES};

/// How a row of a table keyed by 32 bytes is checked.
#[derive(Clone, Copy)]
enum Check {
    Node,
    Body,
    Head,
}

impl Check {
    /// Adds `dropped` rows of this kind to the report.
    fn count(self, report: &mut RepairReport, dropped: u64) {
        match self {
            Check::Node => report.nodes_dropped += dropped,
            Check::Body => report.bodies_dropped += dropped,
            Check::Head => report.heads_dropped += dropped,
        }
    }

    fn passes(self, key: &[u8; 32], value: &[u8]) -> bool {
        match self {
            Check::Node => verify_node(&Hash(*key), value).is_ok(),
            Check::Body => SignedMessage::decode(value).is_ok_and(|m| m.id().0 == *key),
            Check::Head => {
                SignedHead::decode(value).is_ok_and(|h| h.head().author.as_bytes() == key)
            }
        }
    }

    /// The id a log's value is stored under, if the value verifies (see `log.rs`: the id is
    /// a function of the value).
    fn id_of(self, value: &[u8]) -> Option<[u8; 32]> {
        let id = match self {
            Check::Node => Hash::of_node(value).0,
            Check::Body => SignedMessage::decode(value).ok()?.id().0,
            Check::Head => return None,
        };
        self.passes(&id, value).then_some(id)
    }
}

/// The logs, whose values are checked and whose indexes are derived from them.
const LOGS: [(Log, Check); 2] = [(NODES, Check::Node), (BODIES, Check::Body)];

impl Store {
    /// Checks the database at `path` and repairs what can be repaired (see the module docs).
    /// Afterwards the store opens and every row in it verifies.
    pub fn repair(path: impl AsRef<Path>) -> Result<RepairReport, Error> {
        let path = path.as_ref().to_path_buf();
        let mut report = RepairReport::default();
        let copy = aside_path(&path);
        if path.exists() {
            std::fs::copy(&path, &copy).map_err(|e| io_error(&path, e))?;
        }
        let repaired = repair_from(&path, &copy, &mut report);
        let in_use = repaired.as_ref().is_err_and(Error::is_in_use);
        if in_use || (repaired.is_ok() && !report.found_damage()) {
            let _ = std::fs::remove_file(&copy);
        } else if copy.exists() {
            report.original_kept = Some(copy);
        }
        repaired.map(|()| report)
    }
}

/// The repair of `path`, whose original is copied at `copy`: in place if redb can open and
/// repair the file and every table reads through; otherwise a rebuild from the copy.
fn repair_from(path: &Path, copy: &Path, report: &mut RepairReport) -> Result<(), Error> {
    let opened = guard(path, || {
        let mut db = Database::create(path).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let clean = db.check_integrity().map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((db, clean))
    });
    let in_place = match opened {
        Ok((db, clean)) => {
            report.redb_repaired = !clean;
            drop_bad_rows(&db, path, report)?
        }
        // Open in another process: nothing is touched.
        Err(e) if e.is_in_use() => return Err(e),
        Err(_) if copy.exists() => false,
        Err(e) => return Err(e),
    };
    if !in_place {
        *report = RepairReport::default();
        rebuild(path, copy, report)?;
    }
    // The schema, the migrations and every table again; then the rows the other tables hold,
    // read through once (a table that fails is emptied).
    let store = Store::open(path)?;
    for name in store.check_local()? {
        report.tables_unreadable.push(name);
    }
    if report.found_damage() {
        // Whatever was dropped is fetched again: catch-up starts over from what is held.
        store.reset_backfill()?;
    }
    Ok(())
}

/// The tables keyed by 32 bytes whose every row is checked, and how.
const CHECKED: [(Keyed, Check); 1] = [(HEADS, Check::Head)];

/// What a check of one log found: the index it should have, and the values to drop.
struct LogPlan {
    log: Log,
    index: Vec<([u8; 32], u64)>,
    drop: Vec<u64>,
    rewrite_index: bool,
}

/// Checks every value of `log` in place: those that fail (and second copies of one id) are to
/// be dropped, and the index is to be rewritten if it is not the one the values give. `None`
/// if the values or the index cannot be read through.
fn check_log(
    db: &Database,
    path: &Path,
    log: Log,
    check: Check,
    report: &mut RepairReport,
) -> Option<LogPlan> {
    let mut index = Vec::new();
    let mut drop = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let whole = read_values(db, path, log, |n, v| {
        report.rows_checked += 1;
        match check.id_of(&v) {
            Some(id) if seen.insert(id) => index.push((id, n)),
            _ => drop.push(n),
        }
        Ok(())
    });
    if !whole.unwrap_or(false) {
        return None;
    }
    check.count(report, drop.len() as u64);
    index.sort_unstable();
    let held = guard(path, || {
        let txn = db.begin_read()?;
        let mut rows = Vec::new();
        // A file of an older schema: its tables are checked once migrated (by the next repair).
        let t = match txn.open_table(log.ids) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(rows),
            Err(e) => return Err(e.into()),
        };
        for row in t.iter()? {
            let (k, n) = row?;
            rows.push((*k.value(), n.value()));
        }
        Ok(rows)
    })
    .ok()?;
    let rewrite_index = held != index;
    report.indexes_rebuilt += u64::from(rewrite_index);
    Some(LogPlan {
        log,
        index,
        drop,
        rewrite_index,
    })
}

/// Checks every row of the checked tables and logs in place and removes those that fail.
/// Returns false, having changed nothing, if a table cannot be read through (the file is
/// rebuilt).
fn drop_bad_rows(db: &Database, path: &Path, report: &mut RepairReport) -> Result<bool, Error> {
    let mut plans = Vec::new();
    for (log, check) in LOGS {
        match check_log(db, path, log, check, report) {
            Some(plan) => plans.push(plan),
            None => return Ok(false),
        }
    }
    let mut bad = Vec::new();
    for (table, check) in CHECKED {
        let mut failed = Vec::new();
        let whole = read_slices(db, path, table, |k, v| {
            report.rows_checked += 1;
            if !check.passes(&k, &v) {
                failed.push(k);
            }
            Ok(())
        });
        if !whole.unwrap_or(false) {
            return Ok(false);
        }
        check.count(report, failed.len() as u64);
        bad.push((table, failed));
    }
    if bad.iter().all(|(_, keys)| keys.is_empty())
        && plans.iter().all(|p| p.drop.is_empty() && !p.rewrite_index)
    {
        return Ok(true);
    }
    let removed = guard(path, || {
        let txn = db.begin_write()?;
        for (table, keys) in &bad {
            let mut t = txn.open_table(*table)?;
            for k in keys {
                t.remove(k)?;
            }
        }
        for p in &plans {
            let mut values = txn.open_table(p.log.values)?;
            for n in &p.drop {
                values.remove(n)?;
            }
            if p.rewrite_index {
                txn.delete_table(p.log.ids)?;
                let mut ids = txn.open_table(p.log.ids)?;
                for (id, n) in &p.index {
                    ids.insert(id, n)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    });
    Ok(removed.is_ok())
}

/// Reads every value of `log` that can still be read, one of [`SLICES`] of the arrival
/// numbers at a time (see [`read_slices`]); hands each to `each` with its number. Returns
/// whether every slice was read.
fn read_values(
    db: &Database,
    path: &Path,
    log: Log,
    mut each: impl FnMut(u64, Vec<u8>) -> Result<(), Error>,
) -> Result<bool, Error> {
    let txn = guard(path, || Ok(db.begin_read()?))?;
    let end = guard(path, || match txn.open_table(log.values) {
        Ok(t) => Ok(Some(t.last()?.map_or(0, |(k, _)| k.value() + 1))),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    });
    let end = match end {
        Ok(None) => return Ok(true),
        Ok(Some(end)) => end,
        Err(_) => return Ok(false),
    };
    let step = end / u64::from(SLICES) + 1;
    let mut whole = true;
    for lo in (0..end).step_by(step as usize) {
        let rows = guard(path, || {
            let t = txn.open_table(log.values)?;
            let mut rows = Vec::new();
            for row in t.range(lo..(lo + step).min(end))? {
                let (k, v) = row?;
                rows.push((k.value(), v.value().to_vec()));
            }
            Ok(rows)
        });
        match rows {
            Ok(rows) => {
                for (n, v) in rows {
                    each(n, v)?;
                }
            }
            Err(_) => whole = false,
        }
    }
    Ok(whole)
}

/// Slices of the key space read one at a time by a repair (the first 12 bits of the key).
const SLICES: u16 = 1 << 12;

/// Reads every row of `table` that can still be read, one of [`SLICES`] of the key space at a
/// time, so that a damaged page loses only the rest of the slices it holds; hands each row to
/// `each`. Returns whether every slice was read.
fn read_slices(
    db: &Database,
    path: &Path,
    table: Keyed,
    mut each: impl FnMut([u8; 32], Vec<u8>) -> Result<(), Error>,
) -> Result<bool, Error> {
    let txn = guard(path, || Ok(db.begin_read()?))?;
    let mut whole = true;
    for slice in 0..SLICES {
        let prefix = slice << 4;
        let mut lo = [0u8; 32];
        let mut hi = [0xffu8; 32];
        lo[..2].copy_from_slice(&prefix.to_be_bytes());
        hi[..2].copy_from_slice(&(prefix | 0xf).to_be_bytes());
        let rows = guard(path, || {
            let t = match txn.open_table(table) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let mut rows = Vec::new();
            for row in t.range::<&[u8; 32]>(&lo..=&hi)? {
                let (k, v) = row?;
                rows.push((*k.value(), v.value().to_vec()));
            }
            Ok(Some(rows))
        });
        match rows {
            Ok(None) => return Ok(true),
            Ok(Some(rows)) => {
                for (k, v) in rows {
                    each(k, v)?;
                }
            }
            Err(_) => whole = false,
        }
    }
    Ok(whole)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Open {
        path: path.to_path_buf(),
        source: redb::DatabaseError::Storage(redb::StorageError::Io(e)),
    }
}

/// A file redb cannot repair in place: replaced by a new one holding every row that can still
/// be read from the copy `aside` (and, of the checked tables, verifies). The catch-up
/// bookkeeping starts again empty.
fn rebuild(path: &Path, aside: &Path, report: &mut RepairReport) -> Result<(), Error> {
    std::fs::remove_file(path).map_err(|e| io_error(path, e))?;
    report.rebuilt = true;
    let fresh = Store::open(path)?;
    // Read from a second copy: opening a damaged file may write to it, and the first stays as
    // it was.
    let scratch = path.with_file_name(format!(
        "{}.reading",
        aside
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().to_string())
    ));
    std::fs::copy(aside, &scratch).map_err(|e| io_error(aside, e))?;
    let copied = copy_into(&fresh, &scratch, report);
    let _ = std::fs::remove_file(&scratch);
    copied
}

fn copy_into(fresh: &Store, from: &Path, report: &mut RepairReport) -> Result<(), Error> {
    let Ok(old) = guard(from, || {
        Database::create(from).map_err(|source| Error::Open {
            path: from.to_path_buf(),
            source,
        })
    }) else {
        // Nothing can be read: everything comes again from peers.
        report.tables_unreadable.push("all".into());
        return Ok(());
    };
    for (log, check) in LOGS {
        let txn = fresh.guard(|| Ok(fresh.db.begin_write()?))?;
        let mut dropped = 0;
        let whole = {
            let mut w = log.write(&txn)?;
            read_values(&old, from, log, |_, v| {
                report.rows_checked += 1;
                match check.id_of(&v) {
                    Some(id) if w.put(&id, &v)? => report.rows_salvaged += 1,
                    _ => dropped += 1,
                }
                Ok(())
            })
        };
        fresh.guard(|| Ok(txn.commit()?))?;
        if !whole.unwrap_or(false) {
            report.tables_unreadable.push(log.values.name().to_string());
        }
        check.count(report, dropped);
    }
    for (table, check) in CHECKED {
        let txn = fresh.guard(|| Ok(fresh.db.begin_write()?))?;
        let mut dropped = 0;
        let whole = {
            let mut t = txn.open_table(table)?;
            read_slices(&old, from, table, |k, v| {
                report.rows_checked += 1;
                if check.passes(&k, &v) {
                    t.insert(&k, v.as_slice())?;
                    report.rows_salvaged += 1;
                } else {
                    dropped += 1;
                }
                Ok(())
            })
        };
        fresh.guard(|| Ok(txn.commit()?))?;
        if !whole.unwrap_or(false) {
            report.tables_unreadable.push(table.name().to_string());
        }
        check.count(report, dropped);
    }
    macro_rules! copy_all {
        ($($t:expr),* $(,)?) => {
            $(
                if !copy_table(&old, from, fresh, $t, report)? {
                    report.tables_unreadable.push($t.name().to_string());
                }
            )*
        };
    }
    copy_all!(
        crate::feeds::LAST_SEEN,
        crate::feeds::PEERS,
        crate::feeds::FORKS,
        crate::feeds::BLOCKED,
        crate::feeds::ALONE,
        crate::local::READ_MARKS,
        crate::local::LOCAL_SETTINGS,
        crate::local::DEMO,
        crate::local::MUTED,
        crate::local::BOOKMARKS,
    );
    Ok(())
}

/// Copies the rows of `def` that can be read, up to the first that cannot; whether all could.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    old: &Database,
    from: &Path,
    fresh: &Store,
    def: TableDefinition<'static, K, V>,
    report: &mut RepairReport,
) -> Result<bool, Error> {
    let txn = fresh.guard(|| Ok(fresh.db.begin_write()?))?;
    let read = {
        let mut t = txn.open_table(def)?;
        guard(from, || {
            let r = old.begin_read()?;
            let old_t = match r.open_table(def) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            for row in old_t.iter()? {
                let (k, v) = row?;
                report.rows_checked += 1;
                t.insert(k.value(), v.value())?;
                report.rows_salvaged += 1;
            }
            Ok(())
        })
    };
    fresh.guard(|| Ok(txn.commit()?))?;
    Ok(read.is_ok())
}

/// Where the copy of the file before a repair goes: beside it, named for the time, and never
/// over an earlier one.
fn aside_path(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = path.file_name().map_or_else(
        || "rookery.redb".into(),
        |n| n.to_string_lossy().to_string(),
    );
    let mut aside = path.with_file_name(format!("{name}.before-repair-{stamp}"));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = path.with_file_name(format!("{name}.before-repair-{stamp}-{n}"));
    }
    aside
}

impl Store {
    /// Reads every other table through once; a table that cannot be read is emptied, and a
    /// settings, demo or mute row that does not decode is dropped (the defaults come back). Returns
    /// the tables emptied.
    fn check_local(&self) -> Result<Vec<String>, Error> {
        let mut emptied = Vec::new();
        macro_rules! through {
            ($($t:expr),* $(,)?) => {
                $( if let Some(name) = self.read_through($t) { emptied.push(name); } )*
            };
        }
        through!(
            crate::META,
            crate::feeds::LAST_SEEN,
            crate::feeds::PEERS,
            crate::feeds::FORKS,
            crate::feeds::BLOCKED,
            crate::feeds::ALONE,
            crate::local::READ_MARKS,
            crate::local::BACKFILL,
            crate::local::LOCAL_SETTINGS,
            crate::local::DEMO,
            crate::local::MUTED,
            crate::local::BOOKMARKS,
        );
        if self.settings().is_err() {
            self.clear(crate::local::LOCAL_SETTINGS)?;
        }
        if self.muted().is_err() {
            self.clear(crate::local::MUTED)?;
        }
        if self.demo_state().is_err() {
            self.clear(crate::local::DEMO)?;
        }
        Ok(emptied)
    }

    /// Reads `def` through, or empties it if that fails; the table's name if it was emptied.
    fn read_through<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Option<String> {
        let read = self.guard(|| {
            let txn = self.db.begin_read()?;
            let t = txn.open_table(def)?;
            for row in t.iter()? {
                let (k, v) = row?;
                let _ = (k.value(), v.value());
            }
            Ok(())
        });
        if read.is_ok() {
            return None;
        }
        self.clear(def).ok()?;
        Some(def.name().to_string())
    }

    /// Empties `def`.
    fn clear<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            txn.delete_table(def)?;
            txn.open_table(def)?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Forgets which trees were held in full, so the catch-up checks every one again.
    fn reset_backfill(&self) -> Result<(), Error> {
        self.clear(crate::local::BACKFILL)
    }
}
