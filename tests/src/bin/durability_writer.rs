//! Child process of the durability test: writes records from many concurrent
//! writers and prints `ack KEY` for each one only after the store said it is
//! durable. The test SIGKILLs it at a random moment and checks that every
//! acknowledged record survived intact.

use std::io::Write;

use testkit::records::{DurabilityRecord, expected_record};
use zhibao_node::store::Store;

const WRITERS: u32 = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: durability-writer DIR")?;
    let store = Store::open(std::path::Path::new(&dir))?;
    let tree = store.tree::<DurabilityRecord>("durability_by_key")?;
    let (acks, mut ack_lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    for writer in 0..WRITERS {
        let store = store.clone();
        let tree = tree.clone();
        let acks = acks.clone();
        tokio::spawn(async move {
            for sequence in 0u32.. {
                let (key, record) = expected_record(writer, sequence);
                if tree.insert(key.as_bytes(), &record).is_err()
                    || store.commit_durable().await.is_err()
                {
                    return;
                }
                // Only now, with the record on disk, may anyone be told it is stored.
                if acks.send(key).is_err() {
                    return;
                }
            }
        });
    }
    drop(acks);
    let mut stdout = std::io::stdout().lock();
    while let Some(key) = ack_lines.recv().await {
        writeln!(stdout, "ack {key}")?;
        stdout.flush()?;
    }
    Ok(())
}
