//! Delivery of notices to a webhook (`[notify] webhook_url`): the bureau's
//! SMS or e-mail gateway receives every new notice as JSON, so a unit hears
//! of a deadline or an urging without logging in (R11, R31).
//!
//! The notices tree is the queue: a notice is durable before anyone is told
//! of it, and `notice_delivered_by_key` records what the webhook accepted
//! (2xx). One task per node tries the pending ones oldest first, backs off
//! while the gateway fails, and never blocks a request. Delivery is at least
//! once (a crash between the gateway's answer and the record resends): the
//! body carries a `delivery_id` for the gateway to drop a repeat. Notices that
//! existed before the webhook was configured are not sent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Notice;
use super::store::Delivered;
use crate::clock::Timestamp;
use crate::config::NotifyConfig;
use crate::node::NodeState;
use crate::store::StoreError;

/// Notices tried per round.
const ROUND_SIZE: usize = 100;
/// When all went out, the sender sleeps until a notice is written, or this
/// long at most (a safety net; it never polls the store while idle).
const IDLE_PAUSE: Duration = Duration::from_secs(60);
/// After a wake-up, time for the writing transaction to commit.
const SETTLE: Duration = Duration::from_millis(200);
/// First pause after the gateway failed.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest pause while the gateway keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The mark that the notices older than the webhook were set aside.
const BASELINE_JOB: &str = "webhook_baseline";

/// The JSON a gateway receives for one notice; `delivery_id` is the same on
/// a resend, so the gateway can drop the repeat.
pub fn webhook_body(
    node_name: &str,
    division: &str,
    notice_key: &[u8],
    notice: &Notice,
) -> serde_json::Value {
    serde_json::json!({
        "delivery_id": format!("{node_name}:{}", zhibao_federation_protocol::hex_encode(notice_key)),
        "node": node_name,
        "division": division,
        "notice": notice,
    })
}

/// The pause after another failure: 1 s, 2 s, 4 s… up to five minutes.
pub fn next_backoff(current: Option<Duration>) -> Duration {
    match current {
        None => FIRST_RETRY,
        Some(pause) => (pause * 2).clamp(FIRST_RETRY, MAX_BACKOFF),
    }
}

/// Pending notices: not yet accepted by the webhook, oldest event first.
fn pending(state: &NodeState, limit: usize) -> Result<Vec<(Vec<u8>, Notice)>, StoreError> {
    let mut waiting = Vec::new();
    for entry in state.notices.notices.scan_prefix(&[]) {
        let (key, notice) = entry?;
        if state.notices.delivered.get(&key)?.is_none() {
            waiting.push((key, notice));
        }
    }
    waiting.sort_by_key(|(_, notice)| notice.at_ms);
    waiting.truncate(limit);
    Ok(waiting)
}

/// At the first start with a webhook, every notice already there counts as
/// delivered (they were shown in the notice area long ago). Called by
/// `node::start` before the node serves, so no new notice can be taken for an old one.
pub async fn set_aside_older_notices(state: &NodeState, now: Timestamp) -> Result<(), StoreError> {
    if state.notices.run_through(BASELINE_JOB)?.is_some() {
        return Ok(());
    }
    for entry in state.notices.notices.scan_prefix(&[]) {
        let (key, _) = entry?;
        state
            .notices
            .delivered
            .insert_if_absent(&key, &Delivered { at_ms: 0 })?;
    }
    state.notices.run_through.insert(
        BASELINE_JOB.as_bytes(),
        &super::store::RunThrough { at_ms: now.0 },
    )?;
    state.store.commit_durable().await
}

fn client(notify: &NotifyConfig) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(path) = &notify.ca_cert {
        let pem = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let certificate = reqwest::Certificate::from_pem(&pem)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        // SECURITY: only the configured CA, never the system roots.
        builder = builder.tls_certs_only([certificate]);
    }
    builder.build().map_err(|error| error.to_string())
}

/// One round: sends pending notices until one fails. Returns whether all went.
async fn deliver_round(
    state: &NodeState,
    client: &reqwest::Client,
    url: &str,
) -> Result<bool, StoreError> {
    let waiting = pending(state, ROUND_SIZE)?;
    let mut all_sent = true;
    let mut sent_any = false;
    for (key, notice) in waiting {
        let body = webhook_body(
            &state.config.name,
            &state.config.division.to_string(),
            &key,
            &notice,
        );
        let accepted = client
            .post(url)
            .json(&body)
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if !accepted {
            all_sent = false;
            break;
        }
        let now = Timestamp::now_from_system_clock();
        state
            .notices
            .delivered
            .insert(&key, &Delivered { at_ms: now.0 })?;
        sent_any = true;
    }
    if sent_any {
        state.store.commit_durable().await?;
    }
    Ok(all_sent)
}

/// The delivery task of a node with `[notify]`; ends at shutdown.
pub async fn run(state: Arc<NodeState>, notify: NotifyConfig, mut shutdown: watch::Receiver<bool>) {
    let client = match client(&notify) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "notify.ca_cert: the webhook client cannot be built; notices are not delivered to the webhook");
            return;
        }
    };
    let mut backoff: Option<Duration> = None;
    loop {
        backoff = match deliver_round(&state, &client, &notify.webhook_url).await {
            Ok(true) => None,
            Ok(false) => {
                tracing::warn!(url = %notify.webhook_url, "webhook did not accept a notice; retrying later");
                Some(next_backoff(backoff))
            }
            Err(error) => {
                tracing::error!(%error, "webhook delivery: store failed");
                Some(next_backoff(backoff))
            }
        };
        match backoff {
            Some(pause) => tokio::select! {
                _ = tokio::time::sleep(pause) => {},
                _ = shutdown.wait_for(|stop| *stop) => return,
            },
            None => {
                tokio::select! {
                    _ = state.notices.written.notified() => {},
                    _ = tokio::time::sleep(IDLE_PAUSE) => {},
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                tokio::time::sleep(SETTLE).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_gateway_is_retried_less_and_less_often_up_to_five_minutes() {
        let mut pause = None;
        let mut seen = Vec::new();
        for _ in 0..12 {
            let next = next_backoff(pause);
            seen.push(next.as_secs());
            pause = Some(next);
        }
        assert_eq!(seen[..4], [1, 2, 4, 8]);
        assert_eq!(*seen.last().unwrap_or(&0), 300);
    }
}
