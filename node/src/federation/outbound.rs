//! Sending: queue a message in the same transaction as the change that caused
//! it, hand the sender task what is pending, and record what the peer said.
//!
//! Order: sequences are allocated per link inside the causing transaction, so
//! the outbox order is the commit order. The sender always sends the oldest
//! unacknowledged messages first, so per-link order holds across retries,
//! restarts and crashes.

use zhibao_certs::NodeSigner;
use zhibao_federation_protocol::messages::{DeliveryReceipt, Payload};
use zhibao_federation_protocol::{Envelope, EnvelopeDraft, MessageKind, NodeIdentity};

use super::store::{
    Counter, DeliveryStatus, FederationTrees, OutboxEntry, peer_prefix, peer_sequence_key,
};
use crate::clock::Timestamp;
use crate::store::{StoreError, Transaction, TxFailure};

/// How many refusals a link keeps for the operator page.
const RECENT_REFUSALS_KEPT: usize = 20;

/// This node's identity and signing key.
#[derive(Debug)]
pub struct Sealer {
    /// Who we are.
    pub identity: NodeIdentity,
    /// Our key and certificate.
    pub signer: NodeSigner,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Unique id (see [`new_message_id`]); generated before the transaction so retries keep it.
    pub message_id: String,
    /// The peer it goes to.
    pub to: NodeIdentity,
    /// Its kind.
    pub kind: MessageKind,
    /// Payload encoding version.
    pub payload_version: u16,
    /// Payload JSON.
    pub payload: String,
    /// Envelopes forwarded intact.
    pub forwarded: Vec<Envelope>,
}

impl OutgoingMessage {
    /// A message carrying a typed payload.
    pub fn new<P: Payload>(
        to: NodeIdentity,
        payload: &P,
        forwarded: Vec<Envelope>,
    ) -> Result<OutgoingMessage, StoreError> {
        Ok(OutgoingMessage {
            message_id: new_message_id(),
            to,
            kind: P::KIND,
            payload_version: P::VERSION,
            payload: serde_json::to_string(payload).map_err(|error| StoreError::Encode {
                tree: "outbox_envelope_by_peer_sequence".to_string(),
                reason: error.to_string(),
            })?,
            forwarded,
        })
    }
}

/// 128 random bits as 32 hex characters.
pub fn new_message_id() -> String {
    zhibao_federation_protocol::hex_encode(&rand::random::<[u8; 16]>())
}

/// Seals and queues `message` inside `tx` (which must include
/// [`FederationTrees::enqueue_handles`]). Durable with the transaction.
pub fn enqueue(
    tx: &Transaction<'_>,
    trees: &FederationTrees,
    sealer: &Sealer,
    message: &OutgoingMessage,
    now: Timestamp,
) -> Result<Envelope, TxFailure> {
    let peer_key = message.to.to_uri().into_bytes();
    let sequence = tx
        .get(&trees.next_sequence, &peer_key)?
        .unwrap_or_default()
        .0
        + 1;
    tx.insert(&trees.next_sequence, &peer_key, &Counter(sequence))?;
    let envelope = EnvelopeDraft {
        message_id: message.message_id.clone(),
        sender: sealer.identity.clone(),
        receiver: message.to.clone(),
        sequence,
        kind: message.kind,
        payload_version: message.payload_version,
        created_at_ms: now.0,
        payload: message.payload.clone(),
        forwarded: message.forwarded.clone(),
    }
    .seal(sealer.signer.certificate_pem(), |bytes| {
        sealer.signer.sign(bytes)
    })
    .map_err(|error| {
        TxFailure::Store(StoreError::Encode {
            tree: "outbox_envelope_by_peer_sequence".to_string(),
            reason: format!("signing failed: {error}"),
        })
    })?;
    tx.insert(
        &trees.outbox,
        &peer_sequence_key(&message.to, sequence),
        &OutboxEntry {
            envelope: envelope.clone(),
            queued_at_ms: now.0,
        },
    )?;
    Ok(envelope)
}

/// The oldest queued envelopes for `peer`, at most `limit`, in sequence order.
pub fn pending(
    trees: &FederationTrees,
    peer: &NodeIdentity,
    limit: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    trees
        .outbox
        .scan_prefix(&peer_prefix(peer))
        .take(limit)
        .map(|entry| entry.map(|(_, value)| value))
        .collect()
}

/// Number of queued envelopes for `peer` and the queue time of the oldest.
pub fn queue_depth(
    trees: &FederationTrees,
    peer: &NodeIdentity,
) -> Result<(usize, Option<i64>), StoreError> {
    let mut count = 0;
    let mut oldest = None;
    for entry in trees.outbox.scan_prefix(&peer_prefix(peer)) {
        let (_, value) = entry?;
        if oldest.is_none() {
            oldest = Some(value.queued_at_ms);
        }
        count += 1;
    }
    Ok((count, oldest))
}

/// The delivery status of `peer`.
pub fn delivery_status(
    trees: &FederationTrees,
    peer: &NodeIdentity,
) -> Result<DeliveryStatus, StoreError> {
    Ok(trees
        .delivery
        .get(peer.to_uri().as_bytes())?
        .unwrap_or_default())
}

/// Records the peer's receipt: drops acknowledged envelopes from the outbox
/// and remembers refusals. Losing this write in a crash only causes a
/// redelivery, which the peer acknowledges without applying again.
pub fn record_receipt(
    trees: &FederationTrees,
    peer: &NodeIdentity,
    receipt: &DeliveryReceipt,
    delivered_in_this_exchange: u64,
    now: Timestamp,
) -> Result<(), StoreError> {
    for entry in trees.outbox.scan_prefix(&peer_prefix(peer)) {
        let (key, value) = entry?;
        if value.envelope.sequence > receipt.acknowledged_through {
            break;
        }
        trees.outbox.remove(&key)?;
    }
    let mut status = delivery_status(trees, peer)?;
    status.acknowledged_through = status
        .acknowledged_through
        .max(receipt.acknowledged_through);
    status.last_contact_ms = Some(now.0);
    status.delivered_total += delivered_in_this_exchange;
    if !receipt.refused.is_empty() {
        status.refused_total += receipt.refused.len() as u64;
        for refusal in &receipt.refused {
            tracing::warn!(peer = %peer, message_id = %refusal.message_id, code = %refusal.code, reason = %refusal.reason, "peer refused a message for good");
        }
        status
            .recent_refusals
            .extend(receipt.refused.iter().cloned());
        let excess = status
            .recent_refusals
            .len()
            .saturating_sub(RECENT_REFUSALS_KEPT);
        status.recent_refusals.drain(..excess);
        status.last_error = receipt.refused.last().map(|refusal| {
            format!(
                "{} refused message {}: {}",
                refusal.code, refusal.message_id, refusal.reason
            )
        });
        status.last_error_at_ms = Some(now.0);
    }
    trees.delivery.insert(peer.to_uri().as_bytes(), &status)
}

/// Records a failed attempt to deliver.
pub fn record_failure(
    trees: &FederationTrees,
    peer: &NodeIdentity,
    error: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut status = delivery_status(trees, peer)?;
    status.last_error = Some(error.to_string());
    status.last_error_at_ms = Some(now.0);
    trees.delivery.insert(peer.to_uri().as_bytes(), &status)
}
