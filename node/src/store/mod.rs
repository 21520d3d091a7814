//! The node's store: one sled database behind typed trees.
//!
//! **This module is the only code that names `sled`.** Everything else sees
//! [`Store`], [`Tree`] and [`Transaction`], so the engine can be replaced (redb
//! is the natural successor) by rewriting this folder.
//!
//! - Trees are named `key_value` and their composite keys are documented where
//!   they are opened, e.g. `reportkey_versions // ReportKey = CreditCode + Form + Period`.
//! - Every encoded record starts with a one-byte format version
//!   ([`Record::FORMAT_VERSION`]) followed by JSON, or by a record's own
//!   binary layout ([`Record::encode_body`]); older formats are decoded by
//!   [`Record::decode_older_format`], newer ones are refused.
//! - The schema version of the whole database is stored in `meta_schema` and
//!   checked at open: newer than this build is refused, older is migrated.
//! - **Durability:** a write is on disk only after [`Store::commit_durable`]
//!   returns. sled loses unflushed writes even on a plain process crash, so
//!   anything acknowledged to a user or a peer must be followed by it. Writers
//!   share flushes through one flusher task (group commit, see `group_commit.rs`).

pub mod backup;
mod group_commit;
#[cfg(test)]
mod tests;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use group_commit::GroupCommit;

/// The on-disk schema version this build writes. 2: totals are compact
/// per-dimension records plus province × industry cross totals (recounted
/// from the stored contributions by `aggregate` at open); a build of
/// version 1 must refuse such a store rather than read stale totals.
pub const CURRENT_SCHEMA_VERSION: u32 = 2;

const META_SCHEMA_TREE: &str = "meta_schema";
const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine reported an I/O or corruption error.
    #[error("storage engine error: {0}")]
    Engine(String),
    /// The data folder was written by a newer Zhibao.
    #[error(
        "the data folder {path} has schema version {found}, newer than this program's {supported}; run the newer zhibao, or restore a backup made by this version"
    )]
    NewerSchema {
        /// The folder.
        path: PathBuf,
        /// Version on disk.
        found: u32,
        /// Version this build writes.
        supported: u32,
    },
    /// A stored record could not be decoded.
    #[error("record in tree {tree} could not be decoded: {reason}")]
    Decode {
        /// The tree name.
        tree: String,
        /// What was wrong.
        reason: String,
    },
    /// A record could not be encoded (a bug: all records are plain data).
    #[error("record for tree {tree} could not be encoded: {reason}")]
    Encode {
        /// The tree name.
        tree: String,
        /// What was wrong.
        reason: String,
    },
    /// The flusher task is gone (the node is shutting down).
    #[error("the store is shutting down; the write was not confirmed durable")]
    ShuttingDown,
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        StoreError::Engine(error.to_string())
    }
}

/// A value kept in a tree. Each type names its current format version; a
/// record written by an older version is read through `decode_older_format`.
pub trait Record: Serialize + DeserializeOwned {
    /// The format version written now. Bump it when the encoding changes, and
    /// teach `decode_older_format` the old one.
    const FORMAT_VERSION: u8;

    /// Decodes a record of an older format version. The default refuses.
    fn decode_older_format(format_version: u8, body: &[u8]) -> Result<Self, String> {
        let _ = body;
        Err(format!(
            "format version {format_version} is not readable by this build"
        ))
    }

    /// Encodes the body that follows the version byte. JSON, unless a record
    /// is read so often in bulk that it needs a denser layout (the cross
    /// totals: parsing JSON decimals would cost more than the whole scan).
    fn encode_body(&self) -> Result<Vec<u8>, String> {
        serde_json::to_vec(self).map_err(|error| error.to_string())
    }

    /// Decodes a body of the current format version; the inverse of [`Record::encode_body`].
    fn decode_body(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|error| error.to_string())
    }
}

/// The node's database. Cheap to clone; all clones share one flusher.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    db: Arc<sled::Db>,
    path: PathBuf,
    group_commit: GroupCommit,
}

