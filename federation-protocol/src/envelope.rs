//! The envelope: what every message between two nodes travels in.
//!
//! An envelope names its sender and receiver, its place in the link's order
//! (`sequence`, 1, 2, 3... per sender→receiver link), its kind, its payload
//! (JSON text, signed as bytes so no re-encoding can change what was signed),
//! envelopes it forwards intact (a province's batch carries its cities'
//! signed batches), the sender's certificate, and the sender's signature over
//! [`Envelope::signed_bytes`].

use crate::{MessageKind, NodeIdentity, PROTOCOL_VERSION};

/// Domain separation: these bytes start everything a node signs as an envelope.
const SIGNING_CONTEXT: &[u8] = b"zhibao-envelope-signature-v1\0";

/// Limits that keep a hostile peer from making us allocate or recurse without bound.
pub const MAX_FORWARDING_DEPTH: usize = 3;

/// An envelope before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeDraft {
    /// Unique id (32 lowercase hex characters); the receiver applies each id once.
    pub message_id: String,
    /// The sending node.
    pub sender: NodeIdentity,
    /// The receiving node.
    pub receiver: NodeIdentity,
    /// Position on the sender→receiver link, starting at 1, no gaps.
    pub sequence: u64,
    /// What the payload is.
    pub kind: MessageKind,
    /// Version of the payload's encoding (see `messages`).
    pub payload_version: u16,
    /// When the sender created it (milliseconds since the epoch).
    pub created_at_ms: i64,
    /// The payload as JSON text.
    pub payload: String,
    /// Signed envelopes forwarded intact (e.g. a city's batch inside a province's).
    pub forwarded: Vec<Envelope>,
}

/// A signed envelope, as it travels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// The protocol version the sender speaks.
    pub protocol_version: u32,
    /// Unique id (32 lowercase hex characters).
    pub message_id: String,
    /// The sending node.
    pub sender: NodeIdentity,
    /// The receiving node.
    pub receiver: NodeIdentity,
    /// Position on the sender→receiver link.
    pub sequence: u64,
    /// What the payload is.
    pub kind: MessageKind,
    /// Version of the payload's encoding.
    pub payload_version: u16,
    /// Creation time, ms since the epoch.
    pub created_at_ms: i64,
    /// The payload as JSON text.
    pub payload: String,
    /// Envelopes forwarded intact.
    #[serde(default)]
    pub forwarded: Vec<Envelope>,
    /// The sender's certificate (PEM); its key made `signature`.
    pub sender_certificate: String,
    /// Hex of the signature over [`Envelope::signed_bytes`].
    pub signature: String,
}

/// Why an envelope is not acceptable on its face.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The signature is not hex.
    #[error("message {message_id}: the signature is not hexadecimal")]
    SignatureNotHex {
        /// Which message.
        message_id: String,
    },
    /// The signature or the certificate behind it did not check out.
    #[error("message {message_id} from {sender}: signature refused: {reason}")]
    SignatureRefused {
        /// Which message.
        message_id: String,
        /// Who claims to have sent it.
        sender: String,
        /// Why.
        reason: String,
    },
    /// A forwarded envelope was not addressed to the node forwarding it.
    #[error(
        "message {message_id}: forwarded message {inner_id} was addressed to {inner_receiver}, not to the forwarding node {sender}"
    )]
    ForwardedToSomeoneElse {
        /// Outer message.
        message_id: String,
        /// Inner message.
        inner_id: String,
        /// Who the inner one was for.
        inner_receiver: String,
        /// Who forwarded it.
        sender: String,
    },
    /// Forwarding nested deeper than the federation has levels.
    #[error(
        "message {message_id}: forwarded messages nest deeper than {MAX_FORWARDING_DEPTH} levels"
    )]
    TooDeep {
        /// Which message.
        message_id: String,
    },
    /// The message id is not 32 hex characters.
    #[error("message id '{0}' is not 32 lowercase hexadecimal characters")]
    BadMessageId(String),
}

/// Checks a signature made with the key of a certificate, and that the
/// certificate is a valid one of this federation for that identity. The node
/// implements it with its CA and CRL; the protocol stays free of PKI code.
pub trait SignatureCheck {
    /// `Ok` when `certificate_pem` is a certificate of this federation carrying
    /// `signer` that was valid (and not revoked) at `signed_at_ms`, and
    /// `signature` over `bytes` was made with its key.
    fn check(
        &self,
        signer: &NodeIdentity,
        certificate_pem: &str,
        signed_at_ms: i64,
        bytes: &[u8],
        signature: &[u8],
    ) -> Result<(), String>;
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // Length-prefixed, so no field can run into the next one.
    out.extend_from_slice(&(field.len() as u64).to_be_bytes());
    out.extend_from_slice(field);
}

