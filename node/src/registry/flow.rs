//! Registry changes as one commit: the units, their enterprise accounts (R4)
//! and the registry-change messages to the parent node (so upper levels know
//! the population they expect reports from) are written in one transaction.
//! Lineage (R28) over the node's state: suggestions within a jurisdiction, and
//! a confirmed link written with its audit entry in one transaction.

use zhibao_federation_protocol::NodeIdentity;
use zhibao_federation_protocol::messages::{RegistryChange, RegistryChangeKind, UnitOnTheWire};

use super::codes::UnitCode;
use super::lineage::{
    LineageError, LineageLink, LinkKind, LinkReason, confirm_link, suggest_links,
};
use super::period::PeriodId;
use super::store::{PutSummary, RegistryStoreError, UnitFilter};
use super::unit::SurveyUnit;
use crate::accounts::{Account, Role};
use crate::clock::Timestamp;
use crate::division::DivisionCode;
use crate::federation::outbound::{self, OutgoingMessage};
use crate::node::NodeState;
use crate::store::{StoreError, TxError, TxFailure};

/// A unit's new login, to hand out once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewUnitLogin {
    /// The unit's code (also its login name).
    pub unit: String,
    /// The unit's name.
    pub name: String,
    /// Login name.
    pub username: String,
    /// Initial password (must be changed at first login).
    pub password: String,
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportOutcome {
    /// Units added and replaced.
    pub summary: PutSummary,
    /// Logins made for units that had none.
    pub new_logins: Vec<NewUnitLogin>,
}

/// Why a registry write failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFlowError {
    /// The registry refused.
    #[error(transparent)]
    Registry(#[from] RegistryStoreError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing the initial passwords failed.
    #[error("{0}")]
    Accounts(String),
    /// The change is stored, but the unit's certificates could not be revoked.
    #[error(
        "单位已关闭，但证书吊销失败，请重试 / the unit is closed but its certificates could not be revoked: {0}"
    )]
    Certificates(String),
}

/// The wire form of a unit.
pub fn unit_on_the_wire(unit: &SurveyUnit) -> UnitOnTheWire {
    UnitOnTheWire {
        credit_code: unit.code.as_str().to_string(),
        name: unit.name.clone(),
        division: unit.county.to_string(),
        industry: unit.industry.as_str().to_string(),
        classes: unit
            .classes
            .iter()
            .map(|class| class.code_word().to_string())
            .collect(),
        key_industry: unit.key_industry,
        status: Some(
            match unit.status.kind() {
                super::StatusKind::Active => "active",
                super::StatusKind::Suspended => "suspended",
                super::StatusKind::Closed => "closed",
            }
            .to_string(),
        ),
        suspension_reason: match &unit.status {
            super::UnitStatus::Suspended { reason } => Some(reason.label_zh()),
            super::UnitStatus::Active | super::UnitStatus::Closed => None,
        },
        group_company: unit.group_company.clone(),
        address: Some(unit.address.clone()).filter(|address| !address.is_empty()),
    }
}