impl Store {
    /// Opens (or creates) the database in `path`, checks and migrates its
    /// schema, and starts the flusher. Must be called inside a tokio runtime.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = open_engine(path)?;
        check_and_migrate_schema(&db, path)?;
        let db = Arc::new(db);
        let group_commit = GroupCommit::start(Arc::downgrade(&db));
        Ok(Store {
            inner: Arc::new(StoreInner {
                db,
                path: path.to_path_buf(),
                group_commit,
            }),
        })
    }

    /// The data folder of this store.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Opens a typed tree named `key_value`.
    pub fn tree<V: Record>(&self, name: &'static str) -> Result<Tree<V>, StoreError> {
        Ok(Tree {
            tree: self.inner.db.open_tree(name)?,
            name,
            _record: PhantomData,
        })
    }

    /// Waits until every write made before this call is on disk. Concurrent
    /// callers share one flush.
    pub async fn commit_durable(&self) -> Result<(), StoreError> {
        self.inner.group_commit.flush().await
    }

    /// Flushes from a blocking context (command-line tools, not the server).
    pub fn commit_durable_blocking(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Writes and reads one probe key durably: what `/healthz` reports on.
    pub async fn check_read_write(&self) -> Result<(), StoreError> {
        let probe = self.inner.db.open_tree("meta_health")?;
        let marker = rand::random::<u64>().to_be_bytes();
        probe.insert(b"probe", &marker)?;
        self.commit_durable().await?;
        match probe.get(b"probe")? {
            Some(read) if read.as_ref() == marker => Ok(()),
            _ => Err(StoreError::Engine(
                "the health probe read back a different value".to_string(),
            )),
        }
    }

    /// The stored schema version.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        read_schema_version(&self.inner.db).map(|version| version.unwrap_or(0))
    }

    /// Runs `body` atomically over the given trees. The body may run more than
    /// once (on conflict), so it must not do I/O or send messages. The result
    /// is durable only after [`Store::commit_durable`].
    pub fn transaction<R, E>(
        &self,
        trees: &[&dyn TreeHandle],
        body: impl Fn(&Transaction<'_>) -> Result<R, TxError<E>>,
    ) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        use sled::Transactional;
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let raw: Vec<sled::Tree> = trees
            .iter()
            .map(|handle| handle.raw_tree().clone())
            .collect();
        let names: Vec<&'static str> = trees.iter().map(|handle| handle.tree_name()).collect();
        let outcome = raw.as_slice().transaction(|transactional_trees| {
            let transaction = Transaction {
                trees: transactional_trees,
                names: &names,
            };
            body(&transaction).map_err(|error| match error {
                TxError::Abort(domain_error) => ConflictableTransactionError::Abort(domain_error),
                TxError::Engine(EngineTxError(engine_error)) => engine_error.into(),
            })
        });
        match outcome {
            Ok(value) => Ok(value),
            Err(TransactionError::Abort(domain_error)) => Err(domain_error),
            Err(TransactionError::Storage(engine_error)) => {
                Err(E::from(StoreError::from(engine_error)))
            }
        }
    }
}

fn read_schema_version(db: &sled::Db) -> Result<Option<u32>, StoreError> {
    let meta = db.open_tree(META_SCHEMA_TREE)?;
    let Some(bytes) = meta.get(SCHEMA_VERSION_KEY)? else {
        return Ok(None);
    };
    let array: [u8; 4] = bytes.as_ref().try_into().map_err(|_| StoreError::Decode {
        tree: META_SCHEMA_TREE.to_string(),
        reason: format!("schema version has {} bytes, expected 4", bytes.len()),
    })?;
    Ok(Some(u32::from_be_bytes(array)))
}

fn write_schema_version(db: &sled::Db, version: u32) -> Result<(), StoreError> {
    db.open_tree(META_SCHEMA_TREE)?
        .insert(SCHEMA_VERSION_KEY, &version.to_be_bytes())?;
    db.flush()?;
    Ok(())
}

/// Refuses a newer schema; runs the migrations from an older one, one step at
/// a time, recording each step so an interrupted migration resumes.
fn check_and_migrate_schema(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    match read_schema_version(db)? {
        None => write_schema_version(db, CURRENT_SCHEMA_VERSION),
        Some(found) if found > CURRENT_SCHEMA_VERSION => Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: CURRENT_SCHEMA_VERSION,
        }),
        Some(mut version) => {
            while version < CURRENT_SCHEMA_VERSION {
                migrate_one_step(db, version)?;
                version += 1;
                write_schema_version(db, version)?;
            }
            Ok(())
        }
    }
}

