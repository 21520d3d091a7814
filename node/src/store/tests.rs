use super::*;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Sample {
    name: String,
    count: u32,
}

impl Record for Sample {
    const FORMAT_VERSION: u8 = 2;
    fn decode_older_format(format_version: u8, body: &[u8]) -> Result<Self, String> {
        match format_version {
            // v1 stored only the name
            1 => Ok(Sample {
                name: serde_json::from_slice(body).map_err(|error| error.to_string())?,
                count: 0,
            }),
            other => Err(format!("unknown format {other}")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum SampleError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("refused")]
    Refused,
}

#[tokio::test]
async fn records_round_trip_and_survive_reopen() {
    let folder = tempfile::tempdir().unwrap();
    {
        let store = Store::open(folder.path()).unwrap();
        let tree = store.tree::<Sample>("sample_by_name").unwrap();
        tree.insert(
            b"a",
            &Sample {
                name: "甲".into(),
                count: 1,
            },
        )
        .unwrap();
        store.commit_durable().await.unwrap();
    }
    let store = Store::open(folder.path()).unwrap();
    let tree = store.tree::<Sample>("sample_by_name").unwrap();
    assert_eq!(
        tree.get(b"a").unwrap(),
        Some(Sample {
            name: "甲".into(),
            count: 1
        })
    );
    assert_eq!(store.schema_version().unwrap(), CURRENT_SCHEMA_VERSION);
}

#[tokio::test]
async fn older_record_formats_are_migrated_and_newer_refused() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let tree = store.tree::<Sample>("sample_by_name").unwrap();
    let mut old = vec![1u8];
    old.extend_from_slice(b"\"old\"");
    tree.tree.insert(b"old", old).unwrap();
    assert_eq!(
        tree.get(b"old").unwrap(),
        Some(Sample {
            name: "old".into(),
            count: 0
        })
    );
    let mut newer = vec![9u8];
    newer.extend_from_slice(b"{}");
    tree.tree.insert(b"new", newer).unwrap();
    let error = tree.get(b"new").unwrap_err();
    assert!(error.to_string().contains("newer"), "{error}");
}

#[tokio::test]
async fn a_newer_schema_on_disk_is_refused_with_a_clear_message() {
    let folder = tempfile::tempdir().unwrap();
    {
        let db = sled::Config::new()
            .path(folder.path())
            .flush_every_ms(None)
            .open()
            .unwrap();
        write_schema_version(&db, CURRENT_SCHEMA_VERSION + 1).unwrap();
        db.flush().unwrap();
    }
    let error = Store::open(folder.path()).unwrap_err();
    assert!(matches!(error, StoreError::NewerSchema { .. }));
    assert!(
        error.to_string().contains("newer than this program"),
        "{error}"
    );
}

#[tokio::test]
async fn an_older_schema_is_migrated_to_the_current_one() {
    let folder = tempfile::tempdir().unwrap();
    {
        let db = sled::Config::new()
            .path(folder.path())
            .flush_every_ms(None)
            .open()
            .unwrap();
        write_schema_version(&db, 0).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(folder.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_SCHEMA_VERSION);
}

#[tokio::test]
async fn a_refused_transaction_writes_nothing_in_any_tree() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let first = store.tree::<Sample>("first_by_key").unwrap();
    let second = store.tree::<Sample>("second_by_key").unwrap();
    let sample = Sample {
        name: "x".into(),
        count: 7,
    };
    let outcome: Result<(), SampleError> = store.transaction(&[&first, &second], |tx| {
        tx.insert(&first, b"k", &sample)?;
        tx.insert(&second, b"k", &sample)?;
        Err(TxError::Abort(SampleError::Refused))
    });
    assert!(matches!(outcome, Err(SampleError::Refused)));
    assert!(first.get(b"k").unwrap().is_none());
    assert!(second.get(b"k").unwrap().is_none());

    let committed: Result<u32, SampleError> = store.transaction(&[&first, &second], |tx| {
        tx.insert(&first, b"k", &sample)?;
        tx.insert(&second, b"k", &sample)?;
        Ok(tx.get(&first, b"k")?.map_or(0, |read| read.count))
    });
    assert_eq!(committed.unwrap(), 7);
    assert_eq!(second.get(b"k").unwrap(), Some(sample));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_share_flushes_and_all_complete() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let tree = store.tree::<Sample>("sample_by_name").unwrap();
    let mut writers = Vec::new();
    for writer in 0..64u32 {
        let store = store.clone();
        let tree = tree.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..20u32 {
                let key = format!("{writer:03}-{round:03}");
                tree.insert(
                    key.as_bytes(),
                    &Sample {
                        name: key.clone(),
                        count: round,
                    },
                )
                .unwrap();
                store.commit_durable().await.unwrap();
            }
        }));
    }
    for writer in writers {
        tokio::time::timeout(std::time::Duration::from_secs(60), writer)
            .await
            .expect("group commit made progress")
            .unwrap();
    }
    assert_eq!(tree.len(), 64 * 20);
}

#[tokio::test]
async fn health_probe_reads_back_what_it_wrote() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    store.check_read_write().await.unwrap();
}

#[tokio::test]
async fn a_backup_restores_into_an_empty_folder_with_every_record_and_refuses_damage() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(&folder.path().join("data")).unwrap();
    let tree = store.tree::<Sample>("sample_by_name").unwrap();
    for number in 0..500u32 {
        tree.insert(
            format!("k{number}").as_bytes(),
            &Sample {
                name: "样本".into(),
                count: number,
            },
        )
        .unwrap();
    }
    store.commit_durable().await.unwrap();
    let backup = folder.path().join("backups").join("one.zbk");
    let summary = store
        .write_backup(&backup, crate::clock::Timestamp(1))
        .unwrap();
    assert!(summary.records >= 500);
    let restored_dir = folder.path().join("restored");
    let (restored_summary, restored) = Store::restore_backup(&backup, &restored_dir).unwrap();
    assert_eq!(restored_summary.records, summary.records);
    assert_eq!(
        restored.fingerprint().unwrap(),
        store.fingerprint().unwrap()
    );
    // Not into a folder that holds data, and not from a damaged file.
    assert!(Store::restore_backup(&backup, &restored_dir).is_err());
    let mut bytes = std::fs::read(&backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&backup, bytes).unwrap();
    let error = Store::restore_backup(&backup, &folder.path().join("elsewhere")).unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
}
