//! `RedbStore`: the records in one file of the redb embedded database.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Batch, Records, Store, StoreError};

/// The singleton records by name (`meta`, `head`).
const RECORDS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("deltacrdt_records");
/// The snapshot record, in pieces of [`PIECE`] bytes keyed `0, 1, …`.
const SNAPSHOT: TableDefinition<'_, u32, &[u8]> = TableDefinition::new("deltacrdt_snapshot");

/// The size of the snapshot's pieces. redb stores a value in contiguous pages; values of
/// several MiB made it grow its file by hundreds of MiB per rewrite (measured with a
/// 1,000,000-element set: 2.1 KB of disk blocks per element), pieces keep it to the data.
const PIECE: usize = 256 << 10;
/// The log records by sequence number.
const LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("deltacrdt_log");

/// The redb file format version redb 4 writes (its header's version byte).
const REDB_FILE_FORMAT: u8 = 3;

/// The file [`RedbStore::open_dir`] keeps in its directory.
const FILE_NAME: &str = "replica.redb";

/// A [`Store`] in a single redb file: every [`commit`](Store::commit) is one ACID write
/// transaction synced to disk ([`redb::Durability::Immediate`]) before it returns. redb's own
/// errors map to typed [`StoreError`]s (permission, full disk, corruption, newer file format,
/// file locked by another process).
///
/// # Examples
/// ```
/// use deltacrdt::durable::{DurableConfig, DurableReplica, RedbStore};
/// use deltacrdt::{Doc, Error};
/// let dir = std::env::temp_dir().join(format!("deltacrdt-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mut replica = DurableReplica::<Doc, _>::open(RedbStore::open_dir(&dir)?, DurableConfig::default())?;
/// let me = replica.id();
/// let _ = replica.update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 1))?;
/// drop(replica);
/// let replica = DurableReplica::<Doc, _>::open(RedbStore::open_dir(&dir)?, DurableConfig::default())?;
/// assert_eq!((replica.id(), replica.state().counter(&["likes"])), (me, 1));
/// # drop(replica);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct RedbStore {
    /// Always `Some` until dropped (see the `Drop` impl).
    db: Option<Database>,
    path: PathBuf,
    /// A commit failed: redb may refuse further writes until the file is reopened.
    failed: bool,
}

impl RedbStore {
    /// The page cache a store gets unless told otherwise
    /// ([`open_with_cache`](Self::open_with_cache)): 16 MiB. redb's own default is 1 GiB, up to
    /// which it keeps pages it read or wrote (in the durable bench, a process holding a
    /// 1,000,000-element replica that made 60,000 inserts had 20 MB more RSS with it). The
    /// replica's state is in memory anyway; the cache only speeds up re-reading pages of the
    /// file, which a replica does once, when it opens.
    pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

