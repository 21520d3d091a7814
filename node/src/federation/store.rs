//! The federation's trees. Keys:
//!
//! - `outbox_envelope_by_peer_sequence  // PeerUri 0x00 Sequence(u64 BE) → OutboxEntry`
//! - `link_next_sequence_by_peer         // PeerUri → u64` (written only by `outbound::enqueue`, inside the causing transaction)
//! - `link_delivery_by_peer              // PeerUri → DeliveryStatus` (written only by the sender task)
//! - `link_received_through_by_peer      // PeerUri → u64` (written only by `inbound`, inside the applying transaction)
//! - `inbox_outcome_by_message_id        // MessageId → InboxOutcome` (applied or refused; makes redelivery a no-op)
//! - `received_envelope_by_origin        // SenderUri 0x00 Sequence(u64 BE) → Envelope` (the signed originals, the evidence chain of R43)

use zhibao_federation_protocol::messages::Refusal;
use zhibao_federation_protocol::{Envelope, NodeIdentity};

use crate::store::{Record, Store, StoreError, Tree, TreeHandle};

/// A message waiting in the outbox.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OutboxEntry {
    /// The sealed envelope.
    pub envelope: Envelope,
    /// When it was queued (ms).
    pub queued_at_ms: i64,
}

impl Record for OutboxEntry {
    const FORMAT_VERSION: u8 = 1;
}

/// A plain counter (sequence numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counter(pub u64);

impl Record for Counter {
    const FORMAT_VERSION: u8 = 1;
}

/// What the sender task knows about delivering to one peer.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DeliveryStatus {
    /// Highest sequence the peer acknowledged.
    pub acknowledged_through: u64,
    /// Last successful exchange (ms).
    pub last_contact_ms: Option<i64>,
    /// Last failure, as the operator should read it.
    pub last_error: Option<String>,
    /// When it happened (ms).
    pub last_error_at_ms: Option<i64>,
    /// Messages the peer acknowledged, in total.
    pub delivered_total: u64,
    /// Messages the peer refused for good, in total.
    pub refused_total: u64,
    /// The most recent refusals (newest last, at most 20).
    pub recent_refusals: Vec<Refusal>,
}

impl Record for DeliveryStatus {
    const FORMAT_VERSION: u8 = 1;
}

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InboxOutcome {
    /// Applied once, at this time.
    Applied {
        /// Sender.
        sender: String,
        /// Sequence on its link.
        sequence: u64,
        /// When (ms).
        applied_at_ms: i64,
    },
    /// Refused for good.
    Refused {
        /// Sender.
        sender: String,
        /// Sequence.
        sequence: u64,
        /// Stable code.
        code: String,
        /// Why.
        reason: String,
    },
}

impl Record for InboxOutcome {
    const FORMAT_VERSION: u8 = 1;
}

impl Record for Envelope {
    const FORMAT_VERSION: u8 = 1;
}

/// The federation's trees, opened once per node.
#[derive(Debug, Clone)]
pub struct FederationTrees {
    /// Queued outgoing envelopes.
    pub outbox: Tree<OutboxEntry>,
    /// Next outgoing sequence per peer.
    pub next_sequence: Tree<Counter>,
    /// Delivery status per peer.
    pub delivery: Tree<DeliveryStatus>,
    /// Highest handled incoming sequence per peer.
    pub received_through: Tree<Counter>,
    /// Outcome per received message id.
    pub inbox_outcome: Tree<InboxOutcome>,
    /// Applied envelopes by origin.
    pub received: Tree<Envelope>,
}

impl FederationTrees {
    /// Opens the trees.
    pub fn open(store: &Store) -> Result<FederationTrees, StoreError> {
        Ok(FederationTrees {
            outbox: store.tree("outbox_envelope_by_peer_sequence")?,
            next_sequence: store.tree("link_next_sequence_by_peer")?,
            delivery: store.tree("link_delivery_by_peer")?,
            received_through: store.tree("link_received_through_by_peer")?,
            inbox_outcome: store.tree("inbox_outcome_by_message_id")?,
            received: store.tree("received_envelope_by_origin")?,
        })
    }

    /// The trees a transaction that enqueues a message must include.
    pub fn enqueue_handles(&self) -> [&dyn TreeHandle; 2] {
        [&self.outbox, &self.next_sequence]
    }
}

/// `PeerUri 0x00`: the prefix of one peer's entries.
pub fn peer_prefix(peer: &NodeIdentity) -> Vec<u8> {
    let mut key = peer.to_uri().into_bytes();
    key.push(0);
    key
}

/// `PeerUri 0x00 Sequence(u64 BE)`.
pub fn peer_sequence_key(peer: &NodeIdentity, sequence: u64) -> Vec<u8> {
    let mut key = peer_prefix(peer);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// The sequence at the end of a `peer_sequence_key`.
pub fn sequence_of_key(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}
