//! Registry changes as one commit: the units, their enterprise accounts (R4)
//! and the registry-change messages to the parent node (so upper levels know
//! the population they expect reports from) are written in one transaction.

use zhibao_federation_protocol::NodeIdentity;
use zhibao_federation_protocol::messages::{RegistryChange, RegistryChangeKind, UnitOnTheWire};

use super::period::PeriodId;
use super::store::{PutSummary, RegistryStoreError};
use super::unit::SurveyUnit;
use crate::accounts::{Account, Role};
use crate::clock::Timestamp;
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
    Ok(SurveyUnit {
        code,
        name: wire.name.clone(),
        address: String::new(),
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
        group_company: None,
        status: UnitStatus::Active,
    })
}
