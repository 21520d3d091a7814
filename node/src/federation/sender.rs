//! The sender task: one per peer, pushing the outbox over mutual TLS.
//!
//! It sends the oldest unacknowledged envelopes (up to a batch) in one
//! delivery, records the receipt, and repeats; when the outbox is empty it
//! sleeps until woken by a new message or a periodic tick. Failures back off
//! exponentially with jitter, capped, and are shown on the links page.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, watch};
use zhibao_federation_protocol::messages::{Delivery, DeliveryReceipt};
use zhibao_federation_protocol::{NodeIdentity, PROTOCOL_VERSION, PROTOCOL_VERSION_HEADER};

use super::outbound;
use crate::clock::Timestamp;
use crate::node::NodeState;

/// Envelopes per delivery: large enough to catch up fast, small enough to keep requests modest.
const BATCH_LIMIT: usize = 200;
/// First retry delay.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// Even with nothing queued, look at the outbox this often (a safety net for lost wake-ups).
const IDLE_TICK: Duration = Duration::from_secs(5);

/// Runs until `shutdown` turns true.
pub async fn run(
    state: Arc<NodeState>,
    peer: NodeIdentity,
    url: String,
    wakeup: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    let endpoint = format!("{}/federation/v1/messages", url.trim_end_matches('/'));
    loop {
        if *shutdown.borrow() {
            return;
        }
        let outcome = deliver_once(&state, &peer, &endpoint).await;
        let pause = match outcome {
            Ok(0) => {
                failures = 0;
                IDLE_TICK
            }
            Ok(_) => {
                failures = 0;
                continue;
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::info!(%peer, %error, failures, "delivery failed; will retry");
                let now = Timestamp::now_from_system_clock();
                if let Err(store_error) =
                    outbound::record_failure(&state.federation.trees, &peer, &error, now)
                {
                    tracing::error!(%store_error, "could not record a delivery failure");
                }
                backoff(failures, state.config.retry_max)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {},
            _ = wakeup.notified(), if failures == 0 => {},
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// Exponential backoff with full jitter, capped.
fn backoff(failures: u32, cap: Duration) -> Duration {
    let exponential = FIRST_RETRY.saturating_mul(1u32 << failures.min(16));
    let ceiling = exponential.min(cap).max(FIRST_RETRY);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

/// Sends one batch; returns how many envelopes it carried (0 = nothing pending).
async fn deliver_once(
    state: &NodeState,
    peer: &NodeIdentity,
    endpoint: &str,
) -> Result<usize, String> {
    let trees = &state.federation.trees;
    let pending =
        outbound::pending(trees, peer, BATCH_LIMIT).map_err(|error| format!("store: {error}"))?;
    if pending.is_empty() {
        return Ok(0);
    }
    let delivery = Delivery {
        envelopes: pending.into_iter().map(|entry| entry.envelope).collect(),
    };
    let count = delivery.envelopes.len();
    let client = state.federation.client();
    let response = client
        .post(endpoint)
        .header(PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION.to_string())
        .json(&delivery)
        .send()
        .await
        .map_err(|error| describe_transport_error(&error))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "{peer} answered {status}: {}",
            body.chars().take(500).collect::<String>()
        ));
    }
    let receipt: DeliveryReceipt = response
        .json()
        .await
        .map_err(|error| format!("{peer} sent an unreadable receipt: {error}"))?;
    let first_sequence = delivery
        .envelopes
        .first()
        .map_or(0, |envelope| envelope.sequence);
    let delivered = receipt
        .acknowledged_through
        .saturating_sub(first_sequence.saturating_sub(1));
    outbound::record_receipt(
        trees,
        peer,
        &receipt,
        delivered,
        Timestamp::now_from_system_clock(),
    )
    .map_err(|error| format!("store: {error}"))?;
    if receipt.acknowledged_through
        < delivery
            .envelopes
            .last()
            .map_or(0, |envelope| envelope.sequence)
    {
        // The peer stopped at a gap or a limit; the loop sends the rest.
        tracing::info!(%peer, acknowledged_through = receipt.acknowledged_through, "partial acknowledgement");
    }
    Ok(count)
}

/// Transport errors in words an operator can act on. With TLS 1.3 a refused
/// client certificate surfaces only here, on the first request.
fn describe_transport_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.contains("CertificateRequired")
        || text.contains("certificate") && text.contains("alert")
    {
        format!(
            "the peer refused this node's certificate (expired, revoked or of another CA?): {text}"
        )
    } else {
        text
    }
}
