//! Standards travelling down: metadata releases (the national standard, a
//! province's extension) and the reporting calendar (periods and windows).
//!
//! The body is the publishing node's release as JSON (`body_format` 1): the
//! metadata model belongs to the node, and both ends run the same format
//! version of it or refuse with a clear error.

use super::Payload;
use crate::MessageKind;

/// A metadata release sent to a child node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetadataReleasePayload {
    /// The publisher: `national` or `province:320000`.
    pub origin: String,
    /// The publisher's release number.
    pub version: u32,
    /// Format of `body`.
    pub body_format: u16,
    /// The release as JSON.
    pub body: String,
}

impl Payload for MetadataReleasePayload {
    const KIND: MessageKind = MessageKind::MetadataRelease;
    const VERSION: u16 = 1;

    /// A release applies to the receiver's whole jurisdiction; only a parent may send it (direction check).
    fn concerned_divisions(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The reporting calendar, set nationally, sent down.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeriodReleasePayload {
    /// When the nation set it (ms): a newer calendar replaces an older one.
    pub set_at_ms: i64,
    /// Format of `body`.
    pub body_format: u16,
    /// The calendar as JSON.
    pub body: String,
}

impl Payload for PeriodReleasePayload {
    const KIND: MessageKind = MessageKind::PeriodRelease;
    const VERSION: u16 = 1;

    fn concerned_divisions(&self) -> Vec<String> {
        Vec::new()
    }
}