/// How long to wait for a folder's lock that a just-stopped node still holds.
const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens the engine. sled releases a folder's lock a moment after the last
/// handle of a closed store goes (its internal threads finish first), so a
/// restart or `zhibao verify` right after a stop waits briefly for it; a
/// folder locked for longer belongs to a running node, and the error says so.
fn open_engine(path: &Path) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(path)
            // why: sled's own periodic flush is not a promise to anyone (we flush before every
            // acknowledgement), and its background thread delays releasing the folder's lock
            .flush_every_ms(None)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(error))
                if error.kind() == std::io::ErrorKind::WouldBlock
                    && started.elapsed() < LOCK_RELEASE_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(sled::Error::Io(error)) if error.kind() == std::io::ErrorKind::WouldBlock => {
                return Err(StoreError::Engine(format!(
                    "{} is in use by another process (a running node?): {error}",
                    path.display()
                )));
            }
            Err(other) => return Err(other.into()),
        }
    }
}

/// The migration from `from` to `from + 1`. Version 1 is the first schema, so
/// there is nothing to migrate yet; each later version adds an arm here.
fn migrate_one_step(_db: &sled::Db, from: u32) -> Result<(), StoreError> {
    tracing::info!(from, to = from + 1, "migrating store schema");
    Ok(())
}

fn encode<V: Record>(tree: &str, value: &V) -> Result<Vec<u8>, StoreError> {
    let body = value.encode_body().map_err(|reason| StoreError::Encode {
        tree: tree.to_string(),
        reason,
    })?;
    let mut bytes = Vec::with_capacity(body.len() + 1);
    bytes.push(V::FORMAT_VERSION);
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

fn decode<V: Record>(tree: &str, bytes: &[u8]) -> Result<V, StoreError> {
    let decode_error = |reason: String| StoreError::Decode {
        tree: tree.to_string(),
        reason,
    };
    let (&format_version, body) = bytes
        .split_first()
        .ok_or_else(|| decode_error("empty record".to_string()))?;
    if format_version == V::FORMAT_VERSION {
        V::decode_body(body).map_err(decode_error)
    } else if format_version < V::FORMAT_VERSION {
        V::decode_older_format(format_version, body).map_err(decode_error)
    } else {
        Err(decode_error(format!(
            "format version {format_version} is newer than this build's {}",
            V::FORMAT_VERSION
        )))
    }
}

/// A tree holding records of one type, keyed by bytes.
#[derive(Debug, Clone)]
pub struct Tree<V> {
    tree: sled::Tree,
    name: &'static str,
    _record: PhantomData<fn() -> V>,
}

/// Lets [`Store::transaction`] take trees of different record types.
pub trait TreeHandle {
    /// The engine tree (store-internal).
    #[doc(hidden)]
    fn raw_tree(&self) -> &sled::Tree;
    /// The tree's name.
    fn tree_name(&self) -> &'static str;
}

impl<V> TreeHandle for Tree<V> {
    fn raw_tree(&self) -> &sled::Tree {
        &self.tree
    }
    fn tree_name(&self) -> &'static str {
        self.name
    }
}

impl<V: Record> Tree<V> {
    /// Reads one record.
    pub fn get(&self, key: &[u8]) -> Result<Option<V>, StoreError> {
        self.tree
            .get(key)?
            .map(|bytes| decode(self.name, &bytes))
            .transpose()
    }

    /// Writes one record (durable after [`Store::commit_durable`]).
    pub fn insert(&self, key: &[u8], value: &V) -> Result<(), StoreError> {
        self.tree.insert(key, encode(self.name, value)?)?;
        Ok(())
    }

    /// Writes the record only if the key is absent; returns false when it was present.
    pub fn insert_if_absent(&self, key: &[u8], value: &V) -> Result<bool, StoreError> {
        let swapped = self.tree.compare_and_swap(
            key,
            None as Option<&[u8]>,
            Some(encode(self.name, value)?),
        )?;
        Ok(swapped.is_ok())
    }

