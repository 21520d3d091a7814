//! The node's timed work, on tokio-cron-scheduler. Jobs are ticks: each job
//! decides from the store and the clock what is due, does it, and is safe to
//! run again (a missed tick is caught up by the next, or at start).
//!
//! - every night at 02:30 Beijing time (18:30 UTC): a backup of the store into
//!   `backups/` next to the data folder, keeping the newest seven.
//! - every five minutes, and once at start: the deadline tick
//!   ([`crate::urging::flow::run_deadline_tick`]): reminders before each
//!   window closes, the close itself, returned reports past their deadline.
//!   The tick handles everything since the last one it recorded, so a node
//!   down over a deadline does that deadline's work when it starts.
//! - every ten minutes, and once at start, at a city: the progress summary
//!   tick ([`crate::progress::flow::run_progress_summary_tick`]): the city's
//!   counts per form and period go to its parent when they changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::clock::Timestamp;
use crate::node::NodeState;
use crate::store::backup::BackupSummary;

/// Backups kept by the nightly job.
pub const BACKUPS_KEPT: usize = 7;

/// Where a node's backups go: `backups/` beside its data folder.
pub fn backup_folder(state: &NodeState) -> PathBuf {
    state
        .config
        .data_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("backups")
}

/// Writes a backup now (also what `POST /api/v1/admin/backup` calls) and
/// removes the oldest beyond [`BACKUPS_KEPT`].
pub fn back_up_now(
    state: &NodeState,
    now: Timestamp,
) -> Result<BackupSummary, crate::store::StoreError> {
    let folder = backup_folder(state);
    let path = folder.join(format!("{}-{}.zbk", state.config.name, now.0));
    let summary = state.store.write_backup(&path, now)?;
    let mut existing: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .collect()
        })
        .unwrap_or_default();
    existing.retain(|path| path.extension().is_some_and(|extension| extension == "zbk"));
    existing.sort();
    let excess = existing.len().saturating_sub(BACKUPS_KEPT);
    for old in existing.into_iter().take(excess) {
        if let Err(error) = std::fs::remove_file(&old) {
            tracing::warn!(file = %old.display(), %error, "could not remove an old backup");
        }
    }
    Ok(summary)
}

/// Starts the scheduler with the node's jobs; `NodeHandle::shutdown` stops it.
/// Jobs hold the node weakly, so a stopped node's store closes even if the
/// scheduler lingers.
pub async fn start(
    state: &Arc<NodeState>,
) -> Result<JobScheduler, tokio_cron_scheduler::JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let weak = Arc::downgrade(state);
    let nightly = Job::new_async("0 30 18 * * *", move |_, _| {
        let weak = weak.clone();
        Box::pin(async move {
            let Some(state) = weak.upgrade() else {
                return;
            };
            let now = Timestamp::now_from_system_clock();
            let state_for_backup = state.clone();
            match tokio::task::spawn_blocking(move || back_up_now(&state_for_backup, now)).await {
                Ok(Ok(summary)) => {
                    tracing::info!(file = %summary.path.display(), records = summary.records, "nightly backup written")
                }
                Ok(Err(error)) => tracing::error!(%error, "nightly backup failed"),
                Err(error) => tracing::error!(%error, "nightly backup task failed"),
            }
        })
    })?;
    scheduler.add(nightly).await?;
    let weak = Arc::downgrade(state);
    let deadlines = Job::new_async("0 */5 * * * *", move |_, _| {
        let weak = weak.clone();
        Box::pin(async move {
            if let Some(state) = weak.upgrade() {
                deadline_tick(&state).await;
            }
        })
    })?;
    scheduler.add(deadlines).await?;
    let weak = Arc::downgrade(state);
    let summaries = Job::new_async("0 */10 * * * *", move |_, _| {
        let weak = weak.clone();
        Box::pin(async move {
            if let Some(state) = weak.upgrade() {
                progress_summary_tick(&state).await;
            }
        })
    })?;
    scheduler.add(summaries).await?;
    scheduler.start().await?;
    // Catch up at start rather than up to five (ten) minutes later.
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        if let Some(state) = weak.upgrade() {
            deadline_tick(&state).await;
            progress_summary_tick(&state).await;
        }
    });
    Ok(scheduler)
}

async fn progress_summary_tick(state: &NodeState) {
    let now = Timestamp::now_from_system_clock();
    match crate::progress::flow::run_progress_summary_tick(state, now).await {
        Ok(tick) if tick.sent > 0 => tracing::info!(sent = tick.sent, "progress summaries queued"),
        Ok(_) => {}
        Err(error) => {
            tracing::error!(%error, "progress summary tick failed; the next tick tries again")
        }
    }
}

async fn deadline_tick(state: &NodeState) {
    let now = Timestamp::now_from_system_clock();
    match crate::urging::flow::run_deadline_tick(state, now).await {
        Ok(summary) if summary.events > 0 || summary.notices > 0 => {
            tracing::info!(
                events = summary.events,
                notices = summary.notices,
                "deadline tick"
            )
        }
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "deadline tick failed; the next tick catches up"),
    }
}
