//! Payloads, versioned. Each payload type names its kind and current version;
//! older versions keep decoding through their `mod vN` and a `migrate` step,
//! because bureaus upgrade on different days: a province on v2 must read a
//! city's v1 message.

pub mod progress;
pub mod reminder;
pub mod reports;
pub mod standards;
pub mod v1;
pub mod v2;

use crate::{Envelope, MessageKind};

/// The registry change payload as this build writes it.
pub use v2::RegistryChange;
pub use v2::{RegistryChangeKind, UnitOnTheWire};

pub use progress::{
    CountyProgress, LateUnitOnTheWire, MOST_LATE_UNITS_ON_THE_WIRE, ProgressCounts, ProgressSummary,
};
pub use reminder::{MOST_REMINDER_TEXT_CHARS, Reminder};
pub use reports::{AcceptanceReceipt, CommentOnTheWire, Feedback, ReportBatch, ReportOnTheWire};
pub use standards::{MetadataReleasePayload, PeriodReleasePayload};

/// A payload type.
pub trait Payload: serde::Serialize + serde::de::DeserializeOwned {
    /// The kind of envelope it travels in.
    const KIND: MessageKind;
    /// The version this build writes.
    const VERSION: u16;

    /// Decodes any version this build can read.
    fn decode_version(version: u16, json: &str) -> Result<Self, PayloadError> {
        if version == Self::VERSION {
            serde_json::from_str(json).map_err(|error| PayloadError::Malformed(error.to_string()))
        } else {
            Err(PayloadError::UnsupportedVersion {
                kind: Self::KIND,
                version,
                newest: Self::VERSION,
            })
        }
    }

    /// The divisions this payload concerns (for authorization by jurisdiction).
    fn concerned_divisions(&self) -> Vec<String>;
}

/// A payload that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The envelope is of another kind.
    #[error("expected a {expected:?} message, got {found:?}")]
    WrongKind {
        /// Asked for.
        expected: MessageKind,
        /// Carried.
        found: MessageKind,
    },
    /// A version this build cannot read (newer than it knows).
    #[error(
        "{kind:?} payload version {version} is not readable here (this node reads up to {newest}); upgrade this node"
    )]
    UnsupportedVersion {
        /// The kind.
        kind: MessageKind,
        /// Version received.
        version: u16,
        /// Newest this build reads.
        newest: u16,
    },
    /// Not valid JSON for the type.
    #[error("malformed payload: {0}")]
    Malformed(String),
}

impl Envelope {
    /// Decodes the payload as `P`, migrating older versions.
    pub fn decode_payload<P: Payload>(&self) -> Result<P, PayloadError> {
        if self.kind != P::KIND {
            return Err(PayloadError::WrongKind {
                expected: P::KIND,
                found: self.kind,
            });
        }
        P::decode_version(self.payload_version, &self.payload)
    }
}

/// Body of `POST /federation/v1/messages`: envelopes of one link, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// Consecutive envelopes from the sender to the receiver.
    pub envelopes: Vec<Envelope>,
}

/// A message the receiver will never apply, and why. The link goes on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The message.
    pub message_id: String,
    /// Its sequence.
    pub sequence: u64,
    /// Stable code (e.g. `FED021`: outside the sender's jurisdiction).
    pub code: String,
    /// What was wrong.
    pub reason: String,
}

/// Answer to a [`Delivery`]: everything up to `acknowledged_through` is durably
/// handled (applied, already applied earlier, or refused for good).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryReceipt {
    /// Highest sequence handled on this link.
    pub acknowledged_through: u64,
    /// Messages of this delivery refused for good.
    pub refused: Vec<Refusal>,
}
