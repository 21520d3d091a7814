//! Backups of the whole store, and restoring one into an empty data folder.
//!
//! File format (version 1): `ZHBK`, format version (u32), schema version
//! (u32), creation time (i64 ms), then each tree: name, entry count, and its
//! key/value pairs, every field length-prefixed (u64 big-endian); last, the
//! SHA-256 of everything before it. Written to a temporary file, synced, then
//! renamed, so a backup file is either whole or absent.
//!
//! Consistency: each tree is read in one pass while the node keeps running;
//! a transaction committed during the backup may appear in one tree and not
//! yet in another. Restore runs `zhibao verify`-style checks afterwards; for
//! a strictly consistent copy, back up a stopped node with `zhibao backup`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{CURRENT_SCHEMA_VERSION, Store, StoreError};
use crate::clock::Timestamp;

const MAGIC: &[u8; 4] = b"ZHBK";
const FORMAT_VERSION: u32 = 1;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    /// The file.
    pub path: PathBuf,
    /// Trees copied.
    pub trees: usize,
    /// Records copied.
    pub records: u64,
    /// SHA-256 of the file's content (hex), as stored in its trailer.
    pub sha256: String,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |error| StoreError::Engine(format!("{}: {error}", path.display()))
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

impl Store {
    /// Writes a backup of every tree to `path` (atomically).
    pub fn write_backup(&self, path: &Path, now: Timestamp) -> Result<BackupSummary, StoreError> {
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        body.extend_from_slice(&CURRENT_SCHEMA_VERSION.to_be_bytes());
        body.extend_from_slice(&now.0.to_be_bytes());
        let db = &self.inner.db;
        let names: Vec<sled::IVec> = db.tree_names();
        body.extend_from_slice(&(names.len() as u64).to_be_bytes());
        let mut records = 0u64;
        for name in &names {
            let tree = db.open_tree(name)?;
            let entries: Vec<(sled::IVec, sled::IVec)> = tree.iter().collect::<Result<_, _>>()?;
            put(&mut body, name);
            body.extend_from_slice(&(entries.len() as u64).to_be_bytes());
            for (key, value) in &entries {
                put(&mut body, key);
                put(&mut body, value);
            }
            records += entries.len() as u64;
        }
        let digest = sha2::Sha256::digest(&body);
        body.extend_from_slice(&digest);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io(folder))?;
        }
        let temporary = path.with_extension("partial");
        let mut file = std::fs::File::create(&temporary).map_err(io(&temporary))?;
        file.write_all(&body).map_err(io(&temporary))?;
        file.sync_all().map_err(io(&temporary))?;
        std::fs::rename(&temporary, path).map_err(io(path))?;
        Ok(BackupSummary {
            path: path.to_path_buf(),
            trees: names.len(),
            records,
            sha256: hex::encode(digest),
        })
    }

    /// Restores a backup into `data_dir`, which must be empty or absent, and
    /// answers the open store (so a check can follow without reopening: sled
    /// releases a folder's lock a moment after its last handle goes).
    /// Refuses a damaged file (checksum) or one from a newer schema.
    /// Needs a tokio runtime, like [`Store::open`].
    pub fn restore_backup(
        backup: &Path,
        data_dir: &Path,
    ) -> Result<(BackupSummary, Store), StoreError> {
        if data_dir.exists()
            && std::fs::read_dir(data_dir)
                .map_err(io(data_dir))?
                .next()
                .is_some()
        {
            return Err(StoreError::Engine(format!(
                "{} is not empty; restore into an empty folder",
                data_dir.display()
            )));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(backup)
            .map_err(io(backup))?
            .read_to_end(&mut bytes)
            .map_err(io(backup))?;
        let damaged = |reason: &str| StoreError::Decode {
            tree: "(backup file)".to_string(),
            reason: format!("{}: {reason}", backup.display()),
        };
        if bytes.len() < 4 + 4 + 4 + 8 + 8 + 32 || &bytes[..4] != MAGIC {
            return Err(damaged("not a Zhibao backup"));
        }
        let (body, trailer) = bytes.split_at(bytes.len() - 32);
        if sha2::Sha256::digest(body).as_slice() != trailer {
            return Err(damaged("checksum mismatch: the file is damaged"));
        }
        let mut reader = Reader {
            bytes: body,
            position: 4,
        };
        let format = reader.u32().ok_or_else(|| damaged("truncated"))?;
        if format != FORMAT_VERSION {
            return Err(damaged(&format!(
                "backup format {format} is not readable by this build"
            )));
        }
        let schema = reader.u32().ok_or_else(|| damaged("truncated"))?;
        if schema > CURRENT_SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: backup.to_path_buf(),
                found: schema,
                supported: CURRENT_SCHEMA_VERSION,
            });
        }
        let _created_at = reader.u64().ok_or_else(|| damaged("truncated"))?;
        let tree_count = reader.u64().ok_or_else(|| damaged("truncated"))?;
        let store = Store::open(data_dir)?;
        let db = store.inner.db.clone();
        let mut records = 0;
        for _ in 0..tree_count {
            let name = reader.field().ok_or_else(|| damaged("truncated"))?;
            let count = reader.u64().ok_or_else(|| damaged("truncated"))?;
            let tree = db.open_tree(name)?;
            for _ in 0..count {
                let key = reader.field().ok_or_else(|| damaged("truncated"))?;
                let value = reader.field().ok_or_else(|| damaged("truncated"))?;
                tree.insert(key, value)?;
                records += 1;
            }
        }
        db.flush()?;
        drop(db);
        let summary = BackupSummary {
            path: backup.to_path_buf(),
            trees: usize::try_from(tree_count).unwrap_or(usize::MAX),
            records,
            sha256: hex::encode(trailer),
        };
        Ok((summary, store))
    }

    /// SHA-256 of every tree's content, by tree name: two stores with the
    /// same fingerprint hold the same records.
    pub fn fingerprint(&self) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let mut prints = std::collections::BTreeMap::new();
        for name in self.inner.db.tree_names() {
            let tree = self.inner.db.open_tree(&name)?;
            let mut hasher = sha2::Sha256::new();
            for entry in tree.iter() {
                let (key, value) = entry?;
                hasher.update((key.len() as u64).to_be_bytes());
                hasher.update(&key);
                hasher.update((value.len() as u64).to_be_bytes());
                hasher.update(&value);
            }
            prints.insert(
                String::from_utf8_lossy(&name).into_owned(),
                hex::encode(hasher.finalize()),
            );
        }
        Ok(prints)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(length)?;
        let slice = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    fn field(&mut self) -> Option<&'a [u8]> {
        let length = usize::try_from(self.u64()?).ok()?;
        self.take(length)
    }
}
