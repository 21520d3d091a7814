//! Changes to a registered unit within a period: suspend, resume, close,
//! reclassify, key-industry flag, liaison, contact. Each is recorded with who,
//! when and why (R43: the system shows who changed what and when).

use crate::clock::Timestamp;

use super::unit::{
    Contact, ControlClasses, RegistryEntry, SuspensionReason, UnitStatus, check_contact,
};

/// A change a bureau (or, for the contact, the unit) makes to a registered unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum UnitChange {
    /// Mark as suspended (停报) for the period, with the reason (R29).
    Suspend {
        /// Why the unit reports nothing.
        reason: SuspensionReason,
    },
    /// Undo a suspension: the unit reports again.
    Resume,
    /// Close the unit from this period on.
    Close,
    /// Replace the set of control classes (R27).
    Reclassify {
        /// The new classes.
        classes: ControlClasses,
    },
    /// Add to or remove from the key-industry list (R26, quarterly).
    SetKeyIndustry {
        /// The new flag.
        key_industry: bool,
    },
    /// Name the bureau's liaison for the unit (R24).
    SetLiaison {
        /// The liaison's name.
        liaison: String,
    },
    /// Replace the unit's contact (R39).
    UpdateContact {
        /// The new contact.
        contact: Contact,
    },
}

/// A change with who asked for it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeRequest {
    /// What to change.
    pub change: UnitChange,
    /// Login name of the user who makes the change.
    pub changed_by: String,
    /// When (given by the caller; domain code does not read the clock).
    pub at: Timestamp,
    /// Why, in the user's words. Required: the registry is an audited list.
    pub why: String,
}

/// What happened to a registry entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum HistoryEvent {
    /// Entered into the period's registry (by hand or by import).
    Registered,
    /// Its attributes were replaced by a later import.
    Reimported,
    /// Carried over from the previous period's registry.
    CarriedOver,
    /// A change applied through [`apply_change`].
    Changed {
        /// The change.
        change: UnitChange,
    },
}

/// One line of an entry's history, with the state before it for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeRecord {
    /// What happened.
    pub event: HistoryEvent,
    /// Status before the event.
    pub status_before: UnitStatus,
    /// Classes before the event (so the class history is never lost).
    pub classes_before: ControlClasses,
    /// Who.
    pub changed_by: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub why: String,
}

/// Why a change cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The unit is closed in this period; nothing more can change.
    #[error(
        "该单位本期已关闭，不能再修改 / the unit is closed in this period and cannot be changed"
    )]
    UnitClosed,
    /// The change would leave everything as it is.
    #[error("没有变化：{0} / nothing to change: {0}")]
    NothingToChange(&'static str),
    /// Resume on a unit that is not suspended.
    #[error("该单位未停报，无需恢复 / the unit is not suspended, so it cannot be resumed")]
    NotSuspended,
    /// No reason given.
    #[error("请填写变更原因 / give the reason for the change")]
    MissingReason,
    /// No user named.
    #[error("变更人不能为空 / the user making the change must be named")]
    MissingChangedBy,
    /// The new contact is not acceptable (the field errors, joined).
    #[error("联系人信息有误 / the contact is not acceptable: {0}")]
    InvalidContact(String),
    /// A free-text value is empty.
    #[error("{0}不能为空 / {0} must not be empty")]
    EmptyValue(&'static str),
}

/// Applies a change to a period's entry and records it. Returns the new
/// entry; the input is untouched, so a refused change leaves nothing half-done.
pub fn apply_change(
    entry: &RegistryEntry,
    request: ChangeRequest,
) -> Result<RegistryEntry, ChangeError> {
    if request.why.trim().is_empty() {
        return Err(ChangeError::MissingReason);
    }
    if request.changed_by.trim().is_empty() {
        return Err(ChangeError::MissingChangedBy);
    }
    if entry.unit.status == UnitStatus::Closed {
        return Err(ChangeError::UnitClosed);
    }
    let mut changed = entry.clone();
    let unit = &mut changed.unit;
    match &request.change {
        UnitChange::Suspend { reason } => {
            let suspended = UnitStatus::Suspended {
                reason: reason.clone(),
            };
            if unit.status == suspended {
                return Err(ChangeError::NothingToChange(
                    "already suspended for this reason",
                ));
            }
            if reason.label_zh().trim().is_empty() {
                return Err(ChangeError::EmptyValue("停报原因 / suspension reason"));
            }
            unit.status = suspended;
        }
        UnitChange::Resume => {
            if !matches!(unit.status, UnitStatus::Suspended { .. }) {
                return Err(ChangeError::NotSuspended);
            }
            unit.status = UnitStatus::Active;
        }
        UnitChange::Close => unit.status = UnitStatus::Closed,
        UnitChange::Reclassify { classes } => {
            if unit.classes == *classes {
                return Err(ChangeError::NothingToChange("same control classes"));
            }
            unit.classes = classes.clone();
        }
        UnitChange::SetKeyIndustry { key_industry } => {
            if unit.key_industry == *key_industry {
                return Err(ChangeError::NothingToChange("same key-industry flag"));
            }
            unit.key_industry = *key_industry;
        }
        UnitChange::SetLiaison { liaison } => {
            let liaison = super::unit::collapse_whitespace(liaison);
            if liaison.is_empty() {
                return Err(ChangeError::EmptyValue("联络员 / liaison"));
            }
            if unit.liaison.as_deref() == Some(liaison.as_str()) {
                return Err(ChangeError::NothingToChange("same liaison"));
            }
            unit.liaison = Some(liaison);
        }
        UnitChange::UpdateContact { contact } => {
            let contact = check_contact(contact).map_err(|errors| {
                ChangeError::InvalidContact(
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            if unit.contact == contact {
                return Err(ChangeError::NothingToChange("same contact"));
            }
            unit.contact = contact;
        }
    }
    changed.history.push(ChangeRecord {
        event: HistoryEvent::Changed {
            change: request.change,
        },
        status_before: entry.unit.status.clone(),
        classes_before: entry.unit.classes.clone(),
        changed_by: request.changed_by,
        at: request.at,
        why: request.why,
    });
    Ok(changed)
}

/// A new period's entry for a unit, with its first history line.
pub fn register_entry(
    period: super::PeriodId,
    unit: super::SurveyUnit,
    event: HistoryEvent,
    changed_by: &str,
    at: Timestamp,
    why: &str,
) -> RegistryEntry {
    let record = ChangeRecord {
        event,
        status_before: unit.status.clone(),
        classes_before: unit.classes.clone(),
        changed_by: changed_by.to_string(),
        at,
        why: why.to_string(),
    };
    RegistryEntry {
        period,
        unit,
        history: vec![record],
    }
}
