//! Wire types between Zhibao nodes.
//!
//! This crate is the only place that knows what crosses a federation link: node
//! identities as certificates carry them, the protocol version, and the
//! messages. It does no I/O (no sockets, no store, no TLS): the node converts
//! between these wire types and its domain types, so the domain can change
//! without breaking peers that upgrade on a different day.
//!
//! **Invariant:** nothing here depends on axum, sled, rustls or tokio.

mod envelope;
mod identity;
mod kind;
pub mod messages;
#[cfg(test)]
mod tests;

pub use envelope::{
    Envelope, EnvelopeDraft, EnvelopeError, MAX_FORWARDING_DEPTH, SignatureCheck, hex_decode,
    hex_encode,
};
pub use identity::{IdentityError, NodeIdentity, NodeLevel};
pub use kind::{Direction, MessageKind};

/// The federation protocol version this build speaks. A peer on another
/// version is refused with a message naming both (see `VersionMismatch`).
pub const PROTOCOL_VERSION: u32 = 1;

/// HTTP header carrying the sender's protocol version on every federation request.
pub const PROTOCOL_VERSION_HEADER: &str = "zhibao-protocol-version";

/// Answer of `GET /federation/v1/hello`: who the server is and who it verified the caller to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    /// The protocol version the answering node speaks.
    pub protocol_version: u32,
    /// The answering node.
    pub server: NodeIdentity,
    /// The caller, as read from its verified client certificate.
    pub caller: NodeIdentity,
}

/// A peer spoke a protocol version this node does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error(
    "federation protocol version {theirs} is not supported by this node (it speaks version {ours}); upgrade the older node"
)]
pub struct VersionMismatch {
    /// The version this node speaks.
    pub ours: u32,
    /// The version the peer announced.
    pub theirs: u32,
}

/// Checks a peer's announced protocol version against ours.
pub fn check_protocol_version(theirs: u32) -> Result<(), VersionMismatch> {
    if theirs == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs,
        })
    }
}
