//! Report payloads (version 1): approved reports going up, feedback going down.

use std::collections::BTreeMap;

use super::Payload;
use crate::MessageKind;

/// One report version as it travels upward.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportOnTheWire {
    /// The unit's credit code.
    pub unit: String,
    /// The unit's county division (for jurisdiction checks).
    pub unit_division: String,
    /// The unit's name.
    pub unit_name: String,
    /// Form code.
    pub form: String,
    /// Period.
    pub period: String,
    /// Version number at the unit's city node.
    pub version: u32,
    /// Indicator values as written (decimal strings).
    pub values: BTreeMap<String, String>,
    /// Rows of a row form.
    pub rows: Vec<BTreeMap<String, String>>,
    /// The unit's explanations of warnings.
    pub explanations: BTreeMap<String, String>,
    /// SHA-256 of the canonical content, as computed at the city.
    pub content_hash: String,
    /// Who approved it at the sending level.
    pub approved_by: String,
    /// When (ms).
    pub approved_at_ms: i64,
    /// The sending level's answer to feedback from above (备注说明), if any.
    pub annotation: Option<String>,
}

/// Approved report versions, from a node to its parent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportBatch {
    /// The reports.
    pub reports: Vec<ReportOnTheWire>,
}

impl Payload for ReportBatch {
    const KIND: MessageKind = MessageKind::ReportBatch;
    const VERSION: u16 = 1;

    fn concerned_divisions(&self) -> Vec<String> {
        self.reports
            .iter()
            .map(|report| report.unit_division.clone())
            .collect()
    }
}

/// A comment, optionally about one indicator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommentOnTheWire {
    /// Indicator key.
    pub indicator: Option<String>,
    /// Text.
    pub text: String,
}

/// Review feedback from an upper level about one report version (审核反馈意见).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Feedback {
    /// The unit.
    pub unit: String,
    /// Its county division.
    pub unit_division: String,
    /// Form.
    pub form: String,
    /// Period.
    pub period: String,
    /// The version the feedback is about.
    pub version: u32,
    /// Which level wrote it (`province` or `national`).
    pub from_level: String,
    /// Who.
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
    /// The comments.
    pub comments: Vec<CommentOnTheWire>,
}

impl Payload for Feedback {
    const KIND: MessageKind = MessageKind::Feedback;
    const VERSION: u16 = 1;

    fn concerned_divisions(&self) -> Vec<String> {
        vec![self.unit_division.clone()]
    }
}

/// A level's acceptance (验收) of one report version, sent down as a receipt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AcceptanceReceipt {
    /// The unit.
    pub unit: String,
    /// Its county division.
    pub unit_division: String,
    /// Form.
    pub form: String,
    /// Period.
    pub period: String,
    /// The version accepted.
    pub version: u32,
    /// The content hash accepted (must match the version's).
    pub content_hash: String,
    /// Which level accepted (`province` or `national`).
    pub level: String,
    /// When (ms).
    pub at_ms: i64,
}

impl Payload for AcceptanceReceipt {
    const KIND: MessageKind = MessageKind::AcceptanceReceipt;
    const VERSION: u16 = 1;

    fn concerned_divisions(&self) -> Vec<String> {
        vec![self.unit_division.clone()]
    }
}