    /// Opens the database file at `path`, creating it if it does not exist, with a page cache
    /// of [`DEFAULT_CACHE_BYTES`](Self::DEFAULT_CACHE_BYTES). A file left by a crash is
    /// repaired by redb (its last committed transaction survives).
    ///
    /// # Errors
    /// A [`StoreError`]: permission, I/O, a file redb finds corrupt
    /// ([`StoreError::Corrupt`]) or of a newer format ([`StoreError::UnsupportedVersion`]),
    /// or a file open elsewhere ([`StoreError::Locked`]). Errors of the file system name
    /// `path` ([`StoreError::at`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_cache(path, Self::DEFAULT_CACHE_BYTES)
    }

    /// [`open`](Self::open) with a page cache of at most `cache_bytes` (the most memory the
    /// store keeps beyond the replica's state; 0 caches nothing).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_cache(path: impl AsRef<Path>, cache_bytes: usize) -> Result<Self, StoreError> {
        let path = path.as_ref();
        Self::open_at(path.to_path_buf(), cache_bytes).map_err(|e| e.at(path))
    }

    fn open_at(path: PathBuf, cache_bytes: usize) -> Result<Self, StoreError> {
        let mut builder = redb::Builder::new();
        builder.set_cache_size(cache_bytes);
        let io = |e: std::io::Error| StoreError::from_io(&e);
        let exists = path.try_exists().map_err(io)?;
        if !exists {
            // Created under a temporary name and renamed into place once redb has written a
            // valid empty database: a file at `path` is never a half-created one, so an
            // existing file that redb cannot open (truncated to nothing, say) is an error,
            // never silently replaced by an empty store.
            let mut tmp = path.clone().into_os_string();
            tmp.push(".creating");
            let tmp = PathBuf::from(tmp);
            let _ = std::fs::remove_file(&tmp);
            drop(guard(|| builder.create(&tmp))?);
            std::fs::rename(&tmp, &path).map_err(io)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Make the rename durable (directories can be opened and synced on Unix).
                #[cfg(unix)]
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io)?;
                #[cfg(not(unix))]
                let _ = dir;
            }
        }
        let db = guard(|| builder.open(&path))?;
        Ok(Self {
            db: Some(db),
            path,
            failed: false,
        })
    }

    /// Opens (or creates) the store kept in directory `dir` (created if missing): the one call
    /// a program with a `--data-dir` needs.
    ///
    /// # Errors
    /// As [`open`](Self::open), and the directory's creation.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_dir_with_cache(dir, Self::DEFAULT_CACHE_BYTES)
    }

    /// [`open_dir`](Self::open_dir) with a page cache of at most `cache_bytes`.
    ///
    /// # Errors
    /// As [`open_dir`](Self::open_dir).
    pub fn open_dir_with_cache(
        dir: impl AsRef<Path>,
        cache_bytes: usize,
    ) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| StoreError::from_io(&e).at(dir))?;
        Self::open_with_cache(dir.join(FILE_NAME), cache_bytes)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size of the database file in bytes.
    ///
    /// # Errors
    /// The file's metadata could not be read.
    pub fn file_len(&self) -> Result<u64, StoreError> {
        std::fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|e| StoreError::from_io(&e))
    }

    /// The bytes of records and database metadata actually in use (the file is larger: redb
    /// grows it in regions and keeps freed pages for reuse; see [`compact_file`](Self::compact_file)).
    ///
    /// # Errors
    /// A [`StoreError`] from the database.
    pub fn live_bytes(&self) -> Result<u64, StoreError> {
        let Some(db) = &self.db else {
            return Err(StoreError::Poisoned);
        };
        guard(|| -> Result<u64, redb::Error> {
            let tx = db.begin_write()?;
            let stats = tx.stats()?;
            tx.abort()?;
            Ok(stats.stored_bytes() + stats.metadata_bytes())
        })
    }

    /// Rewrites the file without its free space (redb's `compact`) and returns its new size.
    /// The log compaction of [`DurableReplica`](super::DurableReplica) frees old snapshots and
    /// log records inside the file; this gives the space back to the file system. It takes
    /// time in proportion to the data: call it at startup or in a quiet moment.
    ///
    /// # Errors
    /// A [`StoreError`] from the database; the file is unchanged then.
    pub fn compact_file(&mut self) -> Result<u64, StoreError> {
        let Some(db) = &mut self.db else {
            return Err(StoreError::Poisoned);
        };
        guard(|| db.compact())?;
        self.file_len()
    }

    /// After a snapshot was rewritten: gives the file's free space back to the file system
    /// once it exceeds the live data by [`RECLAIM_SLACK`] plus as much again. redb reuses
    /// freed pages only partly while a growing snapshot is rewritten: without this a
    /// 1,000,000-element set left 1.9 KB of disk blocks per element (14.5 B live).
    fn reclaim(&mut self) -> Result<(), StoreError> {
        let used = disk_bytes(&self.path)?;
        if used > 2 * self.live_bytes()? + RECLAIM_SLACK {
            self.compact_file()?;
        }
        Ok(())
    }

    fn write(&mut self, batch: Batch) -> Result<(), redb::Error> {
        let Some(db) = &self.db else {
            return Err(redb::Error::DatabaseClosed);
        };
        let tx = db.begin_write()?;
        {
            let mut records = tx.open_table(RECORDS)?;
            if let Some(meta) = &batch.meta {
                records.insert("meta", meta.as_slice())?;
            }
            records.insert("head", batch.head.as_slice())?;
            if let Some(snapshot) = &batch.snapshot {
                let mut pieces = tx.open_table(SNAPSHOT)?;
                pieces.retain(|_, _| false)?;
                for (i, piece) in (0u32..).zip(snapshot.chunks(PIECE)) {
                    pieces.insert(i, piece)?;
                }
            }
            let mut log = tx.open_table(LOG)?;
            if batch.drop_below > 0 {
                log.retain_in(..batch.drop_below, |_, _| false)?;
            }
            for (seq, bytes) in &batch.append {
                log.insert(*seq, bytes.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn read(&self) -> Result<Option<Records>, redb::Error> {
        let Some(db) = &self.db else {
            return Err(redb::Error::DatabaseClosed);
        };
        let tx = db.begin_read()?;
        let records = match tx.open_table(RECORDS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let get = |name: &str| -> Result<Option<Vec<u8>>, redb::Error> {
            Ok(records.get(name)?.map(|v| v.value().to_vec()))
        };
        let mut out = Records {
            meta: get("meta")?,
            head: get("head")?,
            snapshot: None,
            log: Vec::new(),
        };
        match tx.open_table(SNAPSHOT) {
            Ok(pieces) => {
                // The pieces concatenated; a lost or misplaced one fails the record's checksum,
                // a gap in the keys is refused here.
                let mut snapshot = Vec::new();
                for (expected, entry) in (0u32..).zip(pieces.iter()?) {
                    let (i, piece) = entry?;
                    if i.value() != expected {
                        return Ok(Some(Records {
                            snapshot: None,
                            ..out
                        }));
                    }
                    snapshot.extend_from_slice(piece.value());
                }
                out.snapshot = (!snapshot.is_empty()).then_some(snapshot);
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(err) => return Err(err.into()),
        }
        match tx.open_table(LOG) {
            Ok(log) => {
                for entry in log.iter()? {
                    let (seq, bytes) = entry?;
                    out.log.push((seq.value(), bytes.value().to_vec()));
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(Some(out))
    }
}

impl Drop for RedbStore {
    /// redb writes its allocator state when the database is dropped and asserts on some
    /// damaged files there: contain that panic (nothing of ours is written by it).
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(db)));
        }
    }
}

impl Store for RedbStore {
    fn load(&mut self) -> Result<Option<Records>, StoreError> {
        guard(|| self.read())
    }

    fn commit(&mut self, batch: Batch) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Poisoned);
        }
        let snapshot = batch.snapshot.is_some();
        let result = guard(|| self.write(batch));
        self.failed = result.is_err();
        result?;
        // The batch is durable: a failure to reclaim space must not report it failed.
        if snapshot && let Err(err) = self.reclaim() {
            tracing::warn!(error = %err, "could not compact the store file");
        }
        Ok(())
    }
}

/// Free space tolerated in the file before [`RedbStore::reclaim`] compacts it.
const RECLAIM_SLACK: u64 = 64 << 20;

/// The disk space a file occupies (its blocks on Unix; redb's files are sparse).
fn disk_bytes(path: &Path) -> Result<u64, StoreError> {
    let meta = std::fs::metadata(path).map_err(|e| StoreError::from_io(&e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(meta.blocks() * 512)
    }
    #[cfg(not(unix))]
    Ok(meta.len())
}

/// Runs a redb call, mapping its error, and a panic too: redb 4.1 asserts on some damaged
/// files (e.g. a header whose layout claims more than the file holds) instead of returning
/// `Corrupted`. A damaged file must be a typed error, so such a panic becomes
/// [`StoreError::Corrupt`]. (The panic hook still reports it on stderr.)
fn guard<R, E: Into<redb::Error>>(f: impl FnOnce() -> Result<R, E>) -> Result<R, StoreError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(map),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(StoreError::Corrupt {
                what: format!("database file (redb panicked: {what})"),
            })
        }
    }
}

/// Maps redb's errors to typed store errors.
fn map(err: impl Into<redb::Error>) -> StoreError {
    match err.into() {
        redb::Error::Io(io) => StoreError::from_io(&io),
        redb::Error::Corrupted(what) => StoreError::Corrupt {
            what: format!("database file: {what}"),
        },
        // A file of an older redb format (a newer one is reported as corrupted by redb).
        redb::Error::UpgradeRequired(found) => StoreError::UnsupportedVersion {
            found,
            supported: REDB_FILE_FORMAT,
        },
        // The path is filled in by `open`, the only call that meets this error.
        redb::Error::DatabaseAlreadyOpen => StoreError::Locked {
            path: PathBuf::new(),
        },
        redb::Error::PreviousIo => StoreError::Poisoned,
        other => StoreError::Corrupt {
            what: format!("database: {other}"),
        },
    }
}
