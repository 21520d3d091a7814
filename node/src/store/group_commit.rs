//! Group commit: one flusher task makes writes durable for many writers.
//!
//! Why: sled's `flush_async` hung with concurrent callers (tech notes), and a
//! flush per writer is bounded by the disk's fsync rate (≈ 4,300/s here).
//! Writers insert, then send a wake-up handle to this task; it drains every
//! waiting request, flushes once on a blocking thread, and wakes them all.
//! A write made before the request was sent is covered by the flush that
//! starts after it was received, which is what makes the answer truthful.

use std::sync::Weak;

use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type FlushReply = oneshot::Sender<Result<(), String>>;

/// The handle writers use; dropping the last one stops the flusher.
#[derive(Debug)]
pub(super) struct GroupCommit {
    requests: mpsc::UnboundedSender<FlushReply>,
}

impl GroupCommit {
    /// Starts the flusher. It holds only a weak reference to the database so
    /// that dropping the last `Store` closes the database at once (its file
    /// lock is released and the node can be reopened in the same process).
    pub(super) fn start(db: Weak<sled::Db>) -> GroupCommit {
        let (requests, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run_flusher(db, receiver));
        GroupCommit { requests }
    }

    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(reply)
            .map_err(|_| StoreError::ShuttingDown)?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(StoreError::Engine(reason)),
            Err(_) => Err(StoreError::ShuttingDown),
        }
    }
}

async fn run_flusher(db: Weak<sled::Db>, mut receiver: mpsc::UnboundedReceiver<FlushReply>) {
    while let Some(first) = receiver.recv().await {
        let mut waiting = vec![first];
        while let Ok(more) = receiver.try_recv() {
            waiting.push(more);
        }
        let Some(db_for_flush) = db.upgrade() else {
            // The store was closed while writers waited: their writes may not be durable.
            for reply in waiting {
                let _ = reply.send(Err("the store was closed before the flush".to_string()));
            }
            return;
        };
        let outcome = match tokio::task::spawn_blocking(move || db_for_flush.flush()).await {
            Ok(Ok(_bytes)) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(join_error) => Err(format!("flush task failed: {join_error}")),
        };
        if let Err(reason) = &outcome {
            tracing::error!(%reason, writers = waiting.len(), "durable flush failed");
        }
        for reply in waiting {
            // A writer that gave up waiting has dropped its receiver; nothing to tell it.
            let _ = reply.send(outcome.clone());
        }
    }
}
