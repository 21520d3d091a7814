//! County work (R34): each quarter a county bureau reports the changes of its
//! key-industry list (units in or out, units closed) and of its suspended
//! units with their reasons. A county user proposes; a city admin confirms
//! (the change is then made like any registry change, and travels up) or
//! rejects with a note. Pure: the flow stores and applies.

use super::change::UnitChange;
use crate::clock::Timestamp;

/// A change a county proposes for one unit of its county.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CountyProposal {
    /// `{county}-{period}-{unit}-{ms}`: unique, sortable by county.
    pub id: String,
    /// The county that proposes.
    pub county: String,
    /// The period whose registry it concerns.
    pub period: String,
    /// The unit.
    pub unit: String,
    /// The change.
    pub change: UnitChange,
    /// Why (the county's words).
    pub why: String,
    /// The county user.
    pub proposed_by: String,
    /// When (ms).
    pub proposed_at_ms: i64,
    /// The city's decision, once made.
    pub decision: Option<ProposalDecision>,
}

/// The city's answer to a proposal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProposalDecision {
    /// Confirmed into the registry, or rejected.
    pub confirmed: bool,
    /// The city admin.
    pub by: String,
    /// When (ms).
    pub at_ms: i64,
    /// The city's note (required when rejecting).
    pub note: String,
}

/// Why a proposal or a decision is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    /// A county proposes only key-industry and suspension changes, and closures.
    #[error(
        "县级只能上报重点行业名单变化（增减、关闭）和停报单位（停报及原因、恢复） / a county proposes only key-industry list changes (in, out, closed) and suspensions (with the reason) or resumptions"
    )]
    NotACountyChange,
    /// No reason given.
    #[error("请填写原因 / give the reason")]
    MissingReason,
    /// Already decided.
    #[error("该上报已处理（{0}） / this proposal is already decided ({0})")]
    AlreadyDecided(&'static str),
    /// A rejection needs a note for the county.
    #[error("退回县级上报时请说明原因 / say why when rejecting a county's proposal")]
    MissingNote,
}

/// Checks what a county may propose.
pub fn check_proposal(change: &UnitChange, why: &str) -> Result<(), ProposalError> {
    if why.trim().is_empty() {
        return Err(ProposalError::MissingReason);
    }
    match change {
        UnitChange::SetKeyIndustry { .. }
        | UnitChange::Suspend { .. }
        | UnitChange::Resume
        | UnitChange::Close => Ok(()),
        UnitChange::Reclassify { .. }
        | UnitChange::SetLiaison { .. }
        | UnitChange::UpdateContact { .. } => Err(ProposalError::NotACountyChange),
    }
}

/// A new proposal.
pub fn propose(
    county: &str,
    period: &str,
    unit: &str,
    change: UnitChange,
    why: &str,
    by: &str,
    now: Timestamp,
) -> Result<CountyProposal, ProposalError> {
    check_proposal(&change, why)?;
    Ok(CountyProposal {
        id: format!("{county}-{period}-{unit}-{}", now.0),
        county: county.to_string(),
        period: period.to_string(),
        unit: unit.to_string(),
        change,
        why: why.trim().to_string(),
        proposed_by: by.to_string(),
        proposed_at_ms: now.0,
        decision: None,
    })
}

/// The proposal after the city's decision.
pub fn decide(
    proposal: &CountyProposal,
    confirmed: bool,
    note: &str,
    by: &str,
    now: Timestamp,
) -> Result<CountyProposal, ProposalError> {
    if let Some(decision) = &proposal.decision {
        return Err(ProposalError::AlreadyDecided(if decision.confirmed {
            "confirmed"
        } else {
            "rejected"
        }));
    }
    if !confirmed && note.trim().is_empty() {
        return Err(ProposalError::MissingNote);
    }
    Ok(CountyProposal {
        decision: Some(ProposalDecision {
            confirmed,
            by: by.to_string(),
            at_ms: now.0,
            note: note.trim().to_string(),
        }),
        ..proposal.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::SuspensionReason;

    #[test]
    fn a_county_proposes_key_industry_and_suspension_changes_only() {
        let now = Timestamp(1_000);
        let suspend = UnitChange::Suspend {
            reason: SuspensionReason::SeasonalStop,
        };
        let proposal = propose("320102", "2026Q3", "U", suspend, "季节性停产", "c", now);
        assert!(proposal.is_ok());
        let liaison = UnitChange::SetLiaison {
            liaison: "张三".to_string(),
        };
        assert_eq!(
            propose("320102", "2026Q3", "U", liaison, "换人", "c", now),
            Err(ProposalError::NotACountyChange)
        );
        assert_eq!(
            propose("320102", "2026Q3", "U", UnitChange::Close, " ", "c", now),
            Err(ProposalError::MissingReason)
        );
    }

    #[test]
    fn a_proposal_is_decided_once_and_a_rejection_says_why() {
        let now = Timestamp(1_000);
        let proposal = propose("320102", "2025", "U", UnitChange::Close, "注销", "c", now)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            decide(&proposal, false, "", "admin", now),
            Err(ProposalError::MissingNote)
        );
        let confirmed =
            decide(&proposal, true, "", "admin", now).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            decide(&confirmed, false, "重复", "admin", now),
            Err(ProposalError::AlreadyDecided("confirmed"))
        );
    }
}