/// Puts units into a period's registry with their logins and the messages to
/// the parent, in one transaction, then makes it durable. `must_change_password`
/// is false only for demo accounts.
pub async fn import_units(
    state: &NodeState,
    period: PeriodId,
    units: Vec<SurveyUnit>,
    by: &str,
    must_change_password: bool,
    now: Timestamp,
) -> Result<ImportOutcome, RegistryFlowError> {
    let accounts = &state.accounts;
    let mut prepared = Vec::new();
    for unit in &units {
        let username = unit.code.as_str().to_string();
        if accounts.accounts.get(username.as_bytes())?.is_none() {
            prepared.push((
                unit.name.clone(),
                username,
                crate::accounts::generate_initial_password(),
            ));
        }
    }
    let hashed = tokio::task::spawn_blocking(move || {
        prepared
            .into_iter()
            .map(|(name, username, password)| {
                crate::accounts::hash_initial_password(&password)
                    .map(|hash| (name, username, password, hash))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|error| RegistryFlowError::Accounts(error.to_string()))?
    .map_err(|error| RegistryFlowError::Accounts(error.to_string()))?;

    let parent: Option<NodeIdentity> = state
        .config
        .parent
        .as_ref()
        .map(|parent| parent.identity.clone());
    let messages: Vec<OutgoingMessage> = match &parent {
        Some(parent) => units
            .iter()
            .map(|unit| {
                let change = RegistryChange {
                    change: RegistryChangeKind::Upsert,
                    unit: unit_on_the_wire(unit),
                    period: period.to_string(),
                };
                OutgoingMessage::new(parent.clone(), &change, vec![])
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let registry = &state.registry;
    let federation = &state.federation.trees;
    let [entries, current] = registry.tree_handles();
    let summary = state.store.transaction(
        &[
            entries,
            current,
            &accounts.accounts,
            &federation.outbox,
            &federation.next_sequence,
        ],
        |tx| {
            let summary = registry.put_units_in(tx, period, &units, by, now, "import")?;
            for (_, username, _, hash) in &hashed {
                if tx.get(&accounts.accounts, username.as_bytes())?.is_none() {
                    let account = Account {
                        username: username.clone(),
                        password_hash: hash.clone(),
                        role: Role::Enterprise {
                            unit: username.clone(),
                        },
                        must_change_password,
                        disabled: false,
                        failed_logins: 0,
                        locked_until_ms: None,
                        created_at_ms: now.0,
                        last_login_ms: None,
                    };
                    tx.insert(&accounts.accounts, username.as_bytes(), &account)?;
                }
            }
            for message in &messages {
                outbound::enqueue(tx, federation, &state.federation.sealer, message, now)
                    .map_err(into_registry_tx_error)?;
            }
            Ok::<PutSummary, TxError<RegistryStoreError>>(summary)
        },
    )?;
    state.store.commit_durable().await?;
    if let Some(parent) = &parent {
        state.federation.wake(parent);
    }
    let new_logins = hashed
        .into_iter()
        .map(|(name, username, password, _)| NewUnitLogin {
            unit: username.clone(),
            name,
            username,
            password,
        })
        .collect();
    Ok(ImportOutcome {
        summary,
        new_logins,
    })
}

fn into_registry_tx_error(failure: TxFailure) -> TxError<RegistryStoreError> {
    TxError::<RegistryStoreError>::from(failure)
}

/// A unit as an upper level learns it from a registry change (address and
/// contact stay with the city that keeps them). `Err` names what is malformed.
pub fn unit_from_the_wire(wire: &UnitOnTheWire) -> Result<SurveyUnit, String> {
    use super::{Contact, ControlClass, ControlClasses, IndustryCode, UnitCode, UnitStatus};
    let code = UnitCode::parse(&wire.credit_code).map_err(|error| format!("unit code: {error}"))?;
    let county = crate::division::DivisionCode::parse(&wire.division)
        .map_err(|error| format!("division: {error}"))?;
    let industry =
        IndustryCode::parse(&wire.industry).map_err(|error| format!("industry: {error}"))?;
    let classes = ControlClasses::new(
        wire.classes
            .iter()
            .filter_map(|class| ControlClass::parse(class)),
    )
    .ok_or_else(|| "classes: none readable".to_string())?;
    let status = match (wire.status.as_deref(), wire.suspension_reason.as_deref()) {
        (None | Some("active"), _) => UnitStatus::Active,
        (Some("closed"), _) => UnitStatus::Closed,
        (Some("suspended"), reason) => UnitStatus::Suspended {
            reason: reason
                .and_then(super::SuspensionReason::parse)
                .ok_or_else(|| "suspension_reason: missing for a suspended unit".to_string())?,
        },
        (Some(other), _) => return Err(format!("status: unknown '{other}'")),
    };
    Ok(SurveyUnit {
        code,
        name: wire.name.clone(),
        address: wire.address.clone().unwrap_or_default(),
        county,
        industry,
        classes,
        key_industry: wire.key_industry,
        contact: Contact {
            person: String::new(),
            phone: String::new(),
            email: None,
        },
        liaison: None,
        group_company: wire.group_company.clone(),
        status,
    })
}

/// Why a lineage action (R28) was refused.
#[derive(Debug, thiserror::Error)]
pub enum LineageServiceError {
    /// A malformed or missing field of the request.
    #[error("{message}")]
    BadField {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A unit that is not in this node's registry within the caller's jurisdiction.
    #[error("名录库中没有单位 {0} / no unit {0} in the registry")]
    UnitNotFound(String),
    /// Lineage is kept by the city that keeps the registry.
    #[error("单位沿革由市级确认 / unit lineage is confirmed at city nodes")]
    NotThisLevel,
    /// The link itself was refused (a cycle, a self-link).
    #[error(transparent)]
    Refused(#[from] LineageError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegistryStoreError> for LineageServiceError {
    fn from(error: RegistryStoreError) -> Self {
        match error {
            RegistryStoreError::Store(store) => LineageServiceError::Store(store),
            RegistryStoreError::Lineage(refused) => LineageServiceError::Refused(refused),
            // why: the read paths used here only fail in the store; anything else is reported as a store failure with its text
            other => LineageServiceError::Store(StoreError::Engine(other.to_string())),
        }
    }
}

/// A suggested link as bureau users see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SuggestionView {
    /// The previous period's unit.
    pub previous: String,
    /// Its name then.
    pub previous_name: String,
    /// This period's unit.
    pub current: String,
    /// Its name now.
    pub current_name: String,
    /// Why they look like one organisation.
    pub reason: LinkReason,
    /// Confidence, 0–1.
    pub score: f64,
}

fn city_only(state: &NodeState) -> Result<(), LineageServiceError> {
    if state.config.level() == zhibao_federation_protocol::NodeLevel::City {
        Ok(())
    } else {
        Err(LineageServiceError::NotThisLevel)
    }
}

/// Suggested links between `period`'s units within `within` and the previous
/// period's units that are gone, leaving out units already linked; highest score first.
pub fn lineage_suggestions(
    state: &NodeState,
    period: PeriodId,
    within: DivisionCode,
) -> Result<Vec<SuggestionView>, LineageServiceError> {
    city_only(state)?;
    let Some(previous_period) = period.previous() else {
        return Ok(Vec::new());
    };
    let filter = UnitFilter::within(within);
    let units_of = |period| -> Result<Vec<SurveyUnit>, LineageServiceError> {
        Ok(state
            .registry
            .list(period, Some(&filter))?
            .into_iter()
            .map(|entry| entry.unit)
            .collect())
    };
    let previous_units = units_of(previous_period)?;
    let current_units = units_of(period)?;
    let links = state.registry.links()?;
    let linked = |code: &UnitCode| {
        links
            .iter()
            .any(|link| &link.current == code || &link.previous == code)
    };
    let name_in = |units: &[SurveyUnit], code: &UnitCode| {
        units
            .iter()
            .find(|unit| &unit.code == code)
            .map(|unit| unit.name.clone())
            .unwrap_or_default()
    };
    Ok(suggest_links(&previous_units, &current_units)
        .into_iter()
        .filter(|suggestion| !linked(&suggestion.current) && !linked(&suggestion.previous))
        .map(|suggestion| SuggestionView {
            previous_name: name_in(&previous_units, &suggestion.previous),
            current_name: name_in(&current_units, &suggestion.current),
            previous: suggestion.previous.as_str().to_string(),
            current: suggestion.current.as_str().to_string(),
            reason: suggestion.reason,
            score: suggestion.score,
        })
        .collect())
}

/// A link kind from its API word.
pub fn parse_link_kind(word: &str) -> Option<LinkKind> {
    match word.trim() {
        "renamed" => Some(LinkKind::Renamed),
        "recoded" => Some(LinkKind::Recoded),
        "merged" => Some(LinkKind::Merged),
        "split" => Some(LinkKind::Split),
        _ => None,
    }
}

/// A unit code of the request that names a unit of this node's registry within `within`.
fn registered_unit(
    state: &NodeState,
    field: &'static str,
    text: Option<&str>,
    within: DivisionCode,
) -> Result<UnitCode, LineageServiceError> {
    let text = text
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| LineageServiceError::BadField {
            field,
            message: format!("缺少 {field} / {field} is missing"),
        })?;
    let code = UnitCode::parse(text).map_err(|error| LineageServiceError::BadField {
        field,
        message: format!("{field}: {error}"),
    })?;
    match state.registry.current_unit(&code)? {
        Some(current) if within.contains(current.unit.county) => Ok(code),
        // Someone else's unit is "not found": its existence is not the caller's to learn.
        Some(_) | None => Err(LineageServiceError::UnitNotFound(code.as_str().to_string())),
    }
}

/// Confirms that `current` continues `previous` (R28): both must be units of
/// this node's registry within `within`; the link and its audit entry are one
/// transaction, durable before this returns.
#[allow(clippy::too_many_arguments)] // why: the three request fields as sent (each checked here, naming the field), the scope, who and when
pub async fn confirm_lineage(
    state: &NodeState,
    current: Option<&str>,
    previous: Option<&str>,
    kind: Option<&str>,
    within: DivisionCode,
    by: &str,
    now: Timestamp,
) -> Result<LineageLink, LineageServiceError> {
    city_only(state)?;
    let kind_word = kind.unwrap_or_default();
    let kind = parse_link_kind(kind_word).ok_or_else(|| LineageServiceError::BadField {
        field: "kind",
        message: format!(
            "“{kind_word}”不是沿革类型 / '{kind_word}' is not a link kind: renamed, recoded, merged, split"
        ),
    })?;
    let current = registered_unit(state, "current", current, within)?;
    let previous = registered_unit(state, "previous", previous, within)?;
    let existing = state.registry.links()?;
    let link = confirm_link(&existing, previous, current, kind, by, now)?;
    let subject = format!(
        "{} → {} ({})",
        link.previous,
        link.current,
        serde_json::to_value(link.kind)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    state.store.transaction(
        &[state.registry.link_tree_handle(), &state.audit.entries],
        |tx| {
            state.registry.put_link_in(tx, &link)?;
            crate::audit::append(
                tx,
                &state.audit,
                &crate::audit::AuditEvent {
                    actor: by,
                    action: "registry.lineage_confirm",
                    subject: subject.clone(),
                    content_hash: None,
                },
                now,
            )?;
            Ok::<(), TxError<LineageServiceError>>(())
        },
    )?;
    state.store.commit_durable().await?;
    Ok(link)
}

/// A city admin changes a unit's entry for a period (suspend with a reason,
/// resume, close, reclassify…): the change, the registry message to the
/// parent (a close travels as `Close`, anything else as the updated unit) and
/// the audit entry commit together; durable before the answer. Closing also
/// revokes the unit's login certificates (R30), after the commit.
pub async fn change_unit(
    state: &NodeState,
    period: PeriodId,
    code: &super::UnitCode,
    change: super::change::UnitChange,
    why: &str,
    by: &str,
    now: Timestamp,
) -> Result<super::RegistryEntry, RegistryFlowError> {
    change_unit_recording(state, period, code, change, why, by, None, now).await
}

/// [`change_unit`], also writing a decided county proposal in the same transaction.
#[allow(clippy::too_many_arguments)] // why: the change, who and when, and the proposal it settles
async fn change_unit_recording(
    state: &NodeState,
    period: PeriodId,
    code: &super::UnitCode,
    change: super::change::UnitChange,
    why: &str,
    by: &str,
    decided_proposal: Option<&super::county::CountyProposal>,
    now: Timestamp,
) -> Result<super::RegistryEntry, RegistryFlowError> {
    let closing = matches!(change, super::change::UnitChange::Close);
    let request = super::change::ChangeRequest {
        change,
        changed_by: by.to_string(),
        at: now,
        why: why.to_string(),
    };
    let parent: Option<NodeIdentity> = state
        .config
        .parent
        .as_ref()
        .map(|parent| parent.identity.clone());
    let registry = &state.registry;
    let federation = &state.federation.trees;
    let [entries, current] = registry.tree_handles();
    let entry = state.store.transaction(
        &[
            entries,
            current,
            &federation.outbox,
            &federation.next_sequence,
            &state.audit.entries,
            &registry.proposals,
        ],
        |tx| {
            let entry = registry.apply_change_in(tx, period, code, request.clone())?;
            if let Some(proposal) = decided_proposal {
                tx.insert(&registry.proposals, proposal.id.as_bytes(), proposal)?;
            }
            if let Some(parent) = &parent {
                let message = RegistryChange {
                    change: if closing {
                        RegistryChangeKind::Close
                    } else {
                        RegistryChangeKind::Upsert
                    },
                    unit: unit_on_the_wire(&entry.unit),
                    period: period.to_string(),
                };
                let outgoing = OutgoingMessage::new(parent.clone(), &message, vec![])
                    .map_err(|error| TxError::Abort(RegistryStoreError::Store(error)))?;
                outbound::enqueue(tx, federation, &state.federation.sealer, &outgoing, now)
                    .map_err(into_registry_tx_error)?;
            }
            crate::audit::append(
                tx,
                &state.audit,
                &crate::audit::AuditEvent {
                    actor: by,
                    action: "registry.change",
                    subject: format!("{period}/{}: {}", code.as_str(), request.why),
                    content_hash: None,
                },
                now,
            )
            .map_err(into_registry_tx_error)?;
            Ok::<super::RegistryEntry, TxError<RegistryStoreError>>(entry)
        },
    )?;
    state.store.commit_durable().await?;
    if let Some(parent) = &parent {
        state.federation.wake(parent);
    }
    if closing {
        crate::unit_certs::revoke_all_of_unit(state, code.as_str(), by, now)
            .await
            .map_err(|error| RegistryFlowError::Certificates(error.to_string()))?;
    }
    Ok(entry)
}

/// Why county work was refused.
#[derive(Debug, thiserror::Error)]
pub enum CountyFlowError {
    /// A unit not in the county's registry of that period, or an unknown proposal.
    #[error("{0}")]
    NotFound(String),
    /// The proposal rules refused it.
    #[error(transparent)]
    Proposal(#[from] super::county::ProposalError),
    /// The registry would refuse the change (e.g. resuming a unit not suspended).
    #[error(transparent)]
    Change(#[from] super::change::ChangeError),
    /// The registry change failed.
    #[error(transparent)]
    Flow(#[from] RegistryFlowError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One proposed change, as a county user sends it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedChange {
    /// The unit's credit code.
    pub unit: String,
    /// The change.
    pub change: super::change::UnitChange,
    /// Why.
    pub why: String,
}

/// A county user proposes changes for units of its county (R34): every one
/// checked (in the county's registry of the period, a county kind of change,
/// one the registry would accept now), then all stored with an audit entry
/// in one transaction — or none.
pub async fn propose_changes(
    state: &NodeState,
    county: DivisionCode,
    period: PeriodId,
    changes: Vec<ProposedChange>,
    by: &str,
    now: Timestamp,
) -> Result<Vec<super::county::CountyProposal>, CountyFlowError> {
    let mut proposals = Vec::new();
    for (index, proposed) in changes.into_iter().enumerate() {
        let not_here = || {
            CountyFlowError::NotFound(format!(
                "第 {} 项：{} 不在本县 {period} 年度名录中 / item {}: {} is not in this county's registry of {period}",
                index + 1,
                proposed.unit,
                index + 1,
                proposed.unit
            ))
        };
        let code = super::UnitCode::parse(&proposed.unit).map_err(|_| not_here())?;
        let entry = state
            .registry
            .entry(period, &code)
            .map_err(|error| StoreError::Engine(error.to_string()))?
            .filter(|entry| county.contains(entry.unit.county))
            .ok_or_else(not_here)?;
        let proposal = super::county::propose(
            &county.to_string(),
            &period.to_string(),
            code.as_str(),
            proposed.change,
            &proposed.why,
            by,
            Timestamp(now.0 + index as i64),
        )?;
        // Would the registry take it now? (It is checked again when the city confirms.)
        super::change::apply_change(
            &entry,
            super::change::ChangeRequest {
                change: proposal.change.clone(),
                changed_by: by.to_string(),
                at: now,
                why: proposal.why.clone(),
            },
        )?;
        proposals.push(proposal);
    }
    let registry = &state.registry;
    state
        .store
        .transaction(&[&registry.proposals, &state.audit.entries], |tx| {
            for proposal in &proposals {
                tx.insert(&registry.proposals, proposal.id.as_bytes(), proposal)?;
            }
            crate::audit::append(
                tx,
                &state.audit,
                &crate::audit::AuditEvent {
                    actor: by,
                    action: "registry.county_proposal",
                    subject: format!("{county} {period}: {} change(s)", proposals.len()),
                    content_hash: None,
                },
                now,
            )?;
            Ok::<(), TxError<StoreError>>(())
        })?;
    state.store.commit_durable().await?;
    Ok(proposals)
}

/// The proposals a caller sees: a county its own, the city all; newest first.
pub fn proposals_within(
    state: &NodeState,
    within: DivisionCode,
    pending_only: bool,
) -> Result<Vec<super::county::CountyProposal>, StoreError> {
    let mut proposals = Vec::new();
    for entry in state.registry.proposals.scan_prefix(&[]) {
        let (_, proposal) = entry?;
        let in_scope =
            DivisionCode::parse(&proposal.county).is_ok_and(|county| within.contains(county));
        if in_scope && (!pending_only || proposal.decision.is_none()) {
            proposals.push(proposal);
        }
    }
    proposals.sort_by_key(|proposal| std::cmp::Reverse(proposal.proposed_at_ms));
    Ok(proposals)
}

/// A city admin confirms (the change is made, travels up, and the proposal is
/// marked, in one transaction) or rejects (with a note) a county's proposal.
pub async fn decide_proposal(
    state: &NodeState,
    id: &str,
    confirm: bool,
    note: &str,
    by: &str,
    now: Timestamp,
) -> Result<super::county::CountyProposal, CountyFlowError> {
    let proposal = state
        .registry
        .proposals
        .get(id.as_bytes())?
        .ok_or_else(|| {
            CountyFlowError::NotFound(format!("没有县级上报 {id} / no county proposal {id}"))
        })?;
    let decided = super::county::decide(&proposal, confirm, note, by, now)?;
    if !confirm {
        let registry = &state.registry;
        state
            .store
            .transaction(&[&registry.proposals, &state.audit.entries], |tx| {
                tx.insert(&registry.proposals, decided.id.as_bytes(), &decided)?;
                crate::audit::append(
                    tx,
                    &state.audit,
                    &crate::audit::AuditEvent {
                        actor: by,
                        action: "registry.county_proposal_rejected",
                        subject: decided.id.clone(),
                        content_hash: None,
                    },
                    now,
                )?;
                Ok::<(), TxError<StoreError>>(())
            })?;
        state.store.commit_durable().await?;
        return Ok(decided);
    }
    let period = PeriodId::parse(&proposal.period)
        .map_err(|error| CountyFlowError::NotFound(error.to_string()))?;
    let code = super::UnitCode::parse(&proposal.unit)
        .map_err(|error| CountyFlowError::NotFound(error.to_string()))?;
    let why = format!(
        "{}（县级上报 {}，市级确认）",
        proposal.why, proposal.proposed_by
    );
    change_unit_recording(
        state,
        period,
        &code,
        proposal.change.clone(),
        &why,
        by,
        Some(&decided),
        now,
    )
    .await?;
    Ok(decided)
}