    /// Deletes one record.
    pub fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.tree.remove(key)?;
        Ok(())
    }

    /// Deletes every record (for rebuilding derived data from its source).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.tree.clear()?;
        Ok(())
    }

    /// All records whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, V), StoreError>> + '_ {
        self.tree.scan_prefix(prefix).map(|entry| {
            let (key, bytes) = entry?;
            Ok((key.to_vec(), decode(self.name, &bytes)?))
        })
    }

    /// The last `limit` records whose key starts with `prefix`, last key first
    /// (reads only those, not the whole prefix).
    pub fn scan_prefix_last(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, V)>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .rev()
            .take(limit)
            .map(|entry| {
                let (key, bytes) = entry?;
                Ok((key.to_vec(), decode(self.name, &bytes)?))
            })
            .collect()
    }

    /// All records with keys in `start..` in key order.
    pub fn range_from(
        &self,
        start: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, V), StoreError>> + '_ {
        self.tree.range(start..).map(|entry| {
            let (key, bytes) = entry?;
            Ok((key.to_vec(), decode(self.name, &bytes)?))
        })
    }

    /// The last record in key order.
    pub fn last(&self) -> Result<Option<(Vec<u8>, V)>, StoreError> {
        match self.tree.last()? {
            Some((key, bytes)) => Ok(Some((key.to_vec(), decode(self.name, &bytes)?))),
            None => Ok(None),
        }
    }

    /// Number of records (walks the tree).
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// True when the tree holds no record.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

/// The inside of a [`Store::transaction`].
pub struct Transaction<'a> {
    trees: &'a [sled::transaction::TransactionalTree],
    names: &'a [&'static str],
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("trees", &self.names)
            .finish()
    }
}

/// Why a transaction body stopped: the domain said no, or the engine needs a retry.
#[derive(Debug)]
pub enum TxError<E> {
    /// The domain refused; nothing is written and `E` is returned to the caller.
    Abort(E),
    /// The engine reported a conflict or an I/O error (conflicts are retried by the store).
    Engine(EngineTxError),
}

/// An engine error inside a transaction; convert it with `?`.
#[derive(Debug)]
pub struct EngineTxError(sled::transaction::UnabortableTransactionError);

impl EngineTxError {
    /// The engine error, to re-raise it in a transaction of another error type.
    pub fn into_inner(self) -> sled::transaction::UnabortableTransactionError {
        self.0
    }
}

impl<E: From<StoreError>> From<TxFailure> for TxError<E> {
    fn from(failure: TxFailure) -> Self {
        match failure {
            TxFailure::Engine(engine) => TxError::Engine(EngineTxError(engine)),
            TxFailure::Store(store_error) => TxError::Abort(E::from(store_error)),
        }
    }
}

/// A failure of one operation inside a transaction.
#[derive(Debug)]
pub enum TxFailure {
    /// Engine conflict or I/O error.
    Engine(sled::transaction::UnabortableTransactionError),
    /// Encoding or decoding failed.
    Store(StoreError),
}

impl From<sled::transaction::UnabortableTransactionError> for TxFailure {
    fn from(error: sled::transaction::UnabortableTransactionError) -> Self {
        TxFailure::Engine(error)
    }
}

impl From<StoreError> for TxFailure {
    fn from(error: StoreError) -> Self {
        TxFailure::Store(error)
    }
}

impl Transaction<'_> {
    fn position<V>(&self, tree: &Tree<V>) -> Result<usize, TxFailure> {
        self.names
            .iter()
            .position(|name| *name == tree.name)
            .ok_or_else(|| {
                TxFailure::Store(StoreError::Engine(format!(
                    "tree {} was not included in this transaction",
                    tree.name
                )))
            })
    }

    /// Reads a record inside the transaction.
    pub fn get<V: Record>(&self, tree: &Tree<V>, key: &[u8]) -> Result<Option<V>, TxFailure> {
        let index = self.position(tree)?;
        let bytes = self.trees[index].get(key)?;
        Ok(bytes.map(|bytes| decode(tree.name, &bytes)).transpose()?)
    }

    /// Writes a record inside the transaction.
    pub fn insert<V: Record>(
        &self,
        tree: &Tree<V>,
        key: &[u8],
        value: &V,
    ) -> Result<(), TxFailure> {
        let index = self.position(tree)?;
        self.trees[index].insert(key, encode(tree.name, value)?)?;
        Ok(())
    }

    /// Deletes a record inside the transaction.
    pub fn remove<V: Record>(&self, tree: &Tree<V>, key: &[u8]) -> Result<(), TxFailure> {
        let index = self.position(tree)?;
        self.trees[index].remove(key)?;
        Ok(())
    }
}