fn is_message_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// The canonical bytes of every field but the signature.
fn canonical_bytes(
    draft: &EnvelopeDraft,
    protocol_version: u32,
    sender_certificate: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + draft.payload.len() + sender_certificate.len());
    out.extend_from_slice(SIGNING_CONTEXT);
    push_field(&mut out, protocol_version.to_string().as_bytes());
    push_field(&mut out, draft.message_id.as_bytes());
    push_field(&mut out, draft.sender.to_uri().as_bytes());
    push_field(&mut out, draft.receiver.to_uri().as_bytes());
    push_field(&mut out, draft.sequence.to_string().as_bytes());
    push_field(&mut out, draft.kind.as_str().as_bytes());
    push_field(&mut out, draft.payload_version.to_string().as_bytes());
    push_field(&mut out, draft.created_at_ms.to_string().as_bytes());
    push_field(&mut out, draft.payload.as_bytes());
    push_field(&mut out, draft.forwarded.len().to_string().as_bytes());
    for inner in &draft.forwarded {
        // The inner envelope's own signed bytes and signature: altering either breaks the outer signature too.
        push_field(&mut out, &inner.signed_bytes());
        push_field(&mut out, inner.signature.as_bytes());
    }
    push_field(&mut out, sender_certificate.as_bytes());
    out
}

impl EnvelopeDraft {
    /// Signs the draft with `sign`, which must use the key of `sender_certificate`.
    pub fn seal<E>(
        self,
        sender_certificate: &str,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Envelope, E> {
        let bytes = canonical_bytes(&self, PROTOCOL_VERSION, sender_certificate);
        let signature = sign(&bytes)?;
        Ok(Envelope {
            protocol_version: PROTOCOL_VERSION,
            message_id: self.message_id,
            sender: self.sender,
            receiver: self.receiver,
            sequence: self.sequence,
            kind: self.kind,
            payload_version: self.payload_version,
            created_at_ms: self.created_at_ms,
            payload: self.payload,
            forwarded: self.forwarded,
            sender_certificate: sender_certificate.to_string(),
            signature: hex_encode(&signature),
        })
    }
}

impl Envelope {
    fn as_draft(&self) -> EnvelopeDraft {
        EnvelopeDraft {
            message_id: self.message_id.clone(),
            sender: self.sender.clone(),
            receiver: self.receiver.clone(),
            sequence: self.sequence,
            kind: self.kind,
            payload_version: self.payload_version,
            created_at_ms: self.created_at_ms,
            payload: self.payload.clone(),
            forwarded: self.forwarded.clone(),
        }
    }

    /// The bytes the signature covers: every field but the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        canonical_bytes(
            &self.as_draft(),
            self.protocol_version,
            &self.sender_certificate,
        )
    }

    /// Checks this envelope's signature and, recursively, those of every
    /// forwarded envelope; a forwarded envelope must have been addressed to
    /// the node that forwards it.
    pub fn verify_signatures(&self, check: &impl SignatureCheck) -> Result<(), EnvelopeError> {
        self.verify_at_depth(check, 0)
    }

    fn verify_at_depth(
        &self,
        check: &impl SignatureCheck,
        depth: usize,
    ) -> Result<(), EnvelopeError> {
        if depth > MAX_FORWARDING_DEPTH {
            return Err(EnvelopeError::TooDeep {
                message_id: self.message_id.clone(),
            });
        }
        if !is_message_id(&self.message_id) {
            return Err(EnvelopeError::BadMessageId(self.message_id.clone()));
        }
        let signature =
            hex_decode(&self.signature).ok_or_else(|| EnvelopeError::SignatureNotHex {
                message_id: self.message_id.clone(),
            })?;
        check
            .check(
                &self.sender,
                &self.sender_certificate,
                self.created_at_ms,
                &self.signed_bytes(),
                &signature,
            )
            .map_err(|reason| EnvelopeError::SignatureRefused {
                message_id: self.message_id.clone(),
                sender: self.sender.to_uri(),
                reason,
            })?;
        for inner in &self.forwarded {
            if inner.receiver != self.sender {
                return Err(EnvelopeError::ForwardedToSomeoneElse {
                    message_id: self.message_id.clone(),
                    inner_id: inner.message_id.clone(),
                    inner_receiver: inner.receiver.to_uri(),
                    sender: self.sender.to_uri(),
                });
            }
            inner.verify_at_depth(check, depth + 1)?;
        }
        Ok(())
    }

    /// Every envelope inside this one, depth first (not including itself).
    pub fn forwarded_recursive(&self) -> Vec<&Envelope> {
        let mut all = Vec::new();
        for inner in &self.forwarded {
            all.push(inner);
            all.extend(inner.forwarded_recursive());
        }
        all
    }

    /// The original envelopes at the bottom of the forwarding chain (itself if it forwards nothing).
    pub fn originals(&self) -> Vec<&Envelope> {
        if self.forwarded.is_empty() {
            vec![self]
        } else {
            self.forwarded
                .iter()
                .flat_map(Envelope::originals)
                .collect()
        }
    }
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes hex (either case); `None` when it is not hex.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}
