//! Version 2 payloads, and the migration from version 1.

use super::{Payload, PayloadError};
use crate::MessageKind;

/// What happened to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryChangeKind {
    /// Added or changed.
    Upsert,
    /// Closed (deleted from the registry from this period on).
    Close,
}

/// A survey unit as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnitOnTheWire {
    /// Unified social credit code (or legacy organisation code).
    pub credit_code: String,
    /// Unit name.
    pub name: String,
    /// County division code.
    pub division: String,
    /// GB/T 4754 industry code.
    pub industry: String,
    /// Control classes; several may apply (R27).
    pub classes: Vec<String>,
    /// Key-industry flag (R26).
    pub key_industry: bool,
    /// `active`, `suspended` or `closed` in the period (absent from older senders: active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why a suspended unit reports nothing (R29), as the city recorded it (Chinese label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension_reason: Option<String>,
    /// The group company (集团公司) the unit belongs to, if any (R41).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_company: Option<String>,
    /// The unit's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// v2 registry change: a set of control classes per unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryChange {
    /// What happened.
    pub change: RegistryChangeKind,
    /// The unit.
    pub unit: UnitOnTheWire,
    /// Reporting period the change takes effect in.
    pub period: String,
}

/// v1 → v2: the single class becomes a set of one.
fn migrate(old: super::v1::RegistryChange) -> Result<RegistryChange, PayloadError> {
    let change = match old.change.as_str() {
        "upsert" => RegistryChangeKind::Upsert,
        "close" => RegistryChangeKind::Close,
        other => {
            return Err(PayloadError::Malformed(format!(
                "unknown v1 change '{other}'"
            )));
        }
    };
    Ok(RegistryChange {
        change,
        unit: UnitOnTheWire {
            credit_code: old.credit_code,
            name: old.name,
            division: old.division,
            industry: old.industry,
            classes: vec![old.class],
            key_industry: false,
            status: None,
            suspension_reason: None,
            group_company: None,
            address: None,
        },
        period: old.period,
    })
}

impl Payload for RegistryChange {
    const KIND: MessageKind = MessageKind::RegistryChange;
    const VERSION: u16 = 2;

    fn decode_version(version: u16, json: &str) -> Result<Self, PayloadError> {
        let malformed = |error: serde_json::Error| PayloadError::Malformed(error.to_string());
        match version {
            1 => migrate(serde_json::from_str(json).map_err(malformed)?),
            2 => serde_json::from_str(json).map_err(malformed),
            newer => Err(PayloadError::UnsupportedVersion {
                kind: Self::KIND,
                version: newer,
                newest: Self::VERSION,
            }),
        }
    }

    fn concerned_divisions(&self) -> Vec<String> {
        vec![self.unit.division.clone()]
    }
}
